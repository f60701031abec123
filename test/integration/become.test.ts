/**
 * Integration: `become_user` against a real loopback OpenSSH server (the tests run as root, whose
 * sudo needs no password). Checked with ansible-playbook 2.14 (local connection, as root):
 * `become_user: nobody` runs as nobody; `become_user: 65534` is the string '65534' and sudo fails
 * with "unknown user 65534" (the task fails, it never runs as root); a value that is not a user name
 * (`root; touch pwned; echo`) fails in Ansible too, which puts it UNQUOTED into its sudo command,
 * so Kiln refuses it before contacting any host (exit 2, located), and quotes every name it passes.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;
let counter: Server;
let connections = 0;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-become-'));
  counter = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => counter.listen(0, '127.0.0.1', () => r()));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  await new Promise((r) => counter?.close(r));
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A project dir with `site.yml` and an inventory reaching the sshd (or the connection counter). */
function project(
  name: string,
  playbook: string,
  hostVars: Record<string, unknown> = {},
  counterOnly = false,
): { dir: string; inv: string; pb: string } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const port = counterOnly ? (counter.address() as { port: number }).port : sshd.port;
  const inv = writeSshdInventory(sshd, dir, { loop1: { port, ...hostVars } });
  writeFileSync(join(dir, 'site.yml'), playbook);
  return { dir, inv, pb: join(dir, 'site.yml') };
}

const run = (p: { inv: string; pb: string; dir: string }, extra: string[] = []) =>
  kiln(['apply', p.pb, '-i', p.inv, ...extra], { env: { HOME: p.dir, SSH_AUTH_SOCK: '' } });

/** A play that records `id -un` of the become user in `out` (written by root). */
const whoami = (out: string, becomeUser: string) => `- hosts: all
  gather_facts: false
  become: true
  tasks:
    - command: id -un
      become_user: ${becomeUser}
      register: who
    - copy:
        content: "{{ who.stdout }}"
        dest: ${out}
`;

describe.runIf(userInfo().uid === 0)('become_user over SSH', () => {
  it('become_user: nobody runs the task as nobody', () => {
    const out = join(work, 'who-nobody');
    const r = run(project('nobody', whoami(out, 'nobody')));
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('nobody');
  });

  it('become_user: 65534 (a number) is the user NAMED 65534, as in Ansible: sudo fails, the task never runs as root', () => {
    const out = join(work, 'who-65534');
    const r = run(project('numeric', whoami(out, '65534')));
    expect(r.code, r.output).toBe(4);
    expect(r.output).toContain('unknown user 65534');
    expect(existsSync(out)).toBe(false);
  });

  it('a numeric become_user in the inventory is its text too (not refused, not ignored)', () => {
    // The connection variable wins over the keywords for every task, so the check runs as that user too.
    const pb = `- hosts: all\n  gather_facts: false\n  become: true\n  tasks:\n    - command: id -un\n      register: who\n    - command: test "{{ who.stdout }}" = nobody\n`;
    const r = run(project('numeric-inv', pb, { ansible_become_user: 65534 }));
    expect(r.code, r.output).toBe(4);
    expect(r.output).toContain('unknown user 65534');
    const ok = run(project('named-inv', pb, { ansible_become_user: 'nobody' }));
    expect(ok.code, ok.output).toBe(0);
  });

  const pwned = () => join(work, 'pwned');
  const injections: [string, () => string, Record<string, unknown>, string, string][] = [
    [
      'the task keyword',
      () => whoami(join(work, 'x1'), JSON.stringify(`root; touch ${pwned()}; echo`)),
      {},
      'site.yml:6:20',
      'become_user: not a valid user name',
    ],
    [
      'a templated keyword',
      () =>
        `- hosts: all\n  gather_facts: false\n  become: true\n  vars:\n    who: "root; touch ${pwned()}; echo"\n  tasks:\n    - command: id -un\n      become_user: "{{ who }}"\n`,
      {},
      'site.yml:8:20',
      'become_user: not a valid user name',
    ],
    [
      'the inventory (ansible_become_user)',
      () => whoami(join(work, 'x3'), 'nobody'),
      { ansible_become_user: `root; touch ${'PWNED'}; echo` },
      'hosts.yml:',
      "'ansible_become_user' (alias of 'become_user') must be a user name",
    ],
    [
      'a leading dash (an option to sudo)',
      () => whoami(join(work, 'x4'), '"-s"'),
      {},
      'site.yml:6:20',
      'become_user: not a valid user name',
    ],
  ];
  it.each(injections)('an injection through %s is refused before contact (exit 2, located), nothing runs', (_n, pb, hostVars, at, msg) => {
    const vars = JSON.parse(JSON.stringify(hostVars).replace('PWNED', pwned())) as Record<string, unknown>;
    const p = project(`inject-${_n.replace(/\W+/g, '-')}`, pb(), vars, true);
    const before = connections;
    const started = Date.now();
    const r = run(p);
    expect(r.code, r.output).toBe(2);
    expect(r.stderr).toContain(at);
    expect(r.stderr).toContain(msg);
    expect(connections).toBe(before);
    expect(existsSync(pwned())).toBe(false);
    const v = kiln(['validate', p.pb, '-i', p.inv], { env: { HOME: p.dir } });
    expect(v.code, v.output).toBe(2);
    expect(v.stderr).toContain(msg);
    expect(Date.now() - started).toBeLessThan(30000);
  });
});
