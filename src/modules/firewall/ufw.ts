/**
 * `ufw`: community.general.ufw — ufw's state, default policies, logging and rules.
 *
 * Changes are found as Ansible finds them: the probe reads `ufw status verbose` and the `### tuple`
 * lines of ufw's user rules, and for a rule runs ufw itself with `--dry-run` (read-only), whose
 * output is the rules as they would be; plan compares the two exactly as the Ansible module does
 * in check mode (a rule ufw would skip as existing is no change). So `--check` predicts what the
 * real run does, and a second run changes nothing.
 *
 * Never locking out the operator:
 *  - enabling ufw (state enabled while inactive), or making the incoming default deny/reject
 *    while it is active, is REFUSED (the task fails before anything changes) unless a rule already
 *    allows the port of the SSH connection Kiln works through (its server port, read from
 *    SSH_CONNECTION on the host), or the incoming default stays allow;
 *  - every change that touches the packet filter (enable, reload, reset, default, a rule) is made
 *    under the SSH guard (guard.ts): the rules and /etc/ufw are saved and a rollback armed before,
 *    and Kiln confirms over a NEW SSH connection; otherwise the host restores them within 30 s and
 *    the task fails saying so.
 */
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { armGuard, confirmGuard, GUARD_SECONDS, guardId } from './guard.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: {
      enum: ['enabled', 'disabled', 'reloaded', 'reset'],
      description:
        'enabled/disabled: ufw on or off (and at boot); reloaded and reset are actions run every time (reset: ufw --force reset, which also disables it). Enabling is refused unless a rule allows the SSH port Kiln connects through',
    },
    default: {
      enum: ['allow', 'deny', 'reject'],
      description: 'the default policy of direction (default incoming); Ansible alias: policy',
    },
    direction: {
      enum: ['in', 'incoming', 'out', 'outgoing', 'routed'],
      description: 'with default: incoming, outgoing or routed; with a rule: in or out',
    },
    logging: { enum: ['on', 'off', 'low', 'medium', 'high', 'full'], description: "ufw's logging level" },
    rule: { enum: ['allow', 'deny', 'limit', 'reject'], description: 'add (or with delete, remove) a rule with this action' },
    delete: { type: 'boolean', description: 'remove the rule instead of adding it' },
    route: { type: 'boolean', description: 'a routed (forwarded) rule: ufw route …' },
    insert: { type: 'integer', minimum: 1, description: 'insert the rule at this position (ufw insert N) instead of appending it' },
    insert_relative_to: {
      enum: ['zero'],
      description:
        "insert counts from the top (zero, the default); Ansible's first-ipv4/last-ipv4/first-ipv6/last-ipv6 are not supported (they depend on the numbered listing of the moment)",
    },
    interface: { type: 'string', description: 'the interface of a rule (needs direction): in on IF / out on IF; alias if' },
    interface_in: { type: 'string', description: 'the incoming interface (in on IF); alias if_in' },
    interface_out: { type: 'string', description: 'the outgoing interface (out on IF); alias if_out' },
    log: { type: 'boolean', description: 'log new connections matched by the rule' },
    from_ip: { type: 'string', description: 'source address or network (default any); aliases from, src' },
    from_port: { type: 'string', description: 'source port or range' },
    to_ip: { type: 'string', description: 'destination address or network (default any); aliases to, dest' },
    to_port: { type: 'string', description: 'destination port or range (22, 60000:61000); alias port' },
    proto: {
      enum: ['ah', 'any', 'esp', 'ipv6', 'tcp', 'udp', 'gre', 'igmp'],
      description: 'the protocol of the rule; alias protocol',
    },
    name: { type: 'string', description: 'a ufw application profile (ufw app list); alias app' },
    comment: { type: 'string', description: 'a comment stored with the rule' },
  },
} as const;

export type UfwParams = FromSchema<typeof schema>;

export interface UfwState {
  installed: boolean;
  /** `ufw status verbose`. */
  status: string;
  /** Probed for a --check run: Ansible's check-mode result has no `msg`. */
  check?: boolean;
  /** The `### tuple` lines of the user rules (grep -h, as Ansible). */
  rules: string;
  /** `ufw --dry-run RULE` output, for a rule task. */
  dry: string;
  /** The server port of the SSH connection Kiln works through. */
  sshPort?: string;
  /** /etc/default/ufw's DEFAULT_*_POLICY (INPUT, OUTPUT, FORWARD → DROP, ACCEPT, REJECT). */
  files: { INPUT?: string; OUTPUT?: string; FORWARD?: string; loglevel?: string };
}

export type UfwOp =
  | { kind: 'enable' }
  | { kind: 'disable' }
  | { kind: 'reload' }
  | { kind: 'reset' }
  | { kind: 'default' }
  | { kind: 'logging' }
  | { kind: 'rule' };

const RULE_FILES = [
  '/lib/ufw/user.rules',
  '/lib/ufw/user6.rules',
  '/etc/ufw/user.rules',
  '/etc/ufw/user6.rules',
  '/var/lib/ufw/user.rules',
  '/var/lib/ufw/user6.rules',
];

/** Checks the Ansible module makes before running anything. */
export function checkUfwParams(p: UfwParams): void {
  if (p.state === undefined && p.default === undefined && p.rule === undefined && p.logging === undefined) {
    throw new Error('one of the following is required: state, default, rule, logging');
  }
  const excl = (['name', 'proto', 'logging'] as const).filter((k) => p[k] !== undefined);
  if (excl.length > 1) throw new Error(`parameters are mutually exclusive: ${excl.join('|')}`);
  if (p.direction !== undefined && (p.interface_in !== undefined || p.interface_out !== undefined))
    throw new Error('parameters are mutually exclusive: direction|interface_in, direction|interface_out');
  if (p.interface !== undefined && p.direction === undefined) throw new Error('missing parameter(s) required by interface: direction');
  if (p.default !== undefined && !['outgoing', 'incoming', 'routed', undefined].includes(p.direction))
    throw new Error('For default, direction must be one of "outgoing", "incoming" and "routed", or direction must not be specified.');
  if (p.rule !== undefined && !['in', 'out', undefined].includes(p.direction))
    throw new Error('For rules, direction must be one of "in" and "out", or direction must not be specified.');
  if (p.rule !== undefined && !p.route && p.interface_in !== undefined && p.interface_out !== undefined)
    throw new Error('Only route rules can combine interface_in and interface_out');
}

/** The words of the rule command after `ufw`, as the Ansible module builds them (comment: ufw ≥ 0.35, Debian 12 has 0.36). */
export function ruleWords(p: UfwParams): string[] {
  const w: string[] = [];
  if (p.route) w.push('route');
  if (p.delete) w.push('delete');
  if (p.insert !== undefined && !p.delete) w.push('insert', String(p.insert));
  w.push(p.rule!);
  if (p.direction) w.push(p.direction);
  if (p.interface) w.push('on', p.interface);
  if (p.interface_in) w.push('in', 'on', p.interface_in);
  if (p.interface_out) w.push('out', 'on', p.interface_out);
  if (p.log) w.push('log');
  w.push('from', p.from_ip ?? 'any');
  if (p.from_port) w.push('port', p.from_port);
  w.push('to', p.to_ip ?? 'any');
  if (p.to_port) w.push('port', p.to_port);
  if (p.proto) w.push('proto', p.proto);
  if (p.name) w.push('app', p.name);
  if (p.comment) w.push('comment', p.comment);
  return w;
}

const ufwCmd = (words: readonly string[]) => ['ufw', ...words].map((x) => q(x)).join(' ');

export function ufwProbe(p: UfwParams): string {
  const lines = [
    'LANG=C; LC_ALL=C; export LANG LC_ALL',
    '[ "$(id -u)" = 0 ] || echo not_root=1',
    'if ! command -v ufw >/dev/null 2>&1; then echo installed=0; else',
    '  echo installed=1',
    '  printf "status_b64="; ufw status verbose 2>&1 </dev/null | base64 -w0; echo',
    // inactive, `ufw status verbose` says only "Status: inactive": the settings come from ufw's files then
    `  sed -n 's/^DEFAULT_\\(INPUT\\|OUTPUT\\|FORWARD\\)_POLICY="*\\([A-Z]*\\)"*.*/policy_\\1=\\2/p' /etc/default/ufw 2>/dev/null`,
    `  sed -n 's/^LOGLEVEL=\\([a-z]*\\).*/loglevel=\\1/p' /etc/ufw/ufw.conf 2>/dev/null`,
    `  printf "rules_b64="; grep -h '^### tuple' ${RULE_FILES.join(' ')} 2>/dev/null | base64 -w0; echo`,
  ];
  if (p.rule !== undefined) lines.push(`  printf "dry_b64="; ${ufwCmd(['--dry-run', ...ruleWords(p)])} 2>&1 </dev/null | base64 -w0; echo`);
  lines.push(
    'fi',
    // the SSH connection of this session: sudo resets the environment, so look in the ancestors
    'p=$$; sc=',
    'while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do',
    `  sc=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p')`,
    '  [ -n "$sc" ] && break',
    `  p=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2)`,
    'done',
    'echo "ssh_connection=$sc"',
    'true',
  );
  return lines.join('\n');
}

const b64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export function ufwParse(stdout: string): UfwState {
  const kv = parseKv(stdout);
  if (kv.not_root === '1') throw new Error('ufw reads and changes the rules as root: the task needs become: true');
  return {
    installed: kv.installed === '1',
    status: b64(kv.status_b64),
    rules: b64(kv.rules_b64),
    dry: b64(kv.dry_b64),
    sshPort: kv.ssh_connection?.trim().split(/\s+/)[3],
    ...(kv.check === '1' ? { check: true } : {}),
    files: { INPUT: kv.policy_INPUT, OUTPUT: kv.policy_OUTPUT, FORWARD: kv.policy_FORWARD, loglevel: kv.loglevel },
  };
}

// The Ansible module's address patterns (compile_ipv4_regexp / compile_ipv6_regexp).
const IPV4 = /((([01]?\d?\d|2[0-4]\d|25[0-5])\.){3}([01]?\d?\d|2[0-4]\d|25[0-5]))/;
const IPV6 =
  /(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(:[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+|::(ffff(:0{1,4})?:)?((25[0-5]|(2[0-4]|1?\d)?\d)\.){3}(25[0-5]|(2[0-4]|1?\d)?\d)|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1?\d)?\d)\.){3}(25[0-5]|(2[0-4]|1?\d)?\d))/;
const linesOf = (s: string) => s.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/** The Ansible module's check-mode test: does the dry run's rule set differ from the current one? */
export function ruleChanges(p: UfwParams, s: UfwState): boolean {
  const dryLines = linesOf(s.dry);
  const skipping = dryLines.filter((l) => l.includes('Skipping')).length;
  if (skipping > 0 && skipping === dryLines.length) return false;
  const dry = dryLines.filter((l) => l.startsWith('### tuple')).join('');
  const only = (re: RegExp, t: string) =>
    linesOf(t)
      .filter((l) => re.test(l))
      .join('');
  const from = p.from_ip ?? 'any';
  const to = p.to_ip ?? 'any';
  const starts = (re: RegExp, v: string) => re.exec(v)?.index === 0;
  if (starts(IPV4, from) || starts(IPV4, to)) return only(IPV4, s.rules) !== only(IPV4, dry);
  if (starts(IPV6, from) || starts(IPV6, to)) return only(IPV6, s.rules) !== only(IPV6, dry);
  return s.rules !== dry;
}

const active = (s: UfwState) => s.status.includes(' active');

function defaults(s: UfwState): Record<string, string> | undefined {
  const m = /Default: (deny|allow|reject) \(incoming\), (deny|allow|reject) \(outgoing\), (deny|allow|reject|disabled) \(routed\)/.exec(
    s.status,
  );
  if (m) return { incoming: m[1]!, outgoing: m[2]!, routed: m[3]! };
  // inactive: what ufw will load, from /etc/default/ufw
  const word = (v: string | undefined) => (v === 'DROP' ? 'deny' : v === 'ACCEPT' ? 'allow' : v === 'REJECT' ? 'reject' : undefined);
  const f = { incoming: word(s.files.INPUT), outgoing: word(s.files.OUTPUT), routed: word(s.files.FORWARD) };
  return f.incoming && f.outgoing && f.routed ? { incoming: f.incoming, outgoing: f.outgoing, routed: f.routed } : undefined;
}

/** Logging as `ufw status verbose` shows it (on/off and level), or from ufw.conf while inactive. */
function logging(s: UfwState): { onOff: string; level?: string } | undefined {
  const m = /Logging: (on|off)(?: \(([a-z]+)\))?/.exec(s.status);
  if (m) return { onOff: m[1]!, level: m[2] };
  const l = s.files.loglevel;
  if (l === undefined) return undefined;
  return l === 'off' ? { onOff: 'off' } : { onOff: 'on', level: l };
}

/** Does a current rule let SSH in on `port` (tcp, from anywhere)? */
export function allowsPort(rules: string, port: string): boolean {
  const n = Number(port);
  const covers = (spec: string) =>
    spec === 'any' ||
    spec.split(',').some((part) => {
      const [a, b] = part.split(':');
      return b === undefined ? a === port : Number(a) <= n && n <= Number(b);
    });
  return linesOf(rules).some((l) => {
    // ### tuple ### ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] DIRECTION[_IFACE]
    const f = l.trim().split(/\s+/).slice(3);
    const [action, proto, dport, _dst, _sport, src] = f;
    // the direction follows the source (and the app names); a comment=HEX may come after it
    const dir = f.slice(6).find((x) => /^(in|out|fwd)(_|$)/.test(x)) ?? '';
    return (
      (action === 'allow' || action === 'limit') &&
      (proto === 'tcp' || proto === 'any') &&
      covers(dport ?? '') &&
      (src === '0.0.0.0/0' || src === '::/0') &&
      dir === 'in'
    );
  });
}

const guarded = ` (under the SSH guard: rolled back in ${GUARD_SECONDS}s unless a new SSH connection confirms)`;

export function ufwPlan(p: UfwParams, s: UfwState): Planned<UfwOp>[] {
  if (!s.installed) {
    // An earlier package task only predicted ufw's install (a dry run): nothing can be compared.
    const what = [
      p.state && `state ${p.state}`,
      p.default && `default ${p.default}`,
      p.logging && `logging ${p.logging}`,
      p.rule && `rule ${ruleWords(p).join(' ')}`,
    ]
      .filter(Boolean)
      .join(', ');
    return [
      {
        summary: `ufw: ${what} (ufw is not installed yet)`,
        unpredictable: true,
        op: { kind: p.rule ? 'rule' : p.state === 'enabled' ? 'enable' : 'default' },
      },
    ];
  }
  const out: Planned<UfwOp>[] = [];
  const on = active(s);
  const d = defaults(s);
  const port = s.sshPort ?? '22';
  const sshOpen = allowsPort(s.rules, port);
  const lockout = (what: string) =>
    new Error(
      `ufw: ${what} would cut the SSH connection Kiln works through: no ufw rule allows tcp port ${port} (the port of this connection) and the incoming default is not allow. ` +
        `Add a rule first (ufw: {rule: allow, port: '${port}', proto: tcp}, or rule: limit), then ${what.startsWith('enabling') ? 'enable ufw' : 'change the default'}`,
    );
  // Ansible runs the commands in this order: state, default, rule, logging.
  if (p.state === 'enabled' && !on) {
    const incoming = p.default !== undefined && (p.direction ?? 'incoming') === 'incoming' ? p.default : (d?.incoming ?? 'deny');
    if (incoming !== 'allow' && !sshOpen) throw lockout('enabling ufw');
    out.push({ summary: `ufw: enable (ufw --force enable)${guarded}`, op: { kind: 'enable' } });
  } else if (p.state === 'disabled' && on) out.push({ summary: 'ufw: disable', op: { kind: 'disable' } });
  else if (p.state === 'reloaded') out.push({ summary: `ufw: reload${guarded}`, action: true, op: { kind: 'reload' } });
  else if (p.state === 'reset')
    out.push({
      summary: `ufw: reset to its installed defaults (ufw --force reset, disables it)${guarded}`,
      action: true,
      op: { kind: 'reset' },
    });
  if (p.default !== undefined) {
    const dir = p.direction === undefined || p.direction === 'incoming' ? 'incoming' : p.direction;
    const cur = d?.[dir];
    if (cur === undefined || (cur !== p.default && cur !== 'disabled')) {
      const enabledAfter = p.state === 'enabled' || (on && p.state !== 'disabled' && p.state !== 'reset');
      if (dir === 'incoming' && p.default !== 'allow' && enabledAfter && !sshOpen && p.state !== 'enabled')
        throw lockout(`default ${p.default} incoming`);
      out.push({ summary: `ufw: default ${dir} ${cur ?? '?'} → ${p.default}${guarded}`, op: { kind: 'default' } });
    }
  }
  if (p.rule !== undefined && ruleChanges(p, s)) {
    out.push({ summary: `ufw ${ruleWords(p).join(' ')}${guarded}`, op: { kind: 'rule' } });
  }
  if (p.logging !== undefined) {
    const m = logging(s);
    let changed = false;
    if (!m) changed = true;
    else if (p.logging !== 'off') changed = m.onOff === 'off' || (p.logging !== 'on' && p.logging !== m.level);
    else changed = m.onOff !== 'off';
    if (changed)
      out.push({
        summary: `ufw: logging ${m ? (m.onOff === 'off' ? 'off' : (m.level ?? 'on')) : '?'} → ${p.logging}`,
        op: { kind: 'logging' },
      });
  }
  return out;
}

export function ufwApply(p: UfwParams, prep: { id: string }, ops: readonly UfwOp[]): string {
  const lines = [
    'set -e',
    'LANG=C; LC_ALL=C; export LANG LC_ALL',
    `command -v ufw >/dev/null 2>&1 || { echo 'ufw is not installed (install the ufw package first)' >&2; exit 3; }`,
  ];
  if (ops.some((o) => o.kind !== 'disable' && o.kind !== 'logging')) lines.push(...armGuard(prep.id));
  for (const op of ops) {
    switch (op.kind) {
      case 'enable':
        lines.push(`${ufwCmd(['-f', 'enable'])} </dev/null`);
        break;
      case 'disable':
        lines.push(`${ufwCmd(['-f', 'disable'])} </dev/null`);
        break;
      case 'reload':
        lines.push(`${ufwCmd(['-f', 'reload'])} </dev/null`);
        break;
      case 'reset':
        lines.push(`${ufwCmd(['-f', 'reset'])} </dev/null`);
        break;
      case 'default':
        lines.push(`${ufwCmd(['default', p.default!, ...(p.direction ? [p.direction] : [])])} </dev/null`);
        break;
      case 'rule':
        lines.push(`${ufwCmd(ruleWords(p))} </dev/null`);
        break;
      case 'logging':
        lines.push(`${ufwCmd(['logging', p.logging!])} </dev/null`);
        break;
    }
  }
  return lines.join('\n');
}

/** The commands the Ansible module runs for these params (its `commands` result, without the probes). */
export function ufwCommands(p: UfwParams): string[] {
  const states = { enabled: 'enable', disabled: 'disable', reloaded: 'reload', reset: 'reset' } as const;
  const c: string[] = [];
  if (p.state) c.push(`ufw -f ${states[p.state]}`);
  if (p.default) c.push(`ufw default ${p.default}${p.direction ? ` ${p.direction}` : ''}`);
  if (p.rule) c.push(`ufw ${ruleWords(p).join(' ')}`);
  if (p.logging) c.push(`ufw logging ${p.logging}`);
  return c;
}

export default defineModule<UfwParams, UfwState, UfwOp, { id: string }>({
  name: 'ufw',
  description:
    "ufw's state, default policies, logging and rules, as community.general.ufw (changes found with ufw --dry-run); refuses to enable ufw while no rule allows the SSH port, and makes every filter change under an SSH guard (commit-confirm).",
  schema,
  prepare(p) {
    checkUfwParams(p);
    return { id: guardId() };
  },
  probe: (p, _prep, ctx) => `${ufwProbe(p)}${ctx.check ? '\necho check=1' : ''}`,
  parse: (out) => ufwParse(out.stdout),
  plan: (p, _prep, s) => ufwPlan(p, s),
  apply: (p, prep, _s, ops) => ufwApply(p, prep, ops),
  confirm: (_p, prep) => confirmGuard(prep.id),
  // Ansible's result: the commands, and (not in check mode) `ufw status verbose` after the task.
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ commands: ufwCommands(p), ...(s.check ? {} : { msg: s.status.trimEnd() }) }),
});
