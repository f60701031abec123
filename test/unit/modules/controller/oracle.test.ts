/**
 * The controller-side actions against Ansible itself: test/fixtures/ansible/controller-actions/pb.yml
 * was run with ansible-playbook 2.14 (ansible_connection=local); every registered result it
 * produced is in expected.json (pause's start/stop times left out). Here the same playbook runs
 * through Kiln's validation and runner over the LOCAL transport, and every registered result,
 * every set_fact / include_vars value and its precedence must be the same.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../../src/engine/report.ts';
import { LocalTransport } from '../../../../src/transport/local.ts';
import { runPlaybook } from '../../../helpers/run-playbook.ts';

const FIXTURE = resolve(import.meta.dirname, '../../../fixtures/ansible/controller-actions');
/** Where the fixture was run with Ansible (its file paths in the results). */
const ORACLE_DIR = '/tmp/orb';

let work: string;
let report: RunReport;
let got: Record<string, unknown>;
let expected: Record<string, unknown>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kiln-actions-'));
  cpSync(FIXTURE, work, { recursive: true });
  writeFileSync(join(work, 'hosts.yml'), `all:\n  hosts:\n    t1:\n      out_file: ${join(work, 'out.json')}\n`);
  report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), {
    transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
  });
  got = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8'));
  expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8').replaceAll(ORACLE_DIR, work));
}, 30_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('controller-side actions, as ansible-playbook 2.14 ran the same playbook', () => {
  it('runs to the end with the same counts', () => {
    const s = report.hosts.t1!;
    expect(report.error).toBeUndefined();
    expect({ failed: s.failed, ignored: s.ignored, skipped: s.skipped }).toEqual({ failed: 0, ignored: 7, skipped: 1 });
    // Only the copy task went to the host: the 34 actions cost no round trip.
    expect(s.round_trips).toBe(2);
  });

  // The in-memory inventory (`groups` after add_host/group_by) is the runner's (effects), compared there.
  const keys = Object.keys(JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'))).filter((k) => k !== 'groups');
  for (const k of keys) {
    it(`${k}`, () => {
      const g = got[k] as Record<string, unknown>;
      if (k === 'ps') {
        const { start, stop, ...rest } = g;
        expect(start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
        expect(stop).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
        expect(rest).toEqual(expected[k]);
      } else if (k === 'iv_missing') {
        // Ansible lists the playbook's directory twice (as the task's directory and the play's); Kiln once.
        const e = expected[k] as { message: string };
        const once = e.message.replace(/(\t\S+\n)(\t\S+\n)\1\2/, '$1$2').replace(/(\t\S+\n)\t(\S+)\n\t\S+\n\t\2 on/, '$1\t$2 on');
        expect(g).toEqual({ ...e, message: once });
      } else expect(g).toEqual(expected[k]);
    });
  }
});
