/**
 * fetch against the loopback OpenSSH server, through the converge cycle: the host's file lands on
 * the controller (dest/<host>/<src>, and flat), a second run changes nothing, a drift of the
 * host's file shows in --check --diff (and the local copy is untouched), the fix fetches it again.
 * The loopback host is this machine: both the host's files and the controller's copies are under
 * the test's own temp directory.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { loopbackSuite } from '../../helpers/loopback-suite.ts';

describe('fetch over ssh: the converge cycle', () => {
  const suite = loopbackSuite('mod-fetch');

  it('fetches to the controller, changes nothing again, finds a drift with --check --diff and fixes it', async () => {
    const { dir } = suite;
    const src = join(dir, 'app.conf');
    const store = join(dir, 'store');
    writeFileSync(src, 'a=1\nport=80\n');
    const inventory = suite.inventory();
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - fetch: { src: ${src}, dest: ${store} }
      register: f
    - fetch: { src: ${src}, dest: ${store}/flat/, flat: true }
    - fetch: { src: ${join(dir, 'missing')}, dest: ${store}, fail_on_missing: false }
      register: m
    - copy: { dest: ${join(dir, 'registered.txt')}, content: "{{ f.dest }} {{ f.checksum }} {{ m.msg }}" }
`,
    );
    const nested = join(store, 'h1', src);
    const flat = join(store, 'flat', 'app.conf');
    let want = 'a=1\nport=80\n';
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => {
        expect(readFileSync(nested, 'utf8')).toBe(want);
        expect(readFileSync(flat, 'utf8')).toBe(want);
      },
      tamper: () => {
        writeFileSync(src, 'a=1\nport=8080\n');
        want = 'a=1\nport=8080\n';
      },
    });
    const drift = r.check.tasks.filter((t) => t.status === 'changed');
    expect(drift.map((t) => t.module)).toEqual(['fetch', 'fetch', 'copy']);
    expect(drift[0]!.diff).toContain('-port=80');
    expect(drift[0]!.diff).toContain('+port=8080');
    expect(readFileSync(join(dir, 'registered.txt'), 'utf8')).toMatch(
      new RegExp(`^${nested} [0-9a-f]{40} the remote file does not exist, not transferring, ignored$`),
    );
    expect(existsSync(join(store, 'h1', dir, 'missing'))).toBe(false);
  });

  it('a missing src fails the task by default', async () => {
    const { dir } = suite;
    const inventory = suite.inventory();
    const playbook = join(dir, 'missing.yml');
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - fetch: { src: ${join(dir, 'nope')}, dest: ${dir}/store }\n`,
    );
    const rep = await runPlaybook(playbook, inventory);
    expect(rep.tasks.map((t) => [t.status, t.message])).toEqual([['failed', 'the remote file does not exist, not transferring, ignored']]);
  });
});
