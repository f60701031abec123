/**
 * The bounded connection pool (src/transport/pool.ts) over the local transport: never more than
 * `capacity` connections open, reconnection on demand, the least recently used idle connection
 * (a done host's first) closed to free a slot, no script ever refused or cut for a slot, a lost
 * connection never reopened, reset and done, round trips summed over a host's connections.
 */
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../src/transport/local.ts';
import { ConnectionPool } from '../../../src/transport/pool.ts';
import {
  type ExecResult,
  type RunOptions,
  type Transport,
  type TransportFactory,
  UnreachableError,
} from '../../../src/transport/transport.ts';

/** A factory of local connections that counts what is open; host "down*" cannot connect; `lose` makes a host's runs fail as lost. */
function tracked() {
  const state = { live: 0, peak: 0, opens: [] as string[], closes: [] as string[], lose: new Set<string>() };
  class Tracked implements Transport {
    private closed = false;
    private readonly inner: LocalTransport;
    constructor(readonly name: string) {
      this.inner = new LocalTransport(name);
    }
    get roundTrips() {
      return this.inner.roundTrips;
    }
    async run(script: string, opts?: RunOptions): Promise<ExecResult> {
      if (this.closed) throw new Error(`run on a closed connection to ${this.name}`);
      if (state.lose.has(this.name)) throw new UnreachableError(`lost the connection to ${this.name}`);
      return this.inner.run(script, opts);
    }
    private gone?: Promise<void>;
    /** The "host" sees the connection go 5 ms after close (as a TCP close trails ssh2's end()). */
    close() {
      if (this.closed) return;
      this.closed = true;
      state.closes.push(this.name);
      this.gone = new Promise((r) =>
        setTimeout(() => {
          state.live--;
          r();
        }, 5),
      );
    }
    whenClosed(): Promise<void> {
      return this.gone ?? Promise.resolve();
    }
  }
  const open = async (name: string): Promise<Transport> => {
    state.opens.push(name);
    if (name.startsWith('down')) throw new UnreachableError(`cannot connect to ${name}`);
    await new Promise((r) => setTimeout(r, 2));
    state.live++;
    state.peak = Math.max(state.peak, state.live);
    return new Tracked(name);
  };
  const factory: TransportFactory = { open, openFresh: (h) => open(`${h} (confirm)`) };
  return { state, factory };
}

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('ConnectionPool', () => {
  it('60 hosts, 3 tasks each, 12 at a time, capacity 5: never more than 5 open, every run answers, round trips summed', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 5);
    const all = hosts(60);
    for (let task = 0; task < 3; task++) {
      let next = 0;
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          while (next < all.length) {
            const h = all[next++]!;
            const t = await pool.open(h);
            const r = await t.run(`sleep 0.01; echo ${h}-${task}`);
            expect(r).toEqual({ stdout: `${h}-${task}\n`, stderr: '', code: 0 });
          }
        }),
      );
    }
    expect(state.peak).toBeLessThanOrEqual(5);
    expect(pool.stats.peakOpen).toBeLessThanOrEqual(5);
    // Each task step went through all 60 hosts with 5 slots: hosts were reconnected.
    expect(state.opens.length).toBeGreaterThan(60);
    expect(pool.stats.waits).toBeGreaterThan(0);
    const opened = await pool.opened();
    expect(opened.map(([h]) => h)).toEqual(all);
    expect(opened.every(([, t]) => t.roundTrips === 3)).toBe(true);
    for (const [, t] of opened) t.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(state.live).toBe(0);
    expect(pool.openNow).toBe(0);
  });

  it('closes the least recently used idle connection, a done host first; reconnects on demand', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 2);
    const a = await pool.open('a');
    const b = await pool.open('b');
    await a.run('true');
    await b.run('true');
    await a.run('true'); // b is now the least recently used
    await pool.open('c');
    expect(state.closes).toEqual(['b']);
    pool.done('a'); // idle: closed at once
    expect(state.closes).toEqual(['b', 'a']);
    await b.run('true'); // reconnects into the freed slot
    expect(state.opens).toEqual(['a', 'b', 'c', 'b']);
    expect(b.roundTrips).toBe(2);
    expect(state.peak).toBe(2);
  });

  it('a done host whose script is running is closed when the script ends, never under it', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 1);
    const a = await pool.open('a');
    const running = a.run('sleep 0.1; echo done');
    await new Promise((r) => setTimeout(r, 20));
    pool.done('a');
    expect(state.closes).toEqual([]);
    // b waits for the slot a holds while its script runs.
    const bOpen = pool.open('b');
    expect((await running).stdout).toBe('done\n');
    await bOpen;
    expect(state.closes).toEqual(['a']);
    expect(state.peak).toBe(1);
  });

  it('a lost connection stays lost: later runs throw the first reason without reconnecting; its slot is freed', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 1);
    const a = await pool.open('a');
    await a.run('true');
    state.lose.add('a');
    await expect(a.run('true')).rejects.toThrow('lost the connection to a');
    state.lose.delete('a');
    await expect(a.run('true')).rejects.toThrow('lost the connection to a');
    expect(state.opens).toEqual(['a']);
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.openNow).toBe(0);
    const b = await pool.open('b');
    expect((await b.run('echo b')).stdout).toBe('b\n');
  });

  it('a host that cannot connect fails every open the same way, with one attempt, and takes no slot', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 1);
    await expect(pool.open('down1')).rejects.toThrow('cannot connect to down1');
    await expect(pool.open('down1')).rejects.toThrow('cannot connect to down1');
    expect(state.opens).toEqual(['down1']);
    expect(pool.openNow).toBe(0);
    await (await pool.open('h')).run('true');
    expect((await pool.opened()).map(([h]) => h)).toEqual(['h']);
  });

  it('reset closes the live connection; the next open connects again; round trips count both connections', async () => {
    const { state, factory } = tracked();
    const pool = new ConnectionPool(factory, 3);
    const a = await pool.open('a');
    await a.run('true');
    expect(await pool.reset('a')).toBe(1);
    expect(state.closes).toEqual(['a']);
    const again = await pool.open('a');
    await again.run('true');
    expect(state.opens).toEqual(['a', 'a']);
    expect(again.roundTrips).toBe(2);
    // openFresh passes through, outside the pool.
    const fresh = await pool.openFresh('a');
    expect(fresh.name).toBe('a (confirm)');
    await new Promise((r) => setTimeout(r, 20));
    expect(pool.openNow).toBe(1);
    fresh.close();
  });

  /** A factory whose opens take 10 ms, counting the handshakes in progress per endpoint. */
  function slowOpens(endpoint: (h: string) => string) {
    const { factory } = tracked();
    const now = new Map<string, number>();
    let peak = 0;
    const slow: TransportFactory = {
      open: async (h) => {
        const k = endpoint(h);
        now.set(k, (now.get(k) ?? 0) + 1);
        peak = Math.max(peak, now.get(k)!);
        await new Promise((r) => setTimeout(r, 10));
        now.set(k, now.get(k)! - 1);
        return factory.open(h);
      },
      openFresh: factory.openFresh,
      endpoint,
    };
    return { slow, peak: () => peak };
  }

  it("at most maxConnecting handshakes at once to one endpoint (an sshd's MaxStartups), whatever the capacity", async () => {
    const { slow, peak } = slowOpens(() => '127.0.0.1:22');
    const pool = new ConnectionPool(slow, 10, 3);
    const handles = await Promise.all(hosts(10).map((h) => pool.open(h)));
    expect(handles).toHaveLength(10);
    expect(peak()).toBe(3);
    expect(pool.openNow).toBe(10);
  });

  it("hosts behind different endpoints are not held back by one another's handshakes", async () => {
    const { slow } = slowOpens((h) => `${h}:22`);
    let most = 0;
    let now = 0;
    const counting: TransportFactory = {
      ...slow,
      open: async (h) => {
        most = Math.max(most, ++now);
        try {
          return await slow.open(h);
        } finally {
          now--;
        }
      },
    };
    const pool = new ConnectionPool(counting, 10, 3);
    await Promise.all(hosts(10).map((h) => pool.open(h)));
    expect(most).toBe(10);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new ConnectionPool(tracked().factory, 0)).toThrow('whole number from 1');
  });
});
