/**
 * Python's posixpath and glob on the controller, as Ansible's path filters, file tests and the
 * fileglob filter/lookup use them: join, split, basename, dirname, splitext, normpath (which keeps
 * a leading `//`), abspath, relpath, realpath (resolving symlinks as far as the path exists),
 * expanduser, expandvars, and glob with fnmatch patterns (hidden files skipped, directory order as
 * the OS returns it, like os.scandir).
 */
import { lstatSync, opendirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { PyError, typeName } from '../jinja/value.ts';

export function fspath(v: unknown, fn: string): string {
  if (typeof v === 'string') return v;
  throw new PyError('TypeError', `${fn}: path should be string, bytes or os.PathLike, not ${typeName(v)}`);
}

export function join(a: string, ...rest: string[]): string {
  let path = a;
  for (const b of rest) {
    if (b.startsWith('/')) path = b;
    else if (!path || path.endsWith('/')) path += b;
    else path += `/${b}`;
  }
  return path;
}

export function split(p: string): [string, string] {
  const i = p.lastIndexOf('/') + 1;
  let head = p.slice(0, i);
  const tail = p.slice(i);
  if (head && head !== '/'.repeat(head.length)) head = head.replace(/\/+$/, '');
  return [head, tail];
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function dirname(p: string): string {
  return split(p)[0];
}

export function splitext(p: string): [string, string] {
  const sep = p.lastIndexOf('/');
  const dot = p.lastIndexOf('.');
  if (dot > sep) {
    for (let f = sep + 1; f < dot; f++) if (p[f] !== '.') return [p.slice(0, dot), p.slice(dot)];
  }
  return [p, ''];
}

export function normpath(path: string): string {
  if (path === '') return '.';
  let initial = path.startsWith('/') ? 1 : 0;
  if (initial && path.startsWith('//') && !path.startsWith('///')) initial = 2;
  const comps = path.split('/');
  const out: string[] = [];
  for (const c of comps) {
    if (c === '' || c === '.') continue;
    if (c !== '..' || (!initial && !out.length) || (out.length && out[out.length - 1] === '..')) out.push(c);
    else if (out.length) out.pop();
  }
  const s = '/'.repeat(initial) + out.join('/');
  return s || '.';
}

export function abspath(p: string): string {
  return normpath(p.startsWith('/') ? p : join(process.cwd(), p));
}

export function relpath(path: string, start = '.'): string {
  if (!path) throw new PyError('ValueError', 'no path specified');
  const s = abspath(start).split('/').filter(Boolean);
  const p = abspath(path).split('/').filter(Boolean);
  let i = 0;
  while (i < s.length && i < p.length && s[i] === p[i]) i++;
  const rel = [...Array(s.length - i).fill('..'), ...p.slice(i)];
  return rel.length ? join(rel[0]!, ...rel.slice(1)) : '.';
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Python's os.path.realpath (non-strict). */
export function realpath(filename: string): string {
  const seen = new Map<string, string | null>();
  const joinReal = (path0: string, rest0: string): [string, boolean] => {
    let path = path0;
    let rest = rest0;
    if (rest.startsWith('/')) {
      rest = rest.slice(1);
      path = '/';
    }
    while (rest) {
      const i = rest.indexOf('/');
      const name = i < 0 ? rest : rest.slice(0, i);
      rest = i < 0 ? '' : rest.slice(i + 1);
      if (!name || name === '.') continue;
      if (name === '..') {
        if (path) {
          const [head, tail] = split(path);
          path = tail === '..' ? join(head, '..', '..') : head;
        } else path = '..';
        continue;
      }
      const newpath = join(path, name);
      if (!isLink(newpath)) {
        path = newpath;
        continue;
      }
      if (seen.has(newpath)) {
        const known = seen.get(newpath);
        if (known !== null && known !== undefined) {
          path = known;
          continue;
        }
        return [join(newpath, rest), false];
      }
      seen.set(newpath, null);
      const [resolved, ok] = joinReal(path, readlinkSync(newpath, 'utf8'));
      path = resolved;
      if (!ok) return [join(path, rest), false];
      seen.set(newpath, path);
    }
    return [path, true];
  };
  return abspath(joinReal('', filename)[0]);
}

/** The controller's home directory of a user (by name, or by uid) from /etc/passwd, or undefined. */
function passwdHome(user: string, field: 0 | 2 = 0): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[field] === user && f.length >= 6) return f[5];
    }
  } catch {}
  return undefined;
}

export function expanduser(path: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!path.startsWith('~')) return path;
  let i = path.indexOf('/', 1);
  if (i < 0) i = path.length;
  let home: string | undefined;
  if (i === 1) home = env.HOME ?? passwdHome(String(process.getuid?.() ?? ''), 2);
  else home = passwdHome(path.slice(1, i));
  if (home === undefined) return path;
  home = home.replace(/\/+$/, '');
  return home + path.slice(i) || '/';
}

export function expandvars(path: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!path.includes('$')) return path;
  const re = /\$([A-Za-z0-9_]+|\{[^}]*\})/g;
  let out = path;
  let i = 0;
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(out);
    if (!m) break;
    let name = m[1]!;
    if (name.startsWith('{') && name.endsWith('}')) name = name.slice(1, -1);
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value === undefined) i = m.index + m[0].length;
    else {
      const tail = out.slice(m.index + m[0].length);
      out = out.slice(0, m.index) + value;
      i = out.length;
      out += tail;
    }
  }
  return out;
}

export function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

export function isdir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isfile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function islink(p: string): boolean {
  return isLink(p);
}

export function ismount(p: string): boolean {
  try {
    const s = lstatSync(p);
    if (s.isSymbolicLink()) return false;
    const parent = lstatSync(join(p, '..'));
    return s.dev !== parent.dev || s.ino === parent.ino;
  } catch {
    return false;
  }
}

export function samefile(a: string, b: string): boolean {
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

const MAGIC = /[*?[]/;

/** fnmatch's pattern as a RegExp matching a whole name (case-sensitive, as on POSIX). */
export function fnmatchRegExp(pat: string): RegExp {
  const cps = [...pat];
  let re = '';
  let i = 0;
  const esc = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  while (i < cps.length) {
    const c = cps[i++]!;
    if (c === '*') {
      if (!re.endsWith('[\\s\\S]*')) re += '[\\s\\S]*';
    } else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      let j = i;
      if (j < cps.length && cps[j] === '!') j++;
      if (j < cps.length && cps[j] === ']') j++;
      while (j < cps.length && cps[j] !== ']') j++;
      if (j >= cps.length) re += esc('[');
      else {
        let stuff = cps.slice(i, j);
        i = j + 1;
        const neg = stuff[0] === '!';
        if (neg) stuff = stuff.slice(1);
        if (!stuff.length) re += neg ? '[\\s\\S]' : '(?!)';
        else {
          let cls = '';
          for (let k = 0; k < stuff.length; k++) {
            if (stuff[k + 1] === '-' && k + 2 < stuff.length) {
              const lo = stuff[k]!;
              const hi = stuff[k + 2]!;
              if (lo <= hi) cls += `${esc(lo)}-${esc(hi)}`;
              k += 2;
            } else cls += esc(stuff[k]!);
          }
          re += cls ? `[${neg ? '^' : ''}${cls}]` : neg ? '[\\s\\S]' : '(?!)';
        }
      }
    } else re += /[A-Za-z0-9]/.test(c) ? c : esc(c);
  }
  return new RegExp(`^(?:${re})$`, 'v');
}

/** Directory entries in the order the OS returns them (os.scandir), or [] when unreadable. */
function listdir(dir: string, dironly: boolean): string[] {
  const out: string[] = [];
  try {
    const d = opendirSync(dir || '.');
    try {
      for (let e = d.readSync(); e; e = d.readSync()) {
        if (!dironly || e.isDirectory() || (e.isSymbolicLink() && isdir(join(dir || '.', e.name)))) out.push(e.name);
      }
    } finally {
      d.closeSync();
    }
  } catch {}
  return out;
}

/** Python's glob.glob(pathname) (not recursive, hidden files only for patterns starting with '.'). */
export function glob(pathname: string, dironly = false): string[] {
  const [dir, base] = split(pathname);
  if (!MAGIC.test(pathname)) {
    if (base ? lexists(pathname) : isdir(dir)) return [pathname];
    return [];
  }
  const dirs = dir && dir !== pathname && MAGIC.test(dir) ? glob(dir, true) : [dir];
  const out: string[] = [];
  for (const d of dirs) {
    let names: string[];
    if (MAGIC.test(base)) {
      const re = fnmatchRegExp(base);
      names = listdir(d, dironly).filter((n) => (base.startsWith('.') || !n.startsWith('.')) && re.test(n));
    } else names = (base ? lexists(join(d, base)) : isdir(d)) ? [base] : [];
    for (const n of names) out.push(d ? join(d, n) : n);
  }
  return out;
}
