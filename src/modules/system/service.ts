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
 *
 * The health gate (`health_url`, `health_command`): after a start, restart or reload the apply
 * script polls until healthy or `health_timeout`; unhealthy fails the task (so a rolling play
 * stops before the next host). With `restore`, a healthy action records the listed files as the
 * unit's last good configuration (LAST_GOOD_DIR/<unit> → a snapshot directory, switched
 * atomically by a symlink rename; files copied with owner, mode and times). An unhealthy one puts
 * that configuration back (each file through sh/atomic.ts's atomicWrite), runs the action again,
 * checks again, and still FAILS the task, saying what it restored and whether that is healthy.
 * Probe and plan never read or write the snapshots: only apply does.
 */
import { DEFAULT_HEALTH_TIMEOUT, healthLines, healthSources, journalDetail, journalTail, kilnValues } from './health.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { ANYTHING, pathResource, UNIT_DIRS } from '../resources.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9@_.:\\\\-]+$',
      description:
        'unit name ("nginx" means nginx.service) or sysv init script name; required unless the task only reloads systemd (daemon_reload: true alone, as Ansible\'s systemd module allows)',
    },
    state: {
      enum: ['started', 'stopped', 'restarted', 'reloaded'],
      description:
        'started/stopped: the running state; restarted/reloaded: a one-shot action run every time (use in handlers); reloaded starts a stopped service',
    },
    enabled: { type: 'boolean', description: 'start at boot (systemctl enable/disable, or update-rc.d without systemd)' },
    masked: {
      type: 'boolean',
      description:
        'systemd: true masks the unit (systemctl mask: it cannot be started, even by hand or as a dependency; works on a unit that is not installed yet), false unmasks it; as Ansible, masked means `systemctl is-enabled` answers masked. Done before enabled and state',
    },
    scope: {
      enum: ['system', 'user', 'global'],
      description:
        "systemd manager to talk to (default system): user is the user manager of the task's user (systemctl --user; as Ansible, XDG_RUNTIME_DIR defaults to /run/user/<uid>, and the task fails saying so when that user has no running manager: enable lingering with loginctl enable-linger); global enables or masks a unit for every user (systemctl --global) and has no running state",
    },
    no_block: {
      type: 'boolean',
      description:
        'systemd: queue the start/stop/restart/reload job and do not wait for it (systemctl --no-block); verification then checks only masking and enabling, not the running state',
    },
    force: {
      type: 'boolean',
      description: 'systemd: systemctl --force, as Ansible (enable and mask replace conflicting symlinks)',
    },
    sleep: {
      type: 'integer',
      minimum: 0,
      description:
        'seconds to wait between stop and start when restarting a sysv init script (restart is then stop, sleep, start); ignored under systemd, as Ansible ignores it there',
    },
    daemon_reload: {
      type: 'boolean',
      description:
        'run systemctl daemon-reload before any other change, and on its own when systemd reports changed unit files on disk (NeedDaemonReload of this unit; of any unit without a name), which then counts as a change. KNOWN DIFFERENCE from Ansible, whose systemd module reloads on every run except in check mode and never counts the reload as a change: to be aligned',
    },
    health_url: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      description:
        'after this task starts, restarts or reloads the service, poll this URL from the host (curl or wget) until it answers 2xx; the task fails, with the last answer and the journal, when it does not within health_timeout (in a rolling play that stops the rollout)',
    },
    health_match: { type: 'string', minLength: 1, description: 'the health answer must also contain this text' },
    health_command: {
      type: 'string',
      minLength: 1,
      description:
        'shell command run on the host (sh, stdin /dev/null) after this task starts, restarts or reloads the service, every second until it exits 0 within health_timeout; with health_url both must pass. KILN_HEALTH_SINCE in its environment is the epoch time (with fraction) right before the action, so it can tell a process or reload made by this action from an older one. Exit 100 means unhealthy for good: the wait stops at once (and restore, if set, runs). When it never passes, its last output is in the failure message',
    },
    health_timeout: { type: 'integer', minimum: 1, maximum: 600, description: 'seconds to wait for a healthy answer (default 30)' },
    restore: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^/.*[^/]$' },
      description:
        'absolute paths of the configuration files the service runs from (needs health_url or health_command). After a healthy start/restart/reload they are recorded as its last good configuration (/var/lib/kiln/last-good/<unit>/, root only, owner and mode kept). After an unhealthy one they are restored from it (atomically), the action is run again and checked again, and the task still fails, saying so; with no last good configuration recorded yet the files are left as they are',
    },
  },
} as const;

export type ServiceParams = FromSchema<typeof schema>;

/** Where `restore` keeps each unit's last good configuration (root only, 0700). */
export const LAST_GOOD_DIR = '/var/lib/kiln/last-good';

/** Parameter combinations the schema cannot express; run on the controller before any host is contacted. */
export function serviceCheckParams(p: ServiceParams): void {
  if (p.name === undefined) {
    // Ansible's systemd: name is required by state, enabled and masked; daemon_reload alone needs none.
    const needs = (['state', 'enabled', 'masked', 'health_url', 'health_command', 'restore', 'sleep'] as const).filter(
      (k) => p[k] !== undefined,
    );
    if (needs.length) throw new Error(`missing required parameter 'name' (${needs.join(', ')} needs it)`);
    if (p.daemon_reload !== true) throw new Error("missing required parameter 'name' (only daemon_reload: true goes without one)");
    return;
  }
  const starts = p.enabled === true || p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded';
  if (p.masked === true && starts) {
    throw new Error(
      `masked: true with ${p.enabled === true ? 'enabled: true' : `state: ${p.state}`}: a masked unit cannot be ${p.enabled === true ? 'enabled' : 'started'} (Ansible would mask it, then fail)`,
    );
  }
  if (p.scope === 'global' && p.state !== undefined) {
    throw new Error(
      "scope: global has no running state (systemctl --global only enables, disables, masks and unmasks a unit for every user's manager): drop state, or use scope: user",
    );
  }
  const gate = p.health_url !== undefined || p.health_command !== undefined || p.restore !== undefined;
  if (gate && (p.scope ?? 'system') !== 'system')
    throw new Error(`the health gate (health_url, health_command, restore) works with scope: system only, not ${p.scope}`);
  if (gate && p.no_block)
    throw new Error(
      'no_block does not wait for the service, so it cannot be combined with a health gate (health_url, health_command, restore)',
    );
  if (p.restore === undefined) return;
  if (p.health_url === undefined && p.health_command === undefined) {
    throw new Error('restore needs a health check (health_url or health_command): without one, no configuration is known to be good');
  }
  if (p.state === 'stopped') throw new Error('restore applies to started, restarted or reloaded services, not stopped ones');
  if (snapshotName(p).startsWith('.')) throw new Error(`restore: the unit name ${p.name} cannot name a snapshot directory`);
  const seen = new Set<string>();
  for (const f of p.restore) {
    if (f.split('/').some((part) => part === '.' || part === '..'))
      throw new Error(`restore: ${f} must be a plain absolute path (no . or .. parts)`);
    if (seen.has(f)) throw new Error(`restore: ${f} is listed twice`);
    seen.add(f);
  }
}

/** The unit's snapshot directory name under LAST_GOOD_DIR ("nginx" and "nginx.service" share one). */
function snapshotName(p: ServiceParams): string {
  return unitName(p).replace(/\.service$/, '');
}

/** One systemctl (or init script / update-rc.d) verb. */
export type ServiceOp = { kind: 'daemon-reload' | 'mask' | 'unmask' | 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload' };
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
  /** scope user: no user manager is reachable (no bus in XDG_RUNTIME_DIR). */
  noUserManager?: { uid: string; dir: string };
}

const ACTIVE = new Set(['active', 'reloading', 'activating', 'refreshing']);
const ENABLED = new Set(['enabled', 'alias']);
/** States where systemctl enable/disable does not apply: nothing to do, and no loop. */
const NOT_APPLICABLE = new Set(['static', 'indirect', 'transient', 'generated-unknown']);

function unitName(p: ServiceParams): string {
  return p.name ?? '';
}
function sysvName(p: ServiceParams): string {
  return unitName(p).replace(/\.service$/, '');
}

/** systemctl with the options every call of the task carries (Ansible adds them to each call). */
export function systemctl(p: ServiceParams): string {
  return [
    'systemctl',
    ...(p.scope && p.scope !== 'system' ? [`--${p.scope}`] : []),
    ...(p.no_block ? ['--no-block'] : []),
    ...(p.force ? ['--force'] : []),
  ].join(' ');
}

/** scope user: Ansible's XDG_RUNTIME_DIR default (/run/user/<euid>) when the environment has none. */
const XDG = 'XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}; export XDG_RUNTIME_DIR';

export function serviceProbe(p: ServiceParams): string {
  if (p.name === undefined) {
    // daemon_reload alone: does any loaded unit have changed unit files on disk?
    const sc = systemctl(p);
    return [
      p.scope === 'user' ? XDG : '',
      'if [ -d /run/systemd/system ]; then',
      '  echo init=systemd; echo LoadState=loaded',
      `  if ${sc} show --property=NeedDaemonReload '*' 2>/dev/null </dev/null | grep -qx NeedDaemonReload=yes; then echo NeedDaemonReload=yes; fi`,
      'else echo init=sysv; echo LoadState=loaded; fi',
      'true',
    ]
      .filter(Boolean)
      .join('\n');
  }
  const u = q(unitName(p));
  if (p.scope === 'global') {
    return [
      'echo init=systemd',
      `e=$(systemctl --global is-enabled -- ${u} 2>/dev/null </dev/null)`,
      'echo "is_enabled=$e"; echo "UnitFileState=$e"',
      'case "$e" in masked|masked-runtime) echo LoadState=masked;; enabled|enabled-runtime|linked|linked-runtime|alias|static|indirect|disabled|generated|transient) echo LoadState=loaded;; *) echo LoadState=not-found;; esac',
      'true',
    ].join('\n');
  }
  if (p.scope === 'user') {
    return [
      XDG,
      'echo init=systemd',
      // the user bus (dbus-user-session) or the manager's private socket: systemctl --user uses either
      'if [ -S "$XDG_RUNTIME_DIR/bus" ] || [ -S "$XDG_RUNTIME_DIR/systemd/private" ]; then',
      `  systemctl --user show -p LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,CanReload,Type,RemainAfterExit -- ${u} 2>/dev/null </dev/null`,
      `  echo "is_enabled=$(systemctl --user is-enabled -- ${u} 2>/dev/null </dev/null)"`,
      'else echo "no_user_manager=$(id -u) $XDG_RUNTIME_DIR"; fi',
      'true',
    ].join('\n');
  }
  const script = q(`/etc/init.d/${sysvName(p)}`);
  const links = `/etc/rc[2345].d/S[0-9][0-9]${q(sysvName(p))}`;
  return [
    'if [ -d /run/systemd/system ]; then',
    '  echo init=systemd',
    // kiln_unit (sh/prelude.ts): `systemctl show -p LoadState,ActiveState,SubState,UnitFileState,
    // NeedDaemonReload,CanReload,Type,RemainAfterExit`, then is_enabled=`systemctl is-enabled`
    // (one call of each for all the units of a probe script). UnitFileState is cached by systemd
    // until a daemon-reload (a unit file or its wants link changed on disk since shows the old
    // state); is-enabled looks at the disk now. For units generated from /etc/init.d scripts it
    // asks systemd-sysv-install.
    `  kiln_unit ${u}`,
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
  const nm = kv.no_user_manager?.split(' ');
  return {
    noUserManager: nm ? { uid: nm[0] ?? '', dir: nm.slice(1).join(' ') } : undefined,
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
  const name = unitName(p);
  const missing = s.loaded ? '' : s.init === 'systemd' ? ' (unit not installed yet)' : ' (init script not installed yet)';
  const out: Planned<ServiceOp>[] = [];
  if (s.noUserManager) {
    throw new Error(
      `scope: user: uid ${s.noUserManager.uid} has no running systemd user manager (neither ${s.noUserManager.dir}/bus nor ${s.noUserManager.dir}/systemd/private): ` +
        "let it run without a login (loginctl enable-linger USER) or give the task's environment the XDG_RUNTIME_DIR of a running one",
    );
  }
  if (p.masked !== undefined && s.init !== 'systemd') throw new Error(`masked needs systemd (${name} is managed by sysv init here)`);
  if (p.scope !== undefined && p.scope !== 'system' && s.init !== 'systemd') throw new Error(`scope: ${p.scope} needs systemd`);
  if (p.daemon_reload && s.init === 'systemd' && s.needDaemonReload) {
    out.push({ summary: 'systemctl daemon-reload (unit files changed on disk)', op: op('daemon-reload') });
  }
  // Ansible's test: masked means `systemctl is-enabled` answers exactly "masked".
  const maskedNow = s.isEnabled === 'masked';
  const unmasking = p.masked === false && maskedNow;
  if (p.masked !== undefined && maskedNow !== p.masked) {
    out.push({ summary: `${p.masked ? 'mask' : 'unmask'} ${name}`, op: op(p.masked ? 'mask' : 'unmask') });
  }
  const maskedAfter = p.masked === true || (s.masked === true && !unmasking);
  if (maskedAfter && (p.enabled === true || p.state === 'started' || p.state === 'restarted' || p.state === 'reloaded')) {
    throw new Error(`${name} is masked: it cannot be started or enabled (unmask it with masked: false, or: systemctl unmask ${name})`);
  }
  if (p.enabled !== undefined && unmasking) {
    // What the unit's links say once unmasked is only known then: enable/disable are harmless when already so.
    out.push({
      summary: `${p.enabled ? 'enable' : 'disable'} ${name} (after unmasking: its links are read then)`,
      unpredictable: true,
      op: op(p.enabled ? 'enable' : 'disable'),
    });
  } else if (p.enabled !== undefined) {
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
  const waits = p.no_block
    ? out.map((c) => (STATE_VERBS.has(c.op.kind) ? { ...c, summary: `${c.summary} (no_block: not waited for)` } : c))
    : out;
  return s.loaded ? waits : waits.map((c) => (c.op.kind === 'mask' || c.op.kind === 'unmask' ? c : { ...c, unpredictable: true }));
}

/** The ops that change the running state (no_block does not wait for them). */
const STATE_VERBS: ReadonlySet<Verb> = new Set(['start', 'stop', 'restart', 'reload']);

type GatedVerb = 'start' | 'restart' | 'reload';

/** A sysv restart: the script's restart, or with `sleep` (as Ansible) stop, sleep, start. */
function sysvRestart(p: ServiceParams): string {
  const script = q(`/etc/init.d/${sysvName(p)}`);
  return p.sleep ? `${script} stop </dev/null || true; sleep ${p.sleep}; ${script} start </dev/null` : `${script} restart </dev/null`;
}

/** How the apply script runs a verb, asks whether the service runs, and reads its journal. */
interface Init {
  /** Shell running verb "$1" (start, stop, restart, reload) with stdin from /dev/null. */
  verb: string;
  /** Shell exiting 0 when the service runs. */
  active: string;
  /** Shell forgetting a failed state before a retry (systemd's start limit). */
  resetFailed: string;
}

function initOf(p: ServiceParams, s: ServiceState): Init {
  if (s.init === 'systemd') {
    const u = q(unitName(p));
    const sc = systemctl(p);
    return {
      verb: `${sc} "$1" -- ${u} </dev/null`,
      active: `${sc} is-active --quiet -- ${u} </dev/null`,
      resetFailed: `${sc} reset-failed -- ${u} </dev/null 2>/dev/null || true`,
    };
  }
  const script = q(`/etc/init.d/${sysvName(p)}`);
  const restart = p.sleep ? `elif [ "$1" = restart ]; then ${sysvRestart(p)}; ` : '';
  return {
    verb: `if [ "$1" = reload ]; then ${script} reload </dev/null || ${script} force-reload </dev/null; ${restart}else ${script} "$1" </dev/null; fi`,
    active: `${script} status >/dev/null 2>&1 </dev/null`,
    resetFailed: 'true',
  };
}

/**
 * The health gate around the action `verb` (see the file comment): the action, the check, and
 * with `restore` the snapshot after a healthy action or the restore after an unhealthy one.
 * Reports through kiln_*= lines and exits 4 when unhealthy, 5 when the snapshot failed.
 */
function gateLines(p: ServiceParams, s: ServiceState, verb: GatedVerb): string[] {
  const init = initOf(p, s);
  const unit = s.init === 'systemd' ? q(unitName(p)) : q(sysvName(p));
  const lines = [
    ...healthLines({ url: p.health_url, match: p.health_match, command: p.health_command, timeout: p.health_timeout }, 'service'),
    // kact VERB: the action, its output in $aout; KILN_HEALTH_SINCE is the time right before it.
    `kact() { KILN_HEALTH_SINCE=$(date +%s.%N); export KILN_HEALTH_SINCE; aout=$( { ${init.verb}; } 2>&1 ); }`,
    // kgate VERB: the action, then the health check; 1 with the reason in $why.
    'kgate() { if ! kact "$1"; then why="$1 failed: $(hlast "$aout")"; return 1; fi; healthy; }',
  ];
  const restore = p.restore ?? [];
  if (!restore.length) {
    lines.push(
      `if ! kgate ${verb}; then`,
      '  echo "kiln_health=$why"',
      `  echo kiln_action=${verb}`,
      `  ${journalTail(unit, 12)}`,
      '  exit 4',
      'fi',
    );
    return lines;
  }
  const files = restore.map((f) => ({ path: f, q: q(f) }));
  lines.push(
    `lg=${q(LAST_GOOD_DIR)}; lgname=${q(snapshotName(p))}`,
    // The snapshot: a fresh directory (files/<path> copies, absent/<path> markers), then the
    // symlink lg/<unit> switched to it by a rename; the previous snapshot goes after the switch.
    'ksnapshot() {',
    '  mkdir -p "$lg" && chmod 0700 "$lg" || return 1',
    '  new=$(mktemp -d "$lg/.$lgname.XXXXXX") || return 1',
    ...files.map(
      (f) =>
        `  if [ -e ${f.q} ]; then mkdir -p "$new/files$(dirname -- ${f.q})" && cp -p -- ${f.q} "$new/files"${f.q}; ` +
        `else mkdir -p "$new/absent$(dirname -- ${f.q})" && : > "$new/absent"${f.q}; fi || { rm -rf -- "$new"; return 1; }`,
    ),
    '  old=$(readlink "$lg/$lgname" 2>/dev/null || true)',
    '  ln -sfn "${new##*/}" "$lg/.$lgname.link" && mv -T "$lg/.$lgname.link" "$lg/$lgname" || { rm -rf -- "$new"; return 1; }',
    '  case "$old" in .*/*|*/*|"") ;; .*) [ "$old" = "${new##*/}" ] || rm -rf -- "$lg/$old";; esac',
    '}',
    // krestore: every file back from the snapshot (or removed when it had none), or nothing when
    // the snapshot is missing or does not cover every file; then the action again, checked again.
    'krestore() {',
    '  snap="$lg/$lgname"',
    '  if [ ! -d "$snap/" ]; then echo kiln_restore=none; return 0; fi',
    ...files.map(
      (f) =>
        `  [ -f "$snap/files"${f.q} ] || [ -e "$snap/absent"${f.q} ] || { echo kiln_restore=none; echo kiln_restore_missing=${f.q}; return 0; }`,
    ),
    '  set +e',
    ...files.flatMap((f) => [
      `  if [ -f "$snap/files"${f.q} ]; then`,
      `    rerr=$( ( set -e; src="$snap/files"${f.q}`,
      ...atomicWrite({ dest: f.path, fill: 'cp -p -- "$src" "$tmp"' }).map((l) => `      ${l}`),
      '    ) 2>&1 )',
      `  else rerr=$(rm -f -- ${f.q} 2>&1); fi`,
      '  if [ $? -ne 0 ]; then echo kiln_restore=failed; echo "kiln_restore_error=$(hlast "$rerr")"; set -e; return 0; fi',
    ]),
    '  set -e',
    `  case ${verb} in reload) if ${init.active}; then again=reload; else again=restart; fi;; *) again=restart;; esac`,
    `  ${init.resetFailed}`,
    '  echo "kiln_restore_action=$again"',
    '  if kgate "$again"; then echo kiln_restore=healthy; else echo kiln_restore=unhealthy; echo "kiln_health_back=$why"; fi',
    '}',
    `if kgate ${verb}; then`,
    '  if ! serr=$(ksnapshot 2>&1); then echo "kiln_snapshot_error=$(hlast "$serr")"; exit 5; fi',
    '  echo kiln_snapshot=recorded',
    'else',
    '  echo "kiln_health=$why"',
    `  echo kiln_action=${verb}`,
    `  ${journalTail(unit, 12)}`,
    '  krestore',
    '  exit 4',
    'fi',
  );
  return lines;
}

export function serviceApply(p: ServiceParams, s: ServiceState, ops: readonly ServiceOp[]): string {
  // Each verb runs once, in the order below, whatever the order of the ops.
  const verbs = new Set<Verb>(ops.map((o) => o.kind));
  const has = (verb: Verb) => verbs.has(verb);
  // The action the health gate follows (one at most: plan never pairs them).
  const gated: GatedVerb | undefined =
    p.health_url === undefined && p.health_command === undefined
      ? undefined
      : has('restart')
        ? 'restart'
        : has('reload')
          ? 'reload'
          : has('start')
            ? 'start'
            : undefined;
  const plain = (verb: Verb) => has(verb) && verb !== gated;
  const lines = ['set -e'];
  if (s.init === 'systemd') {
    const u = q(unitName(p));
    const sc = systemctl(p);
    const needsUnit = ops.some((o) => o.kind !== 'daemon-reload' && o.kind !== 'mask' && o.kind !== 'unmask');
    if (p.scope === 'user') lines.push(XDG);
    const loadCheck = [
      `case "$(${sc} show -p LoadState --value -- ${u} </dev/null)" in loaded) ;; masked) echo ${q(`unit ${p.name} is masked`)} >&2; exit 3;;`,
      `  *) echo ${q(`unit ${p.name} is not installed (systemctl cannot find it)`)} >&2; exit 3;; esac`,
    ];
    // The reload, its output kept for Ansible's message when it fails (its systemd module stops there).
    const reload = `kiln_rl=$(${sc} daemon-reload 2>&1 </dev/null)`;
    const reloadFailed = (status: string) => `printf 'failure %s during daemon-reload: %s\\n' "${status}" "$kiln_rl" >&2; exit 1`;
    // daemon-reload then enable (Ansible's order) reloads the manager twice: enable reloads it
    // again. enable reads the unit file on disk, not systemd's loaded copy, so enabling without
    // that reload and then reloading once leaves systemd in the same state, for one reload
    // (a reload takes about 0.1 s of CPU on a lab host: generators run). When enable fails, the reload
    // still runs, as it would have before it. When the reload fails, Ansible has not enabled
    // anything: the links enable reported creating are taken back (with force, enable may also
    // have removed links, which could not be put back: no fold).
    const folded = p.daemon_reload === true && has('enable') && p.scope !== 'global' && !has('mask') && !has('unmask') && !p.force;
    if (folded) {
      lines.push(
        `kiln_enrc=0; kiln_en=$(${sc} enable --no-reload -- ${u} 2>&1 </dev/null) || kiln_enrc=$?`,
        `kiln_rlrc=0; ${reload} || kiln_rlrc=$?`,
        'if [ "$kiln_rlrc" -ne 0 ]; then',
        `  if [ "$kiln_enrc" -eq 0 ]; then printf '%s\\n' "$kiln_en" | sed -n 's/^Created symlink \\(.*\\) \\(→\\|->\\) .*$/\\1/p' |`,
        '    while IFS= read -r kiln_l; do if [ -L "$kiln_l" ]; then rm -f -- "$kiln_l"; fi; done; fi',
        `  ${reloadFailed('$kiln_rlrc')}`,
        'fi',
        'if [ "$kiln_enrc" -ne 0 ]; then',
        ...loadCheck.map((l) => `  ${l}`),
        `  printf '%s\\n' "$kiln_en" >&2; exit 1`,
        'fi',
      );
    }
    // daemon-reload first whenever asked and anything is applied: cheap, and a package or
    // template task may just have written the unit.
    else if (p.daemon_reload) lines.push(`${reload} || { ${reloadFailed('$?')}; }`);
    // mask/unmask work on units not installed yet (as Ansible).
    if (has('mask')) lines.push(`${sc} mask -- ${u} </dev/null`);
    if (has('unmask')) lines.push(`${sc} unmask -- ${u} </dev/null`);
    if (needsUnit && p.scope === 'global') {
      lines.push(
        `case "$(systemctl --global is-enabled -- ${u} 2>/dev/null </dev/null)" in masked|masked-runtime) echo ${q(`unit ${p.name} is masked`)} >&2; exit 3;;`,
        `  enabled*|linked*|alias|static|indirect|disabled|generated|transient) ;; *) echo ${q(`unit ${p.name} is not installed (systemctl --global cannot find it)`)} >&2; exit 3;; esac`,
      );
    } else if (needsUnit) lines.push(...loadCheck);
    if (has('enable') && !folded) lines.push(`${sc} enable -- ${u} </dev/null`);
    if (has('disable')) lines.push(`${sc} disable -- ${u} </dev/null`);
    if (plain('start')) lines.push(`${sc} start -- ${u} </dev/null`);
    if (plain('stop')) lines.push(`${sc} stop -- ${u} </dev/null`);
    if (plain('restart')) lines.push(`${sc} restart -- ${u} </dev/null`);
    if (plain('reload')) lines.push(`${sc} reload -- ${u} </dev/null`);
  } else {
    const n = sysvName(p);
    const script = q(`/etc/init.d/${n}`);
    if (ops.length) lines.push(`[ -x ${script} ] || { echo ${q(`init script /etc/init.d/${n} is not installed`)} >&2; exit 3; }`);
    if (has('enable')) lines.push(`update-rc.d ${q(n)} defaults >/dev/null`, `update-rc.d ${q(n)} enable </dev/null`);
    if (has('disable')) lines.push(`update-rc.d ${q(n)} disable </dev/null`);
    if (plain('start')) lines.push(`${script} start </dev/null`);
    if (plain('stop')) lines.push(`${script} stop </dev/null`);
    if (plain('restart')) lines.push(sysvRestart(p));
    if (plain('reload')) lines.push(`${script} reload </dev/null || ${script} force-reload </dev/null`);
  }
  if (gated) lines.push(...gateLines(p, s, gated));
  return lines.join('\n');
}

const PAST: Record<string, string> = { start: 'started', restart: 'restarted', reload: 'reloaded' };

export function serviceInterpret(p: ServiceParams, out: ExecResult): ApplyResult {
  const kv = kilnValues(out.stdout);
  const one = (k: string) => kv.get(k)?.[0];
  const health = one('kiln_health');
  const timeout = p.health_timeout ?? DEFAULT_HEALTH_TIMEOUT;
  const files = (p.restore ?? []).join(', ');
  const snapshotError = one('kiln_snapshot_error');
  if (out.code === 5 && snapshotError !== undefined) {
    return {
      failed: `${p.name} is healthy, but its last good configuration (${files}) could not be recorded in ${LAST_GOOD_DIR}/${snapshotName(p)}: ${snapshotError}`,
    };
  }
  if (out.code === 4 && health !== undefined) {
    const action = one('kiln_action') ?? 'restart';
    const failed = `${p.name} is not healthy after the ${action}: no healthy answer from ${healthSources({ url: p.health_url, command: p.health_command })} within ${timeout}s (last: ${health})`;
    const journal = journalDetail(unitName(p), kv);
    if (!p.restore) return { failed: failed + journal };
    const again = PAST[one('kiln_restore_action') ?? ''] ?? 'restarted';
    const missing = one('kiln_restore_missing');
    switch (one('kiln_restore')) {
      case 'healthy':
        return {
          failed: `${failed}; restored the last good configuration (${files}) and ${again}: healthy again${journal}`,
          result: { restored: true, healthy: true },
        };
      case 'unhealthy':
        return {
          failed: `${failed}; restored the last good configuration (${files}) and ${again}, but it is still unhealthy after restoring: ${one('kiln_health_back')}${journal}`,
          result: { restored: true, healthy: false },
        };
      case 'failed':
        return {
          failed: `${failed}; restoring the last good configuration FAILED (${one('kiln_restore_error')}): check ${files} by hand${journal}`,
          result: { restored: false, healthy: false },
        };
      default:
        return {
          failed:
            `${failed}; no last good configuration ${missing ? `of ${missing} ` : ''}is recorded yet (it is recorded after the first healthy ` +
            `start, restart or reload), so ${files} ${p.restore.length > 1 ? 'are' : 'is'} left as ${p.restore.length > 1 ? 'they are' : 'it is'}${journal}`,
          result: { restored: false, healthy: false },
        };
    }
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
    remaining = servicePlan({ ...p, daemon_reload: false }, s).filter((c) => !c.action && !(p.no_block && STATE_VERBS.has(c.op.kind)));
  } catch (e) {
    problems.push((e as Error).message);
  }
  // The summaries are only shown here (like the engine's default verify), never decoded.
  problems.push(...remaining.map((c) => `still needed: ${c.summary}`));
  const wantsActive = p.state === 'restarted' || p.state === 'reloaded' || p.state === 'started';
  if (wantsActive && !p.no_block && !s.oneshot && !ACTIVE.has(s.active ?? '')) {
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
  prepare: (p) => {
    serviceCheckParams(p);
    return undefined;
  },
  probe: (p) => serviceProbe(p),
  // The probe asks systemd about the unit (which reads the unit files) or the init script; a
  // start or restart runs the service, which may write anything. Failures exit non-zero.
  footprint: (p) => ({
    reads: [
      { kind: 'systemd', ...(p.name ? { unit: p.name } : {}) },
      ...UNIT_DIRS,
      pathResource('/etc/init.d', true),
      pathResource('/etc', false),
    ],
    writes: [ANYTHING],
    exitStatusFails: true,
  }),
  parse: (out) => serviceParse(out),
  plan: (p, _prep, s, ctx) => servicePlan(p, s, ctx),
  apply: (p, _prep, s, ops) => serviceApply(p, s, ops),
  interpret: (p, _prep, out) => serviceInterpret(p, out),
  verify: (p, _prep, s) => serviceVerify(p, s),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    name: p.name,
    init: s.init,
    installed: s.loaded,
    active: s.active ?? null,
    sub_state: s.sub ?? null,
    enabled: effectiveEnabled(s) ?? null,
  }),
});
