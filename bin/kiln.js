#!/usr/bin/env node
// Kiln's entry point: runs the TypeScript sources directly through tsx's ESM loader,
// so a fresh clone works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
