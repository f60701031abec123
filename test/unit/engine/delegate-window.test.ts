/**
 * A delegated task is probed over its delegate's connection, in a probe window of its own: never
 * in the same script as the host's own probes (whose connection is another). Real Runner over the
 * local transport; the delegate is an inventory host, so each connection counts its round trips.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Transport, TransportFactory } from '../../../src/transport/transport.ts';
import { localTransport } from '../../../src/transport/local.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-delegate-window-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    web1: {}\n    db1: {}\n');
  for (const f of ['a', 'b', 'c']) writeFileSync(join(work, f), f);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The local transport, recording which connection ran each script. */
function recording(log: { host: string; script: string }[]): TransportFactory {
  const inner = localTransport();
  const wrap = (t: Transport): Transport => ({
    get name() {
      return t.name;
    },
    get roundTrips() {
      return t.roundTrips;
    },
    run: (script, opts) => {
      log.push({ host: t.name, script });
      return t.run(script, opts);
    },
    close: () => t.close(),
  });
  return { open: async (h) => wrap(await inner.open(h)), openFresh: async (h) => wrap(await inner.openFresh(h)) };
}

it('own probes, then the delegated one alone over the delegate, then own again; converged: nothing applied', async () => {
  writeFileSync(
    join(work, 'pb.yml'),
    `- hosts: web1
  gather_facts: false
  tasks:
    - copy: { content: a, dest: ${work}/a }
    - copy: { content: b, dest: ${work}/b }
      delegate_to: db1
    - copy: { content: c, dest: ${work}/c }
`,
  );
  const log: { host: string; script: string }[] = [];
  const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), { transport: recording(log) });
  expect(report.tasks.map((t) => `${t.host}${t.delegate ? ` -> ${t.delegate}` : ''}: ${t.status}`)).toEqual([
    'web1: ok',
    'web1 -> db1: ok',
    'web1: ok',
  ]);
  expect(log.map((l) => l.host)).toEqual(['web1', 'db1', 'web1']);
  // Each script probes only its own connection's files.
  expect(log.map((l) => [`${work}/a`, `${work}/b`, `${work}/c`].filter((f) => l.script.includes(f)))).toEqual([
    [`${work}/a`],
    [`${work}/b`],
    [`${work}/c`],
  ]);
  expect(readFileSync(join(work, 'b'), 'utf8')).toBe('b');
  // The delegate is not a host of the play: no line in the recap.
  expect(Object.keys(report.hosts)).toEqual(['web1']);
});
