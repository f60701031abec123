/**
 * Controller-side actions and the probe window (engine/phases/probe.ts), over the LOCAL transport
 * with real copy tasks: an action has nothing to probe and does not end the window (debug, assert:
 * the copies around them share one probe script); a task using a name a set_fact defines is not
 * probed before the set_fact ran (it gets the value); a pause, and an include_vars whose names are
 * unknown before it runs, end the window (what follows is probed after them).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../../src/engine/report.ts';
import { LocalTransport } from '../../../../src/transport/local.ts';
import { runPlaybook } from '../../../helpers/run-playbook.ts';

const work = mkdtempSync(join(tmpdir(), 'kiln-action-window-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
writeFileSync(join(work, 'one.yml'), 'v: from-file\n');

let n = 0;
async function run(tasks: string, check = false): Promise<RunReport> {
  const pb = join(work, `pb${++n}.yml`);
  writeFileSync(pb, `- hosts: all\n  gather_facts: false\n  vars:\n    d: ${work}\n    which: one\n  tasks:\n${tasks}`);
  return runPlaybook(pb, join(work, 'hosts.yml'), {
    check,
    transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
  });
}

const copy = (f: string, content = 'x') => `    - copy:\n        content: "${content}"\n        dest: "{{ d }}/${f}"\n`;

describe('actions in the probe window', () => {
  it('debug and assert between two copies: one probe script for both (check mode)', async () => {
    const r = await run(`${copy('a')}    - debug:\n        msg: hi\n    - assert:\n        that: d is defined\n${copy('b')}`, true);
    expect(r.hosts.h1).toMatchObject({ round_trips: 1, changed: 2, ok: 4 });
  });

  it('a copy using a set_fact name is probed after the set_fact, with its value', async () => {
    const tasks = `${copy('c')}    - set_fact:\n        greeting: "hello {{ which }}"\n${copy('e', '{{ greeting }}')}`;
    const checked = await run(tasks, true);
    expect(checked.hosts.h1).toMatchObject({ round_trips: 2, changed: 2 });
    const applied = await run(tasks);
    expect(applied.hosts.h1!.failed).toBe(0);
    expect(readFileSync(join(work, 'e'), 'utf8')).toBe('hello one');
  });

  it('a pause ends the window', async () => {
    const r = await run(`${copy('f')}    - pause:\n        seconds: 1\n${copy('g')}`, true);
    expect(r.hosts.h1).toMatchObject({ round_trips: 2, changed: 2 });
  });

  it('an include_vars of a templated file (names unknown before it runs) ends the window', async () => {
    const unknown = await run(`${copy('h')}    - include_vars: "{{ d }}/{{ which }}.yml"\n${copy('i')}`, true);
    expect(unknown.hosts.h1).toMatchObject({ round_trips: 2, changed: 2 });
    // A literal file's names are known: only the tasks using them wait.
    const known = await run(`${copy('j')}    - include_vars: one.yml\n${copy('k')}${copy('l', '{{ v }}')}`);
    expect(known.hosts.h1!.failed).toBe(0);
    expect(readFileSync(join(work, 'l'), 'utf8')).toBe('from-file');
  });
});

describe('hostvars', () => {
  it("shows what another host's set_fact, include_vars and register set, as Ansible's hostvars do", async () => {
    writeFileSync(join(work, 'hosts2.yml'), 'all:\n  hosts:\n    h1: {}\n    h2: {}\n');
    const pb = join(work, 'hostvars.yml');
    writeFileSync(
      pb,
      [
        '- hosts: all',
        '  gather_facts: false',
        '  tasks:',
        '    - set_fact: { token: "t-{{ inventory_hostname }}" }',
        "      when: inventory_hostname == 'h1'",
        '    - include_vars: one.yml',
        "      when: inventory_hostname == 'h1'",
        '    - copy:',
        `        content: "{{ hostvars['h1'].token }} {{ hostvars['h1'].v }}"`,
        `        dest: "${work}/seen-{{ inventory_hostname }}"`,
        '',
      ].join('\n'),
    );
    const r = await runPlaybook(pb, join(work, 'hosts2.yml'), {
      transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
    });
    expect(r.hosts.h2!.failed).toBe(0);
    expect(readFileSync(join(work, 'seen-h2'), 'utf8')).toBe('t-h1 from-file');
  });
});
