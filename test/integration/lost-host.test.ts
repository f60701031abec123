/**
 * A lost host never stops the run (issue 14, items 1 and 4, and the timeouts), against real
 * OpenSSH servers on loopback, through the real Runner and SSH transport:
 * - link down (a TCP relay that blackholes both ways, sockets left open) during a command and
 *   between commands: the host is unreachable within keepalive interval × count, named as such;
 * - sshd killed (the server and its sessions, SIGKILL) during a command and between commands:
 *   unreachable, "connection closed by the host", never a failed script;
 * - a command past the command timeout fails its task, naming the timeout and how to raise it;
 * - a host that accepts TCP but never speaks SSH is unreachable after the connect timeout.
 * Every time a second inventory name for a healthy sshd ("steady") finishes every play and the
 * run returns its report. The transport's own promises are checked on a HostConnection too.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport, TaskResult } from '../../src/engine/report.ts';
import { loadInventory } from '../../src/input/inventory/index.ts';
import { sshTransport } from '../../src/transport/ssh/factory.ts';
import { CommandTimeoutError, UnreachableError } from '../../src/transport/transport.ts';
import { quietReporter, runPlaybook } from '../helpers/run-playbook.ts';
import { sshdAvailable, startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';
import { startRelay, type TcpRelay } from '../helpers/tcp-relay.ts';

let sshd: TestSshd;
let work: string;
let n = 0;
const cleanups: (() => Promise<void>)[] = [];

/** Keepalive every 1 s, unreachable after 2 s without an answer (the test hosts' setting). */
const FAST_KEEPALIVE = { kiln_keepalive_interval: 1, kiln_keepalive_count: 2 };

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-lost-'));
}, 30000);

afterAll(async () => {
  for (const c of cleanups) await c();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function relayTo(target: TestSshd, opts: { silent?: boolean } = {}): Promise<TcpRelay> {
  const relay = await startRelay({ port: target.port }, opts);
  cleanups.push(() => relay.close());
  return relay;
}

async function ownSshd(): Promise<TestSshd> {
  const s = await startSshd();
  cleanups.push(() => s.stop());
  return s;
}

/** A fresh directory, an inventory (`hosts`: name → host vars) and a playbook (`plays` YAML) in it. */
function scene(hosts: Record<string, Record<string, unknown>>, plays: string): { dir: string; inventory: string; playbook: string } {
  const dir = join(work, `scene-${++n}`);
  mkdirSync(dir);
  const inventory = writeSshdInventory(sshd, dir, hosts, { work_dir: dir });
  writeFileSync(join(dir, 'pb.yml'), plays);
  return { dir, inventory, playbook: join(dir, 'pb.yml') };
}

/**
 * Two plays. The first: a warm-up on every host, a long command (the host under test sleeps 60 s;
 * or only `steady` sleeps, 4 s, while the host under test is idle), and a copy; the second: one
 * more copy.
 */
function twoPlays(sleeper: 'subject' | 'steady'): string {
  const sleep = sleeper === 'subject' ? "{{ 60 if inventory_hostname != 'steady' else 0 }}" : '4';
  return `- name: first
  hosts: all
  gather_facts: false
  tasks:
    - name: warm up
      command: "true"
    - name: long command
      shell: "touch {{ work_dir }}/{{ inventory_hostname }}.started; sleep ${sleep}"${sleeper === 'steady' ? `\n      when: inventory_hostname == 'steady'` : ''}
    - name: after
      copy: { dest: "{{ work_dir }}/{{ inventory_hostname }}.after", content: "after\\n" }
- name: second
  hosts: all
  gather_facts: false
  tasks:
    - name: second play
      copy: { dest: "{{ work_dir }}/{{ inventory_hostname }}.second", content: "second\\n" }
`;
}

/** `crashy` on an sshd of its own (to crash), `steady` on the shared one. */
async function crashScene(sleeper: 'subject' | 'steady') {
  const own = await ownSshd();
  const crashy = { port: own.port, known_hosts: join(own.dir, 'known_hosts'), identity_file: own.identityFile };
  return { own, s: scene({ crashy, steady: {} }, twoPlays(sleeper)) };
}

async function waitFor(file: string): Promise<void> {
  const deadline = Date.now() + 20000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the scene with 5 forks; `onResult` sees every result as it is recorded. */
function run(s: { inventory: string; playbook: string }, onResult: (r: TaskResult) => void = () => undefined): Promise<RunReport> {
  return runPlaybook(s.playbook, s.inventory, { forks: 5, reporter: { ...quietReporter, result: onResult } });
}

const statuses = (rep: RunReport, host: string) => rep.tasks.filter((t) => t.host === host).map((t) => `${t.task}: ${t.status}`);

/** `steady` ran every task of both plays, and wrote the files of both. */
function expectSteadyFinished(rep: RunReport, dir: string): void {
  expect(statuses(rep, 'steady')).toEqual(['warm up: changed', 'long command: changed', 'after: changed', 'second play: changed']);
  expect(rep.error).toBeUndefined();
  expect(readFileSync(join(dir, 'steady.second'), 'utf8')).toBe('second\n');
  expect(rep.hosts.steady).toMatchObject({ failed: 0, unreachable: false });
}

describe.skipIf(!sshdAvailable())('a lost host never stops the run', () => {
  it('link down during a command: unreachable within keepalive interval × count; the other host finishes every play', async () => {
    const relay = await relayTo(sshd);
    const s = scene({ lost: { port: relay.port, ...FAST_KEEPALIVE }, steady: {} }, twoPlays('subject'));
    let reported = 0;
    const running = run(s, (r) => r.host === 'lost' && r.status === 'unreachable' && (reported = Date.now()));
    await waitFor(join(s.dir, 'lost.started'));
    relay.blackhole();
    const cut = Date.now();
    const rep = await running;
    const lost = rep.tasks.find((t) => t.host === 'lost' && t.status === 'unreachable')!;
    expect(lost.task).toBe('long command');
    expect(lost.message).toMatch(
      /^lost the SSH connection to \S+@127\.0\.0\.1:\d+: no answer to SSH keepalives for 2 s \(every 1 s, 2 times/,
    );
    // Cut short by the keepalives (a 2 s bound, with generous slack), long before the 60 s sleep ends.
    expect(reported - cut).toBeLessThan(15000);
    expect(statuses(rep, 'lost')).toEqual(['warm up: changed', 'long command: unreachable']);
    expect(rep.hosts.lost!.unreachable).toBe(true);
    expectSteadyFinished(rep, s.dir);
  }, 40000);

  it('link down between commands: the idle connection is found lost, the next task is unreachable', async () => {
    const relay = await relayTo(sshd);
    const s = scene({ lost: { port: relay.port, ...FAST_KEEPALIVE }, steady: {} }, twoPlays('steady'));
    const rep = await run(s, (r) => r.host === 'lost' && r.task === 'warm up' && relay.blackhole());
    const lost = rep.tasks.find((t) => t.host === 'lost' && t.status === 'unreachable')!;
    expect(lost.message).toMatch(/^lost the SSH connection to \S+@127\.0\.0\.1:\d+: no answer to SSH keepalives for 2 s/);
    expect(statuses(rep, 'lost')).toEqual(['warm up: changed', 'long command: skipped', 'after: unreachable']);
    expect(rep.hosts.lost!.unreachable).toBe(true);
    expect(rep.hosts.lost!.failed).toBe(0);
    expectSteadyFinished(rep, s.dir);
  }, 40000);

  it('sshd killed during a command: unreachable, the connection closed by the host (not "exited with 255")', async () => {
    const { own, s } = await crashScene('subject');
    const running = run(s);
    await waitFor(join(s.dir, 'crashy.started'));
    await own.crash();
    const rep = await running;
    const lost = rep.tasks.find((t) => t.host === 'crashy' && t.task === 'long command')!;
    expect(lost.status).toBe('unreachable');
    expect(lost.message).toMatch(/^lost the SSH connection to \S+@127\.0\.0\.1:\d+: connection (closed|reset) by the host$/);
    expect(rep.hosts.crashy!.failed).toBe(0);
    expectSteadyFinished(rep, s.dir);
  }, 40000);

  it('sshd killed between commands: the next task is unreachable with the same reason (no null-connection error)', async () => {
    const { own, s } = await crashScene('steady');
    let crashed: Promise<void> | undefined;
    const rep = await run(s, (r) => {
      if (r.host === 'crashy' && r.task === 'warm up') crashed = own.crash();
    });
    await crashed;
    const lost = rep.tasks.find((t) => t.host === 'crashy' && t.status === 'unreachable')!;
    expect(lost.message).toMatch(/^lost the SSH connection to \S+@127\.0\.0\.1:\d+: connection (closed|reset) by the host$/);
    expect(statuses(rep, 'crashy')).toEqual(['warm up: changed', 'long command: skipped', 'after: unreachable']);
    expect(rep.hosts.crashy!.failed).toBe(0);
    expectSteadyFinished(rep, s.dir);
  }, 40000);

  it('a command past the command timeout fails its task, naming the timeout and how to raise it', async () => {
    const s = scene({ slow: { kiln_command_timeout: 1 }, steady: {} }, twoPlays('subject'));
    const rep = await run(s);
    const slow = rep.tasks.find((t) => t.host === 'slow' && t.task === 'long command')!;
    expect(slow.status).toBe('failed');
    expect(slow.message).toBe(
      'no reply within the command timeout of 1 s; the script may still be running on the host (raise it with kiln_command_timeout, --command-timeout)',
    );
    expect(rep.hosts.slow).toMatchObject({ failed: 1, unreachable: false });
    expectSteadyFinished(rep, s.dir);
  }, 40000);

  it('a host that accepts TCP but never speaks SSH is unreachable after the connect timeout', async () => {
    const relay = await relayTo(sshd, { silent: true });
    const s = scene({ mute: { port: relay.port, kiln_connect_timeout: 1 }, steady: {} }, twoPlays('subject'));
    const rep = await run(s);
    expect(relay.accepted).toBe(1);
    const mute = rep.tasks.filter((t) => t.host === 'mute');
    expect(mute.map((t) => t.status)).toEqual(['unreachable']);
    expect(mute[0]!.message).toMatch(
      /^cannot connect to \S+@127\.0\.0\.1:\d+: no SSH handshake within 1 s \(kiln_connect_timeout, --connect-timeout\)$/,
    );
    expectSteadyFinished(rep, s.dir);
  }, 40000);
});

describe.skipIf(!sshdAvailable())('the SSH transport on a lost connection', () => {
  async function open(host: Record<string, unknown>) {
    const dir = join(work, `conn-${++n}`);
    mkdirSync(dir);
    const { inventory } = loadInventory([writeSshdInventory(sshd, dir, { h: host })]);
    const conn = await sshTransport(inventory).open('h');
    cleanups.push(async () => conn.close());
    return conn;
  }

  it('rejects the run in flight, then every later run at once, with the same UnreachableError', async () => {
    const relay = await relayTo(sshd);
    const conn = await open({ port: relay.port, ...FAST_KEEPALIVE });
    expect((await conn.run('echo up')).stdout).toBe('up\n');
    const inFlight = conn.run('sleep 30').catch((e: unknown) => e);
    relay.blackhole();
    const err = (await inFlight) as Error;
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err.message).toMatch(/no answer to SSH keepalives for 2 s/);
    expect(conn.lost).toMatch(/^no answer to SSH keepalives for 2 s/);
    const later = await conn.run('echo again').catch((e: unknown) => e);
    expect(later).toBeInstanceOf(UnreachableError);
    expect((later as Error).message).toBe(err.message);
  }, 20000);

  it('a script that exits 255 on a live connection is a failed script, and the connection goes on', async () => {
    const conn = await open({});
    expect(await conn.run('echo out; echo err >&2; exit 255')).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 255 });
    expect((await conn.run('echo still')).stdout).toBe('still\n');
    expect(conn.lost).toBeUndefined();
  });

  it('a command timeout fails that command only: the connection goes on', async () => {
    const conn = await open({ kiln_command_timeout: 1 });
    const err = await conn.run('sleep 5').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((await conn.run('echo next')).stdout).toBe('next\n');
  }, 20000);
});
