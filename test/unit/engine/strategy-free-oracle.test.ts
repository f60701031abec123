/**
 * strategy: free (and host_pinned) against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/strategy-free/ holds the playbooks and, in expected/, what Ansible wrote
 * running each (generate.sh, local connection, hosts h1, h2, h3). A shared log shows h2 going
 * through all its tasks and handlers while h1 sleeps in its first task; end_play under free ends
 * every host after its current task; includes, failures and rescues stay per host. Kiln runs the
 * same playbooks over the local transport and must write the same files and fail where Ansible
 * failed (Ansible exit 2 = Kiln exit 4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oracleCases, oracleExpected, runOracleCase } from '../../helpers/ansible-oracle.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/ansible/strategy-free');
const work = mkdtempSync(join(tmpdir(), 'kiln-free-oracle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('strategy free: Kiln writes what ansible-playbook 2.14 wrote', () => {
  const cases = oracleCases(FIXTURES);
  it('there are cases', () => expect(cases.length).toBeGreaterThanOrEqual(3));
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
