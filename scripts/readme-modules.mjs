#!/usr/bin/env node
// Regenerates the module reference between the markers in README.md from the module schemas.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
const md = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--markdown'], { encoding: 'utf8' });
const readme = readFileSync('README.md', 'utf8');
const out = readme.replace(/<!-- modules:start -->[\s\S]*<!-- modules:end -->/, () => `<!-- modules:start -->\n${md.trim()}\n<!-- modules:end -->`);
writeFileSync('README.md', out);
