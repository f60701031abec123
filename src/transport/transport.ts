/**
 * What the engine needs from a host connection, whatever carries it (SSH in production, the local
 * shell in unit tests): pyinfra's BaseConnector, reduced to what Kiln uses.
 *
 * Invariants every implementation keeps:
 * - `run` sends ONE POSIX sh script on stdin (never in argv: it may hold secrets) and is ONE
 *   round trip, counted in `roundTrips`; `session` (optional) sends one script in parts on one
 *   shell: one round trip, and each later part counted in `syncs` (session.ts);
 * - `become` runs the script as `becomeUser` (default root) when that is not already the
 *   connecting user; otherwise the script runs as that user, unchanged;
 * - a host that cannot be reached (or is lost mid-run) is reported by throwing `UnreachableError`
 *   (or a subclass), never as a failed script: the engine counts it apart from failures. Once a
 *   connection is lost, every later `run` on it throws `UnreachableError` too (it is not reopened);
 * - a script that runs past the command timeout is reported by throwing `CommandTimeoutError`:
 *   the host answered, the task fails.
 *
 * The factory opens connections; the runner opens hosts through a bounded pool of them
 * (`ConnectionPool`, pool.ts: one handle per host for the whole run, at most --forks connections
 * open, reconnected on demand), plus a NEW one per commit-confirm (`openFresh`). `TransportCache`
 * (below) is the unbounded cache: one connection per host, kept to the end.
 */
import type { ExecResult } from '../core/exec.ts';
import { userNameProblem } from '../core/user-name.ts';
import type { ScriptSession } from './session.ts';

export type { ExecResult, ScriptSession };

/** The host cannot be reached (connect refused, timeout, host key refused, connection lost). */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

/** A remote script ran past the command timeout: the task fails (the script may still run on the host). */
export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
}

export interface RunOptions {
  become?: boolean;
  /** Who to become (default: the host's configured become user, else root). */
  becomeUser?: string;
}

/**
 * Why a become user cannot go into a command line (connection-keys.ts, USER_NAME_RE), or
 * undefined. Validation refuses such a name first; a transport that meets one anyway (a value
 * rendered at run time) runs nothing and answers a failed script with this reason, as sudo
 * answers an unknown user.
 */
export function becomeUserProblem(user: string): string | undefined {
  const problem = userNameProblem(user);
  return problem ? `become_user: ${problem}; nothing was run` : undefined;
}

/** One open connection to one host. */
export interface Transport {
  /** For messages: the host name (and a suffix such as "(confirm)" for a fresh connection). */
  readonly name: string;
  /** Round trips (scripts run) since this connection was opened. */
  readonly roundTrips: number;
  /** Runs a shell script on the host, sent on stdin: one round trip. */
  run(script: string, opts?: RunOptions): Promise<ExecResult>;
  /**
   * Starts a script sent in parts on ONE shell (session.ts), the first part sent by the first
   * `send`: one round trip in `roundTrips` (one channel, one shell), each later part one more in
   * `syncs`. Same invariants as `run` (stdin only, become, UnreachableError, CommandTimeoutError per
   * part). Optional: without it the engine sends whole scripts.
   */
  session?(opts?: RunOptions): Promise<ScriptSession>;
  /** Parts of sessions sent after their first (each waited for a barrier of the linear strategy). */
  readonly syncs?: number;
  close(): void;
  /** Resolves once the connection is gone for the host too (its TCP connection closed), when the transport can tell. */
  whenClosed?(): Promise<void>;
}

/** Opens connections to hosts by inventory name. */
export interface TransportFactory {
  /** A connection to `host` (the runner caches it: one per host per run). */
  open(host: string): Promise<Transport>;
  /** A NEW connection (new TCP connection and handshake for SSH), never a cached one: commit-confirm. */
  openFresh(host: string): Promise<Transport>;
  /** Forgets the host's cached connection (closing it): the next `open` connects again (TransportCache). */
  reset?(host: string): Promise<number>;
  /**
   * The server a connection to `host` dials first (`address:port` of its first hop: the host, or
   * its first ProxyJump): hosts with the same endpoint share one sshd, whose MaxStartups bounds
   * the handshakes in progress (the pool counts them per endpoint). Default: the host's name.
   */
  endpoint?(host: string): string;
}

/** Wraps a factory (tests add faults around the real transport this way). */
export type TransportWrapper = (inner: TransportFactory) => TransportFactory;

/**
 * Caches `open` per host (the promise, so concurrent callers share one connection attempt, and a
 * host that failed to connect fails the same way every time); `openFresh` passes through uncached.
 */
export class TransportCache implements TransportFactory {
  private readonly conns = new Map<string, Promise<Transport>>();
  private readonly closed = new Map<string, number>();

  constructor(readonly inner: TransportFactory) {}

  open(host: string): Promise<Transport> {
    let p = this.conns.get(host);
    if (!p) {
      p = this.inner.open(host);
      p.catch(() => undefined);
      this.conns.set(host, p);
    }
    return p;
  }

  openFresh(host: string): Promise<Transport> {
    return this.inner.openFresh(host);
  }

  /**
   * Closes the host's cached connection and forgets it (meta: reset_connection): the next `open`
   * connects again, with the same checks. Returns the closed connection's round trips.
   */
  async reset(host: string): Promise<number> {
    const p = this.conns.get(host);
    if (!p) return 0;
    this.conns.delete(host);
    const c = await p.catch(() => undefined);
    if (!c) return 0;
    try {
      c.close();
    } catch {
      // Already gone.
    }
    this.closed.set(host, (this.closed.get(host) ?? 0) + c.roundTrips);
    return c.roundTrips;
  }

  /** Round trips of the host's connections closed by `reset` (reset_connection, a reboot) during the run. */
  closedRoundTrips(host: string): number {
    return this.closed.get(host) ?? 0;
  }

  /** The connections that were opened successfully, by host, in the order they were first asked for. */
  async opened(): Promise<[string, Transport][]> {
    const out: [string, Transport][] = [];
    for (const [host, p] of this.conns) {
      const c = await p.catch(() => undefined);
      if (c) out.push([host, c]);
    }
    return out;
  }
}
