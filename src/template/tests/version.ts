/**
 * The version classes of Ansible's `version` test: LooseVersion and StrictVersion
 * (ansible.module_utils.compat.version, i.e. distutils'), SemanticVersion (ansible.utils.version)
 * and PEP 440 (packaging.version.Version), each as a comparison of two version strings with
 * Python's exact rules — including LooseVersion's TypeError when a number meets a word at the
 * same position (`'1.0' < '1.a'` fails in Python 3).
 */
import { parseIntStr } from '../jinja/convert.ts';
import { PyError } from '../jinja/value.ts';
import { compile, match, splitRe } from '../filters/pyre.ts';

export type Compare = (a: string, b: string) => number;

function cmp(a: number | string, b: number | string): number {
  if (typeof a !== typeof b)
    throw new PyError(
      'TypeError',
      `'<' not supported between instances of '${typeof a === 'number' ? 'int' : 'str'}' and '${typeof b === 'number' ? 'int' : 'str'}'`,
    );
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpLists(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return cmp(a[i]!, b[i]!);
  }
  return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
}

const LOOSE = compile('(\\d+ | [a-z]+ | \\.)', { verbose: true });

function loose(v: string): (number | string)[] {
  return splitRe(LOOSE, v)
    .filter((x): x is string => !!x && x !== '.')
    .map((x) => {
      try {
        return Number(parseIntStr(x));
      } catch {
        return x;
      }
    });
}

export const looseVersion: Compare = (a, b) => {
  const x = loose(a);
  const y = loose(b);
  if (x.length === y.length && x.every((v, i) => v === y[i])) return 0;
  return cmpLists(x, y);
};

const STRICT = compile('^(\\d+) \\. (\\d+) (\\. (\\d+))? ([ab](\\d+))?$', { verbose: true, ascii: true });

function strict(v: string): { version: number[]; pre: [string, number] | null } {
  const m = match(STRICT, v);
  if (!m) throw new PyError('ValueError', `invalid version number '${v}'`);
  const [, major, minor, , patch, pre, preNum] = m.groups;
  const version = [Number(major), Number(minor), patch ? Number(patch) : 0];
  return { version, pre: pre ? [pre[0]!, Number(preNum)] : null };
}

export const strictVersion: Compare = (a, b) => {
  const x = strict(a);
  const y = strict(b);
  const c = cmpLists(x.version, y.version);
  if (c) return c;
  if (!x.pre && !y.pre) return 0;
  if (x.pre && !y.pre) return -1;
  if (!x.pre && y.pre) return 1;
  return cmpLists(x.pre!, y.pre!);
};

const SEMVER = compile(
  `
    ^
        (?P<major>0|[1-9]\\d*)
        \\.
        (?P<minor>0|[1-9]\\d*)
        \\.
        (?P<patch>0|[1-9]\\d*)
        (?:
            -
            (?P<prerelease>
                (?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)
                (?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*
            )
        )?
        (?:
            \\+
            (?P<buildmetadata>[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)
        )?
    $
    `,
  { verbose: true },
);

function semver(v: string): { core: number[]; pre: (number | string)[] } {
  const m = match(SEMVER, v);
  if (!m) throw new PyError('ValueError', `invalid semantic version '${v}'`);
  const pre = m.groups[4] ? m.groups[4].split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : x)) : [];
  return { core: [Number(m.groups[1]), Number(m.groups[2]), Number(m.groups[3])], pre };
}

/** SemanticVersion's prerelease order: numbers before words, then by value. */
function cmpPre(a: (number | string)[], b: (number | string)[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
}

export const semanticVersion: Compare = (a, b) => {
  const x = semver(a);
  const y = semver(b);
  const c = cmpLists(x.core, y.core);
  if (c) return c;
  if (!x.pre.length && !y.pre.length) return 0;
  if (x.pre.length && !y.pre.length) return -1;
  if (!x.pre.length && y.pre.length) return 1;
  return cmpPre(x.pre, y.pre);
};

const PEP440 = compile(
  `^\\s*
    v?
    (?:
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\\.[0-9]+)*)
        (?P<pre>
            [-_\\.]?
            (?P<pre_l>(a|b|c|rc|alpha|beta|pre|preview))
            [-_\\.]?
            (?P<pre_n>[0-9]+)?
        )?
        (?P<post>
            (?:-(?P<post_n1>[0-9]+))
            |
            (?:
                [-_\\.]?
                (?P<post_l>post|rev|r)
                [-_\\.]?
                (?P<post_n2>[0-9]+)?
            )
        )?
        (?P<dev>
            [-_\\.]?
            (?P<dev_l>dev)
            [-_\\.]?
            (?P<dev_n>[0-9]+)?
        )?
    )
    (?:\\+(?P<local>[a-z0-9]+(?:[-_\\.][a-z0-9]+)*))?
  \\s*$`,
  { verbose: true, ignorecase: true },
);

const INF = { inf: 1 } as const;
const NEG = { inf: -1 } as const;
type Key = number | string | typeof INF | typeof NEG | Key[];

function letterVersion(letter: string | undefined, number: string | undefined): Key | null {
  if (letter) {
    let l = letter.toLowerCase();
    if (l === 'alpha') l = 'a';
    else if (l === 'beta') l = 'b';
    else if (['c', 'pre', 'preview'].includes(l)) l = 'rc';
    else if (['rev', 'r'].includes(l)) l = 'post';
    return [l, Number(number ?? 0)];
  }
  if (number) return ['post', Number(number)];
  return null;
}

function pep440Key(v: string): Key[] {
  const m = match(PEP440, v);
  if (!m) throw new PyError('InvalidVersion', `Invalid version: '${v}'`);
  const g = (name: string) => m.groups[PEP440.groupIndex.get(name)!];
  const release = g('release')!.split('.').map(Number);
  while (release.length && release[release.length - 1] === 0) release.pop();
  const pre = letterVersion(g('pre_l'), g('pre_n'));
  const post = letterVersion(g('post_l'), g('post_n1') ?? g('post_n2'));
  const dev = letterVersion(g('dev_l'), g('dev_n'));
  const local = g('local');
  const preKey = pre === null && post === null && dev !== null ? NEG : (pre ?? INF);
  const localKey: Key =
    local === undefined ? NEG : local.split(/[._-]/).map((p) => (/^\d+$/.test(p) ? [Number(p), ''] : [NEG, p.toLowerCase()]));
  return [Number(g('epoch') ?? 0), release, preKey, post ?? NEG, dev ?? INF, localKey];
}

function cmpKey(a: Key, b: Key): number {
  if (a === b) return 0;
  if (typeof a === 'object' && !Array.isArray(a)) return typeof b === 'object' && !Array.isArray(b) ? a.inf - b.inf : a.inf;
  if (typeof b === 'object' && !Array.isArray(b)) return -b.inf;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = cmpKey(a[i]!, b[i]!);
      if (c) return c;
    }
    return a.length - b.length < 0 ? -1 : a.length > b.length ? 1 : 0;
  }
  return cmp(a as number | string, b as number | string);
}

export const pep440Version: Compare = (a, b) => cmpKey(pep440Key(a), pep440Key(b));
