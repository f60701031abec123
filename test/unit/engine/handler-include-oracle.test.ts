/**
 * include_tasks as a handler against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/handler-include/ (generate.sh, local connection, hosts h1, h2). Notified,
 * the include runs its file's tasks as handlers right after it, before the later handlers;
 * `listen` and `vars` work on it; its tasks notify later handlers; at a flush_handlers and again
 * at the end of the play; a failure in the included tasks fails that host only. Kiln runs the
 * same playbooks over the local transport and must write the same files and fail where Ansible
 * failed (Ansible exit 2 = Kiln exit 4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oracleCases, oracleExpected, runOracleCase } from '../../helpers/ansible-oracle.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/ansible/handler-include');
const work = mkdtempSync(join(tmpdir(), 'kiln-hinc-oracle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('include_tasks as a handler: Kiln writes what ansible-playbook 2.14 wrote', () => {
  const cases = oracleCases(FIXTURES);
  it('there are cases', () => expect(cases.length).toBeGreaterThanOrEqual(2));
  for (const name of cases) {
    it(name, async () => {
      const expected = oracleExpected(FIXTURES, name);
      expect(expected.ansible).toMatch(/core 2\.14\./);
      const got = await runOracleCase(FIXTURES, work, name);
      expect(got.files).toEqual(expected.files);
      expect(got.exit).toBe(expected.exit === 2 ? 4 : expected.exit);
    });
  }
});
