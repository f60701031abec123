/**
 * A file with known content: the shared probe/plan/apply of `copy` and `template`.
 *
 * Writes go to a temp file in the destination's directory, get owner and mode, are checked by
 * the optional `validate` command (`%s` = the temp file), and only then are renamed into
 * place, so a failed validation or a dropped connection never leaves a half-written file.
 */
import { createTwoFilesPatch } from 'diff';
import { containsSecret } from '../../core/secret/secret.ts';
import { type Attrs, applyAttrs, attrSchema, describeAttrs, normMode, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { fromB64, sha256, writeBytes } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import type { Change, ExecResult, ModuleContext } from '../contract.ts';

export const DIFF_MAX_BYTES = 256 * 1024;

export interface ContentParams extends Attrs {
  dest: string;
  validate?: string;
  backup?: boolean;
  force?: boolean;
  /** Resolved on the controller by prepare. */
  _content?: string;
  _sensitive?: boolean;
}

export interface ContentState {
  stat: StatState;
  sha256?: string;
  current?: string; // present when the content differs and the file is small enough to diff
}

export const contentSchemaProps = {
  dest: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path of the file on the host' },
  ...attrSchema,
  validate: {
    type: 'string',
    pattern: '%s',
    description: 'command run on the temp file before it replaces dest; %s is the temp file path',
  },
  backup: { type: 'boolean', description: 'keep a timestamped copy of the old file' },
  force: { type: 'boolean', description: 'replace the file when content differs (default true); false = only create' },
} as const;

export function contentProbe(p: ContentParams, ctx: ModuleContext): string {
  const want = sha256(p._content ?? '');
  const lines = [
    `kiln_stat ${q(p.dest)}`,
    `kiln_content ${q(p.dest)} ${want} ${ctx.diff ? DIFF_MAX_BYTES : 0}`,
    `[ -d "$(dirname ${q(p.dest)})" ] && echo parent=1 || echo parent=0`,
  ];
  const validator = validatorProgram(p.validate);
  if (validator) lines.push(`command -v ${q(validator)} >/dev/null 2>&1 && echo validator=1 || echo validator=0`);
  return lines.join('\n');
}

/** The program a `validate` command runs ("nft" for "nft -c -f %s"). */
function validatorProgram(validate: string | undefined): string | undefined {
  const first = validate?.trim().split(/\s+/)[0];
  return first && /^[\w./+-]+$/.test(first) ? first : undefined;
}

export function contentParse(out: ExecResult): ContentState & { parent: boolean; validator: boolean } {
  const kv = parseKv(out.stdout);
  return {
    stat: statFromKv(kv),
    sha256: kv.sha256,
    current: kv.content_b64 !== undefined ? fromB64(kv.content_b64) : undefined,
    parent: kv.parent === '1',
    validator: kv.validator !== '0',
  };
}

function isBinary(s: string): boolean {
  return s.includes('\u0000');
}

export function contentDiff(dest: string, before: string | undefined, after: string, sensitive: boolean): string | undefined {
  if (sensitive || containsSecret(after) || (before !== undefined && containsSecret(before))) {
    return `(diff of ${dest} hidden: the content contains secrets)\n`;
  }
  if (before === undefined) before = '';
  if (isBinary(before) || isBinary(after)) return `Binary content of ${dest} differs\n`;
  return createTwoFilesPatch(`${dest} (host)`, `${dest} (planned)`, before, after, '', '', { context: 3 });
}

export function contentPlan(p: ContentParams, s: ContentState & { parent: boolean; validator?: boolean }, ctx: ModuleContext): Change[] {
  const content = p._content ?? '';
  const want = sha256(content);
  if (!s.stat.exists) {
    return [
      {
        summary: `create file ${p.dest}${describeAttrs(p)}, ${Buffer.byteLength(content)} bytes`,
        diff: ctx.diff ? contentDiff(p.dest, '', content, !!p._sensitive) : undefined,
        // Dry run with no parent directory yet, or without the program that validates this file:
        // an earlier task (a package) creates them, maybe with its own version of this file
        // (nftables ships /etc/nftables.conf), so "create" may really be "update".
        ...(ctx.check && (!s.parent || s.validator === false) ? { unpredictable: true } : {}),
      },
    ];
  }
  if (s.stat.type !== 'file') {
    return [{ summary: `replace ${s.stat.type} ${p.dest} with a file` }];
  }
  const out: Change[] = [];
  if (s.sha256 !== want && p.force !== false) {
    let diff: string | undefined;
    if (ctx.diff) {
      diff =
        s.current !== undefined
          ? contentDiff(p.dest, s.current, content, !!p._sensitive)
          : `(diff of ${p.dest} not shown: the host's file is larger than ${DIFF_MAX_BYTES} bytes)\n`;
    }
    out.push({ summary: `update content of ${p.dest}`, diff });
  }
  return [...out, ...planAttrs(p.dest, p, s.stat)];
}

export function contentApply(p: ContentParams, s: ContentState & { parent: boolean }, changes: Change[]): string {
  const contentChanged = !s.stat.exists || s.stat.type !== 'file' || changes.some((c) => c.summary.startsWith('update content'));
  const dest = q(p.dest);
  if (!contentChanged) return `set -e\n${applyAttrs(dest, p, s.stat)}`;
  const lines = ['set -e', `dest=${dest}`, 'dir=$(dirname "$dest")'];
  lines.push(`[ -d "$dir" ] || { echo "parent directory $dir does not exist" >&2; exit 3; }`);
  if (s.stat.exists && s.stat.type === 'directory') lines.push(`echo "$dest is a directory; refusing to replace it" >&2; exit 3`);
  lines.push(`tmp=$(mktemp "$dir/.kiln.$(basename "$dest").XXXXXX")`, `trap 'rm -f "$tmp"' EXIT`);
  lines.push(writeBytes('"$tmp"', p._content ?? ''));
  // Keep the existing file's owner and mode unless the task sets them.
  if (s.stat.exists && s.stat.type === 'file') {
    lines.push('chown --reference="$dest" "$tmp"', 'chmod --reference="$dest" "$tmp"');
  } else if (!normMode(p.mode)) {
    lines.push('chmod 0644 "$tmp"');
  }
  const attrs = applyAttrs('"$tmp"', p);
  if (attrs) lines.push(attrs);
  if (p.validate) {
    const cmd = p.validate.split('%s').join('"$tmp"');
    lines.push(`if ! out=$( ${cmd} 2>&1 ); then echo "validation failed: ${p.validate.replace(/["`$\\]/g, '\\$&')}" >&2; printf '%s\\n' "$out" >&2; exit 3; fi`);
  }
  if (p.backup && s.stat.exists) lines.push('cp -p "$dest" "$dest.$(date +%Y%m%d%H%M%S)~"');
  lines.push('mv -f "$tmp" "$dest"', 'trap - EXIT');
  return lines.join('\n');
}
