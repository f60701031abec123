/** The generated references in docs/ (modules, roles) match the code they document. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './markdown.ts';

const check = (script: string, cwd = root) => {
  try {
    execFileSync(process.execPath, [join(root, script), '--check'], { cwd, encoding: 'utf8', stdio: 'pipe' });
    return 'up to date';
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
};

describe('generated references', () => {
  it('the module reference is generated from the current module schemas', () => {
    expect(check('scripts/docs-modules.mjs')).toBe('up to date');
  }, 30000);

  it('the role reference is generated from the current argument schemas and defaults', () => {
    expect(check('scripts/docs-roles.mjs')).toBe('up to date');
  }, 30000);

  describe('--check fails loudly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-docs-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'docs'));
    mkdirSync(join(dir, 'roles'));

    it('when the reference is stale, naming the script that regenerates it', () => {
      writeFileSync(join(dir, 'docs/roles.md'), '# Roles\n\n<!-- roles:start -->\nstale\n<!-- roles:end -->\n');
      expect(check('scripts/docs-roles.mjs', dir)).toContain('docs/roles.md role reference is stale: run node scripts/docs-roles.mjs');
    });

    it('when the file has lost its markers', () => {
      writeFileSync(join(dir, 'docs/roles.md'), '# Roles\n');
      expect(check('scripts/docs-roles.mjs', dir)).toContain('docs/roles.md has no <!-- roles:start -->');
    });
  });
});
