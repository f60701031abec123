/** Where and how to reach one host over SSH: resolved from inventory variables and ssh_config (resolve.ts). */
import type { Secret } from '../../core/secret/secret.ts';

/**
 * How long Kiln waits on a host, in whole seconds. Each is an inventory variable (per host or
 * group) and a `kiln apply` option; the option wins (docs/inventory.md, "Timeouts").
 */
export interface SshTimeouts {
  /** To establish the connection: TCP connect, SSH handshake and authentication (Ansible's `timeout`). */
  connect: number;
  /** A keepalive is sent after this many seconds without an answer from the host... */
  keepaliveInterval: number;
  /** ...and the host is unreachable after keepaliveInterval × keepaliveCount seconds without one. */
  keepaliveCount: number;
  /** How long one remote script may run (0: no limit); past it the task fails. */
  command: number;
}

/**
 * The defaults. Connect 15 s: a loaded host (apt, a database restart) can be slow to finish the
 * handshake and authentication, which Ansible's 10 s does not include. Keepalive 5 s × 3: a lost
 * host is noticed within 15 s, while an sshd that is alive answers a keepalive at once even on a
 * busy host. Command 1800 s: an apt install or upgrade from a slow mirror can take many minutes;
 * a script that runs for half an hour has hung.
 */
export const DEFAULT_TIMEOUTS: Readonly<SshTimeouts> = { connect: 15, keepaliveInterval: 5, keepaliveCount: 3, command: 1800 };

/** Each timeout's inventory variable and `kiln apply` option (for messages that say how to change it). */
export const TIMEOUT_SETTINGS: Readonly<Record<keyof SshTimeouts, { variable: string; option: string }>> = {
  connect: { variable: 'kiln_connect_timeout', option: '--connect-timeout' },
  keepaliveInterval: { variable: 'kiln_keepalive_interval', option: '--keepalive-interval' },
  keepaliveCount: { variable: 'kiln_keepalive_count', option: '--keepalive-count' },
  command: { variable: 'kiln_command_timeout', option: '--command-timeout' },
};

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
  /** Also used for the host's jump hosts. */
  timeouts: SshTimeouts;
}
