/**
 * Connect-time inputs checked before any host is contacted (`kiln validate`, `kiln apply`,
 * `kiln facts`): what would otherwise be found only when dialling. Each problem is located at the
 * inventory variable that set the value (its key; `-e` for extra vars):
 * - `identity_file` (`ansible_ssh_private_key_file`): each file must exist, be a regular file, be
 *   readable, and not be a public key (`.pub`): ssh would only warn and go on without it;
 * - `known_hosts`: a file set there that is a directory; and, with host key checking on (no
 *   `--accept-new-host-keys`), when none of the host's known_hosts files exists at all, every host
 *   key would be refused as unknown: located at the `known_hosts` that names the missing file;
 * - `proxy_jump`: each hop must be `[user@]host[:port]` (jumpHopProblem); a single-label hop name
 *   (no dot, not an address) must be an inventory host, an ssh_config `Host`, or known to the
 *   system resolver (`getent hosts`: /etc/hosts, DNS search domains), else it is an unknown host;
 *   a jump chain that loops is refused;
 * - timeouts and other values resolveConnection refuses.
 * Templated values (`{{ … }}`) are not checked (connection settings are not templated: they fail
 * when the host is dialled).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Diagnostic, Loc } from '../../core/diagnostic.ts';
import { isSecret } from '../../core/secret/secret.ts';
import { extraConnectionVars } from '../../input/inventory/connection-keys.ts';
import { inventoryVarLayers, mergeVarLayers } from '../../input/inventory/layers.ts';
import type { Inventory } from '../../input/inventory/types.ts';
import { jumpHopProblem, parseJumpHop, resolveConnection } from './resolve.ts';
import { expandTilde, lookupSshConfig, type SshConfig } from './sshconfig.ts';

// ssh2 (and its crypto addon) is loaded only when a key file is checked: `kiln validate` of an
// inventory without key files does not pay for it (README, Performance).
const requireCjs = createRequire(import.meta.url);
const ssh2Utils = (): typeof import('ssh2').utils => (requireCjs('ssh2') as typeof import('ssh2')).utils;

export interface PreflightOptions {
  sshConfig?: SshConfig;
  /** `--accept-new-host-keys`: a missing known_hosts file will be created. */
  acceptNewHostKeys?: boolean;
  /** Extra vars (-e): they set connection variables too. */
  extraVars?: Record<string, unknown>;
  homeDir?: string;
  /** Names /etc/hosts knows (default: read from /etc/hosts). */
  etcHosts?: Set<string>;
}

const EXTRA_LOC: Loc = { file: '-e', line: 0, col: 0 };
const templated = (v: unknown) => typeof v === 'string' && (v.includes('{{') || v.includes('{%'));
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

function readEtcHosts(): Set<string> {
  try {
    const names = readFileSync('/etc/hosts', 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean)
      .flatMap((l) => l.split(/\s+/).slice(1));
    return new Set(names.map((n) => n.toLowerCase()));
  } catch {
    return new Set();
  }
}

/** An ssh_config `Host` block that names it (and sets something) makes a hop name known. */
function sshConfigKnows(cfg: SshConfig, name: string, home: string): boolean {
  const l = lookupSshConfig(cfg, name, { homeDir: home });
  return Boolean(l.hostName || l.user || l.port || l.proxyJump || l.identityFiles.length);
}

/**
 * Whether the system resolver knows a single-label name (/etc/hosts, DNS search domains): `getent
 * hosts`, at most 2 s. No getent, or no answer in time: taken as known (nothing is refused on a doubt).
 */
function resolvable(name: string): boolean {
  const r = spawnSync('getent', ['hosts', name], { timeout: 2000, stdio: 'ignore' });
  if (r.error || r.signal) return true;
  return r.status === 0;
}

/** What is wrong with an identity file (undefined = fine). */
function identityProblem(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`;
  }
  if (!st.isFile()) return 'is not a file';
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code})`;
  }
  if (st.size > 1024 * 1024) return 'is not a private key (larger than 1 MiB)';
  const parsed = ssh2Utils().parseKey(readFileSync(path));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key && !(key instanceof Error) && !key.isPrivateKey()) return 'is a public key: give the private key file';
  return undefined;
}

/** Connection problems of the given hosts, located; duplicates (a group variable shared by many hosts) once. */
export function connectionProblems(inv: Inventory, hosts: Iterable<string>, opts: PreflightOptions = {}): Diagnostic[] {
  const home = opts.homeDir ?? homedir();
  const extra = opts.extraVars ? extraConnectionVars(opts.extraVars).vars : {};
  let etcHosts = opts.etcHosts;
  const out = new Map<string, { loc: Loc; message: string; hosts: string[] }>();
  let host = '';
  /** One diagnostic per place and problem, naming the hosts it concerns. */
  const add = (loc: Loc, message: string) => {
    const key = `${loc.file}:${loc.line}:${loc.col}:${message}`;
    const seen = out.get(key);
    if (seen) seen.hosts.push(host);
    else out.set(key, { loc, message, hosts: [host] });
  };
  for (host of hosts) {
    if (!inv.hosts.has(host)) continue;
    const layers = inventoryVarLayers(inv, host);
    const vars = { ...mergeVarLayers(layers).vars, ...extra };
    /** Where the winning value of a connection variable was set. */
    const locOf = (key: string): Loc => {
      if (key in extra) return EXTRA_LOC;
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        if (key in l.vars && l.vars[key] !== undefined) return l.locs?.[key] ?? inv.hosts.get(host)!.loc;
      }
      return inv.hosts.get(host)!.loc;
    };
    const pathOf = (p: string) => {
      const e = expandTilde(p, home);
      return isAbsolute(e) ? e : resolve(inv.dir, e);
    };

    for (const raw of vars.identity_file === undefined || vars.identity_file === null ? [] : asList(vars.identity_file)) {
      if (templated(raw) || isSecret(raw) || typeof raw !== 'string') continue;
      const problem = identityProblem(pathOf(raw));
      if (problem) add(locOf('identity_file'), `identity file ${pathOf(raw)} ${problem}`);
    }

    let spec;
    try {
      spec = resolveConnection(host, vars, { sshConfig: opts.sshConfig, inventoryDir: inv.dir, inventory: inv, homeDir: home });
    } catch (err) {
      const msg = (err as Error).message;
      const key = /proxy_jump/.test(msg) ? 'proxy_jump' : (/'(kiln_\w+)'/.exec(msg)?.[1] ?? 'address');
      add(locOf(key), msg);
      continue;
    }

    const khRaw = vars.known_hosts === undefined || vars.known_hosts === null ? [] : asList(vars.known_hosts);
    const khSet = khRaw.filter((k): k is string => typeof k === 'string' && !templated(k)).map(pathOf);
    for (const f of khSet) {
      if (existsSync(f) && !statSync(f).isFile()) add(locOf('known_hosts'), `known_hosts file ${f} is not a file`);
    }
    if (khSet.length && !opts.acceptNewHostKeys && !spec.knownHostsFiles.some((f) => existsSync(f))) {
      add(
        locOf('known_hosts'),
        `known_hosts file ${khSet[0]} does not exist, and no other known_hosts file does (${spec.knownHostsFiles.filter((f) => !khSet.includes(f)).join(', ')}): every host key would be refused as unknown. Create it with the host's key, or run kiln apply --accept-new-host-keys (which creates it)`,
      );
    }

    const jump = vars.proxy_jump;
    if (typeof jump === 'string' && !templated(jump) && jump.trim().toLowerCase() !== 'none') {
      const hops = jump.split(',');
      for (const hop of hops) {
        const problem = jumpHopProblem(hop);
        if (problem) {
          add(locOf('proxy_jump'), `proxy_jump: ${problem}`);
          continue;
        }
        const name = parseJumpHop(hop).host;
        const isAddress = /^[\d.]+$/.test(name) || name.includes(':') || name.includes('.');
        if (isAddress || inv.hosts.has(name) || name.toLowerCase() === 'localhost') continue;
        if (opts.sshConfig && sshConfigKnows(opts.sshConfig, name, home)) continue;
        etcHosts ??= readEtcHosts();
        if (etcHosts.has(name.toLowerCase()) || resolvable(name)) continue;
        add(
          locOf('proxy_jump'),
          `proxy_jump: unknown host ${JSON.stringify(name)}: not an inventory host, not a Host in ~/.ssh/config, and the resolver does not know it (getent hosts)`,
        );
      }
    }
  }
  return [...out.values()].map(({ loc, message, hosts: hs }) => {
    const names = hs.length > 3 ? `${hs.slice(0, 3).join(', ')} and ${hs.length - 3} more` : hs.join(', ');
    return { ...loc, message: `${message} (host${hs.length > 1 ? 's' : ''} ${names})` };
  });
}
