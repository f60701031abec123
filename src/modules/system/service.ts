/**
 * `service`: start/stop/restart/reload a service and enable it at boot.
 *
 * systemd when /run/systemd/system exists (one `systemctl show` call), otherwise sysv
 * (/etc/init.d/NAME status, rc?.d links managed by update-rc.d).
 *
 * A unit that is not installed is never an error in plan: in a dry run an earlier package task
 * only predicted its install. The plan says "(unit not installed yet)" and apply fails with a
 * clear message if it is still missing then.
 *
 * Plan pairs each summary with a typed op (enable, start, restart, …); apply runs the verbs of
 * exactly those ops, in a fixed order (enable/disable before start/stop/restart/reload), and
 * never looks at the summaries.
 */
import { DEFAULT_HEALTH_TIMEOUT, healthLines, journalDetail, journalTail, kilnValues } from './health.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9@_.:\\\\-]+$',
      description: 'unit name ("nginx" means nginx.service) or sysv init script name',
    },
    state: {
      enum: ['started', 'stopped', 'restarted', 'reloaded'],
      description:
        'started/stopped: the running state; restarted/reloaded: a one-shot action run every time (use in handlers); reloaded starts a stopped service',
    },
    enabled: { type: 'boolean', description: 'start at boot (systemctl enable/disable, or update-rc.d without systemd)' },
    daemon_reload: {
      type: 'boolean',
      description:
        'run systemctl daemon-reload first when systemd reports changed unit files on disk (NeedDaemonReload), and before any other change',
    },
    health_url: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      description:
        'after this task starts, restarts or reloads the service, poll this URL from the host (curl or wget) until it answers 2xx; the task fails, with the last answer and the journal, when it does not within health_timeout (in a rolling play that stops the rollout)',
    },
    health_match: { type: 'string', minLength: 1, description: 'the health answer must also contain this text' },
    health_timeout: { type: 'integer', minimum: 1, maximum: 600, description: 'seconds to wait for a healthy answer (default 30)' },
  },
} as const;

export type ServiceParams = FromSchema<typeof schema>;

/** One systemctl (or init script / update-rc.d) verb. */
export type ServiceOp = { kind: 'daemon-reload' | 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload' };
type Verb = ServiceOp['kind'];
const op = (kind: Verb): ServiceOp => ({ kind });

export interface ServiceState {
  init: 'systemd' | 'sysv';
  /** Unit/script exists. */
  loaded: boolean;
  masked?: boolean;
  /** active, reloading, inactive, failed, activating, deactivating (systemd); sysv: active/inactive/unknown. */
  active?: string;
  sub?: string;
  /** systemd UnitFileState (enabled, disabled, static, generated, ...); sysv: enabled/disabled. */
  unitFileState?: string;
  /** `systemctl is-enabled`: read from disk now (UnitFileState is cached until daemon-reload). */
  isEnabled?: string;
  needDaemonReload?: boolean;
  canReload?: boolean;
  oneshot?: boolean;
}

const ACTIVE = new Set(['active', 'reloading', 'activating', 'refreshing']);
const ENABLED = new Set(['enabled', 'alias']);
/** States where systemctl enable/disable does not apply: nothing to do, and no loop. */
const NOT_APPLICABLE = new Set(['static', 'indirect', 'transient', 'generated-unknown']);

function unitName(p: ServiceParams): string {
  return p.name;
}
function sysvName(p: ServiceParams): string {
  return p.name.replace(/\.service$/, '');
}

export function serviceProbe(p: ServiceParams): string {
  const u = q(unitName(p));
  const script = q(`/etc/init.d/${sysvName(p)}`);
  const links = `/etc/rc[2345].d/S[0-9][0-9]${q(sysvName(p))}`;
  return [
    'if [ -d /run/systemd/system ]; then',
    '  echo init=systemd',
    `  out=$(systemctl show -p LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,CanReload,Type,RemainAfterExit -- ${u} 2>/dev/null </dev/null)`,
    `  printf '%s\\n' "$out"`,
    // UnitFileState is cached by systemd until a daemon-reload (a unit file or its wants link
    // changed on disk since shows the old state); is-enabled looks at the disk now. For units
    // generated from /etc/init.d scripts it asks systemd-sysv-install.
    `  echo "is_enabled=$(systemctl is-enabled -- ${u} 2>/dev/null </dev/null)"`,
    'else',
    '  echo init=sysv',
    `  if [ -x ${script} ]; then`,
    '    echo LoadState=loaded',
    `    ${script} status >/dev/null 2>&1 </dev/null; rc=$?`,
    '    case $rc in 0) echo ActiveState=active;; 1|2|3) echo ActiveState=inactive;; *) echo ActiveState=unknown; echo "status_rc=$rc";; esac',
    `    if ls ${links} >/dev/null 2>&1; then echo UnitFileState=enabled; else echo UnitFileState=disabled; fi`,
    '  else echo LoadState=not-found; fi',
    'fi',
    'true',
  ].join('\n');
}

export function serviceParse(out: ExecResult): ServiceState {
  const kv = parseKv(out.stdout);
  const load = kv.LoadState ?? 'not-found';
  return {
    init: kv.init === 'sysv' ? 'sysv' : 'systemd',
    loaded: load === 'loaded' || load === 'masked',
    masked: load === 'masked' || kv.UnitFileState === 'masked' || kv.UnitFileState === 'masked-runtime',
    active: kv.ActiveState,
    sub: kv.SubState,
    unitFileState: kv.UnitFileState || undefined,
    isEnabled: kv.is_enabled || undefined,
    needDaemonReload: kv.NeedDaemonReload === 'yes',
    canReload: kv.CanReload === undefined ? undefined : kv.CanReload === 'yes',
    oneshot: kv.Type === 'oneshot' && kv.RemainAfterExit !== 'yes',
  };
}

/** What `systemctl is-enabled` can answer for a unit whose file exists. */
const IS_ENABLED = new Set([
  'enabled',
  'enabled-runtime',
  'linked',
  'linked-runtime',
  'alias',
  'masked',
  'masked-runtime',
  'static',
  'indirect',
  'disabled',
  'transient',
]);

function effectiveEnabled(s: ServiceState): string | undefined {
  if (s.unitFileState === 'generated') return s.isEnabled === 'enabled' || s.isEnabled === 'disabled' ? s.isEnabled : 'generated-unknown';
  // The on-disk answer when there is one (the cached UnitFileState may be stale).
  if (s.isEnabled && IS_ENABLED.has(s.isEnabled)) return s.isEnabled;
  return s.unitFileState;
}

export function servicePlan(p: ServiceParams, s: ServiceState, _ctx?: ModuleContext): Planned<ServiceOp>[] {
  const name = p.name;
  const missing = s.loaded ? '' : s.init === 'systemd' ? ' (unit not installed yet)' : ' (init script not installed yet)';
  const out: Planned<ServiceOp>[] = [];
  if (p.daemon_reload && s.init === 'systemd' && s.needDaemonReload) {
    out.push({ summary: 'systemctl daemon-reload (unit files changed on disk)', op: op('daemon-reload') });
  }
  if (s.masked && (p.enabled === true || p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded')) {
    throw new Error(`${name} is masked: it cannot be started or enabled (unmask it with: systemctl unmask ${name})`);
  }
  if (p.enabled !== undefined) {
    const ufs = effectiveEnabled(s);
    if (!s.loaded) {
      out.push({ summary: `${p.enabled ? 'enable' : 'disable'} ${name}${missing}`, op: op(p.enabled ? 'enable' : 'disable') });
    } else if (ufs && NOT_APPLICABLE.has(ufs)) {
      // static/indirect units are started by dependencies or sockets; enabling does not apply.
    } else if (p.enabled && !ENABLED.has(ufs ?? '')) {
      out.push({ summary: `enable ${name}${ufs && ufs !== 'disabled' ? ` (currently ${ufs})` : ''}`, op: op('enable') });
    } else if (!p.enabled && ufs !== 'disabled' && !s.masked) {
      if (ufs && ufs !== 'disabled')
        out.push({ summary: `disable ${name}${ufs !== 'enabled' ? ` (currently ${ufs})` : ''}`, op: op('disable') });
    }
  }
  const active = ACTIVE.has(s.active ?? '');
  switch (p.state) {
    case 'started':
      if (!s.loaded) out.push({ summary: `start ${name}${missing}`, op: op('start') });
      else if (s.oneshot) out.push({ summary: `start ${name} (oneshot: runs every time)`, action: true, op: op('start') });
      else if (!active) out.push({ summary: `start ${name}${s.active === 'failed' ? ' (currently failed)' : ''}`, op: op('start') });
      break;
    case 'stopped':
      if (s.loaded && (active || s.active === 'unknown')) out.push({ summary: `stop ${name}`, op: op('stop') });
      break;
    case 'restarted':
      out.push({ summary: `restart ${name}${missing}`, action: true, op: op('restart') });
      break;
    case 'reloaded':
      if (s.loaded && !active)
        out.push({ summary: `start ${name} (reload requested, but it is not running)`, action: true, op: op('start') });
      else if (s.loaded && s.canReload === false) {
        throw new Error(`${name} cannot reload (its unit has no ExecReload=); use state: restarted`);
      } else out.push({ summary: `reload ${name}${missing}`, action: true, op: op('reload') });
      break;
  }
  // Without the unit (an earlier package task only predicted in a dry run), what the real run
  // does depends on the package: its postinst may already start and enable the service.
  return s.loaded ? out : out.map((c) => ({ ...c, unpredictable: true }));
}

export function serviceApply(p: ServiceParams, s: ServiceState, ops: readonly ServiceOp[]): string {
  // Each verb runs once, in the order below, whatever the order of the ops.
  const verbs = new Set<Verb>(ops.map((o) => o.kind));
  const has = (verb: Verb) => verbs.has(verb);
  const lines = ['set -e'];
  if (s.init === 'systemd') {
    const u = q(unitName(p));
    const needsUnit = ops.some((o) => o.kind !== 'daemon-reload');
    // daemon-reload first whenever asked and anything is applied: cheap, and a package or
    // template task may just have written the unit.
    if (p.daemon_reload) lines.push('systemctl daemon-reload');
    if (needsUnit) {
      lines.push(
        `case "$(systemctl show -p LoadState --value -- ${u} </dev/null)" in loaded) ;; masked) echo ${q(`unit ${p.name} is masked`)} >&2; exit 3;;`,
        `  *) echo ${q(`unit ${p.name} is not installed (systemctl cannot find it)`)} >&2; exit 3;; esac`,
      );
    }
    if (has('enable')) lines.push(`systemctl enable -- ${u} </dev/null`);
    if (has('disable')) lines.push(`systemctl disable -- ${u} </dev/null`);
    if (has('start')) lines.push(`systemctl start -- ${u} </dev/null`);
    if (has('stop')) lines.push(`systemctl stop -- ${u} </dev/null`);
    if (has('restart')) lines.push(`systemctl restart -- ${u} </dev/null`);
    if (has('reload')) lines.push(`systemctl reload -- ${u} </dev/null`);
    if (p.health_url && (has('start') || has('restart') || has('reload'))) {
      lines.push(
        ...healthLines({ url: p.health_url, match: p.health_match, timeout: p.health_timeout }, 'service'),
        'if ! healthy; then',
        `  echo "kiln_health=$why"`,
        `  echo kiln_action=${has('restart') ? 'restart' : has('reload') ? 'reload' : 'start'}`,
        `  ${journalTail(u, 12)}`,
        '  exit 4',
        'fi',
      );
    }
  } else {
    const n = sysvName(p);
    const script = q(`/etc/init.d/${n}`);
    if (ops.length) lines.push(`[ -x ${script} ] || { echo ${q(`init script /etc/init.d/${n} is not installed`)} >&2; exit 3; }`);
    if (has('enable')) lines.push(`update-rc.d ${q(n)} defaults >/dev/null`, `update-rc.d ${q(n)} enable </dev/null`);
    if (has('disable')) lines.push(`update-rc.d ${q(n)} disable </dev/null`);
    if (has('start')) lines.push(`${script} start </dev/null`);
    if (has('stop')) lines.push(`${script} stop </dev/null`);
    if (has('restart')) lines.push(`${script} restart </dev/null`);
    if (has('reload')) lines.push(`${script} reload </dev/null || ${script} force-reload </dev/null`);
  }
  return lines.join('\n');
}

export function serviceInterpret(p: ServiceParams, out: ExecResult): ApplyResult {
  const kv = kilnValues(out.stdout);
  const health = kv.get('kiln_health')?.[0];
  if (out.code === 4 && health !== undefined) {
    const action = kv.get('kiln_action')?.[0] ?? 'restart';
    return {
      failed:
        `${p.name} is not healthy after the ${action}: no healthy answer from ${p.health_url} within ${p.health_timeout ?? DEFAULT_HEALTH_TIMEOUT}s (last: ${health})` +
        journalDetail(p.name, kv),
    };
  }
  if (out.code !== 0) return { failed: out.stderr.trim() || out.stdout.trim() || `exit code ${out.code}` };
  return {};
}

/** Post-conditions after apply: state changes converged, and restarted/reloaded/started are active. */
export function serviceVerify(p: ServiceParams, s: ServiceState): string[] {
  const problems: string[] = [];
  if (!s.loaded) return [`${p.name} is not installed`];
  let remaining: Planned<ServiceOp>[] = [];
  try {
    remaining = servicePlan({ ...p, daemon_reload: false }, s).filter((c) => !c.action);
  } catch (e) {
    problems.push((e as Error).message);
  }
  // The summaries are only shown here (like the engine's default verify), never decoded.
  problems.push(...remaining.map((c) => `still needed: ${c.summary}`));
  const wantsActive = p.state === 'restarted' || p.state === 'reloaded' || p.state === 'started';
  if (wantsActive && !s.oneshot && !ACTIVE.has(s.active ?? '')) {
    problems.push(
      `${p.name} is not active after ${p.state === 'started' ? 'start' : p.state === 'restarted' ? 'restart' : 'reload'} (state: ${s.active}${s.sub ? `/${s.sub}` : ''})`,
    );
  }
  return problems;
}

export default defineModule<ServiceParams, ServiceState, ServiceOp>({
  name: 'service',
  description: 'Start, stop, restart or reload a service and enable it at boot (systemd, with a sysv fallback).',
  schema,
  probe: (p) => serviceProbe(p),
  parse: (out) => serviceParse(out),
  plan: (p, _prep, s, ctx) => servicePlan(p, s, ctx),
  apply: (p, _prep, s, ops) => serviceApply(p, s, ops),
  interpret: (p, _prep, out) => serviceInterpret(p, out),
  verify: (p, _prep, s) => serviceVerify(p, s),
  registerData: (p, _prep, s) => ({
    name: p.name,
    init: s.init,
    installed: s.loaded,
    active: s.active ?? null,
    sub_state: s.sub ?? null,
    enabled: effectiveEnabled(s) ?? null,
  }),
});
