/**
 * What Ansible's `stat` module reports about one path (ansible-core 2.14, modules/stat.py), built
 * from one read-only shell function on the host and parsed on the controller. Shared by `stat`
 * and by `find`'s per-file entries (find's statinfo is the same format_output).
 *
 * The shell side (`KILN_STATX`) prints `key=value` lines: the raw `stat` fields (GNU coreutils),
 * os.access for the connecting user (`test -r/-w/-x`, which follow symlinks like os.access),
 * a symlink's realpath and target, the checksum, `file --mime-type --mime-encoding`'s and
 * `lsattr -vd`'s output (base64: a path may hold any byte). The parse side builds the same keys,
 * with the same types (timestamps are floats, `mode` is a 4-digit octal string), as Ansible.
 */
import { fromB64 } from '../../sh/bytes.ts';
import { PyFloat } from '../../template/jinja/value.ts';

export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface StatOptions {
  follow: boolean;
  /** The checksum algorithm, or undefined for no checksum. */
  checksum?: ChecksumAlgorithm;
  mime: boolean;
  attributes: boolean;
}

/**
 * `kiln_statx PATH FOLLOW ALGO MIME ATTR` (FOLLOW, MIME, ATTR: 0|1; ALGO: a checksum algorithm or
 * '-'). Prints `exists=0`, or `error_b64=` (lstat failed otherwise than ENOENT), or the fields.
 * Ansible runs `file` and `lsattr` on the path as given (a followed symlink is still reported as
 * inode/symlink by file), which this does too.
 */
export const KILN_STATX = String.raw`
kiln_statx() {
  if [ "$2" = 1 ]; then _kso=-L; else _kso=; fi
  if ! _kss=$(LC_ALL=C stat $_kso -c '%f|%u|%g|%s|%i|%d|%h|%b|%o|%t|%T|%.9X|%.9Y|%.9Z|%U|%G' -- "$1" 2>&1); then
    if [ -L "$1" ] && [ "$2" != 1 ] || [ -e "$1" ]; then printf 'error_b64='; printf '%s' "$_kss" | base64 -w0; echo; else echo exists=0; fi
    return 0
  fi
  echo exists=1
  echo "st=$_kss"
  if [ -r "$1" ]; then echo readable=1; else echo readable=0; fi
  if [ -w "$1" ]; then echo writeable=1; else echo writeable=0; fi
  if [ -x "$1" ]; then echo executable=1; else echo executable=0; fi
  if [ -L "$1" ] && [ "$2" != 1 ]; then
    printf 'lnk_source_b64='; realpath -m -- "$1" | head -c -1 | base64 -w0; echo
    printf 'lnk_target_b64='; readlink -- "$1" | head -c -1 | base64 -w0; echo
  fi
  if [ "$3" != - ] && [ -r "$1" ] && { [ "$2" = 1 ] || [ ! -L "$1" ]; } && [ -f "$1" ]; then
    _ksc=$("$3"sum < "$1" | cut -d' ' -f1) && [ -n "$_ksc" ] && echo "checksum=$_ksc"
  fi
  if [ "$4" = 1 ]; then
    if command -v file >/dev/null 2>&1; then
      if _ksm=$(file --mime-type --mime-encoding "$1" 2>/dev/null); then printf 'mime_b64='; printf '%s' "$_ksm" | base64 -w0; echo; fi
    fi
  fi
  if [ "$5" = 1 ]; then
    if command -v lsattr >/dev/null 2>&1; then
      if _ksa=$(lsattr -vd "$1" 2>/dev/null); then printf 'lsattr_b64='; printf '%s' "$_ksa" | base64 -w0; echo; fi
    fi
  fi
}
`;

/** lsattr's letters → Ansible's names (module_utils/common/file.py FILE_ATTRIBUTES). */
const FILE_ATTRIBUTES: Record<string, string> = {
  A: 'noatime',
  a: 'append',
  c: 'compressed',
  C: 'nocow',
  d: 'nodump',
  D: 'dirsync',
  e: 'extents',
  E: 'encrypted',
  h: 'blocksize',
  i: 'immutable',
  I: 'indexed',
  j: 'journalled',
  N: 'inline',
  s: 'zero',
  S: 'synchronous',
  t: 'notail',
  T: 'blockroot',
  u: 'undelete',
  X: 'compressedraw',
  Z: 'compresseddirty',
};

/** A Python float (st_atime is `sec + nsec * 1e-9`, a float even when whole). */
function timestamp(s: string): PyFloat | number {
  const [sec, frac = '0'] = s.split('.');
  const v = Number(sec) + Number(frac.padEnd(9, '0').slice(0, 9)) * 1e-9;
  return Number.isInteger(v) ? new PyFloat(v) : v;
}

/** Linux's makedev (glibc's gnu_dev_makedev): st_rdev from the major and minor numbers. */
function makedev(major: number, minor: number): number {
  return Number(
    ((BigInt(major) & 0xfffff000n) << 32n) |
      ((BigInt(major) & 0xfffn) << 8n) |
      ((BigInt(minor) & 0xffffff00n) << 12n) |
      (BigInt(minor) & 0xffn),
  );
}

/** Thrown when the path exists but cannot be stat'ed (Ansible fails with the error text). */
export class StatError extends Error {}

/**
 * One `kiln_statx` output (its key=value lines parsed) → Ansible's stat dict for `path` (the path
 * as Ansible reports it). `{ exists: false }` for a missing path.
 */
export function statResult(kv: Record<string, string>, path: string, o: StatOptions): Record<string, unknown> {
  if (kv.error_b64 !== undefined)
    throw new StatError(
      fromB64(kv.error_b64)
        .replace(/^stat: cannot (stat|statx) '.*': /, '')
        .trim(),
    );
  if (kv.exists !== '1' || kv.st === undefined) return { exists: false };
  const f = kv.st.split('|');
  if (f.length < 16) throw new StatError(`unexpected stat output: ${kv.st}`);
  const raw = Number.parseInt(f[0]!, 16);
  const fmt = raw & 0o170000;
  const bit = (b: number) => (raw & b) !== 0;
  const out: Record<string, unknown> = {
    exists: true,
    path,
    mode: (raw & 0o7777).toString(8).padStart(4, '0'),
    isdir: fmt === 0o040000,
    ischr: fmt === 0o020000,
    isblk: fmt === 0o060000,
    isreg: fmt === 0o100000,
    isfifo: fmt === 0o010000,
    islnk: fmt === 0o120000,
    issock: fmt === 0o140000,
    uid: Number(f[1]),
    gid: Number(f[2]),
    size: Number(f[3]),
    inode: Number(f[4]),
    dev: Number(f[5]),
    nlink: Number(f[6]),
    atime: timestamp(f[11]!),
    mtime: timestamp(f[12]!),
    ctime: timestamp(f[13]!),
    wusr: bit(0o200),
    rusr: bit(0o400),
    xusr: bit(0o100),
    wgrp: bit(0o020),
    rgrp: bit(0o040),
    xgrp: bit(0o010),
    woth: bit(0o002),
    roth: bit(0o004),
    xoth: bit(0o001),
    isuid: bit(0o4000),
    isgid: bit(0o2000),
    blocks: Number(f[7]),
    block_size: Number(f[8]),
    device_type: makedev(Number.parseInt(f[9]!, 16), Number.parseInt(f[10]!, 16)),
    readable: kv.readable === '1',
    writeable: kv.writeable === '1',
    executable: kv.executable === '1',
  };
  if (out.islnk) {
    out.lnk_source = fromB64(kv.lnk_source_b64);
    out.lnk_target = fromB64(kv.lnk_target_b64);
  }
  // stat prints UNKNOWN for an id without a name; Ansible then leaves pw_name/gr_name out.
  if (f[14] !== 'UNKNOWN') out.pw_name = f[14];
  if (f[15] !== 'UNKNOWN') out.gr_name = f[15];
  if (o.checksum && out.isreg && out.readable && kv.checksum !== undefined) out.checksum = kv.checksum;
  if (o.mime) {
    out.mimetype = 'unknown';
    out.charset = 'unknown';
    if (kv.mime_b64 !== undefined) {
      // Python: mimetype, charset = out.rsplit(':', 1)[1].split(';'); charset.split('=')[1]
      const text = fromB64(kv.mime_b64);
      const i = text.lastIndexOf(':');
      const parts = (i < 0 ? '' : text.slice(i + 1)).split(';');
      const cs = parts[1]?.split('=');
      if (i >= 0 && parts.length === 2 && cs && cs.length >= 2) {
        out.mimetype = parts[0]!.trim();
        out.charset = cs[1]!.trim();
      }
    }
  }
  if (o.attributes) {
    out.version = null;
    out.attributes = [];
    out.attr_flags = '';
    if (kv.lsattr_b64 !== undefined) {
      const res = fromB64(kv.lsattr_b64).split(/\s+/).filter(Boolean);
      if (res.length >= 2) {
        const flags = res[1]!.replace(/-/g, '').trim();
        out.version = res[0]!.trim();
        out.attr_flags = flags;
        out.attributes = [...flags].filter((c) => c in FILE_ATTRIBUTES).map((c) => FILE_ATTRIBUTES[c]);
      }
    }
  }
  return out;
}
