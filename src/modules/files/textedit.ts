/**
 * The whole-file edits blockinfile, replace, ini_file and pam_limits share with lineinfile: the
 * probe returns the file (symlinks followed, base64, up to MAX_BYTES) with its SHA-256 and
 * attributes; the module's pure `edit` computes the new content on the controller, exactly as
 * Ansible's module would (ported line by line, Python's `re` through pyre); apply writes the whole
 * new content atomically (`atomicWrite`: temp file in the same directory, owner and mode kept,
 * optional validate, optional backup, rename), refused when the file changed since it was probed.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { q } from '../../sh/quote.ts';
import type { ApplyResult, ExecResult, ModuleContext, Planned } from '../contract.ts';
import { type AttrOp, type Attrs, applyAttrOps, describeAttrs, newFileAttrs, planAttrs } from './attrs.ts';
import { contentDiff } from './content.ts';
import { type LineinfileState, lineinfileParse, lineinfileProbe, MAX_BYTES } from './lineinfile.ts';

/** Schema properties the text-editing modules share: Ansible's backup (and its name) and validate. */
export const BACKUP_PROPERTY = {
  backup: {
    type: 'boolean',
    description:
      'keep a copy of the file before changing it, named as Ansible names it (path.PID.YYYY-MM-DD@HH:MM:SS~), its path registered as backup_file',
  },
} as const;

export const VALIDATE_PROPERTY = {
  validate: {
    type: 'string',
    pattern: '%s',
    description: 'command run on the temp file before it replaces path; %s is the temp file path',
  },
} as const;

export type EditState = LineinfileState & {
  /** The path itself is a symlink (its target is edited by blockinfile and replace). */
  isLink?: boolean;
};

/** Write the whole new content (guarded by what the file was), set attributes, or fail: the file is missing. */
export type EditOp = AttrOp | { kind: 'write'; content: string | Buffer; expect: { sha256: string } | 'absent' } | { kind: 'fail-missing' };

/** The probe of a whole-file edit (the file at `path`, symlinks followed). */
export function editProbe(path: string): string {
  return `${lineinfileProbe({ path })}\n[ -L ${q(path)} ] && echo is_link=1\ntrue`;
}

export function editParse(out: ExecResult, path: string): EditState {
  return { ...lineinfileParse(out, { path }), isLink: /^is_link=1$/m.test(out.stdout) };
}

/** The host file's bytes (undefined when it does not exist); refuses what a text edit cannot read. */
export function editBytes(path: string, s: EditState, module: string): Buffer | undefined {
  if (!s.stat.exists) return undefined;
  if (s.stat.type === 'directory') throw new Error(`Path ${path} is a directory !`);
  if (s.stat.type !== 'file') throw new Error(`${path} is a ${s.stat.type}, not a regular file`);
  if (s.tooBig) throw new Error(`${path} is larger than ${MAX_BYTES} bytes: ${module} reads whole files; use template or copy`);
  if (s.content === undefined) return Buffer.alloc(0);
  return typeof s.content === 'string' ? Buffer.from(s.content, 'utf8') : s.content;
}

/**
 * community.general 6's ini_file and pam_limits write with atomic_move to the path itself: a
 * symlink there is replaced by a regular file (the link is lost). Kiln refuses it loudly instead.
 */
export function refuseSymlink(path: string, s: EditState, module: string): void {
  if (s.isLink)
    throw new Error(
      `${path} is a symlink (to ${s.real}): Ansible's ${module} would replace the link by a regular file; Kiln refuses: give the target's path`,
    );
}

/** UTF-8 text of a file's bytes, or a clear refusal (Ansible's modules read text; Kiln would change bytes it does not edit). */
export function utf8Text(path: string, bytes: Buffer, module: string): string {
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes))
    throw new Error(`${path} is not UTF-8 text: ${module} edits text, and would change bytes it does not edit; use copy or template`);
  return text;
}

export interface EditPlanInput {
  /** The path as the task gives it. */
  path: string;
  state: EditState;
  /** The content the file gets, or undefined when the content does not change. */
  after: string | Buffer | undefined;
  /** The content the file has ('' when it does not exist). */
  before: string | Buffer;
  /** Summary of the content change ("Block inserted"). */
  message: string;
  /** The file does not exist and the module fails (create: false). */
  failMissing?: string;
  attrs: Attrs;
}

/** The ops of a whole-file edit: the write (with its unified diff), then the attributes that differ. */
export function editPlan(i: EditPlanInput, ctx: ModuleContext): Planned<EditOp>[] {
  const s = i.state;
  const via = s.real !== i.path ? ` (via symlink to ${s.real})` : '';
  if (!s.stat.exists && i.failMissing !== undefined) {
    // Never a plan failure: in a dry run an earlier task may only have predicted the file.
    return [
      {
        summary: `${i.failMissing}${ctx.check ? ' (unless an earlier task creates it)' : ''}`,
        unpredictable: true,
        op: { kind: 'fail-missing' },
      },
    ];
  }
  if (!s.stat.exists) {
    if (i.after === undefined) return [];
    return [
      {
        summary: `create file ${i.path}${describeAttrs(i.attrs)}: ${i.message}${s.parent ? '' : ' (its directory does not exist yet)'}`,
        diff: ctx.diff ? contentDiff(i.path, '', i.after, false) : undefined,
        op: { kind: 'write', content: i.after, expect: 'absent' },
      },
    ];
  }
  const out: Planned<EditOp>[] = [];
  if (i.after !== undefined) {
    out.push({
      summary: `${i.path}${via}: ${i.message}`,
      diff: ctx.diff ? contentDiff(i.path, i.before, i.after, false) : undefined,
      // Planned from this exact content: the write is refused if the file changed since the probe.
      op: { kind: 'write', content: i.after, expect: { sha256: s.sha256 ?? '' } },
    });
  }
  return [...out, ...planAttrs(i.path, i.attrs, s.stat)];
}

export interface EditApplyInput {
  path: string;
  state: EditState;
  ops: EditOp[];
  attrs: Attrs;
  validate?: string;
  backup?: boolean;
  /** The directory of a new file is created (blockinfile and ini_file do, as Ansible's modules). */
  createParent?: boolean;
  failMissing?: string;
}

export function editApply(i: EditApplyInput): string {
  const write = i.ops.find((o) => o.kind === 'write');
  if (write) {
    // The whole file is replaced: the task's attributes go on the temp file, the attribute ops are included.
    const lines = atomicWrite({
      dest: i.state.real,
      bytes: write.content,
      expect: write.expect,
      parent: i.createParent ? 'create' : 'require',
      ...newFileAttrs(i.attrs, write.expect !== 'absent'),
      validate: i.validate,
    });
    if (i.backup) {
      // Ansible's backup_local name (path.PID.YYYY-MM-DD@HH:MM:SS~), made after validation, just
      // before the rename, and reported for `register` (backup_file).
      const at = lines.findIndex((l) => l.startsWith('mv -f -- "$tmp" "$dest"'));
      if (at < 0) throw new Error('atomicWrite: the rename line was not found');
      lines.splice(
        at,
        0,
        'if [ -f "$dest" ]; then backup="$dest.$$.$(date +%Y-%m-%d@%H:%M:%S)~"; cp -p -- "$dest" "$backup"; printf \'backup_file=%s\\n\' "$backup"; fi',
      );
    }
    return ['set -e', ...lines].join('\n');
  }
  const lines = ['set -e', `dest=${q(i.state.real)}`];
  if (i.ops.some((o) => o.kind === 'fail-missing')) {
    lines.push(`[ -e "$dest" ] || { echo ${q(i.failMissing ?? `${i.path} does not exist`)} >&2; exit 3; }`);
    lines.push(`echo ${q(`${i.path} appeared after it was probed; run again`)} >&2; exit 3`);
    return lines.join('\n');
  }
  lines.push(applyAttrOps('"$dest"', i.ops));
  return lines.filter(Boolean).join('\n');
}

/** What `register` gets from the apply: Ansible's backup_file when a backup was made. */
export function editInterpret(out: ExecResult): ApplyResult {
  const m = /^backup_file=(.*)$/m.exec(out.stdout);
  return m ? { result: { backup_file: m[1] } } : {};
}
