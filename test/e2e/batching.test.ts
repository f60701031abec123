/**
 * Batching of applies (docs/batching.md) on lab hosts of its own (batch-a 10.77.0.187, batch-b
 * 10.77.0.188, added with `kiln lab add`, removed at the end; the shared site's hosts are never
 * touched):
 * - the bench workload (bench/kiln/site.yml, 41 tasks) on two fresh hosts, one batched, one with
 *   batching off (`--no-batch`): the same results task for task, far fewer round trips batched;
 * - a failure in the middle of a batch stops there: the tasks after it are not applied (shown on
 *   the host) and the report is the one-at-a-time run's;
 * - an ignored failure in a batch: the tasks after it are applied in a later round trip, as
 *   reported one at a time;
 * - a task that reads a result registered by the one before it is not batched with it;
 * - under strategy free, commands, services and packages join batches (the same results);
 * - both hosts at once under the linear strategy: the same, with barriers inside each host's script
 *   (a part sent at its task's turn, once both hosts finished the tasks before it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/engine/report.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED batching lab suite: ${skip}`);

const HOSTS = ['batch-a', 'batch-b'];

/** A report's task results without what differs between two hosts or runs (host, timing). */
const shape = (r: RunReport) => r.tasks.map(({ host: _h, duration_ms: _d, ...rest }) => rest);

describe.skipIf(skip)('batching of applies on lab hosts', () => {
  let work: string;
  let inv: string;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(SHARED_LAB_CWD, '.lab', 'ssh_config'), host, cmd], { encoding: 'utf8', timeout: 120_000 }).trim();
  const playbook = (name: string, hosts: string, tasks: string[]): string => {
    const f = join(work, name);
    writeFileSync(
      f,
      [`- hosts: ${hosts}`, '  gather_facts: false', '  become: true', '  tasks:', ...tasks.map((t) => `    ${t}`), ''].join('\n'),
    );
    return f;
  };
  const run = (pb: string, limit: string, batch: boolean, forks = 1) => runPlaybook(pb, inv, { batch, limit, forks });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-batch-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD); // leftovers of an interrupted run
    for (const [n, h] of HOSTS.entries()) {
      const add = await kiln(['lab', 'add', h, '--address', `10.77.0.${187 + n}`, '--inventory', inv], SHARED_LAB_CWD);
      expect(add.code, add.stderr).toBe(0);
    }
  }, 300_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('the bench workload on fresh hosts: the same results as one apply per round trip, in far fewer round trips', async () => {
    const site = join(REPO_ROOT, 'bench/kiln/site.yml');
    const a = await run(site, 'batch-a', true);
    const b = await run(site, 'batch-b', false);
    expect(a.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    expect(a.tasks).toHaveLength(41);
    expect(shape(a)).toEqual(shape(b));
    const ra = a.hosts['batch-a']!.round_trips!;
    const rb = b.hosts['batch-b']!.round_trips!;
    console.log(`bench workload, fresh host: ${ra} round trips batched, ${rb} one apply per round trip`);
    // One apply per round trip costs a round trip per changed task. Batched, one host alone in its
    // play (nothing to order across hosts, so as under free): the probe; one script that stops at
    // the first service (its probe, taken before its unit file existed, no longer holds); one with
    // the rest, the 5 edits of one file each planned from the previous one's predicted probe.
    expect(rb).toBeGreaterThanOrEqual(41);
    expect(ra).toBeLessThanOrEqual(3);
    // Both hosts converged: a re-run changes nothing.
    const again = await run(site, 'all', true);
    expect(again.tasks.filter((t) => t.status !== 'ok')).toEqual([]);
  }, 1_500_000);

  it('the bench workload under strategy free: commands, services and the package join batches too (no order across hosts is promised); the same results', async () => {
    // The bench role under `strategy: free`, on fresh paths and units of its own (bench_tool).
    const pb = join(work, 'free.yml');
    writeFileSync(
      pb,
      [
        '- hosts: all',
        '  become: true',
        '  gather_facts: false',
        '  strategy: free',
        '  vars: { bench_tool: free }',
        '  roles:',
        `    - role: ${join(REPO_ROOT, 'bench/kiln/roles/bench')}`,
        '',
      ].join('\n'),
    );
    const a = await run(pb, 'batch-a', true);
    const b = await run(pb, 'batch-b', false);
    expect(a.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    expect(a.tasks).toHaveLength(41);
    expect(shape(a)).toEqual(shape(b));
    const ra = a.hosts['batch-a']!.round_trips!;
    console.log(
      `bench workload under strategy free, fresh paths: ${ra} round trips batched, ${b.hosts['batch-b']!.round_trips} one at a time`,
    );
    // The probe; the batch of all 41 tasks stops at the first service (its probe, taken before the
    // unit files existed, no longer holds); then the services, the edits of settings.ini (each
    // planned from the previous one's predicted probe) and the commands: 3 (the goal).
    expect(ra).toBeLessThanOrEqual(3);
    for (const h of ['batch-a', 'batch-b'])
      expect(ssh(h, 'systemctl is-active kbench-free-1 kbench-free-5; cat /opt/kbench-free/settings.ini')).toBe(
        'active\nactive\nkey1=value1\nkey2=value2\nkey3=value3\nkey4=value4\nkey5=value5',
      );
    const again = await run(pb, 'all', true);
    expect(again.tasks.filter((t) => t.status !== 'ok')).toEqual([]);
  }, 1_500_000);

  it('the bench workload on both hosts at once (linear): each host one script in parts, released at each barrier; the same results', async () => {
    // The bench role on fresh paths and units of its own (bench_tool), both hosts in one play: the
    // linear strategy orders them task by task, so a command, a service or the package starts a
    // new part of each host's script, sent at its turn (syncs).
    const pb = join(work, 'linear.yml');
    writeFileSync(
      pb,
      [
        '- hosts: all',
        '  become: true',
        '  gather_facts: false',
        '  vars: { bench_tool: linear }',
        '  roles:',
        `    - role: ${join(REPO_ROOT, 'bench/kiln/roles/bench')}`,
        '',
      ].join('\n'),
    );
    const r = await run(pb, 'all', true, 20);
    expect(r.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    for (const h of HOSTS) {
      const mine = r.tasks.filter((t) => t.host === h);
      expect(mine).toHaveLength(41);
      const st = r.hosts[h]!;
      console.log(`bench workload, 2 fresh hosts under linear: ${h} ${st.round_trips} round trips, ${st.syncs} syncs`);
      // The probe; a script stopping at the first service's guard; one with the rest.
      expect(st.round_trips).toBeLessThanOrEqual(3);
      expect(st.syncs).toBeGreaterThan(0);
      expect(ssh(h, 'systemctl is-active kbench-linear-1 kbench-linear-5; cat /opt/kbench-linear/settings.ini')).toBe(
        'active\nactive\nkey1=value1\nkey2=value2\nkey3=value3\nkey4=value4\nkey5=value5',
      );
    }
    const again = await run(pb, 'all', true, 20);
    expect(again.tasks.filter((t) => t.status !== 'ok')).toEqual([]);
    for (const h of HOSTS) expect(again.hosts[h]!.round_trips).toBe(1);
  }, 1_500_000);

  it('a failure in the middle of a batch stops exactly there: later tasks are not applied', async () => {
    const pb = playbook('fail.yml', 'all', [
      '- file: {path: /opt/kbatch-fail, state: directory}',
      '- copy: {dest: /opt/kbatch-fail/a, content: "a\\n"}',
      '- copy: {dest: /opt/kbatch-fail/b, content: "b\\n"}',
      '- command: {argv: [/bin/sh, -c, "echo boom >&2; exit 3"]}',
      '- copy: {dest: /opt/kbatch-fail/c, content: "c\\n"}',
      '- file: {path: /opt/kbatch-fail/d, state: directory}',
    ]);
    const a = await run(pb, 'batch-a', true);
    const b = await run(pb, 'batch-b', false);
    expect(shape(a)).toEqual(shape(b));
    expect(a.tasks.map((t) => t.status)).toEqual(['changed', 'changed', 'changed', 'failed']);
    // On the host: the tasks before the failure were applied, none after it.
    expect(ssh('batch-a', 'ls /opt/kbatch-fail')).toBe('a\nb');
    expect(ssh('batch-b', 'ls /opt/kbatch-fail')).toBe('a\nb');
    // The three file applies and the command in one script (probe, the batch); one at a time: 1 + 4.
    expect(a.hosts['batch-a']!.round_trips).toBe(2);
    expect(b.hosts['batch-b']!.round_trips).toBe(5);
  }, 300_000);

  it('an ignored failure in a batch: the tasks after it are applied, reported as one at a time', async () => {
    const pb = playbook('ignored.yml', 'all', [
      '- file: {path: /opt/kbatch-ign, state: directory}',
      '- copy: {dest: /opt/kbatch-ign/a, content: "a\\n"}',
      '- command: {argv: [/bin/false]}',
      '  ignore_errors: true',
      '- copy: {dest: /opt/kbatch-ign/c, content: "c\\n"}',
      '- copy: {dest: /opt/kbatch-ign/d, content: "d\\n"}',
    ]);
    const a = await run(pb, 'batch-a', true);
    const b = await run(pb, 'batch-b', false);
    expect(shape(a)).toEqual(shape(b));
    expect(a.tasks.map((t) => [t.status, t.ignored ?? false])).toEqual([
      ['changed', false],
      ['changed', false],
      ['failed', true],
      ['changed', false],
      ['changed', false],
    ]);
    expect(ssh('batch-a', 'ls /opt/kbatch-ign')).toBe('a\nc\nd');
    // probe; the directory, a and the failed command (the script stops there); c and d.
    expect(a.hosts['batch-a']!.round_trips).toBe(3);
  }, 300_000);

  it('a task reading what the task before it registered is not batched with it', async () => {
    const pb = playbook('register.yml', 'all', [
      '- file: {path: /opt/kbatch-reg, state: directory}',
      '- copy: {dest: /opt/kbatch-reg/a, content: "a\\n"}',
      '  register: first',
      '- copy: {dest: /opt/kbatch-reg/b, content: "first changed: {{ first.changed }}\\n"}',
      '- copy: {dest: /opt/kbatch-reg/c, content: "c\\n"}',
    ]);
    const a = await run(pb, 'batch-a', true);
    const b = await run(pb, 'batch-b', false);
    expect(shape(a)).toEqual(shape(b));
    expect(a.tasks.map((t) => t.status)).toEqual(['changed', 'changed', 'changed', 'changed']);
    expect(ssh('batch-a', 'cat /opt/kbatch-reg/b')).toBe('first changed: True');
    // Probe the directory and a; apply both (b is not probed yet: it needs `first`); probe b and c;
    // apply b and c together.
    expect(a.hosts['batch-a']!.round_trips).toBe(4);
    // One at a time: probe, 2 applies, probe, 2 applies.
    expect(b.hosts['batch-b']!.round_trips).toBe(6);
  }, 300_000);
});
