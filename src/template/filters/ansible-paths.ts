/**
 * Ansible's path and shell filters (core.py, 2.14), evaluated on the controller like Ansible does:
 * basename, dirname, splitext, path_join, relpath, realpath, expanduser, expandvars, fileglob,
 * quote. The Windows variants (win_basename, win_dirname, win_splitdrive) are refused: Kiln
 * manages Debian hosts.
 */
import type { CallEnv, FilterTable } from '../jinja/callables.ts';
import { PyError, pyStr, tuple, typeName } from '../jinja/value.ts';
import { filter } from './args.ts';
import { classRepr } from './ansible-data.ts';
import * as posix from './posixpath.ts';

function controllerEnv(env: CallEnv): Readonly<Record<string, string | undefined>> {
  return env.lookup?.env ?? process.env;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Python's shlex.quote. */
export function shellQuote(s: string): string {
  if (!s) return "''";
  if (SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

function refuse(name: string) {
  return filter(
    name,
    [],
    () => {
      throw new PyError('NotSupported', `the '${name}' filter (Windows paths) is not supported by Kiln`);
    },
    { varargs: true, varkw: true },
  );
}

export const ansiblePathFilters: FilterTable = {
  basename: filter('basename', [], (_env, v) => posix.basename(posix.fspath(v, 'basename'))),
  dirname: filter('dirname', [], (_env, v) => posix.dirname(posix.fspath(v, 'dirname'))),
  splitext: filter('splitext', [], (_env, v) => tuple(posix.splitext(posix.fspath(v, 'splitext')))),
  expanduser: filter('expanduser', [], (env, v) => posix.expanduser(posix.fspath(v, 'expanduser'), controllerEnv(env))),
  expandvars: filter('expandvars', [], (env, v) => posix.expandvars(posix.fspath(v, 'expandvars'), controllerEnv(env))),
  realpath: filter('realpath', [], (_env, v) => posix.realpath(posix.fspath(v, 'realpath'))),
  relpath: filter('relpath', [['start', null]], (_env, v, a) =>
    posix.relpath(posix.fspath(v, 'relpath'), a.start === null ? '.' : posix.fspath(a.start, 'relpath')),
  ),
  path_join: filter('path_join', [], (_env, v) => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) {
      if (!v.length) throw new PyError('TypeError', "join() missing 1 required positional argument: 'a'");
      const parts = v.map((p) => {
        if (typeof p !== 'string')
          throw new PyError('TypeError', `join() argument must be str, bytes, or os.PathLike object, not '${typeName(p)}'`);
        return p;
      });
      return posix.join(parts[0]!, ...parts.slice(1));
    }
    throw new PyError('AnsibleFilterTypeError', `|path_join expects string or sequence, got ${classRepr(v)} instead.`);
  }),
  fileglob: filter('fileglob', [], (_env, v) => posix.glob(posix.fspath(v, 'fileglob')).filter((g) => posix.isfile(g))),
  quote: filter('quote', [], (_env, v) => shellQuote(v === null ? '' : pyStr(v))),

  win_basename: refuse('win_basename'),
  win_dirname: refuse('win_dirname'),
  win_splitdrive: refuse('win_splitdrive'),
};
