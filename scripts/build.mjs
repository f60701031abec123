#!/usr/bin/env node
/**
 * Compiles Kiln's CLI (src/cli/main.ts, every source it imports and the npm packages but ssh2)
 * into ES modules under dist/cli/ with esbuild: main.js plus one chunk per lazily imported part.
 * Run by npm's `prepare` script at `npm ci` / `npm install`; `npm run build` runs it by hand.
 * bin/kiln.js runs this build only while dist/manifest.json proves it was built from the files on
 * disk now, and runs the TypeScript sources through tsx otherwise (README, Start-up).
 *
 * The manifest lists every input esbuild read (its metafile: sources and packages), this script, tsconfig.json and package.json, each
 * with its size, ctime and SHA-256, and the time the build started. The ctime, not the mtime: every
 * write (and every utimes, touch -d, cp -p, tar x) sets it to the current time; nothing sets it
 * back. Files are written to a temporary directory and moved in; chunks of an earlier build are
 * kept for an hour (a running kiln may still import them).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'cli'); // same depth as src/cli: `new URL('../../package.json', import.meta.url)` still finds package.json

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // Without esbuild (an install that left it out) there is no build: bin/kiln.js runs the sources.
  console.error('kiln build: esbuild is not installed; kiln will run its TypeScript sources through tsx');
  process.exit(0);
}

const startedAt = Date.now();
const tmp = join(DIST, `.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // npm packages are bundled too (validate: 16% less CPU than importing them from node_modules),
  // except ssh2 and its native addons (esbuild cannot bundle .node files).
  external: ['ssh2', 'cpu-features'],
  // Bundled CommonJS packages call require(): give them Node's.
  banner: { js: "import { createRequire as __kilnRequire } from 'node:module'; const require = __kilnRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  metafile: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});

function entry(rel) {
  const abs = join(ROOT, rel);
  const st = statSync(abs);
  return [rel, st.size, st.ctimeMs, createHash('sha256').update(readFileSync(abs)).digest('hex')];
}
// Besides what esbuild read: this script, and the settings esbuild reads on the side (tsconfig.json's
// compiler options, package.json's type).
const inputs = [
  ...Object.keys(result.metafile.inputs),
  relative(ROOT, fileURLToPath(import.meta.url)),
  'tsconfig.json',
  'package.json',
].filter((rel) => existsSync(join(ROOT, rel)));
const files = inputs.sort().map(entry);
// The entries are taken after the build: they describe what esbuild read only if no input changed
// since the build started (a write during the build gets a later ctime). Otherwise no manifest:
// kiln runs the sources until the next build.
const touched = files.filter(([, , ctimeMs]) => ctimeMs >= startedAt - 50).map(([rel]) => rel);
if (touched.length) {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(join(DIST, 'manifest.json'), { force: true });
  console.error(`kiln build: ${touched.join(', ')} changed during the build; not used (run it again: npm run build)`);
  process.exit(0);
}
const manifest = { builtAt: startedAt, node: process.version, entry: 'cli/main.js', files };

mkdirSync(OUT, { recursive: true });
const fresh = new Set(readdirSync(tmp));
for (const f of readdirSync(OUT)) {
  // An old chunk goes after an hour; main.js is replaced below.
  if (!fresh.has(f) && f.startsWith('chunk-') && Date.now() - statSync(join(OUT, f)).mtimeMs > 3600_000) rmSync(join(OUT, f));
}
// Chunks first (content-named), then main.js, then the manifest: a manifest always describes a complete build.
for (const f of [...fresh].sort((a, b) => (a === 'main.js') - (b === 'main.js'))) renameSync(join(tmp, f), join(OUT, f));
rmSync(tmp, { recursive: true, force: true });
const mtmp = join(DIST, `manifest.json.${process.pid}`);
writeFileSync(mtmp, `${JSON.stringify(manifest)}\n`);
renameSync(mtmp, join(DIST, 'manifest.json'));
if (!process.env.npm_lifecycle_event || process.argv.includes('--verbose'))
  console.error(`kiln build: dist/cli (${fresh.size} files, ${manifest.files.length} inputs) in ${Date.now() - startedAt} ms`);
