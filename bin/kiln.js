#!/usr/bin/env node
// Kiln's entry point. It runs the compiled build (dist/cli/main.js, made by scripts/build.mjs at
// `npm ci`) only when dist/manifest.json proves that build was made from the files on disk now:
// every input esbuild read has the recorded size and ctime (which any write, touch or utimes sets
// to the current time, and nothing sets back), or else the recorded SHA-256. Otherwise
// (a source edited or newly imported, a package reinstalled, no build, KILN_FROM_SOURCES=1) it
// runs the TypeScript sources through tsx's loader, as before: never stale code (README, Performance).
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The build's entry URL if dist/ is fresh, else undefined. */
function freshBuild() {
  if (process.env.KILN_FROM_SOURCES === '1') return undefined;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(`${root}dist/manifest.json`, 'utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) return undefined;
  for (const [rel, size, ctimeMs, sha256] of manifest.files) {
    const file = root + rel;
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined || st.size !== size) return undefined;
    if (st.ctimeMs === ctimeMs) continue;
    // Written or touched since (a checkout, an editor's save of the same text): the content decides.
    if (createHash('sha256').update(readFileSync(file)).digest('hex') !== sha256) return undefined;
  }
  return new URL(`../dist/${manifest.entry}`, import.meta.url);
}

const build = freshBuild();
let main;
if (build) {
  ({ main } = await import(build.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
