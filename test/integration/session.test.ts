/**
 * Scripts sent in parts on one shell (src/transport/session.ts, `Transport.session`), the carrier
 * of the linear strategy's barriers inside one batch script (docs/batching.md), against a real
 * loopback OpenSSH server (and the local transport):
 * - the parts run in order on ONE shell (its variables hold across parts); each `send` resolves at
 *   its part's marker with the stdout so far; `end` gives the exit code; one round trip, the later
 *   parts counted as syncs;
 * - the command timeout holds per part, not across the wait between parts;
 * - a connection lost while the script waits for its next part: the next part rejects with
 *   UnreachableError, as a run would;
 * - in the connection pool, a session keeps its connection's slot until it ends: another host
 *   waits for it rather than closing it under the script.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/input/inventory/index.ts';
import { LocalTransport } from '../../src/transport/local.ts';
import { ConnectionPool } from '../../src/transport/pool.ts';
import { sshTransport } from '../../src/transport/ssh/factory.ts';
import { CommandTimeoutError, type Transport, UnreachableError } from '../../src/transport/transport.ts';
import { sshdAvailable, startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';
import { startRelay, type TcpRelay } from '../helpers/tcp-relay.ts';

let sshd: TestSshd;
let work: string;
let n = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-session-'));
}, 30000);

afterAll(async () => {
  for (const c of cleanups) await c();
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const mark = (p: number) => `\n@@PART:${p}\n`;
const part = (body: string, p: number) => `${body}\nprintf '\\n@@PART:${p}\\n'\n`;

/** Three parts on one shell: a variable set in the first is read in the last. */
async function threeParts(conn: Transport): Promise<void> {
  const s = await conn.session!();
  const r0 = await s.send(part('x=41; echo first', 0), mark(0));
  expect(r0.stdout).toBe('first\n\n@@PART:0\n');
  expect(r0.done).toBeUndefined();
  const r1 = await s.send(part('x=$((x+1)); echo second', 1), mark(1));
  expect(r1.stdout.endsWith('second\n\n@@PART:1\n')).toBe(true);
  const r2 = await s.send(part('echo "x=$x"; echo err >&2', 2), mark(2));
  expect(r2.stdout.endsWith('x=42\n\n@@PART:2\n')).toBe(true);
  const end = await s.end('exit 3\n');
  expect(end.code).toBe(3);
  expect(end.stderr).toBe('err\n');
  expect(conn.roundTrips).toBe(1);
  expect(conn.syncs).toBe(2);
}

describe('a script in parts on the local shell', () => {
  it('runs the parts in order on one shell', async () => {
    await threeParts(new LocalTransport('local'));
  });
});

describe.skipIf(!sshdAvailable())('a script in parts on one SSH channel', () => {
  async function open(host: Record<string, unknown>, port = sshd.port) {
    const dir = join(work, `conn-${++n}`);
    mkdirSync(dir);
    const { inventory } = loadInventory([writeSshdInventory(sshd, dir, { h: { port, ...host } })]);
    const conn = await sshTransport(inventory).open('h');
    cleanups.push(async () => conn.close());
    return conn;
  }

  async function relayTo(target: TestSshd): Promise<TcpRelay> {
    const relay = await startRelay({ port: target.port });
    cleanups.push(() => relay.close());
    return relay;
  }

  it('runs the parts in order on one shell: one round trip, the later parts counted as syncs', async () => {
    await threeParts(await open({}));
  });

  it('the command timeout holds per part: a wait between parts longer than it is fine, a part past it fails', async () => {
    const conn = await open({ kiln_command_timeout: 1 });
    const s = await conn.session!();
    await s.send(part('echo a', 0), mark(0));
    await new Promise((r) => setTimeout(r, 1500));
    expect((await s.send(part('echo b', 1), mark(1))).stdout).toMatch(/b\n\n@@PART:1\n$/);
    const err = await s.send(part('sleep 5', 2), mark(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((await s.end().catch((e: unknown) => e)) as Error).toBe(err);
    // The connection goes on, and its channel slot was given back.
    for (let k = 0; k < 5; k++) expect((await conn.run('echo next')).stdout).toBe('next\n');
  }, 20000);

  it('a connection lost while the script waits for its next part: the next part is unreachable', async () => {
    const relay = await relayTo(sshd);
    const conn = await open({ kiln_keepalive_interval: 1, kiln_keepalive_count: 2 }, relay.port);
    const s = await conn.session!();
    await s.send(part('echo a', 0), mark(0));
    relay.blackhole();
    await new Promise((r) => setTimeout(r, 3500));
    const err = await s.send(part('echo b', 1), mark(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/no answer to SSH keepalives for 2 s/);
  }, 20000);

  it('in the pool, a session keeps its slot until it ends: another host waits, nothing is closed under the script', async () => {
    const dir = join(work, `pool-${++n}`);
    mkdirSync(dir);
    const { inventory } = loadInventory([writeSshdInventory(sshd, dir, { a: {}, b: {} })]);
    const pool = new ConnectionPool(sshTransport(inventory), 1);
    cleanups.push(async () => pool.closeAll());
    const a = await pool.open('a');
    const s = await a.session!();
    await s.send(part('v=kept', 0), mark(0));
    let bDone = false;
    const other = (async () => {
      const r = await (await pool.open('b')).run('echo b');
      bDone = true;
      return r;
    })();
    await new Promise((r) => setTimeout(r, 500));
    expect(bDone).toBe(false);
    expect((await s.send(part('echo "$v"', 1), mark(1))).stdout).toMatch(/kept\n\n@@PART:1\n$/);
    expect((await s.end()).code).toBe(0);
    expect((await other).stdout).toBe('b\n');
    expect(pool.stats.peakOpen).toBe(1);
  }, 20000);
});
