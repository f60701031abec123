/**
 * Firewall policy: operator intent ("port 3306 from web and db") → the concrete rules of one host.
 *
 * A policy maps a SECTION (an inventory group, a host name, or `all`) to what that section's
 * hosts accept:
 *
 *   firewall_policy:
 *     lb:  { allow: [ {port: [80, 443], from: any} ] }
 *     db:  { allow: [ {port: 3306, from: [web, db]} ] }
 *     all: { allow: [ {port: 22, from: admin}, {port: 9100, from: monitoring} ] }
 *
 * A host gets the rules of `all` and of every section naming a group it belongs to (or itself).
 * `from` (and `to` for outbound rules) takes `any`, `admin` (the admin CIDR list), a group (the
 * addresses of its hosts), a host name (its address), or an IP address / CIDR, alone or in a list.
 *
 * Everything here is pure: resolution errors carry the path inside the policy
 * (`firewall_policy.db.allow[0].from`) so the module can report them before any host is touched.
 */
import { isIP } from 'node:net';
import { didYouMean } from '../../core/suggest.ts';

/** tcp and udp take ports; vrrp (IP protocol 112: keepalived's adverts) has none. */
export type Proto = 'tcp' | 'udp' | 'vrrp';

/** Protocols without ports: a rule of one of them names no `port`. */
export const PORTLESS: ReadonlySet<Proto> = new Set(['vrrp']);

export interface RuleSpec {
  port?: number | string | (number | string)[];
  proto?: Proto;
  from?: string | string[];
  to?: string | string[];
  comment?: string;
}

export interface SectionSpec {
  allow?: RuleSpec[];
  allow_out?: RuleSpec[];
}

export type PolicySpec = Record<string, SectionSpec>;

export interface PolicyInputs {
  policy: PolicySpec;
  /** Inventory groups → member hosts (the `groups` magic variable). */
  groups: Record<string, string[]>;
  /** Host name → address (hostvars[h].address, or the name when it is an IP). */
  addresses: Record<string, string | undefined>;
  /** The CIDRs `admin` stands for. */
  admin: string[];
  /** The name of the policy variable, for messages. */
  varName?: string;
}

/** One concrete rule: accept proto/ports from (or to) these sources; undefined = any. */
export interface ResolvedRule {
  proto: Proto;
  /** Port numbers or "a-b" ranges; empty = every port of the protocol. */
  ports: string[];
  /** IPv4 sources/destinations (CIDR); undefined = any address. */
  v4?: string[];
  /** IPv6 sources/destinations (CIDR); undefined = any address. */
  v6?: string[];
  /** Where the rule comes from: "db: 3306/tcp from web, db". */
  comment: string;
}

export interface HostRules {
  host: string;
  inbound: ResolvedRule[];
  outbound: ResolvedRule[];
}

/** Where in the policy variable a problem is: [varName, section, 'allow', 0, 'from', 1]. */
export type PolicyPath = (string | number)[];

export interface PolicyProblem {
  path: PolicyPath;
  message: string;
}

/** "firewall_policy.db.allow[0].from" */
export function formatPath(path: PolicyPath): string {
  return path.map((x, i) => (typeof x === 'number' ? `[${x}]` : i ? `.${x}` : x)).join('');
}

const text = (p: PolicyProblem) => `${formatPath(p.path)}: ${p.message}`;

export class PolicyError extends Error {
  readonly problems: string[];
  constructor(readonly located: PolicyProblem[]) {
    const problems = located.map(text);
    super(problems.join('\n'));
    this.problems = problems;
  }
}

const SPECIAL = new Set(['any', 'admin']);

/** Normalizes an address or CIDR: 10.0.0.1 → 10.0.0.1/32. Undefined when it is neither. */
export function toCidr(s: string): { family: 4 | 6; cidr: string } | undefined {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr) return undefined;
  const fam = isIP(addr);
  if (!fam) return undefined;
  const max = fam === 4 ? 32 : 128;
  if (bits === undefined) return { family: fam as 4 | 6, cidr: `${addr}/${max}` };
  if (!/^\d+$/.test(bits) || Number(bits) > max) return undefined;
  return { family: fam as 4 | 6, cidr: `${addr}/${Number(bits)}` };
}

function suggest(name: string, known: string[]): string {
  return didYouMean(name, known, { anagrams: true });
}

function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Ports of a rule as strings: 80, "8000-8100". Problems are pushed to `errs`. */
export function normalizePorts(v: RuleSpec['port'], where: PolicyPath, errs: PolicyProblem[]): string[] {
  const out: string[] = [];
  for (const [i, p] of asList(v).entries()) {
    const s = String(p).trim();
    const m = /^(\d+)(?:\s*[-:]\s*(\d+))?$/.exec(s);
    const ok = (n: number) => n >= 1 && n <= 65535;
    if (!m || !ok(Number(m[1])) || (m[2] !== undefined && (!ok(Number(m[2])) || Number(m[2]) < Number(m[1])))) {
      errs.push({ path: Array.isArray(v) ? [...where, i] : where, message: `invalid port '${s}' (a number 1-65535 or a range "a-b")` });
      continue;
    }
    out.push(m[2] === undefined || m[1] === m[2] ? String(Number(m[1])) : `${Number(m[1])}-${Number(m[2])}`);
  }
  return [...new Set(out)];
}

interface Peers {
  any: boolean;
  v4: string[];
  v6: string[];
}

/** Resolves `from`/`to` tokens to addresses. */
function resolvePeers(tokens: string[], where: PolicyPath, list: boolean, inp: PolicyInputs, errs: PolicyProblem[]): Peers {
  const r: Peers = { any: false, v4: [], v6: [] };
  let at: PolicyPath = where;
  const err = (message: string) => errs.push({ path: at, message });
  const add = (cidr: string, origin: string) => {
    const c = toCidr(cidr);
    if (!c) return err(`'${cidr}' (from ${origin}) is not an IP address or CIDR`);
    (c.family === 4 ? r.v4 : r.v6).push(c.cidr);
  };
  const addHost = (h: string, origin: string) => {
    const a = inp.addresses[h] ?? h;
    if (!toCidr(a))
      return err(`host '${h}' (from ${origin}) has no IP address ('address' is '${a}'; the firewall needs IP addresses, not names)`);
    add(a, origin);
  };
  for (const [i, raw] of tokens.entries()) {
    at = list ? [...where, i] : where;
    const t = String(raw).trim();
    if (t === 'any') r.any = true;
    else if (t === 'admin') {
      if (!inp.admin.length) err(`'admin' is used but the admin CIDR list (firewall_admin_cidrs) is empty`);
      for (const c of inp.admin) add(c, 'admin');
    } else if (toCidr(t)) add(t, 'a literal');
    else if (t in inp.groups) {
      const members = inp.groups[t] ?? [];
      if (!members.length) err(`group '${t}' has no hosts`);
      for (const h of members) addHost(h, `group ${t}`);
    } else if (t in inp.addresses) addHost(t, 'host');
    else {
      err(
        `unknown group or host '${t}'${suggest(t, [...SPECIAL, ...Object.keys(inp.groups), ...Object.keys(inp.addresses)])}; use any, admin, a group, a host or a CIDR`,
      );
    }
  }
  r.v4 = [...new Set(r.v4)].sort(cmpCidr);
  r.v6 = [...new Set(r.v6)].sort(cmpCidr);
  return r;
}

function cmpCidr(a: string, b: string): number {
  const key = (s: string) =>
    s
      .split(/[./:]/)
      .map((x) => x.padStart(5, '0'))
      .join('.');
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

function resolveRule(
  rule: RuleSpec,
  where: PolicyPath,
  dir: 'from' | 'to',
  section: string,
  inp: PolicyInputs,
  errs: PolicyProblem[],
): ResolvedRule[] {
  const known = new Set(['port', 'proto', 'from', 'to', 'comment']);
  for (const k of Object.keys(rule ?? {}))
    if (!known.has(k)) errs.push({ path: [...where, k], message: `unknown key '${k}' (port, proto, ${dir}, comment)` });
  const other = dir === 'from' ? 'to' : 'from';
  if (rule[other] !== undefined) errs.push({ path: [...where, other], message: `'${other}' does not apply here (use '${dir}')` });
  const proto = rule.proto ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'vrrp')
    errs.push({ path: [...where, 'proto'], message: `'${String(proto)}' is not tcp, udp or vrrp` });
  const portless = PORTLESS.has(proto);
  if (portless && rule.port !== undefined) errs.push({ path: [...where, 'port'], message: `${proto} has no ports: remove 'port'` });
  const ports = portless ? [] : normalizePorts(rule.port, [...where, 'port'], errs);
  if (rule.port === undefined && dir === 'from' && !portless) errs.push({ path: where, message: "'port' is required for inbound rules" });
  const tokens = asList(rule[dir]);
  if (!tokens.length) errs.push({ path: where, message: `'${dir}' is required (any, admin, a group, a host or a CIDR)` });
  const peers = resolvePeers(tokens.map(String), [...where, dir], Array.isArray(rule[dir]), inp, errs);
  const label = `${section}: ${portless ? proto : `${ports.length ? ports.join(',') : 'all'}/${proto}`} ${dir} ${tokens.join(', ')}${rule.comment ? ` (${rule.comment})` : ''}`;
  if (peers.any) return [{ proto, ports, comment: label }];
  // Only the families that have addresses get a rule; an empty family means "nobody".
  return [{ proto, ports, v4: peers.v4, v6: peers.v6, comment: label }];
}

/** Sections (groups, hosts, `all`) that apply to a host, in policy order. */
export function sectionsFor(host: string, inp: PolicyInputs): string[] {
  return Object.keys(inp.policy).filter((s) => s === 'all' || s === host || (inp.groups[s] ?? []).includes(host));
}

/** Validates the whole policy (every section, every rule): the problems as text ("path: message"). */
export function validatePolicy(inp: PolicyInputs): string[] {
  return policyProblems(inp).map(text);
}

/** Validates the whole policy (every section, every rule): the problems, located by path. */
export function policyProblems(inp: PolicyInputs): PolicyProblem[] {
  const errs: PolicyProblem[] = [];
  const v = inp.varName ?? 'firewall_policy';
  if (!inp.policy || typeof inp.policy !== 'object' || Array.isArray(inp.policy))
    return [{ path: [v], message: 'must be a mapping of group (or host, or all) → { allow: [...] }' }];
  for (const [section, spec] of Object.entries(inp.policy)) {
    const where = [v, section];
    if (section !== 'all' && !(section in inp.groups) && !(section in inp.addresses)) {
      errs.push({
        path: where,
        message: `unknown group or host '${section}'${suggest(section, ['all', ...Object.keys(inp.groups), ...Object.keys(inp.addresses)])}`,
      });
    }
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      errs.push({ path: where, message: "must be a mapping with 'allow' and/or 'allow_out'" });
      continue;
    }
    for (const k of Object.keys(spec))
      if (k !== 'allow' && k !== 'allow_out') errs.push({ path: [...where, k], message: `unknown key '${k}' (allow, allow_out)` });
    for (const [key, dir] of [
      ['allow', 'from'],
      ['allow_out', 'to'],
    ] as const) {
      const list = spec[key];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        errs.push({ path: [...where, key], message: 'must be a list of rules' });
        continue;
      }
      list.forEach((r, i) => resolveRule(r, [...where, key, i], dir, section, inp, errs));
    }
  }
  return errs;
}

/** The rules of one host. Throws PolicyError with every problem of the policy. */
export function resolveHost(host: string, inp: PolicyInputs): HostRules {
  const problems = policyProblems(inp);
  if (problems.length) throw new PolicyError(problems);
  const errs: PolicyProblem[] = [];
  const v = inp.varName ?? 'firewall_policy';
  const inbound: ResolvedRule[] = [];
  const outbound: ResolvedRule[] = [];
  for (const section of sectionsFor(host, inp)) {
    const spec = inp.policy[section]!;
    (spec.allow ?? []).forEach((r, i) => inbound.push(...resolveRule(r, [v, section, 'allow', i], 'from', section, inp, errs)));
    (spec.allow_out ?? []).forEach((r, i) => outbound.push(...resolveRule(r, [v, section, 'allow_out', i], 'to', section, inp, errs)));
  }
  if (errs.length) throw new PolicyError(errs);
  return { host, inbound, outbound };
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function ipv6ToBig(a: string): bigint {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** Does the CIDR contain the address? (same family only) */
export function cidrContains(cidr: string, addr: string): boolean {
  const c = toCidr(cidr);
  const a = toCidr(addr);
  if (!c || !a || c.family !== a.family) return false;
  const [net, bitsS] = c.cidr.split('/');
  const bits = Number(bitsS);
  const ip = a.cidr.split('/')[0]!;
  if (c.family === 4) {
    if (bits === 0) return true;
    const mask = (0xffffffff << (32 - bits)) >>> 0;
    return (ipv4ToInt(ip) & mask) >>> 0 === (ipv4ToInt(net!) & mask) >>> 0;
  }
  if (bits === 0) return true;
  const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  return (ipv6ToBig(ip) & mask) === (ipv6ToBig(net!) & mask);
}

function portMatches(ports: string[], port: number): boolean {
  if (!ports.length) return true;
  return ports.some((p) => {
    const [a, b] = p.split('-').map(Number);
    return b === undefined ? a === port : port >= a! && port <= b;
  });
}

/** Would these inbound rules accept a new TCP connection from `source` to `port`? */
export function allowsInbound(rules: HostRules, source: string, port: number, proto: Proto = 'tcp'): ResolvedRule | undefined {
  const fam = toCidr(source)?.family;
  return rules.inbound.find((r) => {
    if (r.proto !== proto || !portMatches(r.ports, port)) return false;
    const list = fam === 6 ? r.v6 : r.v4;
    return list === undefined || list.some((c) => cidrContains(c, source));
  });
}

/**
 * Lockout preflight: the rules must accept the SSH connection Kiln is using, from its source
 * address as the host sees it, to the port it reached. Returns the problem, or undefined.
 */
export function sshPreflight(
  rules: HostRules,
  sshClient: string | undefined,
  sshPort: number | undefined,
  varName = 'firewall_policy',
): string | undefined {
  if (!sshClient || !sshPort) {
    return `cannot tell the controller's address as the host sees it ($SSH_CONNECTION is not set on ${rules.host}); refusing to load a firewall that might lock Kiln out`;
  }
  if (allowsInbound(rules, sshClient, sshPort)) return undefined;
  return (
    `refusing to apply: the firewall for ${rules.host} would not accept SSH (port ${sshPort}/tcp) from ${sshClient}, ` +
    `the controller's address as ${rules.host} sees it. This would lock Kiln out. ` +
    `Allow it in ${varName} (e.g. all: { allow: [ {port: ${sshPort}, from: admin} ] } with ${sshClient} in firewall_admin_cidrs).`
  );
}
