/**
 * Integration: with_* loops, loop_control and until/retries against a real loopback OpenSSH
 * server through the CLI: the items Ansible would give (with_items, with_dict, with_sequence,
 * with_subelements, with_fileglob) become files on the host, a command succeeding on its 3rd
 * attempt prints Ansible's "FAILED - RETRYING" lines, and a second run of the file tasks changes
 * nothing while `--check` before the first run predicted exactly what it changed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-loops-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function project(name: string, playbook: string): { dir: string; inv: string; pb: string; out: string } {
  const dir = join(work, name);
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'files/conf.d'), { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(dir, 'files/conf.d/a.conf'), 'a\n');
  writeFileSync(join(dir, 'files/conf.d/b.conf'), 'b\n');
  const inv = writeSshdInventory(sshd, dir, { loop1: { port: sshd.port } });
  writeFileSync(join(dir, 'site.yml'), playbook.replaceAll('OUT', out));
  return { dir, inv, pb: join(dir, 'site.yml'), out };
}

const run = (p: { inv: string; pb: string; dir: string }, extra: string[] = []) =>
  kiln(['apply', p.pb, '-i', p.inv, ...extra], { env: { HOME: p.dir, SSH_AUTH_SOCK: '' } });

const FILES = `- hosts: all
  gather_facts: false
  vars:
    users: { alice: { uid: 1001 }, bob: { uid: 1002 } }
    members: [{ name: web, dirs: [logs, cache] }]
  tasks:
    - name: items
      copy: { dest: "OUT/item-{{ item }}", content: "{{ item }}\\n" }
      with_items: [a, [b, c]]
    - name: dict
      copy: { dest: "OUT/user-{{ item.key }}", content: "{{ item.value.uid }}\\n" }
      with_dict: "{{ users }}"
    - name: sequence
      copy: { dest: "OUT/{{ item }}", content: "{{ i }} of {{ ansible_loop.length }}\\n" }
      with_sequence: start=1 end=3 format=seq%02d
      loop_control: { index_var: i, extended: true, label: "{{ item }}" }
    - name: subelements
      copy: { dest: "OUT/{{ item.0.name }}-{{ item.1 }}", content: "x\\n" }
      with_subelements: ["{{ members }}", dirs]
    - name: fileglob
      copy: { src: "{{ item }}", dest: "OUT/{{ item | basename }}" }
      with_fileglob: conf.d/*.conf
`;

describe('loops on a real host', () => {
  it('with_* loops: --check predicts, the run makes the files, a second run changes nothing', () => {
    const p = project('files', FILES);
    const check = run(p, ['--check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(readdirSync(p.out)).toEqual([]);
    const first = run(p);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(readdirSync(p.out).sort()).toEqual(
      [
        'a.conf',
        'b.conf',
        'item-a',
        'item-b',
        'item-c',
        'seq01',
        'seq02',
        'seq03',
        'user-alice',
        'user-bob',
        'web-cache',
        'web-logs',
      ].sort(),
    );
    expect(readFileSync(join(p.out, 'seq02'), 'utf8')).toBe('1 of 3\n');
    expect(readFileSync(join(p.out, 'user-bob'), 'utf8')).toBe('1002\n');
    // The recap counts a loop once, as Ansible's does: 5 loop tasks changed (12 files).
    const changed = (s: string) => /changed=(\d+)/.exec(s)?.[1];
    expect(changed(check.stdout)).toBe('5');
    expect(changed(first.stdout)).toBe('5');
    const second = run(p);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(changed(second.stdout)).toBe('0');
  });

  it('until/retries: a command that succeeds on its 3rd attempt, with the retry lines', () => {
    const p = project(
      'until',
      `- hosts: all
  gather_facts: false
  tasks:
    - name: third time
      shell: n=$(cat OUT/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > OUT/count; test $n -ge 3
      register: r
      until: r.rc == 0
      retries: 4
      delay: 0
    - name: attempts
      copy: { dest: OUT/attempts, content: "{{ r.attempts }}" }
`,
    );
    const r = run(p);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('FAILED - RETRYING: [loop1]: third time (4 retries left).');
    expect(r.stdout).toContain('FAILED - RETRYING: [loop1]: third time (3 retries left).');
    expect(r.stdout).not.toContain('(2 retries left)');
    expect(readFileSync(join(p.out, 'count'), 'utf8').trim()).toBe('3');
    expect(readFileSync(join(p.out, 'attempts'), 'utf8')).toBe('3');
  });
});
