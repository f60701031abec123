/**
 * The SSH `TransportFactory`: the ONE place where an inventory host becomes a connection spec
 * (resolveConnection over the host's variables and ~/.ssh/config) and a `HostConnection`.
 *
 * - `open(host)`: records unknown host keys only with `acceptNewHostKeys`;
 * - `openFresh(host)`: a new connection named "HOST (confirm)" that NEVER accepts a new host key
 *   (commit-confirm must reach the very host that was changed);
 * - `spec(host)`: what is dialled, for callers that print it (`kiln facts`), with `timeouts`
 *   (the CLI's) over the host's own.
 * Nothing is cached here: the runner caches `open` per host (TransportCache).
 */
import type { Inventory } from '../../input/inventory/types.ts';
import { hostVarsOf } from '../../input/inventory/layers.ts';
import type { TransportFactory } from '../transport.ts';
import { HostConnection } from './connection.ts';
import { resolveConnection } from './resolve.ts';
import type { ConnectionSpec, SshEndpoint, SshTimeouts } from './spec.ts';
import type { SshConfig } from './sshconfig.ts';

export interface SshTransportOptions {
  /** The variables a host's connection is resolved from (default: its inventory variables). */
  vars?: (host: string) => Record<string, unknown>;
  sshConfig?: SshConfig;
  acceptNewHostKeys?: boolean;
  /** Timeouts that win over every host's own (the `kiln apply` options). */
  timeouts?: Partial<SshTimeouts>;
}

export interface SshTransportFactory extends TransportFactory {
  /** The resolved connection spec of an inventory host. Throws on a bad proxy_jump chain. */
  spec(host: string): ConnectionSpec;
  open(host: string): Promise<HostConnection>;
  openFresh(host: string): Promise<HostConnection>;
}

export function sshTransport(inventory: Inventory, opts: SshTransportOptions = {}): SshTransportFactory {
  const vars = opts.vars ?? ((host: string) => hostVarsOf(inventory, host));
  const spec = (host: string): ConnectionSpec => {
    const s = resolveConnection(host, vars(host), { sshConfig: opts.sshConfig, inventoryDir: inventory.dir, inventory });
    return { ...s, timeouts: { ...s.timeouts, ...opts.timeouts } };
  };
  return {
    spec,
    open: async (host) => HostConnection.open(host, spec(host), { acceptNewHostKeys: opts.acceptNewHostKeys }),
    openFresh: async (host) => HostConnection.open(`${host} (confirm)`, spec(host), { acceptNewHostKeys: false }),
    endpoint: (host) => {
      try {
        let e: SshEndpoint = spec(host);
        while (e.proxyJump) e = e.proxyJump;
        return `${e.host}:${e.port}`;
      } catch {
        return host; // a bad proxy_jump chain fails when the host is dialled
      }
    },
  };
}
