#!/usr/bin/env node
// Regenerates the module reference between the markers in README.md from the module schemas.
// `--check` exits 1 when README.md is stale.
import { execFileSync } from 'node:child_process';
import { updateReadmeSection } from './readme-section.mjs';
const md = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--markdown'], { encoding: 'utf8' });
updateReadmeSection('modules', md.trim(), 'module reference', 'scripts/readme-modules.mjs');
