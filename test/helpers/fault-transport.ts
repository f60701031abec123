/**
 * Fault injection for tests, through the transport (never through switches in production code):
 * a TransportFactory wrapper that makes the controller or the host misbehave in realistic ways.
 *
 * - `killBeforeFresh`: the controller dies (SIGKILL, no cleanup) at the moment a NEW connection
 *   is about to be opened for a commit-confirm, i.e. after the apply loaded its change and before
 *   the confirm disarms the host's rollback.
 * - `killAfter` / `killBefore`: the controller dies right after the reply of (or right before
 *   sending) the first script run on a host whose text matches a pattern. Apply scripts carry
 *   their probes' text too, so match what only the apply has: the atomic write of a file starts
 *   with `dest='<path>'` (`killAfter: { host: 'lb1', pattern: /dest='\/etc\/haproxy\/haproxy\.cfg'/ }`
 *   strikes once the new haproxy.cfg is in place, before the engine sees the reply).
 * - `uncaughtAfter`: right after such a reply, an exception is thrown from a timer, outside any
 *   promise chain, as a misbehaving event emitter would (ssh2's "Keepalive timeout" once did).
 * - `rewriteProbe`: the host misreports: every reply on the run's (cached) connections passes
 *   through this rewrite before the engine sees it (probe scripts, and apply scripts with the
 *   verify probes riding in them). Fresh (confirm) connections are left alone.
 * Each script fault strikes once, on the run's cached connections only. A script sent in parts
 * (Transport.session) is matched part by part (`killAfter` strikes after the matching part's reply).
 *
 * `sshConnectionClaim` builds the rewrite the firewall tests use: the firewall probe's
 * `ssh_connection=` line (the host's $SSH_CONNECTION) claims another client and port, so the
 * lockout preflight is lied to and passes.
 */
import type { ExecResult, RunOptions, Transport, TransportFactory } from '../../src/transport/transport.ts';

/** The first script run on `host` whose text matches `pattern`. */
export interface ScriptMatch {
  host: string;
  pattern: RegExp;
}

export interface Faults {
  /** SIGKILL the controller when a fresh (commit-confirm) connection is about to open. */
  killBeforeFresh?: boolean;
  /** SIGKILL the controller right after the reply of the matching script. */
  killAfter?: ScriptMatch;
  /** SIGKILL the controller right before the matching script is sent. */
  killBefore?: ScriptMatch;
  /** An uncaught exception (thrown from a timer) right after the reply of the matching script. */
  uncaughtAfter?: ScriptMatch;
  /** Rewrites each reply on the run's connections (see the file comment). */
  rewriteProbe?: (reply: ExecResult, sent: { host: string; script: string }) => ExecResult;
  /** How to die (default: SIGKILL this process). Unit tests observe the moment instead. */
  kill?: () => void;
}

const sigkill = () => {
  process.kill(process.pid, 'SIGKILL');
};

/** `inner` with `faults`. */
export function withFaults(inner: TransportFactory, faults: Faults): TransportFactory {
  const { rewriteProbe: rewrite, killAfter, killBefore, uncaughtAfter } = faults;
  const die = faults.kill ?? sigkill;
  const struck = new Set<ScriptMatch>();
  /** Does `m` strike now (its first match)? */
  const strikes = (m: ScriptMatch | undefined, host: string, script: string) => {
    if (!m || struck.has(m) || m.host !== host || !m.pattern.test(script)) return false;
    struck.add(m);
    return true;
  };
  /** The faults that strike right after the reply of a script (or part) on `host`. */
  const afterReply = (host: string, script: string) => {
    if (strikes(killAfter, host, script)) die();
    if (strikes(uncaughtAfter, host, script)) {
      setImmediate(() => {
        throw new Error(`injected fault: an uncaught exception after a script on ${host}`);
      });
    }
  };
  const faulty = (host: string, t: Transport): Transport =>
    rewrite || killAfter || killBefore || uncaughtAfter
      ? {
          name: t.name,
          get roundTrips() {
            return t.roundTrips;
          },
          run: async (script: string, opts?: RunOptions) => {
            if (strikes(killBefore, host, script)) die();
            let reply = await t.run(script, opts);
            if (rewrite) reply = rewrite(reply, { host, script });
            afterReply(host, script);
            return reply;
          },
          // A script in parts (a batch under the linear strategy): each part is a script sent for
          // the kill faults; a rewrite of replies is for whole scripts only (no parts then).
          session:
            t.session && !rewrite
              ? async (opts?: RunOptions) => {
                  const s = await t.session!(opts);
                  const around = async <T>(part: string | undefined, send: () => Promise<T>): Promise<T> => {
                    if (part !== undefined && strikes(killBefore, host, part)) die();
                    const reply = await send();
                    if (part !== undefined) afterReply(host, part);
                    return reply;
                  };
                  return {
                    send: (part: string, marker: string) => around(part, () => s.send(part, marker)),
                    end: (last?: string) => around(last, () => s.end(last)),
                  };
                }
              : undefined,
          get syncs() {
            return t.syncs;
          },
          close: () => t.close(),
        }
      : t;
  return {
    open: async (host) => faulty(host, await inner.open(host)),
    openFresh: async (host) => {
      if (faults.killBeforeFresh) die();
      return inner.openFresh(host);
    },
  };
}

/** A rewrite of stdout: every match of `pattern` (a RegExp, flags included) becomes `replacement`. */
export function rewriteStdout(pattern: RegExp, replacement: string): NonNullable<Faults['rewriteProbe']> {
  return (reply) => ({ ...reply, stdout: reply.stdout.replace(pattern, replacement) });
}

/**
 * The host's $SSH_CONNECTION, as the firewall probe prints it (`ssh_connection=CLIENT CPORT SERVER
 * SPORT`), replaced by `claim`: the controller is told it connects from another address and port.
 */
export function sshConnectionClaim(claim: {
  client: string;
  clientPort?: number;
  server: string;
  port: number;
}): NonNullable<Faults['rewriteProbe']> {
  return rewriteStdout(
    /^ssh_connection=.*$/gm,
    `ssh_connection=${claim.client} ${claim.clientPort ?? 50000} ${claim.server} ${claim.port}`,
  );
}

/** `HOST:REGEX` (the regex is everything after the first colon). */
function scriptMatch(name: string, value: string): ScriptMatch {
  const i = value.indexOf(':');
  const host = value.slice(0, i);
  if (i <= 0 || i === value.length - 1) throw new Error(`${name}: want "HOST:REGEX", got ${JSON.stringify(value)}`);
  try {
    return { host, pattern: new RegExp(value.slice(i + 1)) };
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/**
 * Faults from environment variables (test-only code may read the environment):
 *   KILN_FAULT_KILL_BEFORE_CONFIRM=1
 *   KILN_FAULT_KILL_AFTER="HOST:REGEX"       (killAfter)
 *   KILN_FAULT_KILL_BEFORE="HOST:REGEX"      (killBefore)
 *   KILN_FAULT_UNCAUGHT_AFTER="HOST:REGEX"   (uncaughtAfter)
 *   KILN_FAULT_SSH_CONNECTION="CLIENT CPORT SERVER SPORT"   (sshConnectionClaim)
 * Unknown KILN_FAULT_* variables are an error, so a typo cannot silently disable a fault.
 */
export function faultsFromEnv(env: NodeJS.ProcessEnv): Faults {
  const matches = {
    KILN_FAULT_KILL_AFTER: 'killAfter',
    KILN_FAULT_KILL_BEFORE: 'killBefore',
    KILN_FAULT_UNCAUGHT_AFTER: 'uncaughtAfter',
  } as const;
  const known = ['KILN_FAULT_KILL_BEFORE_CONFIRM', 'KILN_FAULT_SSH_CONNECTION', ...Object.keys(matches)];
  const unknown = Object.keys(env).filter((k) => k.startsWith('KILN_FAULT_') && !known.includes(k));
  if (unknown.length) throw new Error(`unknown fault variable(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const faults: Faults = {};
  if (env.KILN_FAULT_KILL_BEFORE_CONFIRM === '1') faults.killBeforeFresh = true;
  for (const [name, field] of Object.entries(matches)) {
    const value = env[name];
    if (value) faults[field] = scriptMatch(name, value);
  }
  if (env.KILN_FAULT_SSH_CONNECTION) {
    const [client, clientPort, server, port] = env.KILN_FAULT_SSH_CONNECTION.trim().split(/\s+/);
    if (!client || !server || !Number(clientPort) || !Number(port))
      throw new Error(`KILN_FAULT_SSH_CONNECTION: want "CLIENT CPORT SERVER SPORT", got ${JSON.stringify(env.KILN_FAULT_SSH_CONNECTION)}`);
    faults.rewriteProbe = sshConnectionClaim({ client, clientPort: Number(clientPort), server, port: Number(port) });
  }
  return faults;
}
