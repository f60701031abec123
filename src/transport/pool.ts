/**
 * A bounded pool of host connections (issue 20, "Scale from one controller"): what the runner
 * opens hosts through. At most `capacity` connections are open (or opening) at once, whatever the
 * number of hosts; a host keeps ONE handle (a `Transport`) for the whole run, and the connection
 * under it is opened on demand:
 *
 * - `open(host)` connects the first time (a host that cannot be reached fails there, and the same
 *   way at every later `open`, as TransportCache did), and returns the host's handle;
 * - `handle.run(script)` takes the host's live connection, or (after the pool closed it) opens a
 *   new one through the same factory — same host-key checks and keys, and a failure to connect
 *   again is `UnreachableError`, as a lost connection is;
 * - when every slot is taken, the pool closes the least recently used IDLE connection (hosts
 *   marked `done` first); when none is idle, the opener waits for a run to end: no run is ever
 *   refused for want of a slot, and no connection is ever closed under a running script; a
 *   closed connection's slot is free once its TCP connection is closed (`whenClosed`), so the
 *   hosts never see more than `capacity` connections;
 * - at most `maxConnecting` handshakes at once to one endpoint (one sshd: the aliases of a host,
 *   the hosts behind one ProxyJump bastion), below OpenSSH's default MaxStartups;
 * - a connection LOST under a run (or while idle: a keepalive timeout) stays lost: every later
 *   run on the handle throws UnreachableError naming the first reason, and it is never reopened
 *   (what an interrupted script did is unknown; transport.ts's invariant);
 * - `done(host)`: the run needs the host no more (its last play is over, or it is out of the
 *   run): its connection is closed as soon as it is idle. A later `run` would still reconnect.
 * - `reset(host)` (meta: reset_connection, a reboot): closes the live connection now; the next
 *   run connects again.
 *
 * `roundTrips` of a handle counts every connection the host had in the run. `openFresh` (commit
 * confirm, reconnect after reboot) passes through, outside the pool: those are short-lived and
 * closed by their callers.
 */
import {
  type ExecResult,
  type RunOptions,
  type ScriptSession,
  type Transport,
  type TransportFactory,
  UnreachableError,
} from './transport.ts';

/** Handshakes at once to one endpoint by default (see `maxConnecting`). */
export const MAX_CONNECTING = 8;

/** How long a closed connection keeps its slot at most, waiting for its TCP connection to close. */
const CLOSE_WAIT_MS = 2000;

/** Counters of a pool, for reports and tests. */
export interface PoolStats {
  /** Connections opened through the pool (first connections and reconnections). */
  opened: number;
  /** Connections the pool closed to free a slot or because their host was done. */
  closedIdle: number;
  /** Most connections open (or opening) at the same moment. */
  peakOpen: number;
  /** Times an opener waited for a slot (every slot busy running a script). */
  waits: number;
}

interface Entry {
  readonly host: string;
  readonly handle: PooledTransport;
  /** The live connection, if any (it counts in the pool's slots). */
  conn?: Transport;
  /** A connection being opened (it counts in the slots too). */
  connecting?: Promise<Transport>;
  /** Runs in flight on `conn`. */
  busy: number;
  /** Last time a run ended (or the connection opened), for least-recently-used eviction. */
  used: number;
  /** The host is done with: close its connection as soon as it is idle, before any other. */
  done: boolean;
  /** Why the host's connection was lost: every later run throws it. */
  lost?: UnreachableError;
  /** The server its connections dial first (TransportFactory.endpoint): handshakes are bounded per endpoint. */
  readonly endpoint: string;
}

/** One host's stable handle: each run goes through the pool's live connection to the host. */
class PooledTransport implements Transport {
  /** Round trips of the host's connections closed so far. */
  closedTrips = 0;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly entry: () => Entry,
    readonly name: string,
  ) {}

  /** Syncs of the host's connections closed so far. */
  closedSyncs = 0;

  get roundTrips(): number {
    return this.closedTrips + (this.entry().conn?.roundTrips ?? 0);
  }

  get syncs(): number {
    return this.closedSyncs + (this.entry().conn?.syncs ?? 0);
  }

  run(script: string, opts?: RunOptions): Promise<ExecResult> {
    return this.pool.runOn(this.entry(), script, opts);
  }

  /** Sessions, when the host's connection can run them (a connection not open now is assumed to). */
  get session(): ((opts?: RunOptions) => Promise<ScriptSession>) | undefined {
    const c = this.entry().conn;
    if (c && !c.session) return undefined;
    return (opts?: RunOptions) => this.pool.sessionOn(this.entry(), opts);
  }

  /** Closing a handle closes its live connection (the next run would connect again). */
  close(): void {
    this.pool.closeEntry(this.entry());
  }
}

export class ConnectionPool implements TransportFactory {
  private readonly entries = new Map<string, Entry>();
  /** The first `open` of each host: a host that could not connect fails every later `open` the same way. */
  private readonly first = new Map<string, Promise<Transport>>();
  private openCount = 0;
  /** Handshakes in progress, per endpoint. */
  private readonly connecting = new Map<string, number>();
  private clock = 0;
  private waiters: (() => void)[] = [];
  readonly stats: PoolStats = { opened: 0, closedIdle: 0, peakOpen: 0, waits: 0 };

  constructor(
    readonly inner: TransportFactory,
    /** Most connections open at once (a whole number from 1). */
    readonly capacity: number,
    /**
     * Most handshakes in progress at once to one endpoint (one sshd): below OpenSSH's MaxStartups
     * (10:30:100 by default: from 10 unauthenticated connections, sshd drops new ones at random),
     * so that many hosts behind one sshd (aliases, a ProxyJump bastion) are not refused.
     */
    readonly maxConnecting = MAX_CONNECTING,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new Error(`connection pool capacity must be a whole number from 1, got ${capacity}`);
  }

  /** Connections open (or being opened) now. */
  get openNow(): number {
    return this.openCount;
  }

  open(host: string): Promise<Transport> {
    let p = this.first.get(host);
    if (!p) {
      const entry = this.entryOf(host);
      p = this.acquire(entry).then(() => {
        this.release(entry);
        return entry.handle;
      });
      p.catch(() => undefined);
      this.first.set(host, p);
    }
    return p;
  }

  openFresh(host: string): Promise<Transport> {
    return this.inner.openFresh(host);
  }

  /** Closes the host's live connection now (meta: reset_connection); returns its round trips. The next run connects again. */
  async reset(host: string): Promise<number> {
    const e = this.entries.get(host);
    if (!e) return 0;
    await e.connecting?.catch(() => undefined);
    const trips = e.conn?.roundTrips ?? 0;
    this.drop(e);
    // As TransportCache did: the next `open` connects again, with the same checks (even after a loss).
    e.lost = undefined;
    e.done = false;
    this.first.delete(host);
    return trips;
  }

  /** The run needs the host no more: its connection closes as soon as no script runs on it. */
  done(host: string): void {
    const e = this.entries.get(host);
    if (!e) return;
    e.done = true;
    if (e.conn && e.busy === 0) this.closeEntry(e);
  }

  /** The handles of the hosts that connected successfully, in the order they were first asked for. */
  async opened(): Promise<[string, Transport][]> {
    const out: [string, Transport][] = [];
    for (const [host, p] of this.first) {
      const c = await p.catch(() => undefined);
      if (c) out.push([host, c]);
    }
    return out;
  }

  /** Closes every connection (end of the run). */
  closeAll(): void {
    for (const e of this.entries.values()) this.closeEntry(e);
  }

  private entryOf(host: string): Entry {
    let e = this.entries.get(host);
    if (!e) {
      let endpoint = host;
      try {
        endpoint = this.inner.endpoint?.(host) ?? host;
      } catch {
        // Resolved again (and refused) when the host is dialled.
      }
      const entry: Entry = {
        host,
        endpoint,
        handle: undefined as unknown as PooledTransport,
        busy: 0,
        used: 0,
        done: false,
      };
      (entry as { handle: PooledTransport }).handle = new PooledTransport(this, () => entry, host);
      this.entries.set(host, entry);
      e = entry;
    }
    return e;
  }

  /**
   * Takes the entry's live connection for a run (counted in `busy` before anything else can run:
   * an idle connection is never closed between its opening and its run), opening it in a slot if
   * needed: when every slot is taken, an idle connection is closed and its slot taken over once
   * the host saw it close; when none is idle, it waits for a run to end. At most `maxConnecting`
   * handshakes at once to one endpoint.
   */
  private async acquire(e: Entry): Promise<Transport> {
    for (;;) {
      if (e.lost) throw e.lost;
      if (e.conn) {
        e.busy++;
        return e.conn;
      }
      if (e.connecting) {
        await e.connecting.catch(() => undefined);
        if (!e.conn && !e.lost) throw new UnreachableError(`cannot connect to ${e.host}`);
        continue;
      }
      if (this.handshakes(e) >= this.maxConnecting) {
        await this.waitTurn();
        continue;
      }
      if (this.openCount >= this.capacity) {
        const freed = this.evictOne();
        if (!freed) {
          await this.waitTurn();
          continue;
        }
        await freed;
        if (e.conn || e.connecting || e.lost || this.handshakes(e) >= this.maxConnecting) {
          // Another run of this host connected meanwhile, or no handshake turn: the slot goes back.
          this.freeSlot();
          continue;
        }
      } else this.openCount++;
      this.connecting.set(e.endpoint, this.handshakes(e) + 1);
      this.stats.peakOpen = Math.max(this.stats.peakOpen, this.openCount);
      const p = this.inner.open(e.host);
      e.connecting = p;
      try {
        const c = await p;
        this.stats.opened++;
        e.conn = c;
        e.busy++;
        return c;
      } catch (err) {
        this.openCount--;
        if (err instanceof UnreachableError) e.lost ??= err;
        throw err;
      } finally {
        e.connecting = undefined;
        this.connecting.set(e.endpoint, this.handshakes(e) - 1);
        this.wake();
      }
    }
  }

  private handshakes(e: Entry): number {
    return this.connecting.get(e.endpoint) ?? 0;
  }

  private async waitTurn(): Promise<void> {
    this.stats.waits++;
    await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Gives back a connection taken by `acquire`: a done host's closes once idle. */
  private release(e: Entry): void {
    e.busy--;
    e.used = ++this.clock;
    if (e.busy === 0) {
      if (e.done && e.conn) this.closeEntry(e);
      this.wake();
    }
  }

  /** Runs a script on the entry's host through its live connection (a reconnection when the pool closed it). */
  async runOn(e: Entry, script: string, opts?: RunOptions): Promise<ExecResult> {
    const c = await this.acquire(e);
    try {
      return await c.run(script, opts);
    } catch (err) {
      // Lost under this run: the host stays lost (never reopened), its slot is freed.
      if (err instanceof UnreachableError && e.conn === c) {
        e.lost ??= err;
        this.drop(e);
      }
      throw err;
    } finally {
      this.release(e);
    }
  }

  /**
   * A session (../session.ts) on the entry's live connection: the connection counts as running a
   * script (never closed, nor evicted) until the session ends. Its parts wait on the engine, so a
   * caller keeps at most as many sessions open as the pool has slots (the runner's `syncs` option).
   */
  async sessionOn(e: Entry, opts?: RunOptions): Promise<ScriptSession> {
    const c = await this.acquire(e);
    let over = false;
    const finish = (err?: unknown) => {
      if (over) return;
      over = true;
      if (err instanceof UnreachableError && e.conn === c) {
        e.lost ??= err;
        this.drop(e);
      }
      this.release(e);
    };
    if (!c.session) {
      finish();
      throw new Error(`the connection to ${e.host} cannot run a script in parts`);
    }
    let s: ScriptSession;
    try {
      s = await c.session(opts);
    } catch (err) {
      finish(err);
      throw err;
    }
    const track = async <T extends { done?: unknown } | ExecResult>(p: Promise<T>, ends: boolean): Promise<T> => {
      try {
        const r = await p;
        if (ends || (r as { done?: unknown }).done) finish();
        return r;
      } catch (err) {
        finish(err);
        throw err;
      }
    };
    return {
      send: (part, marker) => track(s.send(part, marker), false),
      end: (last) => track(s.end(last), true),
    };
  }

  /** Closes the entry's live connection if no script runs on it (else it closes when done). */
  closeEntry(e: Entry): void {
    if (!e.conn) return;
    if (e.busy > 0) {
      e.done = true;
      return;
    }
    this.stats.closedIdle++;
    this.drop(e);
  }

  /** Closes the entry's connection (whatever runs on it); its slot is freed once the host saw it close. */
  private drop(e: Entry): void {
    const gone = this.closeConn(e);
    if (gone) void gone.then(() => this.freeSlot());
  }

  /**
   * Closes the entry's connection; resolves once it is gone for the host too (`whenClosed`, at
   * most CLOSE_WAIT_MS): until then its slot stays counted, so that the host never sees more than
   * `capacity` connections.
   */
  private closeConn(e: Entry): Promise<void> | undefined {
    const c = e.conn;
    if (!c) return undefined;
    e.conn = undefined;
    e.handle.closedTrips += c.roundTrips;
    e.handle.closedSyncs += c.syncs ?? 0;
    try {
      c.close();
    } catch {
      // Already gone.
    }
    const gone = c.whenClosed?.();
    if (!gone) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(r, CLOSE_WAIT_MS);
      timer.unref?.();
    });
    return Promise.race([gone, late]).then(() => clearTimeout(timer));
  }

  private freeSlot(): void {
    this.openCount--;
    this.wake();
  }

  /**
   * Closes an idle connection, a done host's first, else the least recently used; resolves once it
   * is gone for the host. Its slot stays counted: it passes to the caller.
   */
  private evictOne(): Promise<void> | undefined {
    let best: Entry | undefined;
    for (const e of this.entries.values()) {
      if (!e.conn || e.busy > 0) continue;
      if (!best || (e.done && !best.done) || (e.done === best.done && e.used < best.used)) best = e;
    }
    if (!best) return undefined;
    this.stats.closedIdle++;
    return this.closeConn(best);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
