/**
 * Integration (issue 16): `strategy: free` and `host_pinned` against a real loopback OpenSSH
 * server, several inventory aliases of the same sshd as several hosts. What ansible-playbook 2.14
 * does with the same playbooks is checked over the local transport in
 * test/unit/engine/strategy-free-oracle.test.ts; here:
 * - the converge cycle under free, each converged host costing one round trip (its own batch of
 *   probes), a drift on one host found by --check --diff and fixed there only;
 * - the output: a host's lines come as its task ends (a fast host's later tasks are printed
 *   before a slow host's first result), each under its task's banner;
 * - throttle holds across the hosts, which no longer run a task together;
 * - host_pinned: at most --forks hosts at once, each kept until it is done.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-free-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

let n = 0;
function project(playbook: (out: string) => string, hosts: string[]) {
  const dir = join(work, `p${n++}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, Object.fromEntries(hosts.map((h) => [h, {}])));
  writeFileSync(join(dir, 'site.yml'), playbook(out));
  return { dir, inv, pb: join(dir, 'site.yml'), out };
}

const spans = (out: string, hosts: string[]) =>
  hosts
    .map(
      (h) =>
        [BigInt(readFileSync(join(out, `${h}.start`), 'utf8').trim()), BigInt(readFileSync(join(out, `${h}.end`), 'utf8').trim())] as const,
    )
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));

/** The largest number of intervals open at once. */
function overlap(s: (readonly [bigint, bigint])[]): number {
  let most = 0;
  for (const [start] of s) most = Math.max(most, s.filter(([a, b]) => a <= start && start < b).length);
  return most;
}

describe.runIf(userInfo().uid === 0 || process.env.KILN_TEST_SSHD === '1')('strategy free, over SSH', () => {
  it('converges under free: a converged host costs one round trip; a drift on one host is found and fixed there', async () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - copy:
        dest: "${out}/{{ inventory_hostname }}.conf"
        content: "host={{ inventory_hostname }}\\n"
      notify: restarted
    - lineinfile:
        path: "${out}/{{ inventory_hostname }}.ports"
        regexp: "^port="
        line: "port=80"
        create: true
  handlers:
    - name: restarted
      copy:
        dest: "${out}/{{ inventory_hostname }}.handler"
        content: "ran\\n"
`,
      ['f1', 'f2', 'f3'],
    );
    const r = await convergeCycle({
      playbook: p.pb,
      inventory: p.inv,
      verify: () => {
        for (const h of ['f1', 'f2', 'f3']) {
          expect(readFileSync(join(p.out, `${h}.conf`), 'utf8')).toBe(`host=${h}\n`);
          expect(readFileSync(join(p.out, `${h}.ports`), 'utf8')).toBe('port=80\n');
          expect(readFileSync(join(p.out, `${h}.handler`), 'utf8')).toBe('ran\n');
        }
      },
      tamper: () => writeFileSync(join(p.out, 'f2.ports'), 'port=81\n'),
    });
    for (const h of ['f1', 'f2', 'f3']) expect(r.second.hosts[h]!.round_trips, h).toBe(1);
    expect(r.check.tasks.filter((t) => t.status === 'changed').map((t) => `${t.host} ${t.module}`)).toEqual(['f2 lineinfile']);
    expect(r.check.tasks.find((t) => t.status === 'changed')!.diff).toContain('+port=80');
  });

  it("prints a host's lines as its task ends: the fast hosts' later tasks come before the slow host's first result", () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - name: first
      shell: "sleep {{ 2 if inventory_hostname == 'slow' else 0 }}; echo {{ inventory_hostname }} >> ${out}/first"
    - name: second
      shell: "echo {{ inventory_hostname }} >> ${out}/second"
`,
      ['slow', 'fast'],
    );
    const r = kiln(['apply', p.pb, '-i', p.inv, '--forks', '5'], { env: { HOME: p.dir, SSH_AUTH_SOCK: '' } });
    expect(r.code, r.output).toBe(0);
    const lines = r.stdout.split('\n');
    const at = (task: string, host: string) => lines.findIndex((l, i) => l.startsWith(`  ${host}: `) && lines[i - 1] === `TASK [${task}]`);
    expect(at('second', 'fast')).toBeGreaterThan(at('first', 'fast'));
    expect(at('first', 'slow')).toBeGreaterThan(at('second', 'fast'));
    expect(at('second', 'slow')).toBeGreaterThan(at('first', 'slow'));
    expect(readFileSync(join(p.out, 'second'), 'utf8')).toBe('fast\nslow\n');
  });

  it('throttle holds across hosts under free; host_pinned keeps at most --forks hosts at once', () => {
    const hosts = ['t1', 't2', 't3'];
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - shell: 'date +%s%N > ${out}/{{ inventory_hostname }}.start; sleep 0.4; date +%s%N > ${out}/{{ inventory_hostname }}.end'
      throttle: 1
`,
      hosts,
    );
    const r = kiln(['apply', p.pb, '-i', p.inv, '--forks', '3'], { env: { HOME: p.dir, SSH_AUTH_SOCK: '' } });
    expect(r.code, r.output).toBe(0);
    expect(overlap(spans(p.out, hosts))).toBe(1);

    const q = project(
      (out) => `- hosts: all
  gather_facts: false
  strategy: host_pinned
  tasks:
    - shell: 'date +%s%N > ${out}/{{ inventory_hostname }}.start; sleep 0.3'
    - shell: 'sleep 0.3; date +%s%N > ${out}/{{ inventory_hostname }}.end'
`,
      hosts,
    );
    const s = kiln(['apply', q.pb, '-i', q.inv, '--forks', '2'], { env: { HOME: q.dir, SSH_AUTH_SOCK: '' } });
    expect(s.code, s.output).toBe(0);
    // Two hosts from start to end together; the third starts only once one of them is done.
    const sp = spans(q.out, hosts);
    expect(overlap(sp)).toBe(2);
    expect(sp[2]![0] >= sp[0]![1] || sp[2]![0] >= sp[1]![1]).toBe(true);
  });
});
