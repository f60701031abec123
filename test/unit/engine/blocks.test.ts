/**
 * Blocks at run time, against Ansible 2.14: the playbooks in test/fixtures/engine-blocks/ were run
 * by ansible-playbook (oracle.sh, connection local, two hosts) and its results, recap and the
 * lines the rescue tasks wrote are the fixtures. Here the same playbooks run through the real
 * Runner over the local transport, their blocks given to the engine as the loader gives them
 * (TaskDef.blocks; test/helpers/flatten-blocks.ts), and must do the same: which tasks run on
 * which host with which status, the recap (rescued, failed), ansible_failed_task/_result.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../src/transport/local.ts';
import { type TransportWrapper, UnreachableError } from '../../../src/transport/transport.ts';
import { Runner } from '../../../src/engine/runner.ts';
import { validateRun } from '../../../src/plan/validate.ts';
import type { RunReport } from '../../../src/engine/report.ts';
import { quietReporter } from '../../helpers/run-playbook.ts';
import { annotateBlocks, flattenBlocks } from '../../helpers/flatten-blocks.ts';

const FIX = join(import.meta.dirname, '../../fixtures/engine-blocks');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<
  string,
  { results: string[]; stats: Record<string, Record<string, number>> }
>;
const work = mkdtempSync(join(tmpdir(), 'kiln-blocks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(name: string, text?: string, wrapTransport?: TransportWrapper): Promise<{ report: RunReport; out: string }> {
  const out = join(work, `${name}-out`);
  rmSync(out, { recursive: true, force: true });
  const flat = flattenBlocks(text ?? readFileSync(join(FIX, `${name}.yml`), 'utf8'));
  const pb = join(work, `${name}.yml`);
  writeFileSync(pb, flat.text);
  const extraVars = { out_dir: out };
  const v = validateRun({
    playbook: pb,
    inventory: [join(FIX, 'hosts.yml')],
    extraVars,
    tags: [],
    skipTags: [],
    check: false,
    diff: false,
  });
  annotateBlocks(v.playbook.plays, flat.frames);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out, { recursive: true });
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 1,
    tags: [],
    skipTags: [],
    extraVars,
    acceptNewHostKeys: false,
    reporter: quietReporter,
    transport: localTransport(),
    wrapTransport,
  });
  return { report: await runner.run(), out };
}

/** Results as "task | host | status", host order sorted within each task (Ansible's order of arrival is not the point). */
function lines(results: string[]): string[] {
  const groups: string[][] = [];
  for (const r of results) {
    const task = r.split(' | ')[0];
    const last = groups.at(-1);
    if (last && last[0]!.split(' | ')[0] === task) last.push(r);
    else groups.push([r]);
  }
  return groups.flatMap((g) => g.sort());
}

describe('blocks at run time, as ansible-playbook 2.14 runs them', () => {
  for (const name of Object.keys(expected)) {
    it(`${name}.yml: the same tasks on the same hosts, the same recap and rescue variables`, async () => {
      const { report, out } = await run(name);
      expect(report.error).toBeUndefined();
      const want = expected[name]!;
      expect(lines(report.tasks.map((t) => `${t.task} | ${t.host} | ${t.status}`))).toEqual(lines(want.results));
      for (const [host, s] of Object.entries(want.stats)) {
        const k = report.hosts[host]!;
        // As Ansible's, Kiln's ok counts changed tasks and ignored failures too.
        expect({
          ok: k.ok,
          changed: k.changed,
          failures: k.failed,
          ignored: k.ignored,
          rescued: k.rescued,
          skipped: k.skipped,
        }).toEqual({
          ok: s.ok,
          changed: s.changed,
          failures: s.failures,
          ignored: s.ignored,
          rescued: s.rescued,
          skipped: s.skipped,
        });
      }
      for (const host of ['t1', 't2']) {
        const fixture = join(FIX, 'expected-logs', `${name}.${host}.txt`);
        const got = join(out, `${host}.log`);
        expect(existsSync(got)).toBe(existsSync(fixture));
        if (existsSync(fixture)) expect(readFileSync(got, 'utf8')).toBe(readFileSync(fixture, 'utf8'));
      }
    });
  }

  it('the failed task is reported failed and marked rescued; the recap line shows rescued', async () => {
    const { report } = await run('paths');
    const failed = report.tasks.find((t) => t.task === 't1 fails in block' && t.host === 't1')!;
    expect(failed.status).toBe('failed');
    expect(failed.rescued).toBe(true);
    const { recapLines } = await import('../../../src/engine/report.ts');
    expect(recapLines(report.hosts).find((l) => l.startsWith('t1'))).toMatch(/failed=1 .*rescued=1/);
  });

  it('an unreachable host is not rescued: neither rescue nor always runs there (Ansible 2.14)', async () => {
    // Fault injection: t1's connection is lost when the block's command is sent.
    const lose: TransportWrapper = (inner) => ({
      open: async (host) => {
        const t = await inner.open(host);
        return {
          name: t.name,
          get roundTrips() {
            return t.roundTrips;
          },
          run: (script, opts) =>
            host === 't1' && script.includes('LOSE_ME')
              ? Promise.reject(new UnreachableError(`${host}: connection lost`))
              : t.run(script, opts),
          close: () => t.close(),
        };
      },
      openFresh: (host) => inner.openFresh(host),
    });
    const { report } = await run(
      'unreachable',
      `- hosts: all
  gather_facts: false
  tasks:
    - name: b
      block:
        - name: lost here
          command: "echo LOSE_ME"
      rescue:
        - name: rescue
          command: "true"
      always:
        - name: always
          command: "true"
`,
      lose,
    );
    expect(report.tasks.map((t) => `${t.task} ${t.host} ${t.status}`).sort()).toEqual([
      'always t2 changed',
      'lost here t1 unreachable',
      'lost here t2 changed',
    ]);
    expect(report.hosts.t1!.unreachable).toBe(true);
    expect(report.hosts.t1!.rescued).toBe(0);
  });
});
