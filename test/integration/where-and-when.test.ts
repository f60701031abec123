/**
 * Integration (issue 16, part G): where and when a task runs, against a real loopback OpenSSH
 * server. Several inventory aliases of the same sshd serve as several hosts; what tells them apart
 * is what the inventory says about each (its become user, a closed port). Semantics checked with
 * ansible-playbook 2.14 (test/fixtures/ansible/where-and-when/).
 *
 * - delegate_to: the delegate's connection (its become user, its address and port) runs the task,
 *   with the original host's variables; shown as `host -> delegate`.
 * - local_action: runs on the controller (the local transport: it sees kiln's own environment).
 * - environment: play, role entry and task levels merged nearest-wins, exported in the probe
 *   (a command's `unless`) and the apply script; the module's own `environment` parameter wins.
 * - run_once, ignore_unreachable, any_errors_fatal, throttle (timestamps written by the hosts),
 *   order (serial batches in the play's order).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;
/** Writable by the become user `nobody` (the test temp root is not: its parent is private). */
let shared: string;
let closedPort: number;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-where-'));
  chmodSync(work, 0o755);
  shared = mkdtempSync('/tmp/kiln-where-shared-');
  chmodSync(shared, 0o777);
  // A loopback port nothing listens on: a host there is unreachable (connection refused).
  closedPort = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  if (shared) rmSync(shared, { recursive: true, force: true });
});

let n = 0;
/** A project: `site.yml`, an inventory of aliases of the sshd (`hosts`: alias → its vars), an output dir anyone can write. */
function project(playbook: (out: string) => string, hosts: Record<string, Record<string, unknown>>, files: Record<string, string> = {}) {
  const dir = join(work, `p${n++}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(out, 0o777);
  const inv = writeSshdInventory(sshd, dir, hosts);
  writeFileSync(join(dir, 'site.yml'), playbook(out));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return { dir, inv, pb: join(dir, 'site.yml'), out };
}

const run = (p: { inv: string; pb: string; dir: string }, extra: string[] = [], env: Record<string, string> = {}) =>
  kiln(['apply', p.pb, '-i', p.inv, ...extra], { env: { HOME: p.dir, SSH_AUTH_SOCK: '', ...env } });

const read = (f: string) => readFileSync(f, 'utf8');

describe.runIf(userInfo().uid === 0)('where and when, over SSH', () => {
  it('delegate_to: the delegate connection (its become user) runs the task with the host variables; shown as host -> delegate', () => {
    const p = project(
      () => `- hosts: web1
  gather_facts: false
  vars: { mine: from-web1 }
  tasks:
    - command: id -un
      delegate_to: db1
      register: who
    - copy:
        content: "{{ inventory_hostname }} {{ mine }} {{ who.stdout }}"
        dest: ${shared}/delegated
      delegate_to: "{{ 'db' ~ 1 }}"
    - command: id -un
      register: me
    - copy: { content: "{{ me.stdout }}", dest: ${shared}/own }
`,
      { web1: {}, db1: { become: true, become_user: 'nobody' } },
    );
    const r = run(p);
    expect(r.code, r.output).toBe(0);
    // Written by nobody (db1's become user) with web1's variables.
    expect(read(join(shared, 'delegated'))).toBe('web1 from-web1 nobody');
    expect(read(join(shared, 'own'))).toBe('root');
    expect(r.output).toContain('web1 -> db1: changed');
    // The recap has the play's host only.
    expect(r.output).not.toMatch(/^\s*db1\s/m);
  });

  it('delegate_to a host that cannot be reached: unreachable through its own address; ignore_unreachable lets the host go on', () => {
    const p = project(
      (out) => `- hosts: web1
  gather_facts: false
  tasks:
    - command: "true"
      delegate_to: down
      ignore_unreachable: true
      register: r
    - copy: { content: "{{ r.unreachable }}", dest: ${out}/after }
    - command: "true"
      delegate_to: down
    - copy: { content: never, dest: ${out}/never }
`,
      { web1: {}, down: { port: closedPort } },
    );
    const r = run(p);
    expect(r.code, r.output).toBe(4);
    expect(r.output).toMatch(/web1 -> down: unreachable \(ignored\)/);
    expect(read(join(p.out, 'after'))).toBe('True');
    expect(existsSync(join(p.out, 'never'))).toBe(false);
  });

  it('local_action runs on the controller (local transport: the environment kiln runs in)', () => {
    const p = project(
      (out) => `- hosts: web1
  gather_facts: false
  tasks:
    - local_action: shell printf '%s' "$KILN_G_MARK" > ${out}/local
    - shell: printf '%s' "$KILN_G_MARK" > ${out}/remote
    - local_action:
        module: copy
        content: "{{ inventory_hostname }}"
        dest: ${out}/local-copy
`,
      { web1: {} },
    );
    const r = run(p, [], { KILN_G_MARK: 'controller' });
    expect(r.code, r.output).toBe(0);
    expect(read(join(p.out, 'local'))).toBe('controller');
    expect(read(join(p.out, 'remote'))).toBe('');
    expect(read(join(p.out, 'local-copy'))).toBe('web1');
    expect(r.output).toContain('web1 -> localhost: changed');
  });

  it('environment: levels merged nearest-wins, in the probe (unless) and the apply; the module parameter wins over the keyword', () => {
    const p = project(
      (out) => `- hosts: web1
  gather_facts: false
  environment: { A: play, B: play, C: play, D: play }
  vars:
    proxy: { D: from-var, N: 1, T: true }
  roles:
    - role: r
      environment: { B: role, C: role }
      out: ${out}
  tasks:
    - shell: 'echo "A=$A B=$B C=$C D=$D N=$N T=$T" > ${out}/task'
      environment: ["{{ proxy }}", { A: task }]
    - command: touch ${out}/probe-ran
      args: { unless: '[ "$GUARD" = set ]' }
      environment: { GUARD: set }
    - shell: 'echo "P=$P" > ${out}/param'
      args: { environment: { P: param } }
      environment: { P: keyword }
`,
      { web1: {} },
      { 'roles/r/tasks/main.yml': `- shell: 'echo "A=$A B=$B C=$C D=$D" > {{ out }}/role'\n  environment: { C: task-in-role }\n` },
    );
    const r = run(p);
    expect(r.code, r.output).toBe(0);
    // Ansible 2.14's own output for the same levels (test/fixtures/ansible/where-and-when/environment.txt).
    expect(read(join(p.out, 'role'))).toBe('A=play B=role C=task-in-role D=play\n');
    expect(read(join(p.out, 'task'))).toBe('A=task B=play C=play D=from-var N=1 T=True\n');
    // The guard ran in the probe with the task's environment: satisfied, nothing ran.
    expect(existsSync(join(p.out, 'probe-ran'))).toBe(false);
    expect(read(join(p.out, 'param'))).toBe('P=param\n');
  });

  it('run_once: runs on the first host of the batch; its registered value is every host; notify only the host that ran', () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  tasks:
    - shell: 'echo {{ inventory_hostname }} >> ${out}/ran; echo {{ inventory_hostname }}'
      register: once
      run_once: true
      notify: h
    - copy: { content: "{{ once.stdout }}", dest: "${out}/seen-{{ inventory_hostname }}" }
  handlers:
    - name: h
      shell: 'echo {{ inventory_hostname }} >> ${out}/handler'
`,
      { a1: {}, a2: {}, a3: {} },
    );
    const r = run(p, ['--forks', '3']);
    expect(r.code, r.output).toBe(0);
    expect(read(join(p.out, 'ran'))).toBe('a1\n');
    for (const h of ['a1', 'a2', 'a3']) expect(read(join(p.out, `seen-${h}`))).toBe('a1');
    expect(read(join(p.out, 'handler'))).toBe('a1\n');
  });

  it('any_errors_fatal: a failure on one host ends the play for every host after that task, and the plays after it', () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - command: /bin/false
      when: inventory_hostname == 'a2'
    - copy: { content: x, dest: "${out}/after-{{ inventory_hostname }}" }
- hosts: all
  gather_facts: false
  tasks:
    - copy: { content: x, dest: "${out}/play2-{{ inventory_hostname }}" }
`,
      { a1: {}, a2: {}, a3: {} },
    );
    const r = run(p, ['--forks', '3']);
    expect(r.code, r.output).toBe(4);
    expect(readdirSync(p.out)).toEqual([]);
    expect(r.output).toContain('any_errors_fatal');
  });

  it('throttle: at most N hosts run the task at once (intervals recorded by the hosts)', () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  tasks:
    - shell: 'date +%s%N > ${out}/{{ inventory_hostname }}.start; sleep 0.4; date +%s%N > ${out}/{{ inventory_hostname }}.end'
      throttle: 1
`,
      { a1: {}, a2: {}, a3: {} },
    );
    const r = run(p, ['--forks', '3']);
    expect(r.code, r.output).toBe(0);
    const spans = ['a1', 'a2', 'a3']
      .map((h) => [BigInt(read(join(p.out, `${h}.start`)).trim()), BigInt(read(join(p.out, `${h}.end`)).trim())] as const)
      .sort((x, y) => (x[0] < y[0] ? -1 : 1));
    // No interval starts before the previous one ended: never two at once.
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0] >= spans[i - 1]![1]).toBe(true);
  });

  it('order: the serial batches and run_once follow the play order', () => {
    const p = project(
      (out) => `- hosts: all
  gather_facts: false
  order: reverse_sorted
  serial: 1
  tasks:
    - shell: 'echo {{ inventory_hostname }} >> ${out}/batches'
- hosts: all
  gather_facts: false
  order: sorted
  tasks:
    - shell: 'echo {{ inventory_hostname }} > ${out}/once'
      run_once: true
`,
      { b: {}, c: {}, a: {} },
    );
    const r = run(p);
    expect(r.code, r.output).toBe(0);
    expect(read(join(p.out, 'batches'))).toBe('c\nb\na\n');
    expect(read(join(p.out, 'once'))).toBe('a\n');
  });

  it('delegate_to a name that is not in the inventory is a located error before any host is contacted', () => {
    const p = project(
      () => `- hosts: web1
  gather_facts: false
  tasks:
    - command: "true"
      delegate_to: "{{ 'nowhere' }}"
`,
      { web1: { port: closedPort } },
    );
    const r = run(p);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/site\.yml:5:20: delegate_to: 'nowhere' is not a host of the inventory/);
  });
});
