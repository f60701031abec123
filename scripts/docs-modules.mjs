#!/usr/bin/env node
// Regenerates the module reference between <!-- modules:start --> and <!-- modules:end --> in
// docs/modules.md from the module schemas (`kiln modules --markdown`), and the Ansible module names
// Kiln accepts and refuses between <!-- ansible-names:start --> and its end (`kiln modules --ansible-names`).
// `--check` exits 1 when docs/modules.md is stale.
import { execFileSync } from 'node:child_process';
import { updateDocSection } from './docs-section.mjs';
const md = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--markdown'], { encoding: 'utf8' });
updateDocSection('docs/modules.md', 'modules', md.trim(), 'module reference', 'scripts/docs-modules.mjs');
const names = execFileSync(process.execPath, ['bin/kiln.js', 'modules', '--ansible-names', '--markdown'], { encoding: 'utf8' });
updateDocSection('docs/modules.md', 'ansible-names', names.trim(), 'Ansible module names', 'scripts/docs-modules.mjs');
