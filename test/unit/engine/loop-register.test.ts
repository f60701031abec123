/**
 * The registered value of a with_* loop, as ansible-playbook 2.14 registered it for the same
 * loops (test/fixtures/loops/expected.json): the top-level keys of an empty loop and of a loop
 * that ran, each result's loop variable, index variable and (with extended) ansible_loop. Real
 * Runner over the LOCAL transport; the value is written out by a copy task and read back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';

const expected = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/loops/expected.json'), 'utf8')) as Record<
  string,
  { keys: string[]; loop: unknown[]; i: unknown[]; it: unknown[] }
>;
const work = mkdtempSync(join(tmpdir(), 'kiln-loop-register-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');

describe('a with_* loop registers what Ansible registers', () => {
  it('empty, index_var/loop_var and extended loops', async () => {
    const pb = join(work, 'pb.yml');
    const dump = (r: string, expr: string) => `    - copy: { dest: "${work}/${r}.json", content: "{{ ${expr} | to_json }}" }\n`;
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - command: echo x
      with_items: []
      register: items_empty
    - command: echo {{ it }}
      with_items: [x, y]
      loop_control: { index_var: i, loop_var: it }
      register: index_var
    - command: echo {{ item }}
      with_items: [a, b, c]
      loop_control: { extended: true }
      register: extended
${dump('items_empty', 'items_empty.keys() | sort')}${dump('index_var', "[index_var.keys() | sort, index_var.results | map(attribute='i') | list, index_var.results | map(attribute='it') | list]")}${dump('extended', "extended.results | map(attribute='ansible_loop') | list")}`,
    );
    const report = await runPlaybook(pb, join(work, 'hosts.yml'), {
      transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
    });
    expect(report.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    const read = (n: string) => JSON.parse(readFileSync(join(work, `${n}.json`), 'utf8'));
    expect(read('items_empty')).toEqual(expected.items_empty!.keys);
    const [keys, i, it_] = read('index_var');
    // A command's loop result has `msg` as Ansible's debug loop has: the keys of a loop that ran.
    expect(keys).toEqual(expected.index_var!.keys);
    expect(i).toEqual(expected.index_var!.i);
    expect(it_).toEqual(expected.index_var!.it);
    expect(read('extended')).toEqual(expected.extended!.loop);
  });
});
