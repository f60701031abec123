/** The README's generated references (modules, roles) match the code they document. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const check = (script: string) => {
  try {
    execFileSync(process.execPath, [script, '--check'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    return 'up to date';
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
};

describe('README references', () => {
  it('the module reference is generated from the current module schemas', () => {
    expect(check('scripts/readme-modules.mjs')).toBe('up to date');
  }, 30000);

  it('the role reference is generated from the current argument schemas and defaults', () => {
    expect(check('scripts/readme-roles.mjs')).toBe('up to date');
  }, 30000);
});
