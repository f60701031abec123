/**
 * The implicit localhost (Ansible's): `delegate_to: localhost` (or `127.0.0.1`, `::1`, and every
 * `local_action`) runs on the controller with the local connection when the inventory does not
 * define that host. This factory sends those names to the local transport and every other host to
 * `inner` (SSH). A localhost the inventory does define is reached as the inventory says, as in Ansible.
 */
import { LocalTransport, type LocalOptions } from './local.ts';
import type { TransportFactory } from './transport.ts';

export function withImplicitLocalhost(
  inner: TransportFactory,
  isImplicitLocalhost: (name: string) => boolean,
  opts: LocalOptions = {},
): TransportFactory {
  return {
    open: (host) => (isImplicitLocalhost(host) ? Promise.resolve(new LocalTransport(host, opts)) : inner.open(host)),
    openFresh: (host) =>
      isImplicitLocalhost(host) ? Promise.resolve(new LocalTransport(`${host} (confirm)`, opts)) : inner.openFresh(host),
    endpoint: (host) => (isImplicitLocalhost(host) ? `local ${host}` : (inner.endpoint?.(host) ?? host)),
  };
}
