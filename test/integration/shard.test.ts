/**
 * Integration: `kiln apply --shard i/n` as n controllers side by side (n processes at once) over
 * several inventory aliases of one loopback sshd, and `kiln report merge` of their JSON reports.
 * The merged recap must be the recap of the same run unsharded (the same counts per host, the
 * same exit code), on a first apply, on a converged re-run (0 changed) and on a run where a host
 * fails; merge refuses what is not one whole run; `--shard` is validated before any host is
 * contacted, and what sharding would change the meaning of is refused with a located error.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, kilnAsync } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';
import type { HostStats, RunInfo, RunReport } from '../../src/engine/report.ts';
import { shardOf } from '../../src/plan/shard.ts';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-shard-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const HOSTS = ['web1', 'web2', 'web3', 'db1', 'db2', 'db3', 'mon1', 'edge1', 'edge2'];

const PLAYBOOK = `
- name: base
  hosts: all
  gather_facts: false
  tasks:
    - name: host dir
      file: { path: "{{ root }}/{{ inventory_hostname }}", state: directory }
    - name: config
      copy: { dest: "{{ root }}/{{ inventory_hostname }}/app.conf", content: "host={{ inventory_hostname }}\\n" }
      notify: reload
    - name: web marker
      copy: { dest: "{{ root }}/{{ inventory_hostname }}/web", content: "web\\n" }
      when: inventory_hostname is match('web')
    - name: a failure ignored
      command: "false"
      ignore_errors: true
      when: inventory_hostname == 'db2'
    - name: failing on one host when asked
      fail: { msg: "boom on {{ inventory_hostname }}" }
      when: inventory_hostname == fail_on
    - name: a guarded command
      command: "touch {{ root }}/{{ inventory_hostname }}/marker"
      args: { creates: "{{ root }}/{{ inventory_hostname }}/marker" }
    - name: an inventory variable of a host of another shard
      copy: { dest: "{{ root }}/{{ inventory_hostname }}/peer", content: "{{ hostvars['db1'].tier }}\\n" }
  handlers:
    - name: reload
      command: "touch {{ root }}/{{ inventory_hostname }}/reloaded"
- name: web only
  hosts: "web*"
  gather_facts: false
  tasks:
    - name: web page
      copy: { dest: "{{ root }}/{{ inventory_hostname }}/index.html", content: "hello from {{ inventory_hostname }}\\n" }
`;

/** A JSON report as `kiln apply --json` writes it (the run record is always there). */
type Report = Pick<RunReport, 'hosts'> & { run: RunInfo; tasks: { host: string }[] };

let n = 0;
/** A project: the inventory (the hosts, with a `tier` variable each), the playbook, and the root the tasks write under. */
function project(playbook = PLAYBOOK) {
  const dir = join(work, `p${n++}`);
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, Object.fromEntries(HOSTS.map((h) => [h, { tier: `tier-of-${h}` }])));
  writeFileSync(join(dir, 'site.yml'), playbook);
  return { dir, root, inv, playbook: join(dir, 'site.yml') };
}

type Project = ReturnType<typeof project>;

const args = (p: Project, extra: string[]) => ['apply', p.playbook, '-i', p.inv, '-e', `root=${p.root}`, ...extra];
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Report;
/** A host's recap counts, without its round trips (a transport figure, not a result). */
const counts = (r: Record<string, HostStats>) => Object.fromEntries(Object.entries(r).map(([h, { round_trips: _, ...s }]) => [h, s]));
/** The recap lines a run printed. */
const recap = (out: string) => out.split('\nRECAP')[1]!.split('\n\ntime:')[0]!.split('\n').slice(1).filter(Boolean);

/** The run unsharded, then the same run as `count` shards side by side, merged. */
async function both(p: Project, q: Project, count: number, extra: string[], tag: string) {
  const whole = kiln(args(p, [...extra, '--json', join(p.dir, `${tag}-whole.json`)]));
  const shards = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      kilnAsync(args(q, [...extra, '--shard', `${i}/${count}`, '--json', join(q.dir, `${tag}-${i}.json`)])),
    ),
  );
  const files = shards.map((_, i) => join(q.dir, `${tag}-${i}.json`));
  const merged = kiln(['report', 'merge', ...files, '--json', join(q.dir, `${tag}-merged.json`)]);
  return { whole, shards, files, merged };
}

describe('--shard i/n and kiln report merge over loopback hosts', () => {
  it('n shards side by side, merged, give the recap of the run unsharded: first apply, converged re-run, a failed host', async () => {
    // Two copies of the project: one applied whole, one in shards (the hosts' trees are apart).
    const p = project();
    const q = project();
    const count = 3;
    const fail = ['-e', 'fail_on=none'];

    const first = await both(p, q, count, fail, 'first');
    expect(first.whole.code, first.whole.output).toBe(0);
    for (const s of first.shards) expect(s.code, s.output).toBe(0);
    expect(first.merged.code, first.merged.output).toBe(0);
    const whole = read(join(p.dir, 'first-whole.json'));
    const merged = read(join(q.dir, 'first-merged.json'));
    // The same counts per host, every host once, and the recap lines those of the unsharded run (sorted by name).
    expect(Object.keys(merged.hosts).sort()).toEqual([...HOSTS].sort());
    expect(counts(merged.hosts)).toEqual(counts(whole.hosts));
    expect(recap(first.merged.stdout)).toEqual([...recap(first.whole.stdout)].sort());
    expect(Object.values(whole.hosts).some((s) => s.changed > 0)).toBe(true);
    expect(whole.hosts.db2!.ignored).toBe(1);
    expect(merged.tasks.length).toBe(whole.tasks.length);
    // Each shard ran exactly its hosts, and each says which shard of how many hosts it was.
    const parts = first.files.map(read);
    expect(parts.map((r) => r.run.shard)).toEqual([0, 1, 2].map((index) => ({ index, count })));
    for (const r of parts) {
      expect(r.run.selected_hosts).toBe(HOSTS.length);
      expect(r.run.fingerprint).toBe(whole.run.fingerprint);
      expect(Object.keys(r.hosts).length).toBe(r.run.shard_hosts);
      for (const t of r.tasks) expect(Object.keys(r.hosts)).toContain(t.host);
    }
    expect(parts.reduce((s, r) => s + r.run.shard_hosts, 0)).toBe(HOSTS.length);
    expect(first.merged.stdout).toContain(`MERGED 3 reports of site.yml`);
    // Every host converged the same way in both trees: the files, the handler, another shard's inventory variable.
    for (const h of HOSTS) {
      for (const root of [p.root, q.root]) {
        expect(readFileSync(join(root, h, 'app.conf'), 'utf8')).toBe(`host=${h}\n`);
        expect(readFileSync(join(root, h, 'peer'), 'utf8')).toBe('tier-of-db1\n');
        expect(existsSync(join(root, h, 'reloaded'))).toBe(true);
        expect(existsSync(join(root, h, 'index.html'))).toBe(h.startsWith('web'));
      }
    }
    // Each shard kept its own pending-handlers file (none is left: every handler ran).
    const kilnDir = join(q.dir, '.kiln');
    for (const f of existsSync(kilnDir) ? readdirSync(kilnDir) : []) {
      expect(f).toMatch(/^pending-handlers\.shard-\d-of-3\.json$/);
      expect(Object.values(JSON.parse(readFileSync(join(kilnDir, f), 'utf8'))['site.yml'] ?? {}).flat()).toEqual([]);
    }

    // The converged re-run: 0 changed on every host, merged as unsharded.
    const again = await both(p, q, count, fail, 'again');
    expect(again.whole.code, again.whole.output).toBe(0);
    expect(again.merged.code, again.merged.output).toBe(0);
    const againMerged = read(join(q.dir, 'again-merged.json'));
    expect(counts(againMerged.hosts)).toEqual(counts(read(join(p.dir, 'again-whole.json')).hosts));
    for (const s of Object.values(againMerged.hosts)) expect(s.changed).toBe(0);

    // A host fails: the shard holding it exits 4, the others 0; the merge exits 4, as the unsharded run.
    const failed = await both(p, q, count, ['-e', 'fail_on=db3'], 'failed');
    expect(failed.whole.code, failed.whole.output).toBe(4);
    expect(failed.merged.code, failed.merged.output).toBe(4);
    expect(failed.shards.map((s) => s.code).sort()).toEqual([0, 0, 4]);
    const failedMerged = read(join(q.dir, 'failed-merged.json'));
    expect(counts(failedMerged.hosts)).toEqual(counts(read(join(p.dir, 'failed-whole.json')).hosts));
    expect(failedMerged.hosts.db3!.failed).toBe(1);
    // Extra vars' values are not in the fingerprint (a value may be a secret): only their names.
    expect(read(join(q.dir, 'failed-0.json')).run.fingerprint).toBe(read(join(q.dir, 'again-0.json')).run.fingerprint);
  }, 240000);

  it('merge refuses a missing, duplicate or foreign shard and overlapping reports (exit 2), or merges a partial run loudly (exit 4)', async () => {
    const q = project();
    const files = await Promise.all(
      [0, 1].map(async (i) => {
        const f = join(q.dir, `s${i}.json`);
        const r = await kilnAsync(args(q, ['-e', 'fail_on=none', '--shard', `${i}/2`, '--json', f]));
        expect(r.code, r.output).toBe(0);
        return f;
      }),
    );
    const [s0, s1] = files as [string, string];
    const missing = kiln(['report', 'merge', s0]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing shard 1/2 (1 of 2 given; --allow-partial merges them anyway)');
    const partial = kiln(['report', 'merge', s0, '--allow-partial']);
    expect(partial.code, partial.output).toBe(4);
    const inS1 = Object.keys(read(s1).hosts).length;
    expect(partial.stdout).toContain(`PARTIAL: shard 1 missing: ${inS1} selected host(s) are not reported and not known to have converged`);
    const dup = kiln(['report', 'merge', s0, s0, s1]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain(`${s0}: shard 0/2 twice: also ${s0}`);
    // The same run unsharded overlaps both shards.
    const w = join(q.dir, 'whole.json');
    expect(kiln(args(q, ['-e', 'fail_on=none', '--json', w])).code).toBe(0);
    const overlap = kiln(['report', 'merge', s0, s1, w]);
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toMatch(/shard 0\/1: not of the same number of shards/);
    // Another run (check mode, another -t): another fingerprint.
    const c = join(q.dir, 'check-1.json');
    expect(kiln(args(q, ['-e', 'fail_on=none', '--check', '--shard', '1/2', '--json', c])).code).toBe(0);
    const foreign = kiln(['report', 'merge', s0, c]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain(`${c}: not the same run as ${s0}: fingerprint`);
    // A report with no run record (not kiln apply's, or hand-made) is refused by name.
    const bare = join(q.dir, 'bare.json');
    writeFileSync(bare, JSON.stringify({ hosts: {}, tasks: [], check: false, duration_ms: 0 }));
    const old = kiln(['report', 'merge', bare]);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain(`${bare}: no \`run\` record`);
  }, 120000);

  it('--shard is checked before any host is contacted, and what sharding would change is refused where it is written', () => {
    const p = project();
    // An unreachable inventory: exit 2 proves nothing was contacted.
    for (const [v, why] of [
      ['3/3', 'i must be below n'],
      ['0/0', 'n must be at least 1'],
      ['x', 'must be i/n with whole numbers'],
    ] as const) {
      const r = kiln(args(p, ['-e', 'fail_on=none', '--shard', v]));
      expect(r.code, r.output).toBe(2);
      expect(r.stderr).toContain(`--shard: ${why}`);
      expect(r.stdout).not.toContain('PLAY [');
    }
    const refused = project(`
- name: rolling
  hosts: all
  gather_facts: false
  serial: 2
  tasks:
    - name: once
      debug: { msg: hi }
      run_once: true
    - name: grouping
      group_by: { key: "x_{{ inventory_hostname }}" }
    - name: stop
      meta: end_play
`);
    const r = kiln(args(refused, ['--shard', '0/2']));
    expect(r.code, r.output).toBe(2);
    expect(r.stdout).not.toContain('PLAY [');
    const at = (line: number) => `${refused.playbook}:${line}:`;
    expect(r.stderr).toContain(`${at(2)}3: play 'rolling': serial (a batch would be cut from one shard's hosts) under --shard 0/2`);
    expect(r.stderr).toContain(`${at(7)}7: run_once (once per shard, not once) under --shard 0/2`);
    expect(r.stderr).toContain(`${at(10)}7: group_by (the inventory change would reach only this shard's controller) under --shard 0/2`);
    expect(r.stderr).toContain(`${at(12)}7: meta: end_play (it would end the play for this shard's hosts only) under --shard 0/2`);
    expect(r.stderr).toContain('4 errors; nothing was run.');
    // play_hosts and ansible_play_batch would name this shard's hosts only: undefined, said why, before the run.
    const members = project(`
- name: members
  hosts: all
  gather_facts: false
  tasks:
    - name: count
      debug: { msg: "{{ play_hosts | length }}" }
    - name: list
      template: { src: members.j2, dest: "{{ root }}/{{ inventory_hostname }}.members" }
`);
    writeFileSync(join(members.dir, 'members.j2'), 'members={{ ansible_play_batch | join(",") }}\n');
    const m = kiln(args(members, ['--shard', '1/2']));
    expect(m.code, m.output).toBe(2);
    expect(m.stderr).toContain(
      `${members.playbook}:7:14: debug: 'play_hosts' is undefined (under --shard each controller has only its shard of the play's hosts`,
    );
    expect(m.stderr).toContain(`${join(members.dir, 'members.j2')}:1:12: 'ansible_play_batch' is undefined (under --shard`);
    const mWhole = kiln(args(members, ['--check']));
    expect(mWhole.code, mWhole.output).toBe(0);
    expect(mWhole.stdout).toContain(`  ${HOSTS[0]}: ok\n    ${HOSTS.length}\n`);
    // A shard that holds none of a play's hosts skips the play as Ansible says it, and reports no host.
    const empty = Array.from({ length: 10 }, (_, i) => i).find((i) => !HOSTS.some((h) => shardOf(h, 10) === i))!;
    const none = kiln(args(p, ['-e', 'fail_on=none', '--shard', `${empty}/10`, '--json', join(p.dir, 'none.json')]));
    expect(none.code, none.output).toBe(0);
    expect(none.stdout).toContain('PLAY [base]\nskipping: no hosts matched');
    expect(none.stdout).toContain('PLAY [web only]\nskipping: no hosts matched');
    expect(read(join(p.dir, 'none.json')).hosts).toEqual({});
    // Unsharded, or as the one shard of one (the whole run), the same playbook runs.
    expect(kiln(['validate', refused.playbook, '-i', refused.inv]).code).toBe(0);
    const one = kiln(args(refused, ['--check', '--shard', '0/1']));
    expect(one.code, one.output).toBe(0);
    expect(one.stdout).toContain(`SHARD 0/1: ${HOSTS.length} of the ${HOSTS.length} selected host(s)`);
  });
});
