/**
 * What apt_repository and deb822_repository share: reading apt's source files in the probe (path,
 * SHA-256 and content of each), writing or deleting them, and Ansible's cache update after a
 * change: `apt-get update` retried with exponential backoff (update_cache_retries,
 * update_cache_retry_max_delay), and when it still fails, every source file put back as it was
 * before the task (Ansible's revert_sources_list) and the task failed.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { q } from '../../sh/quote.ts';

export const SOURCES_LIST = '/etc/apt/sources.list';
export const SOURCES_DIR = '/etc/apt/sources.list.d';
const MAX_BYTES = 1024 * 1024;

export interface SourceFile {
  path: string;
  sha256: string;
  content: string;
}

/** Probe lines printing `srcfile=<b64 path> <sha256> <b64 content>` for each regular file of `paths` (globs allowed, unquoted). */
export function sourcesProbe(globs: string[]): string {
  return [
    `for f in ${globs.join(' ')}; do`,
    '  [ -f "$f" ] || continue',
    `  [ "$(stat -c %s -- "$f")" -le ${MAX_BYTES} ] || { echo "$f is larger than ${MAX_BYTES} bytes" >&2; exit 3; }`,
    `  printf 'srcfile=%s %s %s\\n' "$(printf %s "$f" | base64 -w0)" "$(sha256sum < "$f" | cut -d' ' -f1)" "$(base64 -w0 < "$f")"`,
    'done',
  ].join('\n');
}

export function sourcesParse(stdout: string): SourceFile[] {
  const out: SourceFile[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('srcfile=')) continue;
    const [p, sha, c = ''] = line.slice('srcfile='.length).split(' ');
    out.push({ path: fromB64(p), sha256: sha, content: fromB64(c) });
  }
  return out;
}

/** A source file to write (`expect`: its probed SHA-256, absent for a new file) or delete. */
export type SourceFileOp =
  | { kind: 'write'; path: string; content: string; expect?: string; mode?: string }
  | { kind: 'delete'; path: string; expect: string };

export interface CacheUpdate {
  retries: number;
  maxDelay: number;
}

/**
 * Shell for the file ops, then (with `update`) the cache update; if that fails after the retries,
 * the files are restored and the script exits 1 with Ansible's message.
 */
export function sourcesApply(ops: readonly SourceFileOp[], update: CacheUpdate | undefined, extra: string[] = []): string {
  const lines = ['set -e', 'kbk=$(mktemp -d /tmp/kiln-apt-sources.XXXXXX)'];
  const restore: string[] = [];
  ops.forEach((op, i) => {
    lines.push(`if [ -e ${q(op.path)} ]; then cp -p -- ${q(op.path)} "$kbk/${i}"; fi`);
    restore.push(`if [ -e "$kbk/${i}" ]; then mv -f -- "$kbk/${i}" ${q(op.path)}; else rm -f -- ${q(op.path)}; fi`);
  });
  for (const op of ops) {
    if (op.kind === 'delete') {
      lines.push(
        `[ "$(sha256sum < ${q(op.path)} | cut -d' ' -f1)" = ${q(op.expect)} ] || { echo ${q(`${op.path} changed since it was read; run again`)} >&2; exit 3; }`,
        `rm -f -- ${q(op.path)}`,
      );
    } else {
      // A new file is 0644 root:root (Ansible: umask 022); an existing one keeps its owner and mode; `mode` wins.
      lines.push(
        ...atomicWrite({
          dest: op.path,
          bytes: op.content,
          parent: 'create',
          expect: op.expect !== undefined ? { sha256: op.expect } : 'absent',
          keepAttrs: op.expect !== undefined,
          attrs: op.expect !== undefined ? { mode: op.mode } : { owner: 'root', group: 'root', mode: op.mode ?? '0644' },
        }),
      );
    }
  }
  lines.push(...extra);
  if (update) {
    lines.push(
      'kok=0; kerr=""; i=0',
      `while [ "$i" -lt ${update.retries} ]; do`,
      '  if kerr=$(DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120 --error-on=any update 2>&1 </dev/null); then kok=1; break; fi',
      '  i=$((i + 1)); [ "$i" -lt ' + update.retries + ' ] || break',
      `  d=$((1 << (i - 1))); [ "$d" -le ${update.maxDelay} ] || d=${update.maxDelay}`,
      '  sleep "$d.$(od -An -N2 -tu2 /dev/urandom | tr -d " " | cut -c1-3)"',
      'done',
      'if [ "$kok" != 1 ]; then',
      ...restore.map((l) => `  ${l}`),
      '  rm -rf -- "$kbk"',
      `  printf 'Failed to update apt cache: %s\\n' "$(printf '%s\\n' "$kerr" | grep -E '^(E|W):' | tail -n 3 | tr '\\n' ' ')" >&2`,
      '  exit 1',
      'fi',
      'mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp',
    );
  }
  lines.push('rm -rf -- "$kbk"');
  return lines.join('\n');
}
