/**
 * The compatibility corpus (issue 16): public Ansible roles for a Debian web site, kept unmodified
 * under test/fixtures/role-corpus/roles/ with the playbooks their READMEs show. The report
 * (scripts/corpus-report.mjs: validates or not, tasks reached/loaded/clean, blocking errors by
 * construct) must equal the committed expected.json: progress is committed by regenerating it
 * (`node scripts/corpus-report.mjs --write`), and a regression fails here. The real `kiln validate`
 * is run on one role to tie the report to the CLI's answer.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kiln, ROOT } from '../helpers/kiln.ts';

const CORPUS = join(ROOT, 'test', 'fixtures', 'role-corpus');

interface RoleReport {
  role: string;
  validates: boolean;
  tasks: number;
  tasksReached: number;
  tasksLoaded: number;
  tasksClean: number;
  errors: number;
  blockers: Record<string, number>;
}

const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as { roles: RoleReport[]; total: Record<string, unknown> };
const actual = JSON.parse(
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'corpus-report.mjs'), '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120000 }),
) as typeof expected;

describe('role corpus', () => {
  it('holds at least 12 public roles, each with its README playbook and its source in SOURCES.md', () => {
    const roles = readdirSync(join(CORPUS, 'roles')).sort();
    expect(roles.length).toBeGreaterThanOrEqual(12);
    const sources = readFileSync(join(CORPUS, 'SOURCES.md'), 'utf8');
    for (const r of roles) {
      expect(sources, r).toMatch(new RegExp(`\\| \`${r.replace('.', '\\.')}\` \\| https://github\\.com/\\S+ \\| \`[0-9a-f]{40}\``));
      expect(readdirSync(CORPUS), r).toContain(`${r.replace(/^geerlingguy\./, '')}.yml`);
    }
    expect(actual.roles.map((r) => r.role)).toEqual(roles);
  });

  it.each(expected.roles.map((r) => [r.role, r] as const))('%s: kiln validate gives the committed result', (role, want) => {
    const got = actual.roles.find((r) => r.role === role);
    expect(got, `${role}: regenerate with node scripts/corpus-report.mjs --write`).toEqual(want);
    // Counts are consistent: clean ⊆ loaded ⊆ reached ⊆ all; a role validates exactly when nothing blocks it.
    expect(want.tasksClean).toBeLessThanOrEqual(want.tasksLoaded);
    expect(want.tasksLoaded).toBeLessThanOrEqual(want.tasksReached);
    expect(want.tasksReached).toBeLessThanOrEqual(want.tasks);
    expect(want.validates).toBe(want.errors === 0);
    expect(Object.values(want.blockers).reduce((a, b) => a + b, 0)).toBe(want.errors);
  });

  it('the totals are the sum of the roles', () => {
    expect(actual.total).toEqual(expected.total);
  });

  it("the report's answer is the CLI's: `kiln validate` on a role exits as the report says, with as many errors", () => {
    const want = expected.roles.find((r) => r.role === 'geerlingguy.haproxy') as RoleReport;
    const r = kiln(['validate', '-i', 'hosts.yml', 'haproxy.yml'], { cwd: CORPUS });
    expect(r.code).toBe(want.validates ? 0 : 2);
    if (!want.validates) expect(r.stderr).toContain(`${want.errors} error${want.errors === 1 ? '' : 's'}; nothing was run.`);
  }, 60000);
});
