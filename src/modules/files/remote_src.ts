/**
 * `copy` with `remote_src: true`: a file that is already on the host copied to `dest` (Ansible's
 * copy module with remote_src, for one file). The SHA-256 of the two files decides the change,
 * as Ansible's checksums do; a `dest` that is a directory receives `dest/<basename of src>`; a
 * new file is 0644 and an existing one keeps its owner and mode (Ansible's atomic_move), the
 * task's attributes win; the times are the source's (Ansible's copystat). The copy goes through
 * `atomicWrite` (temp file beside dest, validate, rename), and the bytes copied are checked
 * against the checksum planned from: a source that changed since the probe fails the task.
 *
 * A source that is missing when probed is a planned copy whose outcome cannot be known (an
 * earlier task of the same run, an unarchive, usually creates it): marked unpredictable, and the
 * apply fails with Ansible's message if it is still missing. A directory source (Ansible's
 * recursive remote copy) is refused by name.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64, fromB64Bytes } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import type { ExecResult, ModuleContext, Planned } from '../contract.ts';
import { type AttrOp, applyAttrOps, describeAttrs, newFileAttrs, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { type ContentParams, contentDiff, DIFF_MAX_BYTES } from './content.ts';

export interface RemoteState {
  kind: 'remote';
  src: { type: 'file' | 'directory' | 'none' | 'other'; sha256?: string; content?: Buffer };
  /** The destination file: dest, or dest/<basename of src> when dest is a directory. */
  dest: string;
  stat: StatState;
  sha256?: string;
  current?: Buffer;
  parent: boolean;
}

export type RemoteOp = AttrOp | { kind: 'copy'; sha256?: string; over: 'nothing' | NonNullable<StatState['type']> };

export function remoteProbe(p: ContentParams & { src?: string }, ctx: ModuleContext): string {
  const max = ctx.diff ? DIFF_MAX_BYTES : 0;
  const small = (v: string) =>
    `if [ ${max} -gt 0 ] && [ "$(stat -c %s -- "${v}")" -le ${max} ]; then printf '%s' "$(base64 -w0 < "${v}")"; fi`;
  return [
    `src=${q(p.src ?? '')}; d=${q(p.dest)}`,
    // Ansible: a dest that is a directory receives the source under its own name.
    '[ -d "$d" ] && [ ! -L "$d" ] && d="${d%/}/$(basename -- "$src")"',
    'printf \'dest_b64=%s\\n\' "$(printf %s "$d" | base64 -w0)"',
    'if [ -d "$src" ]; then echo src_type=directory',
    'elif [ -f "$src" ]; then echo src_type=file; echo "src_sha256=$(sha256sum < "$src" | cut -d" " -f1)"',
    `  printf 'src_b64=%s\\n' "$(${small('$src')})"`,
    'elif [ -e "$src" ]; then echo src_type=other',
    'else echo src_type=none; fi',
    'kiln_stat "$d"',
    'if [ -f "$d" ] && [ ! -L "$d" ]; then echo "sha256=$(sha256sum < "$d" | cut -d" " -f1)"',
    `  printf 'content_b64=%s\\n' "$(${small('$d')})"`,
    'fi',
    '[ -d "$(dirname -- "$d")" ] && echo parent=1 || echo parent=0',
  ].join('\n');
}

export function remoteParse(out: ExecResult, p: ContentParams): RemoteState {
  const kv = parseKv(out.stdout);
  const b64 = (v: string | undefined) => (v ? fromB64Bytes(v) : undefined);
  return {
    kind: 'remote',
    src: { type: (kv.src_type as RemoteState['src']['type']) ?? 'none', sha256: kv.src_sha256, content: b64(kv.src_b64) },
    dest: kv.dest_b64 ? fromB64(kv.dest_b64) : p.dest,
    stat: statFromKv(kv),
    sha256: kv.sha256,
    current: b64(kv.content_b64),
    parent: kv.parent === '1',
  };
}

export function remotePlan(p: ContentParams & { src?: string }, s: RemoteState, ctx: ModuleContext): Planned<RemoteOp>[] {
  const src = p.src ?? '';
  if (s.src.type === 'directory')
    throw new Error(
      `src ${src} is a directory: Kiln's copy with remote_src copies one file (Ansible's recursive remote copy is not supported)`,
    );
  if (s.src.type === 'other') throw new Error(`Cannot copy invalid source '${src}': not a file`);
  const diff = (before: Buffer | undefined) => {
    if (!ctx.diff) return undefined;
    if (s.src.content === undefined || (before === undefined && s.stat.exists))
      return `(diff of ${s.dest} not shown: a file is larger than ${DIFF_MAX_BYTES} bytes)\n`;
    return contentDiff(s.dest, before ?? '', s.src.content, false);
  };
  if (s.src.type === 'none') {
    // Never a plan failure: an earlier task (unarchive, get_url) of this run usually creates it.
    if (s.stat.exists && p.force === false) return [];
    return [
      {
        summary: `copy ${src} (on the host) to ${s.dest}: ${src} does not exist${ctx.check ? ' yet' : ''}`,
        unpredictable: true,
        op: { kind: 'copy', over: s.stat.exists ? (s.stat.type ?? 'other') : 'nothing' },
      },
    ];
  }
  if (!s.stat.exists) {
    return [
      {
        summary: `create file ${s.dest}${describeAttrs(p)} as a copy of ${src} (on the host)${s.parent ? '' : ' (its directory does not exist yet)'}`,
        diff: diff(undefined),
        ...(ctx.check && !s.parent ? { unpredictable: true } : {}),
        op: { kind: 'copy', sha256: s.src.sha256, over: 'nothing' },
      },
    ];
  }
  if (p.force === false) return s.stat.type === 'file' ? planAttrs(s.dest, p, s.stat) : [];
  if (s.stat.type !== 'file') {
    return [
      {
        summary: `replace ${s.stat.type} ${s.dest} with a copy of ${src} (on the host)`,
        op: { kind: 'copy', sha256: s.src.sha256, over: s.stat.type ?? 'other' },
      },
    ];
  }
  const out: Planned<RemoteOp>[] = [];
  if (s.sha256 !== s.src.sha256) {
    out.push({
      summary: `update content of ${s.dest} from ${src} (on the host)`,
      diff: diff(s.current),
      op: { kind: 'copy', sha256: s.src.sha256, over: 'file' },
    });
  }
  return [...out, ...planAttrs(s.dest, p, s.stat)];
}

export function remoteApply(p: ContentParams & { src?: string }, s: RemoteState, ops: RemoteOp[]): string {
  const copy = ops.find((o) => o.kind === 'copy');
  if (!copy) return `set -e\n${applyAttrOps(q(s.dest), ops)}`;
  const src = p.src ?? '';
  const fill = [
    `src=${q(src)}`,
    `[ -f "$src" ] || { echo ${q(`Source ${src} not found`)} >&2; exit 3; }`,
    'cp -- "$src" "$tmp"',
    'touch -r "$src" "$tmp"',
  ];
  // The bytes copied are the ones planned from (the source may have changed since the probe).
  if (copy.sha256)
    fill.push(
      `[ "$(sha256sum < "$tmp" | cut -d' ' -f1)" = ${q(copy.sha256)} ] || { echo "$src changed since it was read; run again" >&2; exit 3; }`,
    );
  const lines = atomicWrite({
    dest: s.dest,
    fill: fill.join('\n'),
    ...newFileAttrs(p, copy.over === 'file'),
    validate: p.validate,
    backup: p.backup,
  });
  return ['set -e', ...lines].join('\n');
}
