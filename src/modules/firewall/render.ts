/**
 * Rule rendering (pure): a host's resolved rules → an nftables ruleset, or iptables-restore files.
 *
 * Both backends implement the same policy:
 * - inbound: established/related accepted, invalid dropped, loopback accepted, ICMP essentials
 *   (echo request, destination unreachable, time exceeded, parameter problem) and ICMPv6 (the same,
 *   plus packet too big and neighbour/router discovery) accepted, then the policy's rules, then drop;
 * - outbound: accept (default), or drop with established/related, loopback, ICMP and the
 *   policy's `allow_out` rules accepted;
 * - forward is not touched (other tools, e.g. Docker, own it).
 *
 * nftables: Kiln's own table `inet kiln`; the file starts with `table inet kiln {}` +
 * `delete table inet kiln`, so `nft -f FILE` replaces exactly that table in one transaction and
 * leaves every other table alone.
 *
 * iptables: Kiln's own chains KILN-INPUT / KILN-OUTPUT in the filter table, jumped to from the
 * first rule of INPUT / OUTPUT. The live load uses `iptables-restore --noflush` (only Kiln's
 * chains are flushed and refilled, in one commit); the persisted file (/etc/iptables/rules.v4,
 * loaded at boot by netfilter-persistent) is a complete filter table.
 */
import type { HostRules, ResolvedRule } from './policy.ts';

export type Backend = 'nftables' | 'iptables';
export type OutboundPolicy = 'accept' | 'drop';

export interface RenderOptions {
  outbound: OutboundPolicy;
}

/** Kiln's own nftables table (family and name): every script and ruleset names it through this. */
export const NFT_TABLE = 'inet kiln';
export const IPT_CHAINS = { INPUT: 'KILN-INPUT', OUTPUT: 'KILN-OUTPUT' } as const;

const ICMP4 = ['echo-request', 'destination-unreachable', 'time-exceeded', 'parameter-problem'];
const ICMP6 = [
  'echo-request',
  'destination-unreachable',
  'packet-too-big',
  'time-exceeded',
  'parameter-problem',
  'nd-router-solicit',
  'nd-router-advert',
  'nd-neighbor-solicit',
  'nd-neighbor-advert',
  'mld-listener-query',
];
const ICMP4_NUM: Record<string, string> = {
  'echo-request': '8',
  'destination-unreachable': '3',
  'time-exceeded': '11',
  'parameter-problem': '12',
};
const ICMP6_NUM: Record<string, string> = {
  'echo-request': '128',
  'destination-unreachable': '1',
  'packet-too-big': '2',
  'time-exceeded': '3',
  'parameter-problem': '4',
  'nd-router-solicit': '133',
  'nd-router-advert': '134',
  'nd-neighbor-solicit': '135',
  'nd-neighbor-advert': '136',
  'mld-listener-query': '130',
};

function nftComment(s: string): string {
  // nft comments: at most 128 bytes, double quotes not allowed inside.
  return `comment "${s.replace(/["\\\n]/g, "'").slice(0, 120)}"`;
}

function nftSet(xs: string[]): string {
  return xs.length === 1 ? xs[0]! : `{ ${xs.join(', ')} }`;
}

/** IP protocol numbers of the port-less protocols (by number: no /etc/protocols lookup). */
const PROTO_NUM: Record<string, string> = { vrrp: '112' };

function nftRule(r: ResolvedRule, dir: 'in' | 'out'): string[] {
  const addrKey = dir === 'in' ? 'saddr' : 'daddr';
  const port = r.ports.length ? ` ${r.proto} dport ${nftSet(r.ports)}` : ` meta l4proto ${PROTO_NUM[r.proto] ?? r.proto}`;
  const tail = `${port} accept ${nftComment(r.comment)}`;
  if (r.v4 === undefined && r.v6 === undefined) return [`${tail.trimStart()}`];
  const out: string[] = [];
  // Single addresses without their /32 (/128): nft keeps a set of plain addresses as written, but
  // turns host prefixes into an interval set whose adjacent members it merges into a range
  // (`{ 10.77.0.11-10.77.0.12 }`), and that listing, loaded again (the rollback restores a
  // listing), prints without the braces: the same rules would read as drift after a rollback.
  if (r.v4?.length) out.push(`ip ${addrKey} ${nftSet(r.v4.map((a) => a.replace(/\/32$/, '')))}${tail}`);
  if (r.v6?.length) out.push(`ip6 ${addrKey} ${nftSet(r.v6.map((a) => a.replace(/\/128$/, '')))}${tail}`);
  return out;
}

/** The complete nftables file for a host (what `nft -f` loads and /etc/kiln/firewall.nft holds). */
export function renderNft(rules: HostRules, opts: RenderOptions): string {
  const t = '\t\t';
  const lines = [
    '#!/usr/sbin/nft -f',
    `# Kiln firewall for ${rules.host}. Managed by Kiln: edits are reported as drift and reverted.`,
    `# Replaces only the table ${NFT_TABLE}, atomically; other tables are left alone.`,
    `table ${NFT_TABLE} {}`,
    `delete table ${NFT_TABLE}`,
    '',
    `table ${NFT_TABLE} {`,
    '\tchain input {',
    `${t}type filter hook input priority filter; policy drop;`,
    `${t}ct state established,related accept`,
    `${t}iif "lo" accept`,
    `${t}meta l4proto icmp icmp type ${nftSet(ICMP4)} accept`,
    `${t}meta l4proto ipv6-icmp icmpv6 type ${nftSet(ICMP6)} accept`,
    `${t}ct state invalid drop`,
    ...rules.inbound.flatMap((r) => nftRule(r, 'in')).map((l) => t + l),
    '\t}',
    '',
    '\tchain output {',
    `${t}type filter hook output priority filter; policy ${opts.outbound};`,
  ];
  if (opts.outbound === 'drop') {
    lines.push(
      `${t}ct state established,related accept`,
      `${t}oif "lo" accept`,
      `${t}meta l4proto icmp accept`,
      `${t}meta l4proto ipv6-icmp accept`,
      ...rules.outbound.flatMap((r) => nftRule(r, 'out')).map((l) => t + l),
    );
  }
  lines.push('\t}', '}', '');
  return lines.join('\n');
}

function iptPorts(r: ResolvedRule): string {
  if (!r.ports.length) return `-p ${PROTO_NUM[r.proto] ?? r.proto}`;
  const ps = r.ports.map((p) => p.replace('-', ':'));
  if (ps.length === 1) return `-p ${r.proto} -m ${r.proto} --dport ${ps[0]}`;
  return `-p ${r.proto} -m multiport --dports ${ps.join(',')}`;
}

function iptComment(s: string): string {
  return `-m comment --comment "${s.replace(/["\\\n]/g, "'").slice(0, 250)}"`;
}

function iptRules(chain: string, r: ResolvedRule, dir: 'in' | 'out', family: 4 | 6): string[] {
  const addrs = family === 4 ? r.v4 : r.v6;
  const flag = dir === 'in' ? '-s' : '-d';
  // Multiport takes at most 15 ports (a range counts twice): split long lists.
  const chunks: ResolvedRule[] = [];
  for (let i = 0, n = 0, cur: string[] = []; i <= r.ports.length; i++) {
    const p = r.ports[i];
    const w = p?.includes('-') ? 2 : 1;
    if (p === undefined || n + w > 15) {
      if (cur.length || !r.ports.length) chunks.push({ ...r, ports: cur });
      cur = [];
      n = 0;
    }
    if (p !== undefined) {
      cur.push(p);
      n += w;
    }
  }
  const tail = (c: ResolvedRule) => `${iptPorts(c)} ${iptComment(r.comment)} -j ACCEPT`;
  if (addrs === undefined) return chunks.map((c) => `-A ${chain} ${tail(c)}`);
  return addrs.flatMap((a) => chunks.map((c) => `-A ${chain} ${flag} ${a} ${tail(c)}`));
}

/** Kiln's chains' rules for one family (without table header, chain declarations or COMMIT). */
export function renderIptablesChains(rules: HostRules, opts: RenderOptions, family: 4 | 6): string[] {
  const IN = IPT_CHAINS.INPUT;
  const OUT = IPT_CHAINS.OUTPUT;
  const icmp =
    family === 4
      ? ICMP4.map((t) => `-A ${IN} -p icmp -m icmp --icmp-type ${ICMP4_NUM[t]} -j ACCEPT`)
      : ICMP6.map((t) => `-A ${IN} -p ipv6-icmp -m icmp6 --icmpv6-type ${ICMP6_NUM[t]} -j ACCEPT`);
  const lines = [
    `-A ${IN} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${IN} -i lo -j ACCEPT`,
    ...icmp,
    `-A ${IN} -m conntrack --ctstate INVALID -j DROP`,
    ...rules.inbound.flatMap((r) => iptRules(IN, r, 'in', family)),
    `-A ${IN} -j DROP`,
  ];
  if (opts.outbound === 'drop') {
    lines.push(
      `-A ${OUT} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${OUT} -o lo -j ACCEPT`,
      `-A ${OUT} -p ${family === 4 ? 'icmp' : 'ipv6-icmp'} -j ACCEPT`,
      ...rules.outbound.flatMap((r) => iptRules(OUT, r, 'out', family)),
      `-A ${OUT} -j DROP`,
    );
  } else {
    lines.push(`-A ${OUT} -j RETURN`);
  }
  return lines;
}

export interface IptablesFiles {
  /** Persisted complete filter table (/etc/iptables/rules.v4|v6, loaded at boot). */
  persist: string;
  /**
   * Live load for `iptables-restore --noflush`: declares and flushes Kiln's chains and refills
   * them. `jumps` adds the INPUT/OUTPUT jump handling (computed from the live state at apply time).
   */
  live: (jumps: string[]) => string;
}

export function renderIptables(rules: HostRules, opts: RenderOptions, family: 4 | 6): IptablesFiles {
  const body = renderIptablesChains(rules, opts, family);
  const decl = [`:${IPT_CHAINS.INPUT} - [0:0]`, `:${IPT_CHAINS.OUTPUT} - [0:0]`];
  const head = `# Kiln firewall (${family === 4 ? 'IPv4' : 'IPv6'}) for ${rules.host}. Managed by Kiln: edits are reported as drift and reverted.`;
  const persist = [
    head,
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...decl,
    `-A INPUT -j ${IPT_CHAINS.INPUT}`,
    `-A OUTPUT -j ${IPT_CHAINS.OUTPUT}`,
    ...body,
    'COMMIT',
    '',
  ].join('\n');
  const live = (jumps: string[]) =>
    [head, '*filter', ...decl, `-F ${IPT_CHAINS.INPUT}`, `-F ${IPT_CHAINS.OUTPUT}`, ...body, ...jumps, 'COMMIT', ''].join('\n');
  return { persist, live };
}

/**
 * The INPUT/OUTPUT jump lines for a live load: Kiln's jump must be the FIRST rule of INPUT and
 * OUTPUT, exactly once. `positions` are the 1-based positions of existing jumps per chain.
 */
export function jumpFix(positions: Record<'INPUT' | 'OUTPUT', number[]>): string[] {
  const out: string[] = [];
  for (const chain of ['INPUT', 'OUTPUT'] as const) {
    const pos = positions[chain];
    if (pos.length === 1 && pos[0] === 1) continue;
    for (let i = 0; i < pos.length; i++) out.push(`-D ${chain} -j ${IPT_CHAINS[chain]}`);
    out.push(`-I ${chain} 1 -j ${IPT_CHAINS[chain]}`);
  }
  return out;
}
