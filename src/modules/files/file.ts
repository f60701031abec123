/**
 * `file`: a directory, an (existing) file, a symlink, an empty file (touch), or nothing (absent).
 *
 * Invariants: `plan` is pure and pairs every change with a typed `FileOp`; `apply` switches on
 * the ops only. A path it creates (mkdir, touch, a new or replacing link) gets every attribute
 * the task sets; an existing path gets only the attributes that differ (the `AttrOp`s). A link
 * is replaced atomically (`ln -sfn` on a temp name, then rename) and its attributes are set on
 * the link itself (`chown -h`), never on its target.
 *
 * Ansible's `follow` (default true): for state file, directory and touch a path that is a symlink
 * is followed, and its target is what is checked and changed. access_time / modification_time
 * (timestamps.ts): preserve (the default, except for touch), now (the default for touch: a change
 * on every run, as in Ansible, where touch always updates the times), or a time in the format given.
 */
import { type AttrOp, applyAttrOps, applyAttrs, attrSchema, describeAttrs, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { ACCOUNTS, type Footprint, parentPath, pathResource } from '../resources.ts';
import { type TimeSpec, timeSpec } from './timestamps.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path on the host' },
    state: {
      enum: ['file', 'directory', 'link', 'absent', 'touch'],
      description:
        'file: must exist (attributes only); directory: created with parents; link: symlink to src; touch: created empty if missing; absent: removed (recursively)',
    },
    src: { type: 'string', minLength: 1, description: 'link target (state: link)' },
    force: { type: 'boolean', description: 'link: replace an existing non-link path' },
    follow: {
      type: 'boolean',
      description:
        'default true: for state file, directory and touch, a path that is a symlink is followed and its target is checked and changed; state: link sets owner, group and mode on the target (when it exists); false: the link itself (its owner and group; a link has no mode of its own)',
    },
    access_time: {
      type: 'string',
      minLength: 1,
      description:
        "preserve (default; touch: now), now (set on every run: always a change, as in Ansible), or a time in access_time_format, in the host's local time zone",
    },
    access_time_format: {
      type: 'string',
      minLength: 1,
      description: "the format of access_time (Python strptime's %Y %y %m %d %H %M %S; default %Y%m%d%H%M.%S)",
    },
    modification_time: {
      type: 'string',
      minLength: 1,
      description:
        "preserve (default; touch: now), now (set on every run: always a change, as in Ansible), or a time in modification_time_format, in the host's local time zone",
    },
    modification_time_format: {
      type: 'string',
      minLength: 1,
      description: "the format of modification_time (Python strptime's %Y %y %m %d %H %M %S; default %Y%m%d%H%M.%S)",
    },
    ...attrSchema,
  },
} as const;

export type FileParams = FromSchema<typeof schema>;

/** What `file` does: remove, create (with the task's attributes), (re)link, or set attributes. */
export type FileOp =
  | AttrOp
  | { kind: 'remove' }
  | { kind: 'mkdir' }
  | { kind: 'touch' }
  /** Point `path` at `target`; `over` is what is there now (a link being retargeted, a path being replaced). */
  | { kind: 'link'; target: string; over?: NonNullable<StatState['type']> }
  /** Set the access / modification time: now, or this local time (the host reads it). */
  | { kind: 'times'; atime?: 'now' | string; mtime?: 'now' | string };

/**
 * What the probe saw: the path (not followed), the target of a symlink (followed), and, when the
 * task sets times, the file's times and the wanted times in seconds (the host's local time zone).
 */
export interface FileState extends StatState {
  real?: string;
  realStat?: StatState;
  /** state: link, followed: the real path the link (with its new src) leads to, and its stat. */
  linkTarget?: string;
  linkTargetStat?: StatState;
  atime?: string;
  mtime?: string;
  wantAtime?: string;
  wantMtime?: string;
}

interface Times {
  atime: TimeSpec;
  mtime: TimeSpec;
}

function timesOf(p: FileParams): Times {
  const state = p.state ?? 'file';
  return {
    atime: timeSpec(p.access_time, p.access_time_format, state, 'access_time'),
    mtime: timeSpec(p.modification_time, p.modification_time_format, state, 'modification_time'),
  };
}

/** The path the task acts on: a symlink's target when followed (state file, directory, touch). */
function followed(p: FileParams, s: FileState): { path: string; stat: StatState; via: string } {
  const state = p.state ?? 'file';
  if (p.follow !== false && s.type === 'link' && (state === 'file' || state === 'directory' || state === 'touch') && s.real)
    return { path: s.real, stat: s.realStat ?? { exists: false }, via: ` (via symlink ${p.path})` };
  return { path: p.path, stat: s, via: '' };
}

/** The times to set on an existing path (or one just created with explicit times): [] when they are already right. */
function planTimes(path: string, t: Times, s: FileState, created: boolean): Planned<FileOp>[] {
  const now = t.atime.kind === 'now' || t.mtime.kind === 'now';
  // A path just created has the current time already; Ansible reports the creation as the change.
  if (created && now && t.atime.kind !== 'at' && t.mtime.kind !== 'at') return [];
  const op: { kind: 'times'; atime?: 'now' | string; mtime?: 'now' | string } = { kind: 'times' };
  const parts: string[] = [];
  const one = (spec: TimeSpec, have: string | undefined, want: string | undefined, name: string): 'now' | string | undefined => {
    if (spec.kind === 'preserve') return undefined;
    if (spec.kind === 'now') {
      parts.push(`${name}: now`);
      return 'now';
    }
    if (!created && have !== undefined && want !== undefined && have === `${want}.000000000`) return undefined;
    parts.push(`${name}${have ? ` ${have.replace(/\.0+$/, '')}` : ''} → ${spec.local}`);
    return spec.local;
  };
  op.atime = one(t.atime, s.atime, s.wantAtime, 'access time');
  op.mtime = one(t.mtime, s.mtime, s.wantMtime, 'modification time');
  if (op.atime === undefined && op.mtime === undefined) return [];
  // "now" is a new time on every run (Ansible reports changed every time): a one-shot action.
  return [{ summary: `${parts.join(', ')} of ${path}`, op, ...(now ? { action: true } : {}) }];
}

export function filePlan(p: FileParams, st: FileState): Planned<FileOp>[] {
  const state = p.state ?? 'file';
  const { path, stat: s } = followed(p, st);
  const t = timesOf(p);
  const times = (created: boolean) => planTimes(path, t, st, created);
  if (state === 'absent') return s.exists ? [{ summary: `remove ${s.type} ${path}`, op: { kind: 'remove' } }] : [];
  return [...fileStatePlan(p, path, s, st), ...(state === 'link' ? [] : times(!s.exists))];
}

/** state: link with follow (Ansible's default): owner, group and mode are the target's, set when it exists (Ansible skips them otherwise, with a warning). */
const linkFollows = (p: FileParams) => p.state === 'link' && p.follow !== false;

function fileStatePlan(p: FileParams, path: string, s: StatState, st: FileState): Planned<FileOp>[] {
  const state = p.state ?? 'file';
  switch (state) {
    case 'absent':
      return s.exists ? [{ summary: `remove ${s.type} ${path}`, op: { kind: 'remove' } }] : [];
    case 'directory':
      if (!s.exists) return [{ summary: `create directory ${path}${describeAttrs(p)}`, op: { kind: 'mkdir' } }];
      if (s.type !== 'directory') throw new Error(`${path} exists as a ${s.type}, not a directory`);
      return planAttrs(path, p, s);
    case 'file':
      if (!s.exists)
        throw new Error(`${path} does not exist (state: file only manages attributes; use touch, copy or template to create it)`);
      if (s.type !== 'file') throw new Error(`${path} is a ${s.type}, not a file`);
      return planAttrs(path, p, s);
    case 'touch':
      if (!s.exists) return [{ summary: `create empty file ${path}${describeAttrs(p)}`, op: { kind: 'touch' } }];
      return planAttrs(path, p, s);
    case 'link': {
      const src = p.src;
      if (!src) throw new Error('state: link needs src');
      const target: Planned<FileOp>[] =
        linkFollows(p) && st.linkTarget && st.linkTargetStat?.exists
          ? planAttrs(st.linkTarget, { owner: p.owner, group: p.group, mode: p.mode }, st.linkTargetStat)
          : [];
      if (!s.exists) return [{ summary: `create link ${path} → ${src}`, op: { kind: 'link', target: src } }, ...target];
      if (s.type !== 'link') {
        if (!p.force) throw new Error(`${path} exists as a ${s.type}; set force: true to replace it with a link`);
        return [
          { summary: `replace ${s.type} ${path} with link → ${src}`, op: { kind: 'link', target: src, over: s.type ?? 'other' } },
          ...target,
        ];
      }
      const out: Planned<FileOp>[] =
        s.target === src
          ? []
          : [{ summary: `retarget link ${path}: ${s.target} → ${src}`, op: { kind: 'link', target: src, over: 'link' } }];
      // follow: false: the link's own owner and group (a link has no mode of its own on Linux).
      return [...out, ...(linkFollows(p) ? target : planAttrs(path, { owner: p.owner, group: p.group }, s))];
    }
  }
}

/** Shell setting the times of an op (`touch -c`: never creates). */
function timesLines(path: string, op: { atime?: string; mtime?: string }): string[] {
  const { atime, mtime } = op;
  if (atime === 'now' && mtime === 'now') return [`touch -c -- ${path}`];
  const out: string[] = [];
  for (const [flag, v] of [
    ['-a', atime],
    ['-m', mtime],
  ] as const) {
    if (v === 'now') out.push(`touch -c ${flag} -- ${path}`);
    else if (v !== undefined) out.push(`touch -c ${flag} -d ${q(v)} -- ${path}`);
  }
  return out;
}

export function fileApply(p: FileParams, ops: FileOp[], target = p.path, linkTarget?: string): string {
  const path = q(target);
  // follow: false: a link's owner and group are the link's own, and it has no mode of its own.
  // follow (default): the attributes are its target's (planned against the target's stat).
  const follows = linkFollows(p);
  const noDeref = p.state === 'link' && !follows;
  const wanted = noDeref ? { owner: p.owner, group: p.group } : p;
  const lines = ['set -e'];
  let attrs = follows ? (linkTarget ? applyAttrOps(q(linkTarget), ops) : '') : applyAttrOps(path, ops, { noDeref });
  const created = () => {
    if (!follows) attrs = applyAttrs(path, wanted, undefined, { noDeref });
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'remove':
        lines.push(`rm -rf -- ${path}`);
        break;
      case 'mkdir': {
        // As Ansible's file (ensure_directory): every directory created on the way, the missing
        // parents too, gets the task's owner, group and mode (not root and the umask as mkdir -p).
        const each = applyAttrs('"$kiln_d"', wanted, undefined, { noDeref }).split('\n').filter(Boolean);
        lines.push(
          `kiln_p=${path}; while [ "\${kiln_p%/}" != "$kiln_p" ]; do kiln_p=\${kiln_p%/}; done`,
          `set --; while [ -n "$kiln_p" ] && [ ! -e "$kiln_p" ] && [ ! -L "$kiln_p" ]; do set -- "$kiln_p" "$@"; kiln_p=\${kiln_p%/*}; done`,
          `for kiln_d in "$@"; do mkdir -- "$kiln_d"${each.map((l) => `; ${l}`).join('')}; done`,
        );
        break;
      }
      case 'touch':
        lines.push(`: > ${path}`);
        created();
        break;
      case 'link':
        if (op.over === 'directory') lines.push(`rm -rf -- ${path}`);
        // ln -sfn on a temp name, then rename: the link is replaced atomically.
        lines.push(`tmp=${q(`${p.path}.kiln-tmp`)}; ln -sfn ${q(op.target)} "$tmp"; mv -Tf "$tmp" ${path}`);
        if (op.over !== 'link') created();
        break;
      case 'owner':
      case 'group':
      case 'mode':
      case 'times':
        break;
    }
  }
  lines.push(attrs);
  // Times last: setting owner or mode does not change them, creating the path does.
  for (const op of ops) if (op.kind === 'times') lines.push(...timesLines(path, op));
  return lines.filter(Boolean).join('\n');
}

export function fileProbe(p: FileParams): string {
  const lines = [`kiln_stat ${q(p.path)}`];
  const t = timesOf(p);
  const follow = p.follow !== false && ['file', 'directory', 'touch'].includes(p.state ?? 'file');
  // The target of a symlink that is followed: its real path and its stat, prefixed with r_.
  if (follow) lines.push(`kiln_follow ${q(p.path)}`);
  // state: link, followed, with attributes: where the link leads once it points at src (src is relative to the link's directory).
  if (linkFollows(p) && p.src && (p.owner || p.group || p.mode !== undefined))
    lines.push(
      `lt=$(cd "$(dirname -- ${q(p.path)})" 2>/dev/null && readlink -f -- ${q(p.src)}) && [ -n "$lt" ] && { printf 'lt_b64=%s\\n' "$(printf %s "$lt" | base64 -w0)"; kiln_stat "$lt" | sed 's/^/t_/'; }`,
    );
  if (t.atime.kind !== 'preserve' || t.mtime.kind !== 'preserve') {
    lines.push(
      `t=${q(p.path)}; ${follow ? '[ -L "$t" ] && t=$(readlink -f -- "$t"); ' : ''}[ -e "$t" ] && stat -L -c 'atime=%.9X' -- "$t" && stat -L -c 'mtime=%.9Y' -- "$t"`,
    );
    if (t.atime.kind === 'at') lines.push(`echo "want_atime=$(date -d ${q(t.atime.local)} +%s)"`);
    if (t.mtime.kind === 'at') lines.push(`echo "want_mtime=$(date -d ${q(t.mtime.local)} +%s)"`);
  }
  lines.push('true');
  return lines.join('\n');
}

export function fileParse(out: { stdout: string }): FileState {
  const kv = parseKv(out.stdout);
  const r = Object.fromEntries(
    Object.entries(kv)
      .filter(([k]) => k.startsWith('r_'))
      .map(([k, v]) => [k.slice(2), v]),
  );
  return {
    ...statFromKv(kv),
    ...(kv.real_b64 !== undefined ? { real: fromB64(kv.real_b64), realStat: statFromKv(r) } : {}),
    ...(kv.lt_b64 !== undefined
      ? {
          linkTarget: fromB64(kv.lt_b64),
          linkTargetStat: statFromKv(
            Object.fromEntries(
              Object.entries(kv)
                .filter(([k]) => k.startsWith('t_'))
                .map(([k, v]) => [k.slice(2), v]),
            ),
          ),
        }
      : {}),
    ...(kv.atime ? { atime: kv.atime, mtime: kv.mtime } : {}),
    ...(kv.want_atime ? { wantAtime: kv.want_atime } : {}),
    ...(kv.want_mtime ? { wantMtime: kv.want_mtime } : {}),
  };
}

/**
 * The probe reads the path (a link's target too, and the names of owner and group); the apply
 * writes the path — everything below it when it removes it or replaces it (force, link),
 * and a symlink's target when it follows one (then: anything, it is not known before the probe).
 */
function fileFootprint(p: FileParams): Footprint {
  const own = pathResource(p.path);
  const reads = [own, ...ACCOUNTS];
  if (p.src !== undefined) reads.push(p.src.startsWith('/') ? pathResource(p.src) : pathResource(`${parentPath(p.path)}/${p.src}`));
  const tree = p.state === 'absent' || p.force === true || p.state === 'link';
  const follows = p.follow !== false && p.state !== 'link' && p.state !== 'absent' && p.state !== 'directory';
  return { reads, writes: [follows ? { kind: 'anything' } : pathResource(p.path, tree)], exitStatusFails: true };
}

export default defineModule<FileParams, FileState, FileOp>({
  name: 'file',
  description: 'Manage a path: directory, file attributes, symlink, touch or absent; access and modification times.',
  schema,
  prepare(p) {
    const t = timesOf(p);
    if (p.state === undefined && p.follow === false)
      throw new Error(
        'follow: false needs a state: without one, Ansible takes the current state of the path (a symlink is then managed as state: link), which Kiln does not guess',
      );
    if (p.state === 'link' && (t.atime.kind !== 'preserve' || t.mtime.kind !== 'preserve'))
      throw new Error(
        "access_time/modification_time with state: link are not supported by Kiln (Ansible sets them on the link's target); set them with a task of state: file on the target",
      );
    return undefined;
  },
  probe: (p) => fileProbe(p),
  footprint: (p) => fileFootprint(p),
  parse: (out) => fileParse(out),
  plan: (p, _prep, s) => filePlan(p, s),
  apply: (p, _prep, s, ops) => fileApply(p, ops, followed(p, s).path, s.linkTarget),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ path: p.path, ...s }),
});
