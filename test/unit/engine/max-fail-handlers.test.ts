/**
 * max_fail_percentage is checked after each handler, as Ansible 2.14's linear strategy checks it
 * after each task (handlers are tasks of the play there): when a handler fails on enough hosts,
 * the handlers after it do not run — the data tier's "restart the primary" after a replica's
 * restart failed — and, as Ansible's PlaybookExecutor does, no later play runs (checked with
 * ansible-playbook 2.14: the next play never starts). Real Runner over the local transport; the
 * handlers write marker files.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../src/transport/local.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-maxfail-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    replica: {}\n    primary: {}\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const playbook = (maxFail: string) => `- hosts: all
${maxFail}  tasks:
    - name: config
      command: "true"
      changed_when: true
      notify: restart
  handlers:
    - name: restart the replicas first
      listen: restart
      command: "sh -c 'touch ${work}/replica-{{ inventory_hostname }}; exit 1'"
      when: inventory_hostname == 'replica'
    - name: restart the primary after them
      listen: restart
      command: "touch ${work}/primary-{{ inventory_hostname }}"
      when: inventory_hostname == 'primary'
`;

async function run(maxFail: string) {
  for (const f of ['replica-replica', 'primary-primary']) rmSync(join(work, f), { force: true });
  writeFileSync(join(work, 'pb.yml'), playbook(maxFail));
  const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), { forks: 2, transport: localTransport() });
  return { report, replicaRan: existsSync(join(work, 'replica-replica')), primaryRan: existsSync(join(work, 'primary-primary')) };
}

describe('max_fail_percentage after each handler', () => {
  it('as in Ansible, the plays after an aborted one do not run (on any host)', async () => {
    writeFileSync(
      join(work, 'two-plays.yml'),
      `- hosts: all
  serial: 1
  max_fail_percentage: 0
  tasks:
    - name: fails on the first host
      command: "false"
- name: later play
  hosts: all
  tasks:
    - name: marker
      command: "touch ${work}/later-{{ inventory_hostname }}"
`,
    );
    const report = await runPlaybook(join(work, 'two-plays.yml'), join(work, 'hosts.yml'), { transport: localTransport() });
    expect(report.hosts.replica!.failed).toBe(1);
    expect(report.tasks.map((t) => `${t.host} ${t.task} ${t.status}`)).toEqual(['replica fails on the first host failed']);
    expect(existsSync(join(work, 'later-primary'))).toBe(false);
    expect(existsSync(join(work, 'later-replica'))).toBe(false);
  });

  it('a failed handler on more than the allowed share stops the handlers after it', async () => {
    const r = await run('  max_fail_percentage: 0\n');
    expect(r.replicaRan).toBe(true);
    expect(r.report.hosts.replica!.failed).toBe(1);
    expect(r.primaryRan).toBe(false);
    expect(r.report.tasks.some((t) => t.host === 'primary' && t.task === 'restart the primary after them')).toBe(false);
  });

  it('without max_fail_percentage the other hosts go on: the primary handler runs', async () => {
    const r = await run('');
    expect(r.replicaRan).toBe(true);
    expect(r.primaryRan).toBe(true);
    expect(r.report.hosts.primary!.failed).toBe(0);
  });
});
