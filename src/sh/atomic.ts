/**
 * The one atomic file write every module uses: the new bytes go to a temp file in the
 * destination's directory, get their owner and mode, are validated (`validate: "nginx -t -c %s"`),
 * and only then are renamed over the destination, so a reader sees the old file or the new one,
 * never a half-written or invalid one. Ansible's `atomic_move` (module_utils/basic.py) in sh.
 *
 * The lines use the variables `dest`, `dir` and `tmp`; the script they go into runs `set -e`.
 * Every failure exits 3 with a message on stderr, leaving the destination as it was.
 */
import { writeBytes } from './bytes.ts';
import { q } from './quote.ts';

export interface AtomicWrite {
  /** Destination path (quoted here). */
  dest: string;
  /** The new content, any bytes. Exactly one of `bytes` and `fill`. */
  bytes?: string | Buffer;
  /** Or shell that writes the new content into "$tmp" (a download); it may `exit` early. */
  fill?: string;
  /** The destination's directory must exist (`require`, the default) or is created (`create`). */
  parent?: 'require' | 'create';
  /** Refuse to replace a directory at `dest` (default true). */
  refuseDirectory?: boolean;
  /**
   * What the destination was when the change was planned: a file with this SHA-256, or absent.
   * The write is refused when it changed since (someone else wrote it): plan again.
   */
  expect?: { sha256: string } | 'absent';
  /** Copy owner and mode from the existing destination (set this when it exists as a file). */
  keepAttrs?: boolean;
  /** Owner, group and mode (4 octal digits) for the new file; applied after `keepAttrs`. */
  attrs?: { owner?: string; group?: string; mode?: string };
  /** Command checking the temp file before the rename; `%s` is its path. */
  validate?: string;
  /** Keep a timestamped copy (`dest.YYYYmmddHHMMSS~`) of the file being replaced. */
  backup?: boolean;
}

/** Shell lines for one atomic write (see the file comment). */
export function atomicWrite(w: AtomicWrite): string[] {
  if ((w.bytes === undefined) === (w.fill === undefined)) throw new Error('atomicWrite: give exactly one of bytes and fill');
  const lines = [`dest=${q(w.dest)}`, 'dir=$(dirname -- "$dest")'];
  lines.push(
    w.parent === 'create' ? 'mkdir -p -- "$dir"' : `[ -d "$dir" ] || { echo "parent directory $dir does not exist" >&2; exit 3; }`,
  );
  if (w.refuseDirectory !== false) lines.push(`[ ! -d "$dest" ] || { echo "$dest is a directory; refusing to replace it" >&2; exit 3; }`);
  if (w.expect === 'absent') lines.push(`[ ! -e "$dest" ] || { echo "$dest appeared since it was read; run again" >&2; exit 3; }`);
  else if (w.expect) {
    lines.push(
      `[ "$(sha256sum < "$dest" | cut -d' ' -f1)" = ${q(w.expect.sha256)} ] || { echo "$dest changed since it was read; run again" >&2; exit 3; }`,
    );
  }
  // mktemp creates the file 0600 before a byte of the content is written.
  lines.push('tmp=$(mktemp "$dir/.kiln.$(basename -- "$dest").XXXXXX")', `trap 'rm -f "$tmp"' EXIT`);
  lines.push(w.bytes !== undefined ? writeBytes('"$tmp"', w.bytes).trimEnd() : w.fill!);
  if (w.keepAttrs) lines.push('chown --reference="$dest" "$tmp"', 'chmod --reference="$dest" "$tmp"');
  const { owner, group, mode } = w.attrs ?? {};
  if (owner || group) lines.push(`chown ${q(`${owner ?? ''}${group ? `:${group}` : ''}`)} "$tmp"`);
  if (mode) lines.push(`chmod ${mode} "$tmp"`);
  if (w.validate) {
    const cmd = w.validate.split('%s').join('"$tmp"');
    lines.push(
      `if ! out=$( ${cmd} 2>&1 </dev/null ); then echo ${q(`validation failed: ${w.validate}`)} >&2; printf '%s\\n' "$out" >&2; exit 3; fi`,
    );
  }
  if (w.backup) lines.push('[ ! -f "$dest" ] || cp -p "$dest" "$dest.$(date +%Y%m%d%H%M%S)~"');
  lines.push('mv -f -- "$tmp" "$dest"', 'trap - EXIT');
  return lines;
}
