/**
 * Batching with predicted probes (issue 20), against a real loopback OpenSSH server: a chain of
 * lineinfile edits of one file is planned, edit after edit, from what the previous edit leaves
 * (lineinfile's predictProbe), each guarded on the host by that prediction, so a fresh file costs
 * one apply round trip instead of one per edit; the task results, diffs and the file are the same
 * as one apply per round trip (`--no-batch`). A prediction the host contradicts (a validate
 * command that appends to the temp file) stops the script before the next edit, which is planned
 * again from the real file in the next round trip: the result is still what Ansible's would be.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

interface Report {
  hosts: Record<string, { changed: number; failed: number; round_trips: number }>;
  tasks: { host: string; task: string; status: string; changes?: { summary: string }[]; diff?: string }[];
}

let sshd: TestSshd;
let work: string;
const me = userInfo().username;
const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-predict-'));
}, 30000);
afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** Runs the playbook on a fresh output directory; the JSON report and the file written. */
function run(tasks: (out: string) => string, extra: string[] = []): { rep: Report; file: string; code: number; output: string } {
  const dir = join(work, `p${n++}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, { h1: {} });
  writeFileSync(join(dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks(out)}`);
  const json = join(dir, 'report.json');
  const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv, '--diff', '--json', json, ...extra], {
    env: { HOME: dir, SSH_AUTH_SOCK: '' },
  });
  const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
  return { rep, file: readFileSync(join(out, 'settings.ini'), 'utf8'), code: r.code, output: r.output };
}

/** What each task reported, without the run's own paths. */
const results = (rep: Report, out: RegExp) =>
  rep.tasks.map((t) => ({
    task: t.task,
    status: t.status,
    changes: (t.changes ?? []).map((c) => ({ ...c, summary: c.summary.replace(out, 'OUT') })),
    diff: t.diff?.replace(out, 'OUT'),
  }));

const edits =
  (validate = '') =>
  (out: string) =>
    [1, 2, 3, 4, 5]
      .map(
        (k) =>
          `    - name: line edit ${k}\n      lineinfile: { path: "${out}/settings.ini", regexp: "^key${k}=", line: "key${k}=value${k}", create: true, owner: ${me}, group: ${group}, mode: "0640"${validate} }\n`,
      )
      .join('');

describe.runIf(userInfo().uid === 0 || process.env.KILN_TEST_SSHD === '1')('lineinfile chains in one round trip (predicted probes)', () => {
  it('five edits of a new file: 2 round trips (probe, one batch) against 6 one at a time, same results and file', () => {
    const batched = run(edits());
    const single = run(edits(), ['--no-batch']);
    expect(batched.code, batched.output).toBe(0);
    expect(single.code, single.output).toBe(0);
    const want = 'key1=value1\nkey2=value2\nkey3=value3\nkey4=value4\nkey5=value5\n';
    expect(batched.file).toBe(want);
    expect(single.file).toBe(want);
    expect(batched.rep.hosts.h1).toMatchObject({ changed: 5, failed: 0, round_trips: 2 });
    expect(single.rep.hosts.h1).toMatchObject({ changed: 5, failed: 0, round_trips: 6 });
    const out = /\/\S*kiln-predict-[^/]+\/p\d+\/out/g;
    expect(results(batched.rep, out)).toEqual(results(single.rep, out));
    // each edit's diff is against the previous edit's content, as when applied alone
    expect(batched.rep.tasks[2]!.diff).toContain('+key3=value3');
    expect(batched.rep.tasks[2]!.diff).toContain(' key2=value2');
  });

  it('a prediction the host contradicts stops the batch there; the next edit is planned from the real file', () => {
    // validate appends a line to the temp file: each edit still converges (its own line is there),
    // but the file the host keeps is not the content predicted, so the next edit's guard fails on
    // the host and it is planned again, from the real file, in the next round trip.
    const sed = `, validate: "sed -i '$a # checked' %s"`;
    const batched = run(edits(sed));
    const single = run(edits(sed), ['--no-batch']);
    expect(batched.code, batched.output).toBe(0);
    expect(single.code, single.output).toBe(0);
    expect(batched.file).toBe(single.file);
    expect(batched.file).toBe(
      'key1=value1\n# checked\nkey2=value2\n# checked\nkey3=value3\n# checked\nkey4=value4\n# checked\nkey5=value5\n# checked\n',
    );
    expect(batched.rep.hosts.h1!.round_trips).toBe(6);
    const out = /\/\S*kiln-predict-[^/]+\/p\d+\/out/g;
    expect(results(batched.rep, out)).toEqual(results(single.rep, out));
  });
});
