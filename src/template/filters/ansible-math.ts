/**
 * Ansible's math and set filters (lib/ansible/plugins/filter/mathstuff.py and core.py, 2.14):
 * log, pow, root, unique, intersect, difference, symmetric_difference, union, human_readable,
 * human_to_bytes, rekey_on_member, random, shuffle.
 *
 * The set filters on two hashable values (strings, tuples) return a Python set in Ansible, whose
 * order for strings changes from run to run (hash randomisation): Kiln refuses those.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { formatFloatAbs, parseFloatStr, toFloat } from '../jinja/convert.ts';
import {
  dictGet,
  dictHas,
  dictSet,
  float,
  isFloat,
  isInt,
  isNumeric,
  num,
  PyError,
  PyTuple,
  pyEquals,
  pyStr,
  truthy,
  typeName,
} from '../jinja/value.ts';
import { filter } from './args.ts';
import { jinjaUnique } from './jinja-lists.ts';
import { contains, hashKey, iterate, pyAdd } from './py.ts';
import { compile, search } from './pyre.ts';
import { PyRandom, type RandomSource, randrange, shuffle, systemRandom } from './pyrandom.ts';

/** Ansible's unique: Jinja2's do_unique, falling back to an equality scan for unhashable items. */
export function ansibleUnique(a: unknown, caseSensitive: unknown = null, attribute: unknown = null): unknown[] {
  try {
    return jinjaUnique(a, truthy(caseSensitive ?? false), attribute);
  } catch (e) {
    if (caseSensitive === false || attribute !== null) {
      throw new PyError(
        'AnsibleFilterError',
        "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied",
      );
    }
    if (!(e instanceof PyError)) throw e;
    const c: unknown[] = [];
    for (const x of iterate(a)) if (!contains(c, x)) c.push(x);
    return c;
  }
}

/** Python's isinstance(v, Hashable): everything but lists and dicts here. */
function isHashable(v: unknown): boolean {
  return !(Array.isArray(v) && !(v instanceof PyTuple)) && !(v instanceof Map);
}

function setOperands(name: string, a: unknown, b: unknown): void {
  if (isHashable(a) && isHashable(b)) {
    throw new PyError(
      'NotSupported',
      `${name} of two ${typeName(a)}/${typeName(b)} values returns a Python set in Ansible, whose order is not stable: not supported by Kiln (use lists)`,
    );
  }
}

function intersect(a: unknown, b: unknown): unknown[] {
  setOperands('intersect', a, b);
  return ansibleUnique(
    iterate(a).filter((x) => contains(b, x)),
    true,
  );
}

function union(a: unknown, b: unknown): unknown[] {
  setOperands('union', a, b);
  return ansibleUnique(pyAdd(a, b), true);
}

const SIZE_RANGES: [string, bigint][] = [
  ['Y', 1n << 80n],
  ['Z', 1n << 70n],
  ['E', 1n << 60n],
  ['P', 1n << 50n],
  ['T', 1n << 40n],
  ['G', 1n << 30n],
  ['M', 1n << 20n],
  ['K', 1n << 10n],
  ['B', 1n],
];

/** Python's int(round(x)) for a float: half to even, exact for large values. */
function roundToInt(x: number): number | bigint {
  let r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return Number.isSafeInteger(r) ? r : BigInt(r);
}

function bytesToHuman(size: unknown, isbits: unknown, unit: unknown): string {
  if (!isNumeric(size)) {
    throw new PyError(
      'AnsibleFilterTypeError',
      `human_readable() failed on bad input: '>=' not supported between instances of '${typeName(size)}' and 'int'`,
    );
  }
  const base = truthy(isbits) ? 'bits' : 'Bytes';
  let suffix = '';
  let limit = 1n;
  for ([suffix, limit] of SIZE_RANGES) {
    if ((unit === null && num(size) >= Number(limit)) || (unit !== null && pyStr(unit).toUpperCase() === suffix[0])) break;
  }
  suffix = limit !== 1n ? suffix + base[0] : base;
  const q = num(size) / Number(limit);
  return `${q < 0 || Object.is(q, -0) ? '-' : ''}${formatFloatAbs(Math.abs(q), 'f', 2)} ${suffix}`;
}

const HUMAN = compile('^\\s*(\\d*\\.?\\d*)\\s*([A-Za-z]+)?', { ignorecase: true });

function humanToBytes(number: unknown, defaultUnit: unknown, isbits: unknown): number | bigint {
  const text = pyStr(number);
  const m = search(HUMAN, text)!;
  const n = parseFloatStr(m.groups[1] ?? '');
  const unit = m.groups[2] ?? (defaultUnit === null ? undefined : pyStr(defaultUnit));
  if (unit === undefined) return roundToInt(n);
  const rangeKey = unit[0]!.toUpperCase();
  const limit = SIZE_RANGES.find(([k]) => k === rangeKey)?.[1];
  if (limit === undefined) throw new PyError('ValueError', 'bad unit');
  const [unitClass, unitClassName] = truthy(isbits) ? ['b', 'bit'] : ['B', 'byte'];
  if (unit.length > 1 && !unit.toLowerCase().includes(unitClassName) && unit[1] !== unitClass) throw new PyError('ValueError', 'bad unit');
  const x = n * Number(limit);
  return roundToInt(x);
}

/** randrange's argument conversion (Python 3.11): ints, and integral floats (deprecated but accepted). */
function randArg(v: unknown, position: number): bigint {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (isInt(v)) return BigInt(v as number | bigint);
  if (isFloat(v)) {
    if (Number.isInteger(num(v))) return BigInt(num(v));
    throw new PyError('ValueError', `non-integer arg ${position} for randrange()`);
  }
  throw new PyError('TypeError', `'${typeName(v)}' object cannot be interpreted as an integer`);
}

function rng(seed: unknown): RandomSource {
  return seed === null ? systemRandom : new PyRandom(seed);
}

export const ansibleMathFilters: FilterTable = {
  log: filter('logarithm', [['base', Math.E]], (_env, x, a) => {
    if (!isNumeric(x) || !isNumeric(a.base)) {
      const bad = isNumeric(x) ? a.base : x;
      throw new PyError('AnsibleFilterTypeError', `log() can only be used on numbers: must be real number, not ${typeName(bad)}`);
    }
    const v = num(x);
    if (v <= 0 || num(a.base) <= 0) throw new PyError('ValueError', 'math domain error');
    if (pyEquals(a.base, 10)) return float(Math.log10(v));
    const d = Math.log(num(a.base));
    if (d === 0) throw new PyError('ZeroDivisionError', 'float division by zero');
    return float(Math.log(v) / d);
  }),

  pow: filter('power', ['y'], (_env, x, a) => {
    if (!isNumeric(x) || !isNumeric(a.y)) {
      throw new PyError(
        'AnsibleFilterTypeError',
        `pow() can only be used on numbers: must be real number, not ${typeName(isNumeric(x) ? a.y : x)}`,
      );
    }
    const r = num(x) ** num(a.y);
    if (Number.isNaN(r)) throw new PyError('ValueError', 'math domain error');
    return float(r);
  }),

  root: filter('inversepower', [['base', 2]], (_env, x, a) => {
    if (!isNumeric(x))
      throw new PyError('AnsibleFilterTypeError', `root() can only be used on numbers: must be real number, not ${typeName(x)}`);
    const v = num(x);
    if (pyEquals(a.base, 2)) {
      if (v < 0) throw new PyError('AnsibleFilterTypeError', 'root() can only be used on numbers: math domain error');
      return float(Math.sqrt(v));
    }
    const r = v ** (1 / toFloat(a.base));
    if (Number.isNaN(r)) throw new PyError('AnsibleFilterTypeError', 'root() can only be used on numbers: math domain error');
    return float(r);
  }),

  unique: filter(
    'unique',
    [
      ['case_sensitive', null],
      ['attribute', null],
    ],
    (_env, v, a) => ansibleUnique(v, a.case_sensitive, a.attribute),
  ),
  intersect: filter('intersect', ['b'], (_env, v, a) => intersect(v, a.b)),
  difference: filter('difference', ['b'], (_env, v, a) => {
    setOperands('difference', v, a.b);
    return ansibleUnique(
      iterate(v).filter((x) => !contains(a.b, x)),
      true,
    );
  }),
  symmetric_difference: filter('symmetric_difference', ['b'], (_env, v, a) => {
    setOperands('symmetric_difference', v, a.b);
    const isect = intersect(v, a.b);
    return union(v, a.b).filter((x) => !contains(isect, x));
  }),
  union: filter('union', ['b'], (_env, v, a) => union(v, a.b)),

  human_readable: filter(
    'human_readable',
    [
      ['isbits', false],
      ['unit', null],
    ],
    (_env, v, a) => bytesToHuman(v, a.isbits, a.unit),
  ),

  human_to_bytes: filter(
    'human_to_bytes',
    [
      ['default_unit', null],
      ['isbits', false],
    ],
    (_env, v, a) => {
      try {
        return humanToBytes(v, a.default_unit, a.isbits);
      } catch (e) {
        if (e instanceof PyError && e.pyType === 'NotSupported') throw e;
        throw new PyError('AnsibleFilterError', `human_to_bytes() can't interpret following string: ${pyStr(v)}`);
      }
    },
  ),

  rekey_on_member: filter('rekey_on_member', ['key', ['duplicates', 'error']], (_env, data, a) => {
    if (a.duplicates !== 'error' && a.duplicates !== 'overwrite') {
      throw new PyError('AnsibleFilterError', `duplicates parameter to rekey_on_member has unknown value: ${pyStr(a.duplicates)}`);
    }
    truthy(data);
    truthy(a.key);
    let items: unknown[];
    if (data instanceof Map) items = [...data.values()];
    else if (Array.isArray(data)) items = data;
    else throw new PyError('AnsibleFilterTypeError', 'Type is not a valid list, set, or dict');
    const out = new Map<unknown, unknown>();
    for (const item of items) {
      if (!(item instanceof Map)) throw new PyError('AnsibleFilterTypeError', 'List item is not a valid dict');
      if (!dictHas(item, a.key)) throw new PyError('AnsibleFilterError', `Key ${pyStr(a.key)} was not found`);
      const k = dictGet(item, a.key);
      hashKey(k);
      if (dictHas(out, k) && truthy(dictGet(out, k))) {
        if (a.duplicates === 'error')
          throw new PyError('AnsibleFilterError', `Key ${pyStr(k)} is not unique, cannot correctly turn into dict`);
        dictSet(out, k, item);
      } else dictSet(out, k, item);
    }
    return out;
  }),

  random: filter(
    'rand',
    [
      ['start', null],
      ['step', null],
      ['seed', null],
    ],
    (_env, end, a) => {
      const r = rng(a.seed);
      if (isInt(end) || typeof end === 'boolean') {
        const start = truthy(a.start) ? randArg(a.start, 1) : 0n;
        const step = truthy(a.step) ? randArg(a.step, 3) : 1n;
        return Number(randrange(r, start, randArg(end, 2), step));
      }
      if (Array.isArray(end) || typeof end === 'string' || end instanceof Map) {
        if (truthy(a.start) || truthy(a.step))
          throw new PyError('AnsibleFilterError', 'start and step can only be used with integer values');
        if (end instanceof Map)
          throw new PyError('NotSupported', 'random of a dict (Python indexes it with an int key) is not supported by Kiln');
        const seq = iterate(end);
        if (!seq.length) throw new PyError('IndexError', 'Cannot choose from an empty sequence');
        return seq[Number(r.below(BigInt(seq.length)))];
      }
      throw new PyError('AnsibleFilterError', 'random can only be used on sequences and integers');
    },
  ),

  shuffle: filter('randomize_list', [['seed', null]], (_env, v, a) => {
    let list: unknown[];
    try {
      list = [...iterate(v)];
    } catch {
      return v;
    }
    return shuffle(truthy(a.seed) ? new PyRandom(a.seed) : systemRandom, list);
  }),
};
