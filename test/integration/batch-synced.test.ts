/**
 * Batching under the linear strategy with barriers (issue 20, docs/batching.md), against a real
 * loopback OpenSSH server with three hosts: a host's batch runs as ONE script sent in parts on one
 * shell, each part after the first sent at its first task's turn, once every host has finished the
 * tasks before it. The proof of the order is across hosts: `stamp` appends each host's name to a
 * shared file (h1 after a 0.5 s sleep) and `count` counts the lines; under the linear strategy
 * every host counts 3, which a script that ran ahead of its turn would not (h2 and h3 would count
 * before h1 stamped). Results, files and the failure on h2 are the same as one apply per round
 * trip (`--no-batch`) and as batches without barriers (`--forks 2`: fewer connection slots than
 * hosts, so no host keeps a session open). The controller killed between two parts (SIGKILL right
 * after h1's `stamp` part came back, through the fault transport): no host runs a part that was not
 * sent — the shells end with their connections, and no `count` or later task ran anywhere.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

interface Report {
  hosts: Record<string, { changed: number; failed: number; round_trips: number; syncs: number }>;
  tasks: { host: string; task: string; status: string; changes?: { summary: string }[] }[];
}

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-synced-'));
}, 30000);
afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const PLAY = `- hosts: all
  gather_facts: false
  tasks:
    - name: dir
      file: { path: "{{ out }}/{{ inventory_hostname }}", state: directory, mode: "0755" }
    - name: conf
      copy: { dest: "{{ out }}/{{ inventory_hostname }}/a.conf", content: "a\\n", mode: "0644" }
    - name: stamp
      shell: "sleep {{ delay }}; echo {{ inventory_hostname }} >> {{ out }}/stamps"
    - name: count
      shell: "grep -c . {{ out }}/stamps > {{ out }}/{{ inventory_hostname }}/count"
    - name: after
      copy: { dest: "{{ out }}/{{ inventory_hostname }}/b.conf", content: "b\\n", mode: "0644" }
    - name: fail on h2
      command: "false"
      when: inventory_hostname == 'h2'
    - name: last
      shell: "echo {{ inventory_hostname }} >> {{ out }}/last"
    - name: edit
      lineinfile: { path: "{{ out }}/{{ inventory_hostname }}/c.conf", line: "c", create: true }
`;

let n = 0;
function scene(): { dir: string; out: string; inv: string } {
  const dir = join(work, `r${n++}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, { h1: { delay: 0.5 }, h2: { delay: 0 }, h3: { delay: 0 } }, { out });
  writeFileSync(join(dir, 'site.yml'), PLAY);
  return { dir, out, inv };
}

function run(extra: string[] = []): { rep: Report; out: string; code: number; output: string } {
  const dir = join(work, `r${n++}`);
  const out = join(dir, 'out');
  mkdirSync(out, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, { h1: { delay: 0.5 }, h2: { delay: 0 }, h3: { delay: 0 } }, { out });
  writeFileSync(join(dir, 'site.yml'), PLAY);
  const json = join(dir, 'report.json');
  const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv, '--json', json, ...extra], { env: { HOME: dir, SSH_AUTH_SOCK: '' } });
  return { rep: JSON.parse(readFileSync(json, 'utf8')) as Report, out, code: r.code, output: r.output };
}

/** What each host reported per task, without the run's own paths. */
const results = (rep: Report, out: string) =>
  rep.tasks
    .map((t) => ({
      at: `${t.host} ${t.task}`,
      status: t.status,
      changes: (t.changes ?? []).map((c) => c.summary.split(out).join('OUT')),
    }))
    .sort((a, b) => a.at.localeCompare(b.at));

const files = (out: string) => ({
  stamps: readFileSync(join(out, 'stamps'), 'utf8').split('\n').filter(Boolean).sort(),
  last: readFileSync(join(out, 'last'), 'utf8').split('\n').filter(Boolean).sort(),
  counts: ['h1', 'h2', 'h3'].map((h) => readFileSync(join(out, h, 'count'), 'utf8').trim()),
  conf: ['h1', 'h2', 'h3'].map((h) => readFileSync(join(out, h, 'a.conf'), 'utf8')),
  edited: ['h1', 'h2', 'h3'].map((h) => existsSync(join(out, h, 'c.conf'))),
});

describe.runIf(userInfo().uid === 0 || process.env.KILN_TEST_SSHD === '1')('linear strategy, batches with barriers', () => {
  it('every host counts 3 stamps (no task ran ahead of its turn); 3 scripts per host; same as --no-batch and --forks 2', () => {
    const synced = run();

    const single = run(['--no-batch']);
    const unsynced = run(['--forks', '2']);
    for (const r of [synced, single, unsynced]) {
      expect(r.code, r.output).toBe(4);
      expect(files(r.out)).toEqual({
        stamps: ['h1', 'h2', 'h3'],
        last: ['h1', 'h3'],
        counts: ['3', '3', '3'],
        conf: ['a\n', 'a\n', 'a\n'],
        edited: [true, false, true],
      });
    }
    expect(results(synced.rep, synced.out)).toEqual(results(single.rep, single.out));
    expect(results(unsynced.rep, unsynced.out)).toEqual(results(single.rep, single.out));
    expect(synced.output).not.toMatch(/applied in the same round trip/);
    // Round trips: the probe; a script from `dir` that stops at the guard of `after` (its probe
    // output changed: `dir` created its directory), planned again and led by it in a third script.
    // syncs (parts sent at their turn): stamp, count, after in the first; fail on h2 (h2 only),
    // last, edit in the second (h2's stops at its failure).
    for (const h of ['h1', 'h2', 'h3']) {
      expect(synced.rep.hosts[h]!.round_trips, h).toBe(3);
      expect(unsynced.rep.hosts[h]!.syncs, h).toBe(0);
      expect(single.rep.hosts[h]!.syncs, h).toBe(0);
    }
    expect([synced.rep.hosts.h1!.syncs, synced.rep.hosts.h2!.syncs, synced.rep.hosts.h3!.syncs]).toEqual([5, 4, 5]);
    expect([single.rep.hosts.h1!.round_trips, unsynced.rep.hosts.h1!.round_trips]).toEqual([8, 7]);
  });

  it('the controller killed between two parts: no host runs a part that was not sent (no count, nothing after)', () => {
    const { dir, out, inv } = scene();
    // SIGKILL right after h1's `stamp` part came back (the last of the three: h1 sleeps first).
    const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv], {
      env: { HOME: dir, SSH_AUTH_SOCK: '' },
      faults: { KILN_FAULT_KILL_AFTER: 'h1:stamps' },
    });
    expect(r.signal, r.output).toBe('SIGKILL');
    expect(readFileSync(join(out, 'stamps'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(['h1', 'h2', 'h3']);
    for (const h of ['h1', 'h2', 'h3']) {
      expect(existsSync(join(out, h, 'a.conf')), h).toBe(true);
      expect(existsSync(join(out, h, 'count')), h).toBe(false);
      expect(existsSync(join(out, h, 'b.conf')), h).toBe(false);
    }
    expect(existsSync(join(out, 'last'))).toBe(false);
  });
});
