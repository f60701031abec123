/**
 * `cron`: one job (or one environment variable) of a user's crontab or of a file in /etc/cron.d,
 * exactly as Ansible's `ansible.builtin.cron` (ansible-core 2.14) writes it, so a crontab written
 * by Ansible converges under Kiln with no change and the other way round.
 *
 * A job is two lines: the marker `#Ansible: <name>` and the job line
 * (`[#]minute hour day month weekday [user] job`, or `[#]@special [user] job`; the user only in a
 * cron_file). An environment variable is one line `NAME="value"`. The probe returns the whole
 * crontab (a user's through `crontab -l`, a cron_file read directly); the edit is a line-for-line
 * port of Ansible's `CronTab` (`cronEdit`, pure), including its quirks (an unnamed job line equal
 * to the wanted one is adopted by adding the marker before it; a marker named "None" is renamed).
 * Apply writes the new crontab through `crontab [-u USER] -` from a 0600 temp file, or replaces the
 * cron_file atomically; both refuse to write when the crontab changed since the probe.
 */
import { contentDiff } from '../files/content.ts';
import { newFileAttrs } from '../files/attrs.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64, writeBytes } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { compile, match as pyMatch } from '../../template/filters/pyre.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const FIELD = { type: 'string', minLength: 1, pattern: '^[^\\s]+$' } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      description: 'the job\'s name, written in its marker line "#Ansible: NAME"; with env: true, the variable\'s name',
    },
    job: {
      type: 'string',
      description: 'the command to run (required with state: present); with env: true, the variable\'s value (written NAME="job")',
    },
    minute: { ...FIELD, description: 'minute field (default "*")' },
    hour: { ...FIELD, description: 'hour field (default "*")' },
    day: { ...FIELD, description: 'day of month field (default "*"); Ansible\'s alias: dom' },
    month: { ...FIELD, description: 'month field (default "*")' },
    weekday: { ...FIELD, description: 'day of week field (default "*"); Ansible\'s alias: dow' },
    special_time: {
      enum: ['reboot', 'yearly', 'annually', 'monthly', 'weekly', 'daily', 'hourly'],
      description: 'write @special_time instead of the five time fields (which must then be left "*")',
    },
    user: {
      type: 'string',
      minLength: 1,
      description:
        "whose crontab: a user's crontab is edited with `crontab -u USER` (default: the connecting user, or become_user); required with cron_file and state: present (it is written in each job line)",
    },
    cron_file: {
      type: 'string',
      minLength: 1,
      description:
        "a file of /etc/cron.d (a relative name) or an absolute path instead of a user's crontab; removed when its last job is removed; never /etc/crontab",
    },
    state: { enum: ['present', 'absent'], description: 'present (default): the job or variable is there; absent: removed' },
    disabled: { type: 'boolean', description: 'write the job line commented out (#…): the job stays but does not run' },
    env: { type: 'boolean', description: 'manage an environment variable line NAME="job" instead of a job' },
    insertafter: {
      type: 'string',
      minLength: 1,
      description: 'with env: a new variable is inserted after the variable of this name (default: at the top)',
    },
    insertbefore: {
      type: 'string',
      minLength: 1,
      description: 'with env: a new variable is inserted before the variable of this name (default: at the top)',
    },
    backup: {
      type: 'boolean',
      description: 'before a change, save the crontab as it was in a temp file on the host (its path in the result, backup_file)',
    },
  },
} as const;

export type CronParams = FromSchema<typeof schema>;

export interface CronState {
  /** A cron_file exists (as a file); for a user's crontab: the user has one (crontab -l exit 0). */
  exists: boolean;
  /** Ansible's n_existing: the text read (a user's crontab without the header lines crontab adds). */
  existing: string;
  /** SHA-256 of what was read (the file, or crontab -l's raw output): the write guard. */
  sha256: string;
  /** crontab(1) is installed (needed for a user's crontab). */
  crontab: boolean;
  /** The user whose crontab is edited exists (always true without user). */
  userExists: boolean;
  /** cron_file is something other than a file (a directory). */
  notFile?: boolean;
  /** Ansible's self.lines as read. */
  lines: string[];
}

export type CronOp =
  | { kind: 'write'; content: string; before: string; expect: { sha256: string } | 'absent' }
  | { kind: 'remove-file'; before: string; expect: { sha256: string } };

const MARK = '#Ansible: ';

/** The cron_file's path: relative names are in /etc/cron.d (Ansible's os.path.join). */
export function cronFilePath(f: string): string {
  return f.startsWith('/') ? f : `/etc/cron.d/${f}`;
}

/** Python's str.splitlines(). */
export function pySplitlines(s: string): string[] {
  const parts = s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Python's str.strip(chars) for a set of characters. */
function stripChars(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

const reEscape = (s: string) => s.replace(/[^A-Za-z0-9_]/g, (c) => `\\${c}`);

/** Ansible's read(): a user's crontab without the (at most 3 leading) header lines crontab(1) may print. */
export function readCrontab(out: string): { lines: string[]; existing: string } {
  let existing = out;
  const lines: string[] = [];
  pySplitlines(out).forEach((l, count) => {
    const header =
      /^# DO NOT EDIT THIS FILE - edit the master and reinstall./.test(l) ||
      /^# \(\/tmp\/.*installed on.*\)/.test(l) ||
      /^# \(.*version.*\)/.test(l);
    if (count > 2 || !header) lines.push(l);
    else existing = existing.replace(new RegExp(`${reEscape(l)}[\\r\\n]?`), '');
  });
  return { lines, existing };
}

export interface CronEdit {
  /** The new lines (Ansible's self.lines after the edit). */
  lines: string[];
  changed: boolean;
  /** A cron_file whose last job was removed: the file is deleted. */
  removeFile: boolean;
  warnings: string[];
}

const render = (lines: string[]): string => {
  const r = lines.join('\n');
  return r ? `${r.replace(/[\r\n]+$/, '')}\n` : '';
};

/** Ansible's get_cron_job. */
export function cronJobLine(p: CronParams): string {
  const job = stripChars(p.job ?? '', '\r\n');
  const pre = p.disabled ? '#' : '';
  const user = p.cron_file ? ` ${p.user ?? 'None'}` : '';
  if (p.special_time) return `${pre}@${p.special_time}${user} ${job}`;
  const f = [p.minute, p.hour, p.day, p.month, p.weekday].map((x) => x ?? '*').join(' ');
  return `${pre}${f}${user} ${job}`;
}

/** Problems Ansible refuses before reading anything (thrown by prepare: a located error). */
export function cronCheck(p: CronParams): void {
  if (p.cron_file === '/etc/crontab') throw new Error('Will not manage /etc/crontab via cron_file, see documentation.');
  if (p.special_time && [p.minute, p.hour, p.day, p.month, p.weekday].some((x) => x !== undefined && x !== '*'))
    throw new Error('You must specify time and date fields or special time.');
  if (p.insertafter !== undefined && p.insertbefore !== undefined) throw new Error('insertafter and insertbefore are mutually exclusive');
  if ((p.state ?? 'present') === 'present') {
    if (p.cron_file && !p.user) throw new Error('To use cron_file=... parameter you must specify user=... as well');
    if (p.job === undefined) throw new Error("You must specify 'job' to install a new cron job or variable");
    if ((p.insertafter || p.insertbefore) && !p.env) throw new Error('Insertafter and insertbefore parameters are valid only with env=yes');
  }
  if (p.env && p.name.includes(' ')) throw new Error('Invalid name for environment variable');
}

/** Ansible's CronTab edit, pure: the lines after ensuring the job (or variable) of `p` in `lines`. */
export function cronEdit(p: CronParams, existing: string, linesIn: string[]): CronEdit {
  const lines = [...linesIn];
  const install = (p.state ?? 'present') === 'present';
  const warnings: string[] = [];
  if (p.cron_file) {
    const base = p.cron_file.split('/').at(-1) ?? '';
    if (!/^[A-Z0-9_-]+$/i.test(base))
      warnings.push(
        `Filename portion of cron_file ("${base}") should consist solely of upper- and lower-case letters, digits, underscores, and hyphens`,
      );
  }
  let changed = false;
  let out = lines;
  const envRe = (n: string) => compile(`^${n}=`);
  const findEnv = (n: string): number => out.findIndex((l) => pyMatch(envRe(n), l) !== null);
  if (p.env) {
    const decl = `${p.name}="${p.job ?? 'None'}"`;
    const old = findEnv(p.name);
    if (install) {
      if (old < 0) {
        const other = p.insertafter ?? p.insertbefore;
        if (other === undefined) out.unshift(decl);
        else {
          const i = findEnv(other);
          if (i < 0) throw new Error(`Variable named '${other}' not found.`);
          out.splice(p.insertafter !== undefined ? i + 1 : i, 0, decl);
        }
        changed = true;
      } else if (out[old] !== decl) {
        out = out.map((l) => (pyMatch(envRe(p.name), l) !== null ? decl : l));
        changed = true;
      }
    } else if (old >= 0) {
      out = out.filter((l) => pyMatch(envRe(p.name), l) === null);
      changed = true;
    }
  } else {
    const marker = MARK + p.name;
    const updateJob = (job: string | undefined) => {
      const next: string[] = [];
      let comment: string | undefined;
      for (const l of out) {
        if (comment !== undefined) {
          if (job !== undefined) next.push(comment, job);
          comment = undefined;
        } else if (l === marker) comment = l;
        else next.push(l);
      }
      out = next;
    };
    const findJob = (job?: string): string[] => {
      let comment: string | undefined;
      for (const l of out) {
        if (comment !== undefined) {
          if (comment === p.name) return [comment, l];
          comment = undefined;
        } else if (l.startsWith(MARK)) comment = l.split(MARK).join('');
      }
      if (job !== undefined) {
        for (let i = 0; i < out.length; i++) {
          if (out[i] !== job) continue;
          const prev = out.at(i - 1) ?? '';
          if (!prev.startsWith(MARK)) {
            out.splice(i, 0, marker);
            return [out[i], job, 'adopted'];
          }
          if (p.name && prev === `${MARK}None`) {
            out[i - 1 < 0 ? out.length - 1 : i - 1] = marker;
            return [marker, job, 'adopted'];
          }
        }
      }
      return [];
    };
    if (install) {
      const job = cronJobLine(p);
      const old = findJob(job);
      if (old.length === 0) {
        out.push(marker, job);
        changed = true;
      }
      if (old.length > 0 && old[1] !== job) {
        updateJob(job);
        changed = true;
      }
      if (old.length > 2) {
        updateJob(job);
        changed = true;
      }
    } else if (findJob().length > 0) {
      updateJob(undefined);
      changed = true;
      if (p.cron_file && out.every((l) => !l.trim())) return { lines: out, changed: true, removeFile: true, warnings };
    }
  }
  if (!changed && existing !== '' && !/[\r\n]$/.test(existing)) changed = true;
  return { lines: out, changed, removeFile: false, warnings };
}

export function cronProbe(p: CronParams): string {
  if (p.cron_file) {
    return [
      `f=${q(cronFilePath(p.cron_file))}`,
      'command -v crontab >/dev/null 2>&1 && echo crontab=1 || echo crontab=0',
      'if [ -f "$f" ]; then echo exists=1; echo "sha256=$(sha256sum < "$f" | cut -d\' \' -f1)"',
      '  printf \'content_b64=\'; base64 -w0 < "$f"; echo',
      'elif [ -e "$f" ]; then echo notfile=1; else echo exists=0; fi',
      'echo user=1',
    ].join('\n');
  }
  const u = p.user;
  return [
    'if command -v crontab >/dev/null 2>&1; then echo crontab=1',
    u ? `  if id -u -- ${q(u)} >/dev/null 2>&1; then echo user=1; else echo user=0; fi` : '  echo user=1',
    '  t=$(mktemp)',
    u
      ? `  if [ "$(id -un)" = ${q(u)} ]; then crontab -l >"$t" 2>/dev/null; else crontab -u ${q(u)} -l >"$t" 2>/dev/null; fi; echo "rc=$?"`
      : '  crontab -l >"$t" 2>/dev/null; echo "rc=$?"',
    '  echo "sha256=$(sha256sum < "$t" | cut -d\' \' -f1)"',
    '  printf \'content_b64=\'; base64 -w0 < "$t"; echo; rm -f "$t"',
    'else echo crontab=0; fi',
  ].join('\n');
}

export function cronParse(out: ExecResult, p: CronParams): CronState {
  const kv = parseKv(out.stdout);
  const raw = fromB64(kv.content_b64);
  if (p.cron_file) {
    return {
      exists: kv.exists === '1',
      existing: raw,
      sha256: kv.sha256 ?? '',
      crontab: kv.crontab === '1',
      userExists: true,
      notFile: kv.notfile === '1',
      lines: pySplitlines(raw),
    };
  }
  if (kv.crontab === '1' && kv.rc !== '0' && kv.rc !== '1' && kv.user !== '0') throw new Error('Unable to read crontab');
  const r = readCrontab(raw);
  return {
    exists: kv.rc === '0',
    existing: r.existing,
    lines: r.lines,
    sha256: kv.sha256 ?? '',
    crontab: kv.crontab === '1',
    userExists: kv.user !== '0',
  };
}

const linesOf = (_p: CronParams, s: CronState): string[] => s.lines;

/** What the crontab is called in messages and diffs (Ansible's diff headers). */
export function cronLabel(p: CronParams): string {
  return p.cron_file ? cronFilePath(p.cron_file) : p.user ? `crontab for user "${p.user}"` : 'crontab';
}

export function cronPlan(p: CronParams, s: CronState, ctx: ModuleContext): Planned<CronOp>[] {
  if (s.notFile) throw new Error(`${cronFilePath(p.cron_file ?? '')} is not a file`);
  if (!p.cron_file && !s.crontab) throw new Error('crontab is not installed on the host (install the cron package)');
  if (!s.userExists) throw new Error(`user ${p.user} does not exist on the host`);
  const e = cronEdit(p, s.existing, linesOf(p, s));
  if (!e.changed) return [];
  const label = cronLabel(p);
  const what = p.env ? `variable ${p.name}` : `job "${p.name}"`;
  if (e.removeFile) {
    if (!s.exists) return [];
    return [
      {
        summary: `remove ${what} and ${label} (its last job)`,
        diff: ctx.diff ? contentDiff(label, s.existing, '', false) : undefined,
        op: { kind: 'remove-file', before: s.existing, expect: { sha256: s.sha256 } },
      },
    ];
  }
  const after = render(e.lines);
  const verb = (p.state ?? 'present') === 'absent' ? 'remove' : after === render(linesOf(p, s)) ? 'end with a newline:' : 'set';
  return [
    {
      summary: `${verb} ${verb.startsWith('end') ? label : `${what} in ${label}`}`,
      diff: ctx.diff ? contentDiff(label, s.existing, after, false) : undefined,
      op: { kind: 'write', content: after, before: s.existing, expect: p.cron_file && !s.exists ? 'absent' : { sha256: s.sha256 } },
    },
  ];
}

function readCmd(p: CronParams): string {
  if (!p.user) return 'crontab -l';
  return `{ if [ "$(id -un)" = ${q(p.user)} ]; then crontab -l; else crontab -u ${q(p.user)} -l; fi; }`;
}

export function cronApply(p: CronParams, ops: CronOp[]): string {
  const lines = ['set -e'];
  for (const op of ops) {
    if (p.backup) {
      // Ansible: a temp file named crontab* holding the crontab as it was.
      lines.push('b=$(mktemp /tmp/crontabXXXXXXXX)', writeBytes('"$b"', op.before).trimEnd(), 'echo "backup_file=$b"');
    }
    if (p.cron_file) {
      const dest = cronFilePath(p.cron_file);
      if (op.kind === 'remove-file') {
        lines.push(
          `f=${q(dest)}`,
          `[ "$(sha256sum < "$f" | cut -d' ' -f1)" = ${q(op.expect.sha256)} ] || { echo "$f changed since it was read; run again" >&2; exit 3; }`,
          'rm -f -- "$f"',
        );
      } else {
        lines.push(
          ...atomicWrite({ dest, bytes: op.content, parent: 'require', expect: op.expect, ...newFileAttrs({}, op.expect !== 'absent') }),
        );
      }
      continue;
    }
    if (op.kind !== 'write') continue;
    const expect = op.expect === 'absent' ? '' : op.expect.sha256;
    lines.push(
      't=$(mktemp)',
      `trap 'rm -f "$t"' EXIT`,
      `${readCmd(p)} >"$t" 2>/dev/null || true`,
      `[ "$(sha256sum < "$t" | cut -d' ' -f1)" = ${q(expect)} ] || { echo ${q(`${cronLabel(p)} changed since it was read; run again`)} >&2; exit 3; }`,
      writeBytes('"$t"', op.content).trimEnd(),
      p.user ? `if [ "$(id -un)" = ${q(p.user)} ]; then crontab - <"$t"; else crontab -u ${q(p.user)} - <"$t"; fi` : 'crontab - <"$t"',
      'rm -f "$t"',
      'trap - EXIT',
    );
  }
  return lines.join('\n');
}

/** Ansible's result (jobs, envs, warnings, cron_file; state when a cron_file was removed). */
export function cronRegisterData(p: CronParams, s: CronState): Record<string, unknown> {
  const e = cronEdit(p, s.existing, linesOf(p, s));
  if (e.removeFile) return { cron_file: p.cron_file, state: p.state ?? 'present' };
  const out: Record<string, unknown> = {
    jobs: e.lines.filter((l) => l.startsWith(MARK)).map((l) => l.split(MARK).join('')),
    envs: e.lines.filter((l) => /^\S+=/.test(l)).map((l) => l.split('=')[0]),
    warnings: e.warnings,
  };
  if (p.cron_file) out.cron_file = p.cron_file;
  return out;
}

export default defineModule<CronParams, CronState, CronOp, undefined>({
  name: 'cron',
  description: "Manage a cron job or variable in a user's crontab or in /etc/cron.d, in Ansible's format (#Ansible: name markers).",
  schema,
  prepare: (p) => {
    cronCheck(p);
    return undefined;
  },
  probe: (p) => cronProbe(p),
  parse: (out, p) => cronParse(out, p),
  plan: (p, _prep, s, ctx) => cronPlan(p, s, ctx),
  apply: (p, _prep, _s, ops) => cronApply(p, ops),
  interpret: (_p, _prep, out) => {
    const b = parseKv(out.stdout).backup_file;
    const failed = out.code !== 0 ? out.stderr.trim() || out.stdout.trim() || `exit code ${out.code}` : undefined;
    return { failed, result: b ? { backup_file: b } : undefined };
  },
  registerData: (p, _prep, s) => cronRegisterData(p, s),
});
