#!/usr/bin/env node
// Regenerates the module reference between <!-- modules:start --> and <!-- modules:end --> in
// docs/modules.md from the module schemas (`kiln modules --markdown`).
// `--check` exits 1 when docs/modules.md is stale.
import { execFileSync } from 'node:child_process';
import { updateDocSection } from './docs-section.mjs';
const md = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--markdown'], { encoding: 'utf8' });
updateDocSection('docs/modules.md', 'modules', md.trim(), 'module reference', 'scripts/docs-modules.mjs');
