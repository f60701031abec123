/** Where and how to reach one host over SSH: resolved from inventory variables and ssh_config (resolve.ts). */
import type { Secret } from '../../core/secret/secret.ts';

/** A dialable endpoint (also used for jump hosts). */
export interface SshEndpoint {
  /** Address to dial. */
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Jump host to reach this one through (ProxyJump chains nest). */
  proxyJump?: SshEndpoint;
}

export interface ConnectionSpec extends SshEndpoint {
  /** Inventory host name. */
  name: string;
  become: boolean;
  becomeUser: string;
  becomePassword?: Secret;
  /** known_hosts files to check, in order; new keys are appended to the first. */
  knownHostsFiles: string[];
  /** From ~/.ssh/config, if set there (`yes`, `no`, `accept-new`, `ask`). */
  strictHostKeyChecking?: string;
}
