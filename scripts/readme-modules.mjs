#!/usr/bin/env node
// Regenerates the module reference between the markers in README.md from the module schemas.
// `--check` exits 1 when README.md is stale.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
const md = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--markdown'], { encoding: 'utf8' });
const readme = readFileSync('README.md', 'utf8');
const out = readme.replace(/<!-- modules:start -->[\s\S]*<!-- modules:end -->/, () => `<!-- modules:start -->\n${md.trim()}\n<!-- modules:end -->`);
if (process.argv.includes('--check')) {
  if (out !== readme) {
    console.error('README.md module reference is stale: run node scripts/readme-modules.mjs');
    process.exit(1);
  }
} else {
  writeFileSync('README.md', out);
}
