/**
 * `find`: files by name, age, size, type and content (Ansible's find module, ansible-core 2.14).
 * Read-only: its probe rides in the host's batched script, its plan is always empty, and
 * `register` sees Ansible's result: `{ files: [ { path, mode, isreg, … } ], matched, examined,
 * msg, skipped_paths }`.
 *
 * The probe walks each path with GNU find (`-L` with `follow`; to depth+1 with `depth`, as
 * Ansible's os.walk reads one level past the depth it reports) and prints, for every entry, its
 * lstat fields, whether it is a directory (following links, as os.walk sorts files from dirs),
 * its SHA-1 (get_checksum) and, with `contains`, its content (regular files up to 1 MiB; a larger one is listed in skipped_paths, and msg says not all paths were examined): base64,
 * NUL-separated records. Every filter runs on the controller with Ansible's rules: fnmatch
 * patterns or Python regular expressions (Kiln's Python-re engine, `match` on the basename),
 * excludes, hidden, age/age_stamp against the controller's clock, size, file_type, and contains
 * (Python `re.match` on each line, or `re.search` on the whole file with read_whole_file). The
 * entries are listed in os.walk's order (a directory's files, then its subdirectories, then
 * theirs).
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { compile, match, type PyPattern, search } from '../../template/filters/pyre.ts';
import { PyFloat } from '../../template/jinja/value.ts';
import { defineModule, type FromSchema } from '../contract.ts';
import { fnmatch } from '../system/facts/setup.ts';
import { expandPath, PATH_PATTERN } from './remote-path.ts';
import { statResult } from './statinfo.ts';

/** Files larger than this are not sent for `contains` (they do not match, and the result says so in skipped_paths). */
export const CONTAINS_MAX_BYTES = 1024 * 1024;

const strings = { type: 'array', items: { type: 'string' } } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['paths'],
  properties: {
    paths: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1, pattern: PATH_PATTERN },
      description: 'directories to search on the host (a comma-separated string is split; Ansible aliases: name, path)',
    },
    patterns: {
      ...strings,
      description:
        "basename patterns, any of which must match: shell globs (Python's fnmatch), or Python regular expressions matched at the start with use_regex; default all (Ansible alias: pattern)",
    },
    excludes: { ...strings, description: 'basename patterns (glob or regex, as patterns) that exclude a match (Ansible alias: exclude)' },
    use_regex: { type: 'boolean', description: 'patterns and excludes are Python regular expressions instead of globs (default false)' },
    contains: {
      type: 'string',
      'x-python-re': true,
      description:
        'a Python regular expression a regular file must contain: matched at the start of each line, or searched in the whole file with read_whole_file (files over 1 MiB are not scanned: they are listed in skipped_paths)',
    },
    read_whole_file: {
      type: 'boolean',
      description: 'contains is searched in the whole file rather than matched line by line (default false)',
    },
    file_type: {
      enum: ['any', 'directory', 'file', 'link'],
      description: 'the type of entries to return: file (default), directory, link or any',
    },
    age: {
      type: 'string',
      pattern: '^-?\\d+[smhdwSMHDW]?$',
      description: 'entries at least this old (negative: at most), in seconds or with a unit s, m, h, d, w (e.g. 2d, -1h)',
    },
    age_stamp: { enum: ['atime', 'ctime', 'mtime'], description: 'the timestamp age compares: mtime (default), atime or ctime' },
    size: {
      type: 'string',
      pattern: '^-?\\d+[bkmgtBKMGT]?$',
      description: 'regular files at least this large (negative: at most), in bytes or with a unit b, k, m, g, t (e.g. 10m)',
    },
    recurse: { type: 'boolean', description: 'descend into subdirectories (default false)' },
    depth: { type: 'integer', minimum: 0, description: 'with recurse, the deepest level returned (1: the entries of paths); 0: no limit' },
    hidden: { type: 'boolean', description: "include entries whose name starts with '.' (default false)" },
    follow: { type: 'boolean', description: 'descend into symlinked directories (entries are still reported as links) (default false)' },
    get_checksum: { type: 'boolean', description: "add each regular file's SHA-1 as `checksum` (default false)" },
  },
} as const;

export type FindParams = FromSchema<typeof schema>;

interface FindPrep {
  patterns: string[];
  excludes: string[];
  regex?: { patterns: PyPattern[]; excludes: PyPattern[] };
  contains?: PyPattern;
  age?: number;
  size?: number;
}

export interface Entry {
  path: string;
  st: string;
  /** A directory for os.walk (following symlinks). */
  walkDir: boolean;
  checksum?: string;
  content?: Buffer;
  /** Over CONTAINS_MAX_BYTES: not sent, so not scanned for `contains`. */
  tooLarge?: boolean;
  /** lstat failed (the entry vanished). */
  error?: string;
}

export interface Walk {
  root: string;
  /** Not a directory, or the walk met an error: Ansible's skipped_paths text. */
  skipped?: string;
  entries: Entry[];
  /** The host's clock when it was walked (Ansible's `now`, for age). */
  now?: number;
}

export interface FindState {
  walks: Walk[];
}

/** find's first error as Python's OSError text (`[Errno 13] Permission denied: '/x'`). */
function walkError(err: string): string {
  const line = err.split('\n')[0]!.replace(/^find: /, '');
  const m = /^'(.*)': Permission denied$/.exec(line) ?? /^(.*): Permission denied$/.exec(line);
  return m ? `[Errno 13] Permission denied: '${m[1]}'` : line;
}

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function amount(text: string | undefined, units: Record<string, number>, what: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(-?\d+)([a-z])?$/.exec(text.toLowerCase());
  if (!m || (m[2] !== undefined && !(m[2] in units))) throw new Error(`failed to process ${what}`);
  return Number(m[1]) * (m[2] ? units[m[2]]! : 1);
}

/**
 * find -printf of one entry (lstat: without -L; `!` -xtype l entries with -L, whose fields are
 * the same): type, type following links, permission bits, ids, size, inode, device, links, times,
 * names, then the path.
 */
const FAST_FORMAT = 'F|%y|%Y|%m|%U|%G|%s|%i|%D|%n|%A@|%T@|%C@|%u|%g\\t%p\\0';

/** Regular files' SHA-1 (get_checksum) and content (contains), $0: "CK" flags 0|1. */
const SUM_SCRIPT = `for f do
  [ -r "$f" ] || continue
  c=; b=
  case $0 in 1?) c=$(sha1sum < "$f" 2>/dev/null | cut -c1-40);; esac
  case $0 in ?1) if [ "$(stat -c %s -- "$f")" -le ${CONTAINS_MAX_BYTES} ]; then b=$(base64 -w0 < "$f" 2>/dev/null); else b=-; fi;; esac
  printf 'C|%s|%s\\t%s\\0' "$c" "$b" "$f"
done`;

/** The shell run by find -exec for a batch of entries ($0: "CK", checksum and content flags 0|1). */
const ENTRY_SCRIPT = `for f do
  if ! s=$(LC_ALL=C stat -c '%f|%u|%g|%s|%i|%d|%h|%b|%o|%t|%T|%.9X|%.9Y|%.9Z|%U|%G' -- "$f" 2>&1); then printf 'E|%s\\t%s\\0' "$(printf '%s' "$s" | tr '|\\t\\n' '   ')" "$f"; continue; fi
  if [ -d "$f" ]; then d=1; else d=0; fi
  c=; b=
  if [ -f "$f" ] && [ ! -L "$f" ] && [ -r "$f" ]; then
    case $0 in 1?) c=$(sha1sum < "$f" 2>/dev/null | cut -c1-40);; esac
    case $0 in ?1) if [ "$(stat -c %s -- "$f")" -le ${CONTAINS_MAX_BYTES} ]; then b=$(base64 -w0 < "$f" 2>/dev/null); else b=-; fi;; esac
  fi
  printf 'S|%s|%s|%s|%s\\t%s\\0' "$s" "$d" "$c" "$b" "$f"
done`;

/** Python's os.path.normpath (POSIX). */
export function normpath(p: string): string {
  if (p === '') return '.';
  const initial = p.startsWith('/') ? (p.startsWith('//') && !p.startsWith('///') ? 2 : 1) : 0;
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c !== '..' || (!initial && !out.length) || out.at(-1) === '..') out.push(c);
    else if (out.length) out.pop();
  }
  const s = '/'.repeat(initial) + out.join('/');
  return s || '.';
}

const TYPE_BITS: Record<string, number> = { f: 0o100000, d: 0o040000, l: 0o120000, b: 0o060000, c: 0o020000, p: 0o010000, s: 0o140000 };

function parseEntries(b64: string): Entry[] {
  const out: Entry[] = [];
  const sums = new Map<string, { checksum?: string; content?: Buffer; tooLarge?: boolean }>();
  for (const rec of Buffer.from(b64, 'base64').toString('latin1').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const head = rec.slice(0, tab);
    const path = Buffer.from(rec.slice(tab + 1), 'latin1').toString('utf8');
    if (head.startsWith('C|')) {
      const [c, b] = head.slice(2).split('|');
      sums.set(path, { checksum: c || undefined, content: b && b !== '-' ? Buffer.from(b, 'base64') : undefined, tooLarge: b === '-' });
      continue;
    }
    if (head.startsWith('F|')) {
      const [y, yf, m, uid, gid, size, ino, dev, nlink, at, mt, ct, user, group] = head.slice(2).split('|') as string[] & { length: 14 };
      const raw = (TYPE_BITS[y!] ?? 0) | Number.parseInt(m!, 8);
      // find prints the id when it has no name; Ansible's statinfo then gives ''.
      const named = (n: string, id: string) => (n === id ? 'UNKNOWN' : n);
      const st = [
        raw.toString(16),
        uid,
        gid,
        size,
        ino,
        dev,
        nlink,
        '0',
        '0',
        '0',
        '0',
        at,
        mt,
        ct,
        named(user!, uid!),
        named(group!, gid!),
      ];
      out.push({ path, st: st.join('|'), walkDir: yf === 'd' });
      continue;
    }
    if (head.startsWith('E|')) {
      out.push({ path, st: '', walkDir: false, error: head.slice(2) });
      continue;
    }
    const f = head.slice(2).split('|');
    // 16 stat fields, then d, checksum, content.
    const [d, c, b] = f.slice(16);
    out.push({
      path,
      st: f.slice(0, 16).join('|'),
      walkDir: d === '1',
      checksum: c || undefined,
      content: b && b !== '-' ? Buffer.from(b, 'base64') : undefined,
    });
  }
  for (const e of out) {
    const sum = sums.get(e.path);
    if (sum) Object.assign(e, sum);
  }
  return out;
}

/** The entries in os.walk's order: a directory's files, then its dirs, then each walked dir's, top-down. */
function walkOrder(root: string, entries: Entry[], follow: boolean): Entry[] {
  const children = new Map<string, Entry[]>();
  for (const e of entries) {
    const parent = e.path.slice(0, e.path.lastIndexOf('/'));
    const list = children.get(parent);
    if (list) list.push(e);
    else children.set(parent, [e]);
  }
  const out: Entry[] = [];
  const visit = (dir: string) => {
    const list = children.get(dir) ?? [];
    const files = list.filter((e) => !e.walkDir);
    const dirs = list.filter((e) => e.walkDir);
    out.push(...files, ...dirs);
    for (const d of dirs) {
      const islnk = (Number.parseInt(d.st.split('|')[0] ?? '0', 16) & 0o170000) === 0o120000;
      if (!islnk || follow) visit(d.path);
    }
  };
  visit(root.endsWith('/') && root !== '/' ? root.slice(0, -1) : root);
  return out;
}

function pfilter(name: string, prep: FindPrep): boolean {
  const any = prep.regex ? (ps: PyPattern[]) => ps.some((x) => match(x, name) !== null) : undefined;
  if (prep.regex && any) return any(prep.regex.patterns) && !any(prep.regex.excludes);
  const glob = (ps: string[]) => ps.some((x) => fnmatch(name, x));
  return glob(prep.patterns) && !glob(prep.excludes);
}

/** Python's text-mode line iteration (universal newlines: \r, \n, \r\n end a line, translated to \n). */
function pyLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function contentfilter(e: Entry, prep: FindPrep, readWhole: boolean): boolean {
  if (!prep.contains) return true;
  if (!e.content) return false;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(e.content);
  } catch {
    return false; // Python's open() in text mode fails on it: no match
  }
  if (readWhole) return search(prep.contains, text.replace(/\r\n?/g, '\n')) !== null;
  return pyLines(text).some((l) => match(prep.contains!, l) !== null);
}

const num = (v: unknown) => (v instanceof PyFloat ? v.value : (v as number));

/** Ansible's result from the probed walks (pure but for `now`, taken from the state). */
export function findResult(p: FindParams, prep: FindPrep, s: FindState): Record<string, unknown> {
  const files: Record<string, unknown>[] = [];
  const skipped: Record<string, string> = {};
  let examined = 0;
  const fileType = p.file_type ?? 'file';
  const stamp = p.age_stamp ?? 'mtime';
  for (const w of s.walks) {
    if (w.skipped !== undefined && !w.entries.length) {
      skipped[w.root] = w.skipped;
      continue;
    }
    if (w.skipped !== undefined) skipped[w.root] = w.skipped;
    const wdepth = `${w.root.replace(/\/+$/, '')}/`.split('/').length - 1;
    for (const e of walkOrder(w.root, w.entries, p.follow ?? false)) {
      examined++;
      const fsname = normpath(e.path);
      const name = fsname.slice(fsname.lastIndexOf('/') + 1);
      if (p.depth && fsname.split('/').length - 1 - wdepth + 1 > p.depth) continue;
      if (name.startsWith('.') && !p.hidden) continue;
      if (e.error !== undefined) {
        skipped[fsname] = e.error;
        continue;
      }
      const st = statResult({ exists: '1', st: e.st }, fsname, { follow: false, mime: false, attributes: false });
      const age = (): boolean => {
        if (prep.age === undefined) return true;
        const d = (w.now ?? Date.now() / 1000) - num(st[stamp]);
        return prep.age >= 0 ? d >= Math.abs(prep.age) : d <= Math.abs(prep.age);
      };
      const size = (): boolean => {
        if (prep.size === undefined) return true;
        return prep.size >= 0 ? (st.size as number) >= Math.abs(prep.size) : (st.size as number) <= Math.abs(prep.size);
      };
      const info = (): Record<string, unknown> => {
        const {
          exists: _e,
          path: _p,
          blocks: _b,
          block_size: _bs,
          device_type: _dt,
          readable: _r,
          writeable: _w,
          executable: _x,
          lnk_source: _ls,
          lnk_target: _lt,
          ...rest
        } = st;
        return { path: fsname, ...rest, gr_name: st.gr_name ?? '', pw_name: st.pw_name ?? '' };
      };
      const withSum = (r: Record<string, unknown>) => (st.isreg && p.get_checksum && e.checksum ? { ...r, checksum: e.checksum } : r);
      if (fileType === 'any') {
        if (pfilter(name, prep) && age() && (!st.isreg || size())) files.push(withSum(info()));
      } else if (st.isdir && fileType === 'directory') {
        if (pfilter(name, prep) && age()) files.push(info());
      } else if (st.isreg && fileType === 'file') {
        if (pfilter(name, prep) && age() && size()) {
          // Said, not guessed: a file too large to scan is neither matched nor silently dropped.
          if (prep.contains && e.tooLarge)
            skipped[fsname] = `not scanned for contains: larger than ${CONTAINS_MAX_BYTES} bytes (Kiln's limit)`;
          else if (contentfilter(e, prep, p.read_whole_file ?? false)) files.push(withSum(info()));
        }
      } else if (st.islnk && fileType === 'link') {
        if (pfilter(name, prep) && age()) files.push(info());
      }
    }
  }
  const msg = Object.keys(skipped).length ? 'Not all paths examined, check warnings for details' : 'All paths examined';
  return { files, matched: files.length, examined, msg, skipped_paths: skipped };
}

const find = defineModule<FindParams, FindState, { kind: 'none' }, FindPrep>({
  name: 'find',
  description: "Find files by name, age, size, type or content (Ansible's find) for register. Never changes the host.",
  schema,
  prepare(p) {
    for (const path of p.paths) refuseSecretInArgv('paths', path, 'they are arguments of find on the host');
    const useRegex = p.use_regex ?? false;
    const patterns = p.patterns?.length ? p.patterns : [useRegex ? '.*' : '*'];
    const excludes = p.excludes ?? [];
    const re = (x: string, what: string) => {
      try {
        return compile(x);
      } catch (err) {
        throw new Error(`${what} '${x}' is not a Python regular expression Kiln can run: ${(err as Error).message}`);
      }
    };
    return {
      patterns,
      excludes,
      regex: useRegex ? { patterns: patterns.map((x) => re(x, 'patterns')), excludes: excludes.map((x) => re(x, 'excludes')) } : undefined,
      contains: p.contains !== undefined ? re(p.contains, 'contains') : undefined,
      age: amount(p.age, AGE_UNITS, 'age'),
      size: amount(p.size, SIZE_UNITS, 'size'),
    };
  },
  probe(p) {
    const recurse = p.recurse ?? false;
    const maxdepth = !recurse ? 1 : p.depth ? p.depth + 1 : undefined;
    const flags = `${p.get_checksum ? 1 : 0}${p.contains !== undefined && (p.file_type ?? 'file') === 'file' ? 1 : 0}`;
    const base = `find ${p.follow ? '-L ' : ''}"$_kp" -mindepth 1${maxdepth !== undefined ? ` -maxdepth ${maxdepth}` : ''}`;
    // Under -L, -xtype l is a symlink (its lstat fields come from ENTRY_SCRIPT's stat, not find's).
    const passes = [
      `${base}${p.follow ? ' ! -xtype l' : ''} -printf ${q(FAST_FORMAT)}`,
      ...(p.follow ? [`${base} -xtype l -exec sh -c ${q(ENTRY_SCRIPT)} 00 {} +`] : []),
      ...(flags !== '00' ? [`${base} -type f${p.follow ? ' ! -xtype l' : ''} -exec sh -c ${q(SUM_SCRIPT)} ${flags} {} +`] : []),
    ];
    const walk = `{ ${passes.join('; ')}; }`;
    return p.paths
      .map(
        (path, i) =>
          `${expandPath('_kp', path)}printf 'root${i}_b64='; printf '%s' "$_kp" | base64 -w0; echo\n` +
          `if [ ! -d "$_kp" ]; then echo notdir${i}=1; else\n` +
          `  echo "now${i}=$(date +%s.%N)"\n` +
          `  printf 'entries${i}='; { _ke=$( { ${walk} | base64 -w0 >&3; } 2>&1 ); } 3>&1; echo\n` +
          `  printf 'err${i}_b64='; printf '%s' "$_ke" | base64 -w0; echo\n` +
          `fi\n`,
      )
      .join('');
  },
  parse(out, p) {
    const kv = parseKv(out.stdout);
    const walks = p.paths.map((path, i): Walk => {
      const root = fromB64(kv[`root${i}_b64`]) || path;
      if (kv[`root${i}_b64`] === undefined) throw new Error(`find: the probe failed: ${out.stderr.trim() || `exit ${out.code}`}`);
      if (kv[`notdir${i}`] === '1') return { root, skipped: `'${root}' is not a directory`, entries: [] };
      const err = fromB64(kv[`err${i}_b64`]).trim();
      return {
        root,
        skipped: err ? walkError(err) : undefined,
        entries: parseEntries(kv[`entries${i}`] ?? ''),
        now: Number(kv[`now${i}`]),
      };
    });
    return { walks };
  },
  plan: () => [],
  apply: () => '',
  registerData: (p, prep, s) => findResult(p, prep, s),
  // Ansible warns for each skipped path; Kiln says it with the ok result.
  note(p, prep, s) {
    const skipped = Object.entries(findResult(p, prep, s).skipped_paths as Record<string, string>);
    return skipped.length ? `not all paths examined: ${skipped.map(([k, v]) => `${k}: ${v}`).join('; ')}` : undefined;
  },
});

export default find;
