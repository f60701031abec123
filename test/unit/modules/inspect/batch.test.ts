/**
 * The read-only inspect modules cost no round trip of their own: over the local transport, a play
 * of stat, find, slurp, getent and fetch (converged) is one script, in check mode and in a real
 * run, and every task is ok. Real Runner.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../../src/transport/local.ts';
import type { Transport } from '../../../../src/transport/transport.ts';
import { runPlaybook } from '../../../helpers/run-playbook.ts';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-inspect-batch-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
  writeFileSync(join(work, 'f.txt'), 'hello\n');
  writeFileSync(
    join(work, 'pb.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - stat: { path: ${work}/f.txt }
      register: st
    - find: { paths: ${work}, patterns: '*.txt' }
      register: found
    - slurp: { src: ${work}/f.txt }
      register: sl
    - getent: { database: passwd, key: root }
    - fetch: { src: ${work}/f.txt, dest: ${work}/store/, flat: true }
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('inspect modules in the batched probe', () => {
  it('a converged play of them is one round trip, in check mode and for real', async () => {
    const run = async (check: boolean) => {
      const scripts: string[] = [];
      const local = localTransport();
      const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), {
        check,
        transport: {
          open: async (h) => {
            const t = await local.open(h);
            return {
              ...t,
              name: t.name,
              roundTrips: 0,
              run: (s, o) => {
                scripts.push(s);
                return t.run(s, o);
              },
              close: () => t.close(),
            } as Transport;
          },
          openFresh: (h) => local.openFresh(h),
        },
      });
      return { report, scripts };
    };
    const first = await run(false); // fetches f.txt to the controller (a write on the controller only)
    expect(first.report.tasks.map((t) => t.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'changed']);
    for (const check of [true, false]) {
      const { report, scripts } = await run(check);
      expect(report.tasks.map((t) => `${t.module}: ${t.status}`)).toEqual(['stat: ok', 'find: ok', 'slurp: ok', 'getent: ok', 'fetch: ok']);
      expect(scripts.length, `check: ${check}`).toBe(1);
    }
  });

  it('getent sets ansible_facts.getent_<database> for the tasks after it (validated as facts, rendered after it ran)', async () => {
    writeFileSync(
      join(work, 'facts.yml'),
      `- hosts: all
  gather_facts: false
  tasks:
    - getent: { database: passwd, key: root }
    - copy: { dest: ${work}/home.txt, content: "{{ ansible_facts.getent_passwd['root'][4] }}" }
`,
    );
    const report = await runPlaybook(join(work, 'facts.yml'), join(work, 'hosts.yml'), { transport: localTransport() });
    expect(report.tasks.map((t) => `${t.module}: ${t.status}`)).toEqual(['getent: ok', 'copy: changed']);
    expect(readFileSync(join(work, 'home.txt'), 'utf8')).toBe('/root');
  });
});
