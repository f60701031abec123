/**
 * Fault injection for tests, through the transport (never through switches in production code):
 * a TransportFactory wrapper that makes the controller or the host misbehave in realistic ways.
 *
 * - `killBeforeFresh`: the controller dies (SIGKILL, no cleanup) at the moment a NEW connection
 *   is about to be opened for a commit-confirm, i.e. after the apply loaded its change and before
 *   the confirm disarms the host's rollback.
 * - `rewriteProbe`: the host misreports: every reply on the run's (cached) connections passes
 *   through this rewrite before the engine sees it (probe scripts, and apply scripts with the
 *   verify probes riding in them). Fresh (confirm) connections are left alone.
 *
 * `sshConnectionClaim` builds the rewrite the firewall tests use: the firewall probe's
 * `ssh_connection=` line (the host's $SSH_CONNECTION) claims another client and port, so the
 * lockout preflight is lied to and passes.
 */
import type { ExecResult, RunOptions, Transport, TransportFactory } from '../../src/transport/transport.ts';

export interface Faults {
  /** SIGKILL the controller when a fresh (commit-confirm) connection is about to open. */
  killBeforeFresh?: boolean;
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
  const rewrite = faults.rewriteProbe;
  const rewritten = (host: string, t: Transport): Transport =>
    rewrite
      ? {
          name: t.name,
          get roundTrips() {
            return t.roundTrips;
          },
          run: async (script: string, opts?: RunOptions) => rewrite(await t.run(script, opts), { host, script }),
          close: () => t.close(),
        }
      : t;
  return {
    open: async (host) => rewritten(host, await inner.open(host)),
    openFresh: async (host) => {
      if (faults.killBeforeFresh) (faults.kill ?? sigkill)();
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

/**
 * Faults from environment variables (test-only code may read the environment):
 *   KILN_FAULT_KILL_BEFORE_CONFIRM=1
 *   KILN_FAULT_SSH_CONNECTION="CLIENT CPORT SERVER SPORT"   (sshConnectionClaim)
 * Unknown KILN_FAULT_* variables are an error, so a typo cannot silently disable a fault.
 */
export function faultsFromEnv(env: NodeJS.ProcessEnv): Faults {
  const known = ['KILN_FAULT_KILL_BEFORE_CONFIRM', 'KILN_FAULT_SSH_CONNECTION'];
  const unknown = Object.keys(env).filter((k) => k.startsWith('KILN_FAULT_') && !known.includes(k));
  if (unknown.length) throw new Error(`unknown fault variable(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const faults: Faults = {};
  if (env.KILN_FAULT_KILL_BEFORE_CONFIRM === '1') faults.killBeforeFresh = true;
  if (env.KILN_FAULT_SSH_CONNECTION) {
    const [client, clientPort, server, port] = env.KILN_FAULT_SSH_CONNECTION.trim().split(/\s+/);
    if (!client || !server || !Number(clientPort) || !Number(port))
      throw new Error(`KILN_FAULT_SSH_CONNECTION: want "CLIENT CPORT SERVER SPORT", got ${JSON.stringify(env.KILN_FAULT_SSH_CONNECTION)}`);
    faults.rewriteProbe = sshConnectionClaim({ client, clientPort: Number(clientPort), server, port: Number(port) });
  }
  return faults;
}
