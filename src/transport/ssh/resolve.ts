/**
 * Connection resolution: what to dial for a host.
 *
 * Precedence per setting: explicit inventory vars > ~/.ssh/config > defaults.
 * - ssh config blocks are matched by the inventory host name AND by the `address` var (a block
 *   applies if either matches; first obtained value wins, in file order).
 * - Defaults: address = HostName from ssh config, else the inventory host name; port 22;
 *   user = current OS user; no identity files (the SSH layer then uses the agent);
 *   become false, become_user root.
 * - `identity_file` / `known_hosts` relative paths resolve against the inventory dir, `~` expands.
 *   An inventory `identity_file` replaces the ssh config's IdentityFile list.
 * - knownHostsFiles: the inventory's `known_hosts` files first (new keys are appended to the
 *   first file), then ssh config's UserKnownHostsFile, else ~/.ssh/known_hosts and known_hosts2.
 * - `proxy_jump` (else ssh config ProxyJump): `[user@]host[:port]`, comma-separated hops
 *   (the first hop is dialled first), `none`/null for none. A hop that names an inventory host
 *   (when `opts.inventory` is given) uses that host's inventory connection vars; every hop is
 *   also looked up in ssh config by its name.
 * - Timeouts (`kiln_connect_timeout` alias `ansible_timeout`/`ansible_ssh_timeout`,
 *   `kiln_keepalive_interval`, `kiln_keepalive_count`, `kiln_command_timeout`): from the vars,
 *   else DEFAULT_TIMEOUTS; a value that is not a valid number of seconds (a template: connection
 *   settings are not rendered) throws. Jump hosts use the target host's timeouts.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Secret, isSecret } from '../../core/secret/secret.ts';
import { currentUser, expandTilde, lookupSshConfig, type SshConfig, type SshConfigLookup } from './sshconfig.ts';
import { hostVarsOf } from '../../input/inventory/layers.ts';
import type { Inventory } from '../../input/inventory/types.ts';
import { type ConnectionKey, checkConnectionValue, describeValue } from '../../input/inventory/connection-keys.ts';
import { type ConnectionSpec, DEFAULT_TIMEOUTS, type SshEndpoint, type SshTimeouts, TIMEOUT_SETTINGS } from './spec.ts';

export interface ResolveOptions {
  sshConfig?: SshConfig;
  inventoryDir: string;
  /** To resolve `proxy_jump` values that name inventory hosts. */
  inventory?: Inventory;
  /** Defaults to the current OS user. */
  localUser?: string;
  homeDir?: string;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : isSecret(v) ? v.reveal() : String(v));

const list = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map((x) => str(x)!) : [str(v)!]);

function resolvePath(p: string, base: string, home: string): string {
  const e = expandTilde(p, home);
  return isAbsolute(e) ? e : resolve(base, e);
}

export function resolveConnection(hostName: string, vars: Record<string, unknown>, opts: ResolveOptions): ConnectionSpec {
  return resolveWith(hostName, vars, opts, []);
}

function resolveWith(hostName: string, vars: Record<string, unknown>, opts: ResolveOptions, seen: string[]): ConnectionSpec {
  const home = opts.homeDir ?? homedir();
  const localUser = opts.localUser ?? currentUser();
  const address = str(vars.address);
  const ssh: SshConfigLookup = opts.sshConfig
    ? lookupSshConfig(opts.sshConfig, address ? [hostName, address] : [hostName], { localUser, homeDir: home })
    : { identityFiles: [] };

  const identity = list(vars.identity_file).map((p) => resolvePath(p, opts.inventoryDir, home));
  const extraKnown = list(vars.known_hosts).map((p) => resolvePath(p, opts.inventoryDir, home));
  const sshKnown = ssh.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')];

  const spec: ConnectionSpec = {
    name: hostName,
    host: address ?? ssh.hostName ?? hostName,
    port: typeof vars.port === 'number' ? vars.port : (ssh.port ?? 22),
    user: str(vars.user) ?? ssh.user ?? localUser,
    identityFiles: identity.length ? identity : ssh.identityFiles,
    become: vars.become === true,
    becomeUser: str(vars.become_user) ?? 'root',
    knownHostsFiles: [...new Set([...extraKnown, ...sshKnown])],
    timeouts: resolveTimeouts(hostName, vars),
  };
  if (vars.become_password !== undefined && vars.become_password !== null) {
    const bp = vars.become_password;
    spec.becomePassword = isSecret(bp) ? bp : new Secret(String(bp), 'become_password');
  }
  if (ssh.strictHostKeyChecking) spec.strictHostKeyChecking = ssh.strictHostKeyChecking;

  const jumpRaw = 'proxy_jump' in vars ? (vars.proxy_jump === null ? 'none' : str(vars.proxy_jump)) : ssh.proxyJump;
  if (jumpRaw && jumpRaw.toLowerCase() !== 'none') {
    const jump = resolveJumpChain(jumpRaw, opts, localUser, home, [...seen, hostName]);
    if (jump) spec.proxyJump = jump;
  }
  return spec;
}

/** The host's timeouts: its variables over the defaults (see the file comment). */
export function resolveTimeouts(hostName: string, vars: Record<string, unknown>): SshTimeouts {
  const out: SshTimeouts = { ...DEFAULT_TIMEOUTS };
  for (const [field, { variable }] of Object.entries(TIMEOUT_SETTINGS) as [keyof SshTimeouts, { variable: string }][]) {
    const v = vars[variable];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || checkConnectionValue(variable as ConnectionKey, v)) {
      const want = checkConnectionValue(variable as ConnectionKey, Number.NaN);
      const why = typeof v === 'string' && v.includes('{{') ? ' (connection settings are not templated)' : '';
      throw new Error(`${hostName}: '${variable}' must be ${want}, got ${describeValue(v)}${why}`);
    }
    out[field] = v;
  }
  return out;
}

/**
 * What is wrong with one ProxyJump hop (undefined = fine): ssh's `[user@]host[:port]` or
 * `ssh://[user@]host[:port]`, an IPv6 address in brackets, a port from 1 to 65535.
 */
export function jumpHopProblem(hop: string): string | undefined {
  const h = hop.trim().replace(/^ssh:\/\//, '');
  if (!h) return 'an empty hop';
  if (/\s/.test(h)) return `${JSON.stringify(hop)} contains a space`;
  const at = h.lastIndexOf('@');
  if (at === 0) return `${JSON.stringify(hop)} has an empty user before '@'`;
  const rest = at >= 0 ? h.slice(at + 1) : h;
  const m6 = /^\[([0-9A-Fa-f:.%\w]+)\](?::(.*))?$/.exec(rest);
  const host = m6 ? m6[1]! : rest.includes(':') ? rest.slice(0, rest.indexOf(':')) : rest;
  const port = m6 ? m6[2] : rest.includes(':') ? rest.slice(rest.indexOf(':') + 1) : undefined;
  if (!host) return `${JSON.stringify(hop)} has no host`;
  if (!m6 && port !== undefined && port.includes(':')) return `${JSON.stringify(hop)}: write an IPv6 address in brackets, e.g. [::1]:22`;
  if (!/^[A-Za-z0-9_.:%-]+$/.test(host)) return `${JSON.stringify(hop)}: ${JSON.stringify(host)} is not a host name or address`;
  if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
    return `${JSON.stringify(hop)}: the port must be a number from 1 to 65535, got ${JSON.stringify(port)}`;
  return undefined;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]` (IPv6 in brackets: `[::1]:22`). */
export function parseJumpHop(hop: string): { user?: string; host: string; port?: number } {
  let rest = hop.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let port: number | undefined;
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const m = /^([^:]+):(\d+)$/.exec(rest);
  if (m6) {
    host = m6[1]!;
    if (m6[2]) port = Number(m6[2]);
  } else if (m) {
    host = m[1]!;
    port = Number(m[2]);
  }
  return { ...(user ? { user } : {}), host, ...(port ? { port } : {}) };
}

function resolveJumpChain(value: string, opts: ResolveOptions, localUser: string, home: string, seen: string[]): SshEndpoint | undefined {
  const hops = value
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let previous: SshEndpoint | undefined;
  for (const hop of hops) {
    const ep = resolveHop(hop, opts, localUser, home, seen);
    if (previous) ep.proxyJump = previous;
    previous = ep;
  }
  return previous;
}

function resolveHop(hop: string, opts: ResolveOptions, localUser: string, home: string, seen: string[]): SshEndpoint {
  const parsed = parseJumpHop(hop);
  if (seen.includes(parsed.host)) throw new Error(`proxy_jump loop: ${[...seen, parsed.host].join(' -> ')}`);
  const inv = opts.inventory;
  if (inv?.hosts.has(parsed.host)) {
    // An inventory host: its own connection settings (and its own jump host).
    const vars = { ...hostVarsOf(inv, parsed.host) };
    if (parsed.user) vars.user = parsed.user;
    if (parsed.port) vars.port = parsed.port;
    const c = resolveWith(parsed.host, vars, { ...opts, localUser, homeDir: home }, seen);
    return { host: c.host, port: c.port, user: c.user, identityFiles: c.identityFiles, ...(c.proxyJump ? { proxyJump: c.proxyJump } : {}) };
  }
  const ssh = opts.sshConfig ? lookupSshConfig(opts.sshConfig, parsed.host, { localUser, homeDir: home }) : undefined;
  const ep: SshEndpoint = {
    host: ssh?.hostName ?? parsed.host,
    port: parsed.port ?? ssh?.port ?? 22,
    user: parsed.user ?? ssh?.user ?? localUser,
    identityFiles: ssh?.identityFiles ?? [],
  };
  if (ssh?.proxyJump && ssh.proxyJump.toLowerCase() !== 'none') {
    const inner = resolveJumpChain(ssh.proxyJump, opts, localUser, home, [...seen, parsed.host]);
    if (inner) ep.proxyJump = inner;
  }
  return ep;
}
