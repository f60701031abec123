/**
 * Ansible's tests (lib/ansible/plugins/test/core.py, files.py, mathstuff.py, uri.py, 2.14).
 *
 * The task-result tests read a registered result dict and, like Jinja2, return what Ansible's
 * function returns: `failed`, `changed`, `skipped` and `unreachable` give the raw field
 * (`{{ r is failed }}` prints `1` when the field is 1), the others a bool.
 * Refused: `started`/`finished` (async tasks, which Kiln does not run), `vault_encrypted` (Kiln
 * decrypts its vault values before templates see them, so it cannot tell), and `same_file`/
 * `mount`/… keep Ansible's controller-side meaning (paths on the machine running Kiln).
 */
import type { TestTable } from '../jinja/callables.ts';
import { dictGet, dictHas, isNumeric, num, PyError, pyStr, truthy, typeName } from '../jinja/value.ts';
import { test } from '../filters/args.ts';
import { iterate } from '../jinja/operators.ts';
import { hashKey, isPyList, pyContains } from '../filters/py.ts';
import * as posix from '../filters/posixpath.ts';
import { compile, findall, fullmatch, match, search } from '../filters/pyre.ts';
import { urlsplit } from '../filters/urls.ts';
import { type Compare, looseVersion, pep440Version, semanticVersion, strictVersion } from './version.ts';

function resultDict(name: string, v: unknown): Map<unknown, unknown> {
  if (!(v instanceof Map)) throw new PyError('AnsibleFilterError', `The '${name}' test expects a dictionary`);
  return v;
}

/** result.get(key, False): the raw value (a test's value is what Jinja2 prints). */
function field(d: Map<unknown, unknown>, key: string): boolean {
  return (dictHas(d, key) ? dictGet(d, key) : false) as boolean;
}

function failed(v: unknown): boolean {
  return field(resultDict('failed', v), 'failed');
}

function changed(v: unknown): boolean {
  const d = resultDict('changed', v);
  if (dictHas(d, 'changed')) return field(d, 'changed');
  if (dictHas(d, 'results')) {
    const results = dictGet(d, 'results');
    if (isPyList(results)) {
      if (!results.length) throw new PyError('IndexError', 'list index out of range');
      if (results[0] instanceof Map)
        return results.some((r) => r instanceof Map && truthy(dictHas(r, 'changed') ? dictGet(r, 'changed') : false));
    }
  }
  return false;
}

function regex(value: unknown, pattern: unknown, ignorecase: unknown, multiline: unknown, matchType: unknown): boolean {
  const s = typeof value === 'string' ? value : pyStr(value);
  if (typeof pattern !== 'string') throw new PyError('TypeError', 'first argument must be string or compiled pattern');
  const p = compile(pattern, { ignorecase: truthy(ignorecase), multiline: truthy(multiline) });
  // Python calls getattr(pattern, match_type): match, search, fullmatch and findall are the ones that answer a truth.
  if (matchType === 'match') return match(p, s) !== null;
  if (matchType === 'fullmatch') return fullmatch(p, s) !== null;
  if (matchType === 'search') return search(p, s) !== null;
  if (matchType === 'findall') return findall(p, s).length > 0;
  throw new PyError('NotSupported', `the regex test with match_type=${pyStr(matchType)} is not supported by Kiln`);
}

const OPS: Record<string, string> = {
  '==': 'eq',
  '=': 'eq',
  eq: 'eq',
  '<': 'lt',
  lt: 'lt',
  '<=': 'le',
  le: 'le',
  '>': 'gt',
  gt: 'gt',
  '>=': 'ge',
  ge: 'ge',
  '!=': 'ne',
  '<>': 'ne',
  ne: 'ne',
};
const TYPES: Record<string, Compare> = {
  loose: looseVersion,
  strict: strictVersion,
  semver: semanticVersion,
  semantic: semanticVersion,
  pep440: pep440Version,
};

function versionCompare(value: unknown, version: unknown, operator: unknown, strictArg: unknown, versionType: unknown): boolean {
  if (strictArg !== null && versionType !== null)
    throw new PyError('AnsibleFilterError', "Cannot specify both 'strict' and 'version_type'");
  if (!truthy(value)) throw new PyError('AnsibleFilterError', 'Input version value cannot be empty');
  if (!truthy(version)) throw new PyError('AnsibleFilterError', 'Version parameter to compare against cannot be empty');
  let compare = looseVersion;
  if (truthy(strictArg)) compare = strictVersion;
  else if (truthy(versionType)) {
    const c = Object.hasOwn(TYPES, pyStr(versionType)) ? TYPES[pyStr(versionType)] : undefined;
    if (!c)
      throw new PyError(
        'AnsibleFilterError',
        `Invalid version type (${pyStr(versionType)}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'`,
      );
    compare = c;
  }
  const op = typeof operator === 'string' && Object.hasOwn(OPS, operator) ? OPS[operator] : undefined;
  if (!op) {
    throw new PyError(
      'AnsibleFilterError',
      `Invalid operator type (${pyStr(operator)}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'`,
    );
  }
  let c: number;
  try {
    c = compare(pyStr(value), pyStr(version));
  } catch (e) {
    if (e instanceof PyError) throw new PyError('AnsibleFilterError', `Version comparison failed: ${e.message}`);
    throw e;
  }
  return { eq: c === 0, ne: c !== 0, lt: c < 0, le: c <= 0, gt: c > 0, ge: c >= 0 }[op]!;
}

const BOOLEANS_TRUE = ['y', 'yes', 'on', '1', 'true', 't'];
const BOOLEANS_FALSE = ['n', 'no', 'off', '0', 'false', 'f'];

/** Ansible's convert_bool.boolean(value): raises TypeError for a value that is not a boolean word. */
function boolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const n = v.toLowerCase().trim();
    if (BOOLEANS_TRUE.includes(n)) return true;
    if (BOOLEANS_FALSE.includes(n)) return false;
  } else if (isNumeric(v)) {
    if (num(v) === 1) return true;
    if (num(v) === 0) return false;
  } else if (v !== null) hashKey(v);
  throw new PyError('TypeError', `The value '${pyStr(v)}' is not a valid boolean.`);
}

function truthyTest(v: unknown, convertBool: unknown): boolean {
  let x = v;
  if (truthy(convertBool)) {
    try {
      x = boolean(v);
    } catch (e) {
      if (!(e instanceof PyError && e.pyType === 'TypeError')) throw e;
    }
  }
  return truthy(x);
}

function pyset(v: unknown): Set<string> {
  return new Set(iterate(v).map(hashKey));
}

function path(v: unknown, fn: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') throw new PyError('NotSupported', `the ${fn} test on a file descriptor number is not supported by Kiln`);
  throw new PyError('TypeError', `${fn}: path should be string, bytes, os.PathLike or integer, not ${typeName(v)}`);
}

function isUri(v: unknown, schemes: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const r = urlsplit(v);
    return !truthy(schemes) || pyContains(schemes, r.scheme);
  } catch {
    return false;
  }
}

function refuse(name: string, why: string) {
  return test(
    name,
    [],
    () => {
      throw new PyError('NotSupported', `the '${name}' test is not supported by Kiln: ${why}`);
    },
    { varargs: true, varkw: true },
  );
}

const pathTest = (name: string, fn: (p: string) => boolean) => test(name, [], (_env, v) => fn(path(v, name)));

export const ansibleTests: TestTable = {
  failed: test('failed', [], (_env, v) => failed(v)),
  failure: test('failed', [], (_env, v) => failed(v)),
  succeeded: test('success', [], (_env, v) => !truthy(failed(v))),
  success: test('success', [], (_env, v) => !truthy(failed(v))),
  successful: test('success', [], (_env, v) => !truthy(failed(v))),
  unreachable: test('unreachable', [], (_env, v) => field(resultDict('unreachable', v), 'unreachable')),
  reachable: test('reachable', [], (_env, v) => !truthy(field(resultDict('unreachable', v), 'unreachable'))),
  changed: test('changed', [], (_env, v) => changed(v)),
  change: test('changed', [], (_env, v) => changed(v)),
  skipped: test('skipped', [], (_env, v) => field(resultDict('skipped', v), 'skipped')),
  skip: test('skipped', [], (_env, v) => field(resultDict('skipped', v), 'skipped')),
  finished: refuse('finished', 'it is for async tasks, which Kiln does not run'),
  started: refuse('started', 'it is for async tasks, which Kiln does not run'),

  match: test(
    'match',
    [
      ['pattern', ''],
      ['ignorecase', false],
      ['multiline', false],
    ],
    (_env, v, a) => regex(v, a.pattern, a.ignorecase, a.multiline, 'match'),
  ),
  search: test(
    'search',
    [
      ['pattern', ''],
      ['ignorecase', false],
      ['multiline', false],
    ],
    (_env, v, a) => regex(v, a.pattern, a.ignorecase, a.multiline, 'search'),
  ),
  regex: test(
    'regex',
    [
      ['pattern', ''],
      ['ignorecase', false],
      ['multiline', false],
      ['match_type', 'search'],
    ],
    (_env, v, a) => regex(v, a.pattern, a.ignorecase, a.multiline, a.match_type),
  ),

  version: test('version_compare', ['version', ['operator', 'eq'], ['strict', null], ['version_type', null]], (_env, v, a) =>
    versionCompare(v, a.version, a.operator, a.strict, a.version_type),
  ),
  version_compare: test('version_compare', ['version', ['operator', 'eq'], ['strict', null], ['version_type', null]], (_env, v, a) =>
    versionCompare(v, a.version, a.operator, a.strict, a.version_type),
  ),

  any: test('any', [], (_env, v) => iterate(v).some(truthy)),
  all: test('all', [], (_env, v) => iterate(v).every(truthy)),

  truthy: test('truthy', [['convert_bool', false]], (_env, v, a) => truthyTest(v, a.convert_bool)),
  falsy: test('falsy', [['convert_bool', false]], (_env, v, a) => !truthyTest(v, a.convert_bool)),

  vault_encrypted: refuse('vault_encrypted', "Kiln's templates see vault values decrypted"),

  subset: test('issubset', ['b'], (_env, v, a) => [...pyset(v)].every((k) => pyset(a.b).has(k))),
  issubset: test('issubset', ['b'], (_env, v, a) => [...pyset(v)].every((k) => pyset(a.b).has(k))),
  superset: test('issuperset', ['b'], (_env, v, a) => [...pyset(a.b)].every((k) => pyset(v).has(k))),
  issuperset: test('issuperset', ['b'], (_env, v, a) => [...pyset(a.b)].every((k) => pyset(v).has(k))),
  contains: test('contains', ['value'], (_env, v, a) => pyContains(v, a.value)),
  nan: test('isnotanumber', [], (_env, v) => isNumeric(v) && Number.isNaN(num(v))),
  isnan: test('isnotanumber', [], (_env, v) => isNumeric(v) && Number.isNaN(num(v))),

  directory: pathTest('isdir', posix.isdir),
  is_dir: pathTest('isdir', posix.isdir),
  file: pathTest('isfile', posix.isfile),
  is_file: pathTest('isfile', posix.isfile),
  link: pathTest('islink', posix.islink),
  is_link: pathTest('islink', posix.islink),
  exists: pathTest('exists', posix.exists),
  link_exists: pathTest('lexists', posix.lexists),
  abs: pathTest('isabs', (p) => p.startsWith('/')),
  is_abs: pathTest('isabs', (p) => p.startsWith('/')),
  same_file: test('samefile', ['b'], (_env, v, a) => posix.samefile(path(v, 'samefile'), path(a.b, 'samefile'))),
  is_same_file: test('samefile', ['b'], (_env, v, a) => posix.samefile(path(v, 'samefile'), path(a.b, 'samefile'))),
  mount: pathTest('ismount', posix.ismount),
  is_mount: pathTest('ismount', posix.ismount),

  uri: test('is_uri', [['schemes', null]], (_env, v, a) => isUri(v, a.schemes), { undefinedOk: true }),
  url: test(
    'is_url',
    [['schemes', null]],
    (_env, v, a) => {
      if (!isUri(v, a.schemes)) return false;
      const r = urlsplit(v as string);
      return !!r.netloc || r.scheme === 'file';
    },
    { undefinedOk: true },
  ),
  urn: test('is_urn', [], (_env, v) => isUri(v, ['urn']), { undefinedOk: true }),
};
