/**
 * The runner always returns a report (src/engine/runner.ts): when something unexpected throws in
 * the middle of a run (here the reporter, on the second task's end), `run()` still resolves, with
 * every result recorded until then and the error; the connections are closed. Real Runner over the
 * local transport.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../src/transport/local.ts';
import type { Transport } from '../../../src/transport/transport.ts';
import { quietReporter, runPlaybook } from '../../helpers/run-playbook.ts';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-runner-errors-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n    h2: {}\n');
  writeFileSync(
    join(work, 'pb.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - name: one
      command: "true"
    - name: two
      command: "true"
    - name: three
      command: "true"
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Runner.run() always returns a report', () => {
  it('an internal error stops the run; the report holds the results until then and the error', async () => {
    const closed: string[] = [];
    const local = localTransport();
    const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), {
      forks: 2,
      transport: {
        open: async (h) => {
          const t = await local.open(h);
          return { ...t, name: t.name, roundTrips: 0, run: (s, o) => t.run(s, o), close: () => closed.push(h) } as Transport;
        },
        openFresh: (h) => local.openFresh(h),
      },
      reporter: {
        ...quietReporter,
        taskEnd: (_play, task) => {
          if (task.name === 'two') throw new Error('reporter broke');
        },
      },
    });
    expect(report.error).toMatch(/^Error: reporter broke\n/);
    expect(report.tasks.map((t) => `${t.host} ${t.task}: ${t.status}`).sort()).toEqual([
      'h1 one: changed',
      'h1 two: changed',
      'h2 one: changed',
      'h2 two: changed',
    ]);
    expect(report.hosts.h1!.changed).toBe(2);
    expect(closed.sort()).toEqual(['h1', 'h2']);
  });
});
