/**
 * `snap`: snaps installed, removed, enabled or disabled, and their configuration (`snap set`), as
 * community.general.snap of the ansible 7.7 collections (community.general 6.6) means them.
 *
 * Ansible's meaning, kept:
 * - present: every snap in `name` that `snap list NAME` does not list is installed with
 *   `snap install [--classic] [--channel C] NAMES` (one command per snap when `classic` or a
 *   channel other than stable is given for several). A snap already installed is left alone,
 *   whatever channel it tracks or confinement it has (the module never refreshes nor switches).
 * - absent: installed ones are removed (`snap remove NAMES`); enabled: disabled ones are enabled
 *   (a snap that is not installed fails, as in Ansible, but here at plan time, in --check too);
 *   disabled: enabled ones are disabled (a snap that is not installed is left alone, as in Ansible).
 * - options (`key=value` for every snap of `name`, `snap:key=value` for one) are applied with
 *   `snap set NAME key=value…` when the snap's configuration (`snap get -d NAME`) differs.
 * - The registered result has Ansible's keys: snaps_installed / snaps_removed / snaps_enabled /
 *   snaps_disabled, options_changed (`snap:key=value`), classic and channel (state present), cmd
 *   (only after a real change, spelled as community.general 6.6 spells it: the module's argument
 *   list, not a shell command), and rc / stdout / stderr / cmd_args of the last snap command with
 *   force_lang "C" (test/fixtures/ansible/snap/ holds the results Ansible gave on a lab host).
 *
 * Refused by name (located errors, not silent): options, classic or a channel other than stable
 * with a state other than present (Ansible ignores options there and passes `--classic` /
 * `--channel` to `snap remove|enable|disable`, which the snap command rejects); a `name` that is not
 * a snap name (a path to a .snap file: the module of ansible 7.7 has no `dangerous`, so it can only
 * fail on it, and never idempotently); an option that does not parse or names a snap not in `name`
 * (Ansible fails on them at run time).
 *
 * Where Kiln is more exact than Ansible, and says so:
 * - An option's value is compared with what `snap set` stores (the value read as JSON when it is
 *   JSON, else as a string) against the stored value, where Ansible compares Python's str() of it
 *   (so `flag=true` reports changed on every run in Ansible: True != true). Same end state.
 * - `snap list` failing for another reason than "no matching snaps installed" (snapd not running)
 *   fails the task with snap's message instead of counting the snap as missing.
 * - --check predicts the options of snaps it will install (Ansible's check mode cannot see them):
 *   a snap installed by the task gets all of its options set right after the install.
 */
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

/** A snap name (store rules: lower case letters, digits and inner dashes), with an optional instance key. */
const SNAP = '[a-z0-9](?:-?[a-z0-9])*(?:_[a-z0-9]{1,10})?';

export const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: ['string', 'array'],
      pattern: `^${SNAP}(,${SNAP})*$`,
      items: { type: 'string', pattern: `^${SNAP}$` },
      minItems: 1,
      description:
        'name of the snap, or a list of names (a string with commas is split, as Ansible splits a list option); store names only: a path to a local .snap file is refused (ansible 7.7 has no `dangerous`)',
    },
    state: {
      enum: ['present', 'absent', 'enabled', 'disabled'],
      description:
        'present (default): installed (an installed snap is left alone, whatever its channel); absent: removed; enabled: installed and enabled (fails if not installed); disabled: disabled if installed',
    },
    classic: {
      type: 'boolean',
      description: 'install with classic confinement (`snap install --classic`); only with state present, used only when installing',
    },
    channel: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$',
      description:
        'channel to install from (`--channel`, default stable, e.g. latest/edge); only with state present, used only when installing: an installed snap is not switched',
    },
    options: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description:
        'configuration set with `snap set` (state present): `key=value` applies to every snap of `name`, `snap:key=value` to that snap only; set only when the stored value differs (a value is read as JSON when it is JSON, as snap set reads it)',
    },
  },
} as const;

export type SnapParams = FromSchema<typeof schema>;
export type SnapStateName = 'present' | 'absent' | 'enabled' | 'disabled';

/** One parsed option: `snap:key=value` (snap undefined: every snap of `name`). */
export interface SnapOption {
  text: string;
  snap?: string;
  key: string;
  value: string;
}

export interface SnapPrep {
  names: string[];
  state: SnapStateName;
  classic: boolean;
  channel: string;
  options?: SnapOption[];
}

/** What one snap command printed. */
export interface SnapCmd {
  args: string[];
  rc: number;
  stdout: string;
  stderr: string;
}

export interface SnapInfo {
  installed: boolean;
  /** `snap list` notes say disabled. */
  disabled: boolean;
  /** `snap get -d NAME` as JSON (probed for installed snaps when options are given); {} when it has none. */
  config?: Record<string, unknown>;
}

export interface SnapState {
  /** Path of the snap command ('' when absent). */
  snapBin: string;
  snaps: Record<string, SnapInfo>;
  /** The last command the probe ran (Ansible's rc/stdout/stderr/cmd_args when nothing changes). */
  last?: SnapCmd;
}

export type SnapOp =
  | { kind: 'install'; names: string[] }
  | { kind: 'set'; snap: string; options: string[] }
  | { kind: 'remove'; names: string[] }
  | { kind: 'enable'; names: string[] }
  | { kind: 'disable'; names: string[] };

/** One segment of a snap configuration key (snapd's validKey). */
const SNAP_KEY = /^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$/;

const OPTION_RE = /^(\S+:)?(\S+)\s*=\s*(.+)/;

/** Ansible's `__set_param_re.match` (not anchored at the end; the value is stripped). */
export function parseSnapOption(text: string): { snap?: string; key: string; value: string } | undefined {
  const m = OPTION_RE.exec(text);
  if (!m) return undefined;
  return { snap: m[1] ? m[1].slice(0, -1) : undefined, key: m[2]!, value: m[3]!.trim() };
}

/** The checks Ansible makes at run time, made before any host is contacted (thrown: a located error). */
export function snapPrepare(p: SnapParams): SnapPrep {
  const names = typeof p.name === 'string' ? p.name.split(',') : [...p.name];
  const state = (p.state ?? 'present') as SnapStateName;
  const classic = p.classic ?? false;
  const channel = p.channel ?? 'stable';
  if (state !== 'present') {
    if (p.options !== undefined)
      throw new Error(
        `options apply only with state present (community.general.snap ignores them with state ${state}); set them in a task with state present`,
      );
    if (classic) throw new Error(`classic applies only with state present (Ansible passes --classic to "snap ${state}", which rejects it)`);
    if (channel !== 'stable')
      throw new Error(`channel applies only with state present (Ansible passes --channel to "snap ${state}", which rejects it)`);
  }
  let options: SnapOption[] | undefined;
  if (p.options !== undefined) {
    options = p.options.map((text) => {
      const o = parseSnapOption(text);
      if (!o) throw new Error(`cannot parse set option '${text}' (expected key=value or snap:key=value)`);
      if (!o.key.split('.').every((part) => SNAP_KEY.test(part)))
        throw new Error(
          `option '${text}': "${o.key}" is not a snap configuration key (dotted lower-case words, e.g. a.b-c): snap set would read another key than the one compared, and the task would never converge`,
        );
      if (o.snap !== undefined && !names.includes(o.snap))
        throw new Error(`option '${text}' refers to snap "${o.snap}", which is not in the list of snap names (${names.join(', ')})`);
      return { text, ...o };
    });
  }
  return { names, state, classic, channel, options };
}

const SNAP_ENV = 'LC_ALL=C LANGUAGE=C';

/** Runs one snap command, printing its argv, rc, stdout and stderr under `key`. */
function captured(key: string, args: string[]): string[] {
  return [
    `${SNAP_ENV} "$snap_bin" ${args.map(q).join(' ')} >"$snap_t/o" 2>"$snap_t/e" </dev/null; echo "${key}_rc=$?"`,
    `printf '${key}_out=%s\\n' "$(base64 -w0 <"$snap_t/o")"; printf '${key}_err=%s\\n' "$(base64 -w0 <"$snap_t/e")"`,
  ];
}

/** Reads `snap list NAME` for each name, and `snap get -d NAME` of installed ones when options are given. */
export function snapProbe(prep: SnapPrep): string {
  const lines = [
    'snap_bin=$(command -v snap 2>/dev/null)',
    'printf "snap_bin=%s\\n" "$snap_bin"',
    'if [ -n "$snap_bin" ]; then',
    'snap_t=$(mktemp -d)',
  ];
  prep.names.forEach((n, i) => {
    lines.push(...captured(`l${i}`, ['list', n]));
    if (prep.state === 'present' && prep.options) {
      lines.push(`if [ -s "$snap_t/o" ]; then`, ...captured(`g${i}`, ['get', n, '-d']), 'fi');
    }
  });
  lines.push('rm -rf "$snap_t"', 'fi');
  return lines.join('\n');
}

const NOTES_RE = /^(?:\S+\s+){5}(\S+)/;

function cmdOf(kv: Record<string, string>, key: string, args: string[]): SnapCmd {
  return { args, rc: Number(kv[`${key}_rc`] ?? '0'), stdout: fromB64(kv[`${key}_out`]), stderr: fromB64(kv[`${key}_err`]) };
}

export function snapParse(out: ExecResult, prep: SnapPrep): SnapState {
  const kv = parseKv(out.stdout);
  const snapBin = kv.snap_bin ?? '';
  const snaps: Record<string, SnapInfo> = {};
  let last: SnapCmd | undefined;
  if (!snapBin) return { snapBin, snaps };
  prep.names.forEach((n, i) => {
    const list = cmdOf(kv, `l${i}`, [snapBin, 'list', n]);
    last = list;
    if (list.rc !== 0) {
      if (!/no matching snaps installed/.test(list.stderr))
        throw new Error(`snap: "snap list ${n}" failed (rc ${list.rc}): ${list.stderr.trim() || list.stdout.trim()}`);
      snaps[n] = { installed: false, disabled: false };
      return;
    }
    const row = list.stdout.split('\n')[1] ?? '';
    const m = NOTES_RE.exec(row);
    if (!m) throw new Error(`snap: unable to parse 'snap list ${n}' output:\n${list.stdout}`);
    const info: SnapInfo = { installed: true, disabled: m[1]!.split(',').includes('disabled') };
    if (kv[`g${i}_rc`] !== undefined) {
      const get = cmdOf(kv, `g${i}`, [snapBin, 'get', n, '-d']);
      info.config = get.rc === 0 ? parseConfig(n, get.stdout) : {};
    }
    snaps[n] = info;
  });
  // Ansible's last command when nothing changes: `snap get` of the last installed snap (options), else the last `snap list`.
  if (prep.state === 'present' && prep.options) {
    const lastGot = prep.names.map((n, i) => ({ n, i })).filter(({ n }) => snaps[n]?.installed);
    const g = lastGot[lastGot.length - 1];
    if (g) last = cmdOf(kv, `g${g.i}`, [snapBin, 'get', g.n, '-d']);
  }
  return { snapBin, snaps, last };
}

function parseConfig(snap: string, text: string): Record<string, unknown> {
  if (/has no configuration/.test(text.split('\n')[0] ?? '')) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new Error(`snap: parsing the option map returned by 'snap get ${snap} -d' failed (${(e as Error).message}), output:\n${text}`);
  }
}

/** What `snap set key=value` stores: the value read as JSON when it is JSON, else the string. */
export function snapSetValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** The stored value at a dotted key of `snap get -d`, undefined when unset. */
export function configAt(config: Record<string, unknown>, key: string): unknown {
  let cur: unknown = config;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The options that apply to `snap`, in order: `key=value` without prefix, and `snap:key=value` as Ansible reports them. */
function optionsFor(prep: SnapPrep, snap: string): { bare: string; prefixed: string; key: string; value: string }[] {
  return (prep.options ?? [])
    .filter((o) => o.snap === undefined || o.snap === snap)
    .map((o) => ({
      bare: `${o.key}=${o.value}`,
      prefixed: o.snap !== undefined ? o.text : `${snap}:${o.text}`,
      key: o.key,
      value: o.value,
    }));
}

/** The install commands Ansible runs: one per snap when classic or a channel is given for several, else one for all. */
export function installCommands(prep: SnapPrep, names: string[]): string[][] {
  const flags = [...(prep.classic ? ['--classic'] : []), ...(prep.channel !== 'stable' ? ['--channel', prep.channel] : [])];
  const perSnap = flags.length > 0 && names.length > 1;
  return perSnap ? names.map((n) => ['install', ...flags, n]) : [['install', ...flags, ...names]];
}

export function snapPlan(prep: SnapPrep, s: SnapState): Planned<SnapOp>[] {
  if (!s.snapBin) throw new Error('snap: the snap command is not on the host (install the snapd package first)');
  const info = (n: string) => s.snaps[n] ?? { installed: false, disabled: false };
  const out: Planned<SnapOp>[] = [];
  switch (prep.state) {
    case 'present': {
      const missing = prep.names.filter((n) => !info(n).installed);
      if (missing.length) {
        const how = [prep.classic ? 'classic confinement' : '', prep.channel !== 'stable' ? `channel ${prep.channel}` : '']
          .filter(Boolean)
          .join(', ');
        out.push({ summary: `install snap ${missing.join(', ')}${how ? ` (${how})` : ''}`, op: { kind: 'install', names: missing } });
      }
      for (const n of prep.names) {
        const opts = optionsFor(prep, n);
        if (!opts.length) continue;
        const fresh = !info(n).installed;
        const config = info(n).config ?? {};
        const changed = fresh ? opts : opts.filter((o) => !deepEqual(configAt(config, o.key), snapSetValue(o.value)));
        if (!changed.length) continue;
        const what = changed
          .map((o) => {
            if (fresh) return `${o.key}=${o.value}`;
            const cur = configAt(config, o.key);
            return `${o.key}: ${cur === undefined ? 'unset' : JSON.stringify(cur)} → ${o.value}`;
          })
          .join(', ');
        out.push({
          summary: `snap set ${n}${fresh ? ' after its install' : ''}: ${what}`,
          op: { kind: 'set', snap: n, options: changed.map((o) => o.bare) },
        });
      }
      break;
    }
    case 'absent': {
      const names = prep.names.filter((n) => info(n).installed);
      if (names.length) out.push({ summary: `remove snap ${names.join(', ')}`, op: { kind: 'remove', names } });
      break;
    }
    case 'enabled': {
      const missing = prep.names.filter((n) => !info(n).installed);
      if (missing.length)
        throw new Error(
          `snap: cannot enable ${missing.join(', ')}: not installed (Ansible's "snap enable" fails the same way; use state present first)`,
        );
      const names = prep.names.filter((n) => info(n).disabled);
      if (names.length) out.push({ summary: `enable snap ${names.join(', ')}`, op: { kind: 'enable', names } });
      break;
    }
    case 'disabled': {
      const names = prep.names.filter((n) => info(n).installed && !info(n).disabled);
      if (names.length) out.push({ summary: `disable snap ${names.join(', ')}`, op: { kind: 'disable', names } });
      break;
    }
  }
  return out;
}

/** Python's repr of a list of names: ['a', 'b']. */
const pyList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** community.general 6.6's `cmd`: the module's argument lists, joined by '; ' (not a shell command). */
export function ansibleCmd(prep: SnapPrep, op: SnapOp): string | undefined {
  switch (op.kind) {
    case 'install':
      return installCommands(prep, op.names)
        .map((c) => `['state', 'classic', 'channel', {'actionable_snaps': ${pyList(c.filter((a) => prep.names.includes(a)))}}]`)
        .join('; ');
    case 'remove':
    case 'enable':
    case 'disable':
      return `['classic', 'channel', 'state', {'actionable_snaps': ${pyList(op.names)}}]`;
    case 'set':
      return undefined;
  }
}

/** The commands an op runs (snap's argv after the binary). */
export function opCommands(prep: SnapPrep, op: SnapOp): string[][] {
  switch (op.kind) {
    case 'install':
      return installCommands(prep, op.names);
    case 'set':
      return [['set', op.snap, ...op.options]];
    default:
      return [[op.kind, ...op.names]];
  }
}

/** Ansible's messages when a command fails. */
function failure(prep: SnapPrep, op: SnapOp): string {
  if (op.kind === 'set') return `Cannot set options '${op.options.join(' ')}' for snap '${op.snap}'`;
  return `Snap ${op.kind === 'install' ? 'installation' : 'operation'} failed while executing 'snap ${opCommands(prep, op)
    .map((c) => c.join(' '))
    .join('; snap ')}'`;
}

export function snapApply(prep: SnapPrep, ops: SnapOp[]): string {
  const lines = [
    'snap_bin=$(command -v snap)',
    'printf "snap_path=%s\\n" "$snap_bin"',
    'snap_t=$(mktemp -d)',
    'trap \'rm -rf "$snap_t"\' EXIT',
  ];
  for (const op of ops) {
    // Ansible's `cmd` is in its result also when the command fails.
    const cmd = ansibleCmd(prep, op);
    if (cmd) lines.push(`printf 'ansible_cmd=%s\\n' ${q(Buffer.from(cmd).toString('base64'))}`);
    for (const args of opCommands(prep, op)) {
      lines.push(
        `${SNAP_ENV} "$snap_bin" ${args.map(q).join(' ')} >"$snap_t/o" 2>"$snap_t/e" </dev/null; rc=$?`,
        `echo "c_rc=$rc"; printf 'c_out=%s\\n' "$(base64 -w0 <"$snap_t/o")"; printf 'c_err=%s\\n' "$(base64 -w0 <"$snap_t/e")"`,
        `printf 'c_args=%s\\n' ${q(Buffer.from(JSON.stringify(args)).toString('base64'))}`,
        // A failed command stops the task with Ansible's wording and snap's own message.
        `if [ "$rc" -ne 0 ]; then printf '%s:\\n' ${q(failure(prep, op))} >&2; cat "$snap_t/e" "$snap_t/o" >&2; exit 3; fi`,
      );
    }
  }
  return lines.join('\n');
}

/** Python's str.splitlines(), as Ansible's action layer makes stdout_lines / stderr_lines. */
export function pySplitlines(text: string): string[] {
  const lines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** rc, stdout, stderr (with their *_lines) and cmd_args of one command, as Ansible registers them. */
const commandKeys = (c: SnapCmd) => ({
  rc: c.rc,
  stdout: c.stdout,
  stderr: c.stderr,
  cmd_args: c.args,
  stdout_lines: pySplitlines(c.stdout),
  stderr_lines: pySplitlines(c.stderr),
});

/** The last command's rc/stdout/stderr/cmd_args and Ansible's cmd, from apply's output. */
export function snapInterpret(out: ExecResult): ApplyResult {
  const kv = parseKv(out.stdout);
  const result: Record<string, unknown> = {};
  if (kv.c_rc !== undefined) {
    const args = JSON.parse(fromB64(kv.c_args) || '[]') as string[];
    Object.assign(
      result,
      commandKeys({
        rc: Number(kv.c_rc),
        stdout: fromB64(kv.c_out),
        stderr: fromB64(kv.c_err),
        args: [kv.snap_path ?? '/usr/bin/snap', ...args],
      }),
    );
  }
  if (kv.ansible_cmd) result.cmd = fromB64(kv.ansible_cmd);
  if (out.code !== 0) return { result, failed: out.stderr.trim() || `exit code ${out.code}` };
  return { result };
}

/** Ansible's result keys (the lists of what the plan changes; classic and channel with state present). */
export function snapRegisterData(prep: SnapPrep, s: SnapState): Record<string, unknown> {
  const data: Record<string, unknown> = { force_lang: 'C' };
  if (s.last) Object.assign(data, commandKeys(s.last));
  if (prep.state === 'present') Object.assign(data, { classic: prep.classic, channel: prep.channel });
  if (!s.snapBin) return data;
  const planned = snapPlan(prep, s);
  const key = { install: 'snaps_installed', remove: 'snaps_removed', enable: 'snaps_enabled', disable: 'snaps_disabled' } as const;
  const changedOptions: string[] = [];
  for (const { op } of planned) {
    if (op.kind === 'set') {
      for (const o of optionsFor(prep, op.snap)) if (op.options.includes(o.bare)) changedOptions.push(o.prefixed);
    } else data[key[op.kind]] = op.names;
  }
  if (changedOptions.length) data.options_changed = changedOptions;
  return data;
}

export default defineModule<SnapParams, SnapState, SnapOp, SnapPrep>({
  name: 'snap',
  description: 'Snaps installed, removed, enabled or disabled, and their configuration (snap set), as community.general.snap.',
  schema,
  prepare: (p) => snapPrepare(p),
  probe: (_p, prep) => snapProbe(prep),
  parse: (out, _p, prep) => snapParse(out, prep),
  plan: (_p, prep, s) => snapPlan(prep, s),
  apply: (_p, prep, _s, ops) => snapApply(prep, ops),
  interpret: (_p, _prep, out) => snapInterpret(out),
  registerData: (_p, prep, s) => snapRegisterData(prep, s),
});
