/**
 * `firewall`: a host's complete inbound (and optionally outbound) firewall, computed from a
 * declarative policy over the inventory, loaded atomically with commit-confirm.
 *
 * - prepare (controller): validates the WHOLE policy (unknown groups/hosts, bad ports or CIDRs are
 *   errors naming the path in the policy, reported by `kiln validate` before any host is touched),
 *   resolves this host's rules and renders them (policy.ts, render.ts) into the typed
 *   `FirewallPrep`; the params stay as the user wrote them.
 * - probe: the LIVE ruleset (nft list table inet kiln, or iptables-save reduced to Kiln's chains),
 *   what Kiln recorded after its last load, the persisted files, and $SSH_CONNECTION (the
 *   controller's address and the SSH port as the host sees them).
 * - plan: a new policy, a live ruleset that drifted from the recorded one (a rule added by hand),
 *   a persisted file that differs, or the other backend's leftovers, each a typed `FirewallOp`
 *   beside its summary. Lockout preflight: a plan that would not accept the current SSH
 *   connection's source and port fails here, before apply.
 * - apply: one transaction, whatever was planned: validate (nft -c / iptables-restore --test), save
 *   the previous state, arm a detached rollback timer on the host (systemd-run, default 20 s), load
 *   in one transaction, persist (atomicWrite). Its script depends on the params, the prepared rules
 *   and the probed state only, never on summaries.
 * - confirm (engine, NEW SSH connection): disarm the timer. No new connection → no confirm → the
 *   host restores its previous rules by itself, even if Kiln died.
 */
import { createTwoFilesPatch } from 'diff';
import { type HostRules, PolicyError, resolveHost, sshPreflight } from './policy.ts';
import { type Backend, type IptablesFiles, jumpFix, NFT_TABLE, renderIptables, renderNft } from './render.ts';
import { applyScript, confirmScript, IPT_PERSIST, NFT_PERSIST, persistPaths, probeScript, removeScript } from './scripts.ts';
import { fromB64, sha256 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned, VarPathError } from '../contract.ts';

const portItem = { type: ['integer', 'string'], description: 'a port (1-65535) or a range "a-b"' } as const;
const peers = {
  type: ['string', 'array'],
  items: { type: 'string' },
  description: 'any, admin, a group, a host, an IP address or CIDR, or a list of them',
} as const;
const rule = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { anyOf: [portItem, { type: 'array', items: portItem, minItems: 1 }], description: 'port(s): 80, [80, 443], "8000-8100"' },
    proto: { enum: ['tcp', 'udp', 'vrrp'], description: 'protocol (default tcp); vrrp (IP protocol 112) takes no port' },
    from: peers,
    to: peers,
    comment: { type: 'string', description: 'shown in the rule comment' },
  },
} as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['policy', 'groups', 'hosts', 'addresses'],
  properties: {
    state: {
      enum: ['present', 'absent'],
      description:
        "present (default); absent removes Kiln's live rules (both backends), its persisted files and its record (the host is then open)",
    },
    backend: {
      enum: ['nftables', 'iptables'],
      description: `nftables (default: table ${NFT_TABLE}) or iptables (chains KILN-INPUT/KILN-OUTPUT, IPv4 and IPv6)`,
    },
    policy: {
      type: 'object',
      description: 'section (group, host or all) → { allow: [rules with from], allow_out: [rules with to] }',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          allow: { type: 'array', items: rule, description: 'inbound rules' },
          allow_out: { type: 'array', items: rule, description: 'outbound rules (used when outbound_policy is drop)' },
        },
      },
    },
    outbound_policy: {
      enum: ['accept', 'drop'],
      description: 'outbound default (accept); drop keeps established, loopback, ICMP and allow_out',
    },
    admin_cidrs: { type: 'array', items: { type: 'string' }, description: "what 'admin' stands for: IP addresses or CIDRs" },
    groups: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string' } },
      description: 'inventory groups → hosts: pass "{{ groups }}"',
    },
    hosts: {
      type: 'array',
      items: { type: 'string' },
      description: 'inventory host names: "{{ hostvars | dict2items | map(attribute=\'key\') | list }}"',
    },
    addresses: {
      type: 'array',
      items: {},
      description:
        "their addresses, same order: \"{{ hostvars | dict2items | map(attribute='value.address', default='') | list }}\" (an empty or missing address means the host name)",
    },
    rollback_seconds: {
      type: 'integer',
      minimum: 5,
      maximum: 3600,
      description:
        'commit-confirm: the host restores its previous rules after this many seconds unless Kiln confirms over a new SSH connection (default 20)',
    },
    policy_var: { type: 'string', description: 'name of the policy variable, for messages (default firewall_policy)' },
  },
} as const;

export type FirewallParams = FromSchema<typeof schema>;

/** What `prepare` computed on the controller: this host's rules, rendered. */
export interface FirewallPrep {
  rules: HostRules;
  /** Persisted files: path → content (none for state absent). */
  persist: Record<string, string>;
  /** nftables: the file loaded with nft -f. */
  nft?: string;
  /** iptables: the files per family. */
  ipt?: { 4: IptablesFiles; 6: IptablesFiles };
  /** SHA-256 of the desired ruleset (backend and persisted files); "absent" for state absent. */
  sha: string;
}

/** What plan found; any op of state present means the whole transaction (see the file comment). */
export type FirewallOp =
  /** An earlier change was never confirmed: apply restores it first, then loads. */
  | { kind: 'restore-unconfirmed'; txn: string }
  /** Load the desired ruleset (a new policy, or the tool is not installed yet). */
  | { kind: 'load'; toolInstalled: boolean }
  /** Reload the same ruleset: the live one drifted from Kiln's record, or there is no record. */
  | { kind: 'reload'; reason: 'drift' | 'unrecorded' }
  /** Rewrite persisted files that differ. */
  | { kind: 'persist'; paths: string[] }
  /** Remove a file Kiln wrote (the other backend's persisted file, or any of them for absent). */
  | { kind: 'remove-file'; path: string }
  /** Remove Kiln's iptables chains and jumps. */
  | { kind: 'remove-iptables' }
  /** Delete the nftables table. */
  | { kind: 'delete-nft-table' }
  /** state absent: stop the armed rollback of an unconfirmed change. */
  | { kind: 'cancel-rollback'; txn: string }
  /** state absent: remove Kiln's record on the host. */
  | { kind: 'remove-record' };

type Change = Planned<FirewallOp>;

export interface FirewallState {
  hasNft: boolean;
  hasIptables: boolean;
  hasSystemdRun: boolean;
  sshClient?: string;
  sshPort?: number;
  nftTable: boolean;
  nftLive: string;
  iptLive?: string;
  applied?: string;
  recorded?: string;
  pending?: string;
  /** Persisted files: sha256, content (for diffs), and whether Kiln wrote them. */
  persisted: Record<string, { sha?: string; content?: string; kiln?: boolean }>;
}

function backendOf(p: FirewallParams): Backend {
  return p.backend ?? 'nftables';
}

/** The transaction id: derived from the desired ruleset (and unique per apply through cleanup). */
export function txnId(prep: FirewallPrep): string {
  return prep.sha.slice(0, 12);
}

export function prepareFirewall(p: FirewallParams, host: string): FirewallPrep {
  const addresses: Record<string, string | undefined> = {};
  p.hosts.forEach((h, i) => {
    const a = p.addresses[i];
    addresses[h] = typeof a === 'string' && a ? a : undefined;
  });
  let rules: HostRules;
  try {
    rules = resolveHost(host, { policy: p.policy, groups: p.groups, addresses, admin: p.admin_cidrs ?? [], varName: p.policy_var });
  } catch (err) {
    if (err instanceof PolicyError) {
      // Paths start at the policy variable's name: located where each entry is defined.
      const varName = p.policy_var ?? 'firewall_policy';
      const problems = err.located.map((x, i) => ({ path: x.path[0] === varName ? x.path.slice(1) : x.path, text: err.problems[i]! }));
      throw new VarPathError(problems, varName, p.policy, `invalid firewall policy:\n  - ${err.problems.join('\n  - ')}`);
    }
    throw err;
  }
  const opts = { outbound: p.outbound_policy ?? 'accept' } as const;
  const backend = backendOf(p);
  if (p.state === 'absent') return { rules, persist: {}, sha: 'absent' };
  let nft: string | undefined;
  let ipt: FirewallPrep['ipt'];
  let persist: Record<string, string>;
  if (backend === 'nftables') {
    nft = renderNft(rules, opts);
    persist = { [NFT_PERSIST]: nft };
  } else {
    ipt = { 4: renderIptables(rules, opts, 4), 6: renderIptables(rules, opts, 6) };
    persist = { [IPT_PERSIST[4]]: ipt[4].persist, [IPT_PERSIST[6]]: ipt[6].persist };
  }
  const sha = sha256(
    `${backend}\n${Object.entries(persist)
      .map(([k, v]) => `${k}\n${v}`)
      .join('\n')}`,
  );
  return { rules, persist, nft, ipt, sha };
}

export function parseFirewall(out: ExecResult): FirewallState {
  const kv = parseKv(out.stdout);
  const sc = (kv.ssh_connection ?? '').trim().split(/\s+/);
  const persisted: FirewallState['persisted'] = {};
  for (let i = 0; kv[`persist_path_${i}`] !== undefined; i++) {
    persisted[kv[`persist_path_${i}`]!] = {
      sha: kv[`persist_${i}_sha256`],
      content: kv[`persist_${i}_content_b64`] !== undefined ? fromB64(kv[`persist_${i}_content_b64`]) : undefined,
      kiln: kv[`persist_${i}_kiln`] === '1' || undefined,
    };
  }
  return {
    hasNft: kv.has_nft === '1',
    hasIptables: kv.has_iptables === '1',
    hasSystemdRun: kv.has_systemd_run === '1',
    sshClient: sc.length === 4 ? sc[0] : undefined,
    sshPort: sc.length === 4 ? Number(sc[3]) : undefined,
    nftTable: kv.nft_table === '1',
    nftLive: fromB64(kv.nft_live_b64),
    iptLive: kv.ipt_live_b64 !== undefined ? fromB64(kv.ipt_live_b64) : undefined,
    applied: kv.applied?.trim() || undefined,
    recorded: kv.recorded_b64 !== undefined ? fromB64(kv.recorded_b64) : undefined,
    pending: kv.pending?.trim() || undefined,
    persisted,
  };
}

/** Does the live iptables listing hold any of Kiln's chains or jumps? */
function iptHasKiln(s: FirewallState): boolean {
  return /^(:KILN-|-A KILN-|jump )/m.test(s.iptLive ?? '');
}

/** Live listing as the apply records it (the same shell function prints both). */
function liveNow(p: FirewallParams, s: FirewallState): string {
  return backendOf(p) === 'nftables' ? s.nftLive : (s.iptLive ?? '');
}

function patch(a: string, b: string, from: string, to: string): string {
  return createTwoFilesPatch(from, to, a, b, '', '', { context: 3 });
}

/** Changes without the lockout preflight (the plan adds it; verify uses this alone). */
export function firewallChanges(p: FirewallParams, prep: FirewallPrep, s: FirewallState, ctx: ModuleContext, afterApply = false): Change[] {
  const backend = backendOf(p);
  const out: Change[] = [];
  const table = backend === 'nftables' ? `table ${NFT_TABLE}` : 'chains KILN-INPUT/KILN-OUTPUT, IPv4 and IPv6';
  const tool = backend === 'nftables' ? s.hasNft : s.hasIptables;
  if (s.pending && !afterApply) {
    out.push({
      summary: `an earlier firewall change (${s.pending}) was never confirmed: its rollback is armed; restore it and apply again`,
      op: { kind: 'restore-unconfirmed', txn: s.pending },
    });
  }
  const n = prep.rules.inbound.length;
  const persistDiff = (): string | undefined => {
    if (!ctx.diff) return undefined;
    return Object.entries(prep.persist)
      .map(([path, want]) =>
        s.persisted[path]?.sha === sha256(want) ? '' : patch(s.persisted[path]?.content ?? '', want, `${path} (host)`, `${path} (planned)`),
      )
      .join('');
  };
  if (!tool) {
    out.push({
      summary: `load ${backend} ruleset (${table}, ${n} policy rules) with a ${p.rollback_seconds ?? 20}s commit-confirm (${backend === 'nftables' ? 'nft' : 'iptables-restore'} is not installed yet)`,
      diff: persistDiff(),
      unpredictable: true,
      op: { kind: 'load', toolInstalled: false },
    });
    return out;
  }
  if (s.applied !== prep.sha) {
    out.push({
      summary: `load ${backend} ruleset (${table}, ${n} policy rules) atomically, with a ${p.rollback_seconds ?? 20}s commit-confirm`,
      diff: persistDiff(),
      op: { kind: 'load', toolInstalled: true },
    });
  } else {
    const live = liveNow(p, s);
    if (s.recorded !== undefined && live !== s.recorded) {
      out.push({
        summary: `the live ruleset (${table}) differs from what Kiln loaded (changed by hand?): reload it`,
        diff: ctx.diff ? patch(live, s.recorded, `${table} (live)`, `${table} (planned)`) : undefined,
        op: { kind: 'reload', reason: 'drift' },
      });
    } else if (s.recorded === undefined) {
      out.push({ summary: `reload ${table} (no record of Kiln's last load on the host)`, op: { kind: 'reload', reason: 'unrecorded' } });
    }
    const stale = Object.entries(prep.persist).filter(([path, want]) => s.persisted[path]?.sha !== sha256(want));
    if (stale.length)
      out.push({
        summary: `rewrite ${stale.map(([f]) => f).join(', ')} (persisted ruleset)`,
        diff: persistDiff(),
        op: { kind: 'persist', paths: stale.map(([f]) => f) },
      });
  }
  for (const f of otherFiles(p))
    if (s.persisted[f]?.kiln) out.push({ summary: `remove ${f} (this host now uses ${backend})`, op: { kind: 'remove-file', path: f } });
  if (backend === 'nftables' && iptHasKiln(s))
    out.push({ summary: "remove Kiln's iptables chains (this host now uses nftables)", op: { kind: 'remove-iptables' } });
  if (backend === 'iptables' && s.nftTable)
    out.push({ summary: `delete nftables table ${NFT_TABLE} (this host now uses iptables)`, op: { kind: 'delete-nft-table' } });
  return out;
}

/** state: absent — what of Kiln's firewall is still on the host. */
export function absentChanges(s: FirewallState): Change[] {
  const out: Change[] = [];
  if (s.pending)
    out.push({
      summary: `cancel the armed rollback of an unconfirmed change (${s.pending})`,
      op: { kind: 'cancel-rollback', txn: s.pending },
    });
  if (s.nftTable) out.push({ summary: `delete nftables table ${NFT_TABLE}`, op: { kind: 'delete-nft-table' } });
  if (iptHasKiln(s))
    out.push({
      summary: "remove Kiln's iptables chains KILN-INPUT/KILN-OUTPUT and their jumps (IPv4 and IPv6)",
      op: { kind: 'remove-iptables' },
    });
  for (const [path, st] of Object.entries(s.persisted))
    if (st.kiln) out.push({ summary: `remove ${path}`, op: { kind: 'remove-file', path } });
  if (s.applied || s.recorded !== undefined)
    out.push({ summary: "remove Kiln's firewall record (/var/lib/kiln/firewall)", op: { kind: 'remove-record' } });
  return out;
}

/** The persisted files of the backend this host does NOT use. */
function otherFiles(p: FirewallParams): string[] {
  return persistPaths(backendOf(p) === 'nftables' ? 'iptables' : 'nftables');
}

/** 1-based positions of Kiln's jumps in INPUT/OUTPUT, from the live iptables listing (one family). */
export function jumpPositions(live: string, family: 4 | 6): Record<'INPUT' | 'OUTPUT', number[]> {
  const part = live.split(/^# IPv6$/m)[family === 4 ? 0 : 1] ?? '';
  const pos = { INPUT: [] as number[], OUTPUT: [] as number[] };
  for (const m of part.matchAll(/^jump (INPUT|OUTPUT) at (\d+): /gm)) pos[m[1] as 'INPUT' | 'OUTPUT'].push(Number(m[2]));
  return pos;
}

export default defineModule<FirewallParams, FirewallState, FirewallOp, FirewallPrep>({
  name: 'firewall',
  description:
    'complete host firewall from a declarative policy over the inventory (nftables or iptables), loaded atomically with commit-confirm',
  schema,
  prepare: (p, ctx) => prepareFirewall(p, ctx.host),
  probe: (p, prep, ctx) =>
    p.state === 'absent'
      ? probeScript(Object.fromEntries([...persistPaths('nftables'), ...persistPaths('iptables')].map((f) => [f, 'absent'])), false)
      : probeScript(
          {
            // The other backend's files too: a backend switch removes them (else both load at boot).
            ...Object.fromEntries(otherFiles(p).map((f) => [f, 'other'])),
            ...Object.fromEntries(Object.entries(prep.persist).map(([k, v]) => [k, sha256(v)])),
          },
          ctx.diff,
        ),
  parse: (out) => parseFirewall(out),
  plan(p, prep, s, ctx) {
    if (p.state === 'absent') return absentChanges(s);
    const changes = firewallChanges(p, prep, s, ctx);
    if (!changes.length) return changes;
    const problem = sshPreflight(prep.rules, s.sshClient, s.sshPort, p.policy_var);
    if (problem) throw new Error(problem);
    return changes;
  },
  apply(p, prep, s) {
    // One transaction converges everything, whichever ops were planned (see the file comment).
    if (p.state === 'absent') return removeScript();
    const backend = backendOf(p);
    const live = s.iptLive ?? '';
    return applyScript({
      backend,
      id: txnId(prep),
      rollbackSeconds: p.rollback_seconds ?? 20,
      persist: prep.persist,
      nft: prep.nft,
      ipt: prep.ipt
        ? { 4: prep.ipt[4].live(jumpFix(jumpPositions(live, 4))), 6: prep.ipt[6].live(jumpFix(jumpPositions(live, 6))) }
        : undefined,
      cleanupOther: backend === 'nftables' ? iptHasKiln(s) : s.nftTable,
      removeFiles: otherFiles(p).filter((f) => s.persisted[f]?.kiln),
      desiredSha: prep.sha,
    });
  },
  verify: (p, prep, s, ctx) =>
    (p.state === 'absent' ? absentChanges(s) : firewallChanges(p, prep, s, { ...ctx, diff: false }, true)).map((c) => c.summary),
  confirm(p, prep) {
    if (p.state === 'absent') return 'true'; // removing rules cannot lock anyone out: nothing is armed
    return confirmScript(txnId(prep));
  },
  registerData: (p, prep) => ({ backend: backendOf(p), rules: prep.rules.inbound.length }),
});
