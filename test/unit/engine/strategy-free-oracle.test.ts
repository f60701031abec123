/**
 * strategy: free (and host_pinned) against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/strategy-free/ holds the playbooks and, in expected/, what Ansible wrote
 * running each (generate.sh, local connection, hosts h1, h2, h3). A shared log shows h2 going
 * through all its tasks and handlers while h1 sleeps in its first task; end_play under free ends
 * every host after its current task; includes, failures and rescues stay per host. Kiln runs
 * the same playbooks here over the local transport (the hosts are this machine) and must write the
 * same files with the same contents, and fail where Ansible failed (Ansible exit 2 = Kiln exit 4).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runner } from '../../../src/engine/runner.ts';
import { validateRun } from '../../../src/plan/validate.ts';
import { localTransport } from '../../../src/transport/local.ts';
import { quietReporter } from '../../helpers/run-playbook.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/ansible/strategy-free');
const work = mkdtempSync(join(tmpdir(), 'kiln-free-oracle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Expected {
  ansible: string;
  exit: number;
  files: Record<string, string>;
}

const cases = readdirSync(join(FIXTURES, 'expected'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));

async function runKiln(name: string): Promise<{ exit: number; files: Record<string, string> }> {
  const dir = join(work, name);
  cpSync(FIXTURES, dir, { recursive: true });
  const out = join(dir, 'out');
  mkdirSync(out);
  const extraVars = { out };
  const playbook = join(dir, `${name}.yml`);
  const v = validateRun({
    playbook,
    inventory: [join(dir, 'kiln-hosts.ini')],
    extraVars,
    tags: [],
    skipTags: [],
    check: false,
    diff: false,
  });
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 3,
    tags: [],
    skipTags: [],
    extraVars,
    acceptNewHostKeys: false,
    reporter: quietReporter,
    transport: localTransport(),
  });
  const report = await runner.run();
  expect(report.error).toBeUndefined();
  const failed = Object.values(report.hosts).some((h) => h.failed > 0 || h.unreachable);
  const files = Object.fromEntries(
    readdirSync(out)
      .sort()
      .map((f) => [f, readFileSync(join(out, f), 'utf8')]),
  );
  return { exit: failed ? 4 : 0, files };
}

describe('strategy free: Kiln writes what ansible-playbook 2.14 wrote', () => {
  it('there are cases', () => expect(cases.length).toBeGreaterThanOrEqual(3));
  for (const name of cases) {
    it(name, async () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected', `${name}.json`), 'utf8')) as Expected;
      expect(expected.ansible).toMatch(/core 2\.14\./);
      const got = await runKiln(name);
      expect(got.files).toEqual(expected.files);
      expect(got.exit).toBe(expected.exit === 2 ? 4 : expected.exit);
    });
  }
});
