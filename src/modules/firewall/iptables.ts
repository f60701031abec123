/**
 * `iptables`: one rule, a chain's policy, a flush, or a user chain — Ansible's ansible.builtin.iptables.
 *
 * The rule's arguments are built exactly as Ansible's `construct_rule` builds them (same options,
 * same order), so `iptables -C` finds the same rule Ansible would: present → nothing to do, as in
 * Ansible; absent → `-A` (or `-I CHAIN [rule_num]` with action: insert). `state: absent` deletes it
 * (`-D`). `policy` sets a built-in chain's policy when `-L` shows another; `flush` empties the chain
 * (or the table) and, as in Ansible, always reports a change (an action, run every time);
 * `chain_management` creates a missing user chain before adding a rule, and deletes a chain given
 * with state absent and no rule options.
 *
 * The probe (`-C`, `-L`) rides in the batch. Every change is made under the SSH guard (guard.ts):
 * the live rules are saved and a rollback armed before the change, and Kiln must confirm over a
 * new SSH connection, so a rule that cuts SSH is undone by the host within 30 s and the task fails
 * saying so.
 */
import { q } from '../../sh/quote.ts';
import { parseKv } from '../../sh/kv.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { armGuard, confirmGuard, GUARD_SECONDS, guardId } from './guard.ts';

const str = (description: string) => ({ type: 'string', description }) as const;
const list = (description: string) => ({ type: 'array', items: { type: 'string' }, description }) as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    table: { enum: ['filter', 'nat', 'mangle', 'raw', 'security'], description: 'the table (default filter)' },
    state: { enum: ['present', 'absent'], description: 'whether the rule should be there (default present)' },
    action: {
      enum: ['append', 'insert'],
      description: 'how a missing rule is added: append (-A, default) at the end or insert (-I) at the top or at rule_num',
    },
    ip_version: { enum: ['ipv4', 'ipv6'], description: 'iptables (ipv4, default) or ip6tables (ipv6)' },
    chain: str('the chain (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING, SECMARK, CONNSECMARK or a user chain); required unless flush'),
    rule_num: str('with action insert: the position the rule is inserted at (1 = top)'),
    protocol: str('-p: tcp, udp, udplite, icmp, ipv6-icmp, esp, ah, sctp, all, a number; ! negates'),
    wait: str('-w: seconds to wait for the xtables lock'),
    source: str('-s: source address[/mask] (! negates)'),
    to_source: str('--to-source for SNAT'),
    destination: str('-d: destination address[/mask] (! negates)'),
    to_destination: str('--to-destination for DNAT'),
    match: list('-m: match extensions to load (conntrack, state, iprange, set, multiport, …), in order'),
    tcp_flags: {
      type: 'object',
      additionalProperties: false,
      properties: {
        flags: { type: 'array', items: { type: 'string' }, description: 'the flags examined' },
        flags_set: { type: 'array', items: { type: 'string' }, description: 'the flags that must be set' },
      },
      description: '--tcp-flags: {flags, flags_set}',
    },
    jump: str('-j: the target (ACCEPT, DROP, REJECT, LOG, a user chain, …)'),
    gateway: str('--gateway for the TEE target (required with jump TEE)'),
    log_prefix: str('--log-prefix (the jump is LOG)'),
    log_level: {
      enum: ['0', '1', '2', '3', '4', '5', '6', '7', 'emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'],
      description: '--log-level (the jump is LOG)',
    },
    goto: str('-g: continue in this user chain without returning'),
    in_interface: str('-i: the interface a packet arrives on (! negates, + is a wildcard)'),
    out_interface: str('-o: the interface a packet leaves through'),
    fragment: str('-f: second and further fragments only'),
    set_counters: str('-c: initial packet and byte counters'),
    source_port: str('--source-port: a port or a range (needs protocol tcp/udp)'),
    destination_port: str('--destination-port: a port or a range (needs protocol tcp/udp)'),
    destination_ports: list('--dports with -m multiport: ports and ranges'),
    to_ports: str('--to-ports for REDIRECT/MASQUERADE'),
    set_dscp_mark: str('--set-dscp (DSCP target)'),
    set_dscp_mark_class: str('--set-dscp-class (DSCP target)'),
    comment: str('-m comment --comment'),
    ctstate: list('connection states (--ctstate with -m conntrack, --state with -m state): INVALID, NEW, ESTABLISHED, RELATED, …'),
    src_range: str('--src-range with -m iprange'),
    dst_range: str('--dst-range with -m iprange'),
    match_set: str('--match-set with -m set'),
    match_set_flags: { enum: ['src', 'dst', 'src,dst', 'dst,src'], description: 'the flags of match_set' },
    limit: str('--limit with -m limit: a rate (5/second)'),
    limit_burst: str('--limit-burst with -m limit'),
    uid_owner: str('--uid-owner with -m owner (! negates)'),
    gid_owner: str('--gid-owner with -m owner (! negates)'),
    reject_with: str('--reject-with (the jump is REJECT when no jump is given)'),
    icmp_type: str('--icmp-type (ipv4) or --icmpv6-type (ipv6)'),
    syn: { enum: ['ignore', 'match', 'negate'], description: '--syn: match (only SYN packets), negate (! --syn) or ignore (default)' },
    flush: {
      type: 'boolean',
      description: 'empty the chain (or every chain of the table without chain); always a change, as in Ansible',
    },
    policy: { enum: ['ACCEPT', 'DROP', 'QUEUE', 'RETURN'], description: "the built-in chain's policy (-P)" },
    chain_management: {
      type: 'boolean',
      description: 'create the user chain if missing before adding a rule; with state absent and no rule options, delete the chain',
    },
  },
} as const;

export type IptablesParams = FromSchema<typeof schema>;

export interface IptablesState {
  /** The iptables command is installed. */
  installed: boolean;
  /** `-C` found the rule. */
  present: boolean;
  /** `-L CHAIN` succeeded. */
  chain: boolean;
  /** The chain's policy (`-L`'s header), if it has one. */
  policy?: string;
}

export type IptablesOp =
  | { kind: 'flush' }
  | { kind: 'policy'; policy: string }
  | { kind: 'create-chain' }
  | { kind: 'delete-chain' }
  | { kind: 'add' }
  | { kind: 'delete' };

interface Prep {
  /** The rule's arguments, as Ansible's construct_rule. */
  rule: string[];
  id: string;
}

const ICMP_TYPE = { ipv4: '--icmp-type', ipv6: '--icmpv6-type' } as const;

/** Ansible's construct_rule, option for option (params after its LOG jump default). */
export function constructRule(p: IptablesParams): string[] {
  const rule: string[] = [];
  const param = (v: string | undefined, flag: string) => {
    if (v === undefined || v === null) return;
    if (v[0] === '!') rule.push('!', flag, v.slice(1));
    else rule.push(flag, v);
  };
  const csv = (v: readonly string[] | undefined, flag: string) => {
    if (v?.length) rule.push(flag, v.join(','));
  };
  const match = (on: unknown, m: string) => {
    if (on && !(Array.isArray(on) && on.length === 0)) rule.push('-m', m);
  };
  const matchFlag = (v: string | undefined, flag: string, negatable: boolean) => {
    if (v === 'match') rule.push(flag);
    else if (negatable && v === 'negate') rule.push('!', flag);
  };
  const m = p.match ?? [];
  const ct = p.ctstate ?? [];
  if (p.wait) rule.push('-w', p.wait);
  param(p.protocol, '-p');
  param(p.source, '-s');
  param(p.destination, '-d');
  for (const x of m) param(x, '-m');
  if (p.tcp_flags?.flags && p.tcp_flags.flags_set) rule.push('--tcp-flags', p.tcp_flags.flags.join(','), p.tcp_flags.flags_set.join(','));
  param(p.jump, '-j');
  if (p.jump?.toLowerCase() === 'tee') param(p.gateway, '--gateway');
  param(p.log_prefix, '--log-prefix');
  param(p.log_level, '--log-level');
  param(p.to_destination, '--to-destination');
  match(p.destination_ports, 'multiport');
  csv(p.destination_ports, '--dports');
  param(p.to_source, '--to-source');
  param(p.goto, '-g');
  param(p.in_interface, '-i');
  param(p.out_interface, '-o');
  param(p.fragment, '-f');
  param(p.set_counters, '-c');
  param(p.source_port, '--source-port');
  param(p.destination_port, '--destination-port');
  param(p.to_ports, '--to-ports');
  param(p.set_dscp_mark, '--set-dscp');
  param(p.set_dscp_mark_class, '--set-dscp-class');
  matchFlag(p.syn ?? 'ignore', '--syn', true);
  if (m.includes('conntrack')) csv(ct, '--ctstate');
  else if (m.includes('state')) csv(ct, '--state');
  else if (ct.length) {
    match(ct, 'conntrack');
    csv(ct, '--ctstate');
  }
  if (m.includes('iprange')) {
    param(p.src_range, '--src-range');
    param(p.dst_range, '--dst-range');
  } else if (p.src_range || p.dst_range) {
    match(true, 'iprange');
    param(p.src_range, '--src-range');
    param(p.dst_range, '--dst-range');
  }
  if (m.includes('set')) {
    param(p.match_set, '--match-set');
    if (p.match_set_flags) rule.push(p.match_set_flags);
  } else if (p.match_set) {
    match(true, 'set');
    param(p.match_set, '--match-set');
    if (p.match_set_flags) rule.push(p.match_set_flags);
  }
  match(p.limit || p.limit_burst, 'limit');
  param(p.limit, '--limit');
  param(p.limit_burst, '--limit-burst');
  match(p.uid_owner, 'owner');
  matchFlag(p.uid_owner, '--uid-owner', true);
  param(p.uid_owner, '--uid-owner');
  match(p.gid_owner, 'owner');
  matchFlag(p.gid_owner, '--gid-owner', true);
  param(p.gid_owner, '--gid-owner');
  if (p.jump === undefined && p.reject_with) rule.push('-j', 'REJECT');
  param(p.reject_with, '--reject-with');
  param(p.icmp_type, ICMP_TYPE[p.ip_version ?? 'ipv4']);
  match(p.comment, 'comment');
  param(p.comment, '--comment');
  return rule;
}

/** Ansible's checks and defaults, on the controller before any host is contacted. */
export function prepareIptables(p: IptablesParams): IptablesParams {
  if (!p.flush && p.chain === undefined) throw new Error('Either chain or flush parameter must be specified.');
  if (p.flush && p.policy) throw new Error('parameters are mutually exclusive: flush|policy');
  if (p.set_dscp_mark !== undefined && p.set_dscp_mark_class !== undefined)
    throw new Error('parameters are mutually exclusive: set_dscp_mark|set_dscp_mark_class');
  if (p.jump?.toLowerCase() === 'tee' && p.gateway === undefined)
    throw new Error(`jump is ${p.jump} but all of the following are missing: gateway`);
  let q = p;
  if (p.log_prefix !== undefined || p.log_level !== undefined) {
    if (p.jump === undefined) q = { ...p, jump: 'LOG' };
    else if (p.jump !== 'LOG') throw new Error('Logging options can only be used with the LOG jump target.');
  }
  if (p.rule_num !== undefined && p.action !== 'insert') throw new Error('rule_num needs action: insert (append always adds at the end)');
  if (!q.flush && !q.policy && q.state === 'absent' && constructRule(q).length === 0 && !q.chain_management) {
    throw new Error(
      'state: absent without rule options deletes the chain only with chain_management: true (without it Ansible reports a change and deletes nothing)',
    );
  }
  return q;
}

const bin = (p: IptablesParams) => (p.ip_version === 'ipv6' ? 'ip6tables' : 'iptables');
const words = (a: readonly string[]) => a.map((w) => q(w)).join(' ');

export function iptablesProbe(p: IptablesParams, prep: Prep): string {
  const b = bin(p);
  const t = q(p.table ?? 'filter');
  const lines = [
    '[ "$(id -u)" = 0 ] || echo not_root=1',
    `if ! command -v ${b} >/dev/null 2>&1; then echo installed=0; else`,
    '  echo installed=1',
  ];
  if (p.chain !== undefined) {
    const c = q(p.chain);
    lines.push(
      `  if hdr=$(${b} -t ${t} -n -L ${c} 2>/dev/null </dev/null | head -n 1); [ -n "$hdr" ]; then echo chain=1; echo "header=$hdr"; fi`,
    );
    if (!p.flush && !p.policy)
      lines.push(`  if ${b} -t ${t} -C ${c} ${words(prep.rule)} >/dev/null 2>&1 </dev/null; then echo present=1; fi`);
  }
  lines.push('fi', 'true');
  return lines.join('\n');
}

export function iptablesParse(stdout: string): IptablesState {
  const kv = parseKv(stdout);
  if (kv.not_root === '1') throw new Error('iptables reads and changes the rules as root: the task needs become: true');
  return {
    installed: kv.installed === '1',
    present: kv.present === '1',
    chain: kv.chain === '1',
    policy: /\(policy ([A-Z]+)\)/.exec(kv.header ?? '')?.[1],
  };
}

const guarded = ` (under the SSH guard: rolled back in ${GUARD_SECONDS}s unless a new SSH connection confirms)`;

export function iptablesPlan(p: IptablesParams, prep: Prep, s: IptablesState): Planned<IptablesOp>[] {
  const table = p.table ?? 'filter';
  const b = bin(p);
  const where = p.chain === undefined ? `table ${table}` : `chain ${p.chain} (table ${table})`;
  const rule = prep.rule.join(' ');
  const missing = s.installed ? '' : ` (${b} is not installed yet)`;
  const out: Planned<IptablesOp>[] = [];
  if (p.flush) {
    out.push({ summary: `${b}: flush ${where}${missing}${guarded}`, action: true, op: { kind: 'flush' } });
  } else if (p.policy) {
    if (!s.installed) out.push({ summary: `${b}: policy of ${where} → ${p.policy}${missing}`, op: { kind: 'policy', policy: p.policy } });
    else if (!s.chain || !s.policy) throw new Error(`Can't detect current policy of ${where} (is it a built-in chain?)`);
    else if (s.policy !== p.policy)
      out.push({ summary: `${b}: policy of ${where} ${s.policy} → ${p.policy}${guarded}`, op: { kind: 'policy', policy: p.policy } });
  } else if ((p.state ?? 'present') === 'absent' && prep.rule.length === 0) {
    if (!s.installed || s.chain) out.push({ summary: `${b}: delete ${where}${missing}${guarded}`, op: { kind: 'delete-chain' } });
  } else if ((p.state ?? 'present') === 'present') {
    if (!s.installed || !s.present) {
      if (s.installed && !s.chain) {
        if (!p.chain_management) throw new Error(`${where} does not exist (chain_management: true creates it)`);
        out.push({ summary: `${b}: create ${where}${guarded}`, op: { kind: 'create-chain' } });
      }
      const how = p.action === 'insert' ? `insert at ${p.rule_num ?? 1}` : 'append';
      out.push({ summary: `${b}: ${how} in ${where}: ${rule || '(empty rule)'}${missing}${guarded}`, op: { kind: 'add' } });
    }
  } else if (!s.installed || s.present) {
    out.push({ summary: `${b}: delete from ${where}: ${rule || '(empty rule)'}${missing}${guarded}`, op: { kind: 'delete' } });
  }
  return s.installed ? out : out.map((c) => ({ ...c, unpredictable: true }));
}

export function iptablesApply(p: IptablesParams, prep: Prep, ops: readonly IptablesOp[]): string {
  const b = bin(p);
  const head = [b, '-t', p.table ?? 'filter'];
  const cmd = (action: string, extra: string[] = [], rule = true) =>
    words([...head, action, ...(p.chain === undefined ? [] : [p.chain]), ...extra, ...(rule ? prep.rule : [])]) + ' </dev/null';
  const lines = [
    'set -e',
    `command -v ${b} >/dev/null 2>&1 || { echo ${q(`${b} is not installed (install the iptables package first)`)} >&2; exit 3; }`,
    ...armGuard(prep.id, [p.ip_version === 'ipv6' ? '6' : '4']),
  ];
  for (const op of ops) {
    switch (op.kind) {
      case 'flush':
        lines.push(cmd('-F', [], false));
        break;
      case 'policy':
        lines.push(cmd('-P', [op.policy], false));
        break;
      case 'create-chain':
        lines.push(cmd('-N', [], false));
        break;
      case 'delete-chain':
        lines.push(cmd('-X', [], false));
        break;
      case 'add':
        lines.push(p.action === 'insert' ? cmd('-I', p.rule_num ? [p.rule_num] : []) : cmd('-A'));
        break;
      case 'delete':
        lines.push(cmd('-D'));
        break;
    }
  }
  return lines.join('\n');
}

export default defineModule<IptablesParams, IptablesState, IptablesOp, Prep>({
  name: 'iptables',
  description:
    "One iptables/ip6tables rule, chain policy, flush or user chain, as Ansible's iptables module (idempotent through iptables -C), every change under an SSH guard (commit-confirm).",
  schema,
  prepare(p) {
    const full = prepareIptables(p);
    return { rule: constructRule(full), id: guardId() };
  },
  probe: (p, prep) => iptablesProbe(p, prep),
  parse: (out) => iptablesParse(out.stdout),
  plan: (p, prep, s) => iptablesPlan(p, prep, s),
  apply: (p, prep, _s, ops) => iptablesApply(p, prep, ops),
  confirm: (_p, prep) => confirmGuard(prep.id),
  registerData: (p, prep) => ({
    ip_version: p.ip_version ?? 'ipv4',
    table: p.table ?? 'filter',
    chain: p.chain ?? null,
    flush: p.flush ?? false,
    rule: prep.rule.join(' '),
    state: p.state ?? 'present',
    chain_management: p.chain_management ?? false,
  }),
});
