/**
 * Python's built-in operations that filters and tests are made of, over the value model of
 * ../jinja/value.ts: iteration, len(), hashing for sets and `unique`, `in`, `+`, sorting with a
 * key, and Jinja2's `environment.getitem` (what `attribute=` arguments and `map('extract')` use).
 */
import { PyNamedTuple, percentFormat } from '../jinja/convert.ts';
import {
  dictGet,
  dictHas,
  isFloat,
  isInt,
  isNumeric,
  num,
  PyError,
  PyFloat,
  PyTuple,
  pyCompare,
  pyEquals,
  pyRepr,
  tuple,
  typeName,
  Undefined,
  undefinedError,
} from '../jinja/value.ts';

/** Python's iter(v) drained: list/tuple items, str characters (code points), dict keys. */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (v instanceof Map) return [...v.keys()];
  if (v instanceof Undefined) throw undefinedError(v);
  throw new PyError('TypeError', `'${typeName(v)}' object is not iterable`);
}

export function isIterable(v: unknown): boolean {
  return Array.isArray(v) || typeof v === 'string' || v instanceof Map;
}

/** Python's len(). */
export function pyLen(v: unknown): number {
  if (typeof v === 'string') return codePoints(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v instanceof Undefined) throw undefinedError(v);
  throw new PyError('TypeError', `object of type '${typeName(v)}' has no len()`);
}

/** The number of code points of a string (Python's len of a str). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * A string that is equal for values Python's hash() and == treat as one set member
 * (1, 1.0 and True are one; a str never equals an int). Lists and dicts are unhashable.
 */
export function hashKey(v: unknown): string {
  if (v === null) return 'N';
  if (typeof v === 'string') return `s${v}`;
  if (isNumeric(v)) {
    const x = num(v);
    if (typeof v === 'bigint') return `i${v}`;
    if (Number.isInteger(x)) return `i${BigInt(x)}`;
    return Number.isNaN(x) ? `nan${Math.random()}` : `f${x}`;
  }
  if (v instanceof PyTuple) return `t(${v.map(hashKey).join(',')})`;
  if (v instanceof Undefined) throw undefinedError(v);
  throw new PyError('TypeError', `unhashable type: '${typeName(v)}'`);
}

/** Python's `item in container`. */
export function contains(container: unknown, item: unknown): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') {
      if (item instanceof Undefined) throw undefinedError(item);
      throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(item)}`);
    }
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((x) => x === item || pyEquals(x, item));
  if (container instanceof Map) {
    hashKey(item);
    return dictHas(container, item);
  }
  if (container instanceof Undefined) throw undefinedError(container);
  throw new PyError('TypeError', `argument of type '${typeName(container)}' is not iterable`);
}

/** Python's a + b for the types `sum` meets (numbers, str, list, tuple). */
export function pyAdd(a: unknown, b: unknown): unknown {
  if (isNumeric(a) && isNumeric(b)) {
    if (isFloat(a) || isFloat(b)) {
      const r = num(a) + num(b);
      return Number.isInteger(r) ? new PyFloat(r) : r;
    }
    const x = typeof a === 'bigint' ? a : BigInt(num(a));
    const y = typeof b === 'bigint' ? b : BigInt(num(b));
    const r = x + y;
    return r >= BigInt(Number.MIN_SAFE_INTEGER) && r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
  }
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (a instanceof PyTuple && b instanceof PyTuple) return tuple([...a, ...b]);
  if (Array.isArray(a) && Array.isArray(b) && !(a instanceof PyTuple) && !(b instanceof PyTuple)) return [...a, ...b];
  if (a instanceof Undefined) throw undefinedError(a);
  if (b instanceof Undefined) throw undefinedError(b);
  if (typeof a === 'string' || Array.isArray(a)) {
    throw new PyError('TypeError', `can only concatenate ${typeName(a)} (not "${typeName(b)}") to ${typeName(a)}`);
  }
  throw new PyError('TypeError', `unsupported operand type(s) for +: '${typeName(a)}' and '${typeName(b)}'`);
}

/** Python's a % b for numbers (floor modulo; floats take the divisor's sign) and str formatting. */
export function pyMod(a: unknown, b: unknown): unknown {
  if (typeof a === 'string') return percentFormat(a, b);
  if (isNumeric(a) && isNumeric(b)) {
    if (isFloat(a) || isFloat(b)) {
      const x = num(a);
      const y = num(b);
      if (y === 0) throw new PyError('ZeroDivisionError', 'float modulo');
      let r = x % y;
      if (r !== 0 && r < 0 !== y < 0) r += y;
      return Number.isInteger(r) ? new PyFloat(r) : r;
    }
    const x = typeof a === 'bigint' ? a : BigInt(num(a));
    const y = typeof b === 'bigint' ? b : BigInt(num(b));
    if (y === 0n) throw new PyError('ZeroDivisionError', 'integer division or modulo by zero');
    let r = x % y;
    if (r !== 0n && r < 0n !== y < 0n) r += y;
    return Number(r);
  }
  if (a instanceof Undefined) throw undefinedError(a);
  if (b instanceof Undefined) throw undefinedError(b);
  throw new PyError('TypeError', `unsupported operand type(s) for %: '${typeName(a)}' and '${typeName(b)}'`);
}

/** Jinja2's "foo object" naming of a value in undefined messages (object_type_repr). */
export function objectTypeRepr(v: unknown): string {
  return v === null ? 'None' : `${typeName(v)} object`;
}

const METHODS: Record<string, ReadonlySet<string>> = {
  dict: new Set('clear copy fromkeys get items keys pop popitem setdefault update values'.split(' ')),
  list: new Set('append clear copy count extend index insert pop remove reverse sort'.split(' ')),
  tuple: new Set(['count', 'index']),
  str: new Set(
    'capitalize casefold center count encode endswith expandtabs find format format_map index isalnum isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower lstrip maketrans partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title translate upper zfill'.split(
      ' ',
    ),
  ),
  int: new Set('as_integer_ratio bit_count bit_length conjugate denominator from_bytes imag numerator real to_bytes'.split(' ')),
  float: new Set('as_integer_ratio conjugate fromhex hex imag is_integer real'.split(' ')),
};

/**
 * Jinja2's `environment.getitem(obj, key)`: `obj[key]`, else the attribute `key`, else Undefined
 * with Jinja2's message. A Python method found as the attribute (`map(attribute='items')`) would
 * be a bound method object in Ansible: Kiln refuses that rather than return something else.
 */
export function getItem(obj: unknown, key: unknown): unknown {
  if (obj instanceof Undefined) return obj; // AnsibleUndefined: item access keeps the first failure
  if (obj instanceof Map) {
    if (isHashable(key) && dictHas(obj, key)) return dictGet(obj, key);
  } else if ((Array.isArray(obj) || typeof obj === 'string') && (isInt(key) || typeof key === 'boolean')) {
    const items = typeof obj === 'string' ? [...obj] : obj;
    let i = Number(num(key));
    if (i < 0) i += items.length;
    if (i >= 0 && i < items.length) return items[i];
  }
  if (typeof key === 'string') return getAttr(obj, key);
  return new Undefined(`${objectTypeRepr(obj)} has no element ${pyRepr(key)}`, pyRepr(key));
}

/**
 * Python's getattr(obj, name) as Jinja2's `attr` filter sees it: a namedtuple's field, else
 * Undefined. A Python method found as the attribute would be a bound method object in Ansible:
 * Kiln refuses that rather than return something else.
 */
export function getAttr(obj: unknown, name: string): unknown {
  if (obj instanceof Undefined) return obj;
  if (obj instanceof PyNamedTuple) {
    const f = obj.field(name);
    if (f !== undefined) return f;
  }
  const type = typeName(obj);
  if (METHODS[type]?.has(name)) {
    throw new PyError('NotSupported', `${pyRepr(name)} is a method of ${type} objects here: Kiln does not use Python methods as values`);
  }
  return new Undefined(`'${objectTypeRepr(obj)}' has no attribute ${pyRepr(name)}`, name);
}

function isHashable(v: unknown): boolean {
  try {
    hashKey(v);
    return true;
  } catch {
    return false;
  }
}

/** Jinja2's _prepare_attribute_parts: `'a.0.b'` → ['a', 0, 'b']. */
function attributeParts(attribute: unknown): unknown[] {
  if (attribute === null || attribute === undefined) return [];
  if (typeof attribute === 'string') return attribute.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return [attribute];
}

/** Lower-cases strings, leaves other values (Jinja2's ignore_case). */
export function ignoreCase(v: unknown): unknown {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

/** Jinja2's make_attrgetter: follows a dotted attribute path, with an optional default for undefined parts. */
export function attrGetter(
  attribute: unknown,
  postprocess?: (v: unknown) => unknown,
  defaultValue: unknown = null,
): (item: unknown) => unknown {
  const parts = attributeParts(attribute);
  return (item) => {
    let v = item;
    for (const part of parts) {
      v = getItem(v, part);
      if (defaultValue !== null && v instanceof Undefined) v = defaultValue;
    }
    return postprocess ? postprocess(v) : v;
  };
}

/** Jinja2's make_multi_attrgetter: `'age,name'` → a list of each attribute path's value. */
export function multiAttrGetter(attribute: unknown, postprocess?: (v: unknown) => unknown): (item: unknown) => unknown[] {
  const split = typeof attribute === 'string' ? attribute.split(',') : [attribute];
  const getters = split.map((a) => attrGetter(a === '' ? '' : a, postprocess));
  if (attribute === null || attribute === undefined) return (item) => [postprocess ? postprocess(item) : item];
  return (item) => getters.map((g) => g(item));
}

/** Python's sorted(items, key=key, reverse=reverse): stable, comparing keys with `<`. */
export function sortedBy<T>(items: readonly T[], key: (x: T) => unknown, reverse = false): T[] {
  const keyed = items.map((x, i) => ({ x, k: key(x), i }));
  keyed.sort((a, b) => {
    const c = pyCompare(a.k, b.k);
    return reverse ? -c : c;
  });
  return keyed.map((e) => e.x);
}

/** Python's str.isspace() characters. */
export const PY_WHITESPACE =
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** Python's str.strip(chars) (lstrip/rstrip with `side`). */
export function strip(s: string, chars: string | null = null, side: 'both' | 'left' | 'right' = 'both'): string {
  const set = new Set(chars === null ? PY_WHITESPACE : chars);
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  if (side !== 'right') while (a < b && set.has(cps[a]!)) a++;
  if (side !== 'left') while (b > a && set.has(cps[b - 1]!)) b--;
  return cps.slice(a, b).join('');
}

/** Python's str.split(sep, maxsplit). */
export function split(s: string, sep: string | null = null, maxsplit = -1): string[] {
  if (sep === null) {
    const out: string[] = [];
    const ws = new Set(PY_WHITESPACE);
    const cps = [...s];
    let i = 0;
    while (i < cps.length) {
      while (i < cps.length && ws.has(cps[i]!)) i++;
      if (i >= cps.length) break;
      if (maxsplit >= 0 && out.length === maxsplit) {
        let end = cps.length;
        while (end > i && ws.has(cps[end - 1]!)) end--;
        out.push(cps.slice(i, end).join(''));
        break;
      }
      const start = i;
      while (i < cps.length && !ws.has(cps[i]!)) i++;
      out.push(cps.slice(start, i).join(''));
    }
    return out;
  }
  if (sep === '') throw new PyError('ValueError', 'empty separator');
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length - 1 <= maxsplit) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

/** Python's str.splitlines(keepends). */
export function splitlines(s: string, keepends = false): string[] {
  const out: string[] = [];
  const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(s.slice(last, keepends ? m.index + m[0].length : m.index));
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;

/** Python's str.islower(): at least one cased character, and no upper/title-case one. */
export function isLower(s: string): boolean {
  return CASED.test(s) && !/[\p{Lu}\p{Lt}]/u.test(s);
}

/** Python's str.isupper(). */
export function isUpper(s: string): boolean {
  return CASED.test(s) && !/[\p{Ll}\p{Lt}]/u.test(s);
}

/** A dict's items as (key, value) tuples, as Python's dict.items() yields them. */
export function items(d: Map<unknown, unknown>): PyTuple[] {
  return [...d].map(([k, v]) => tuple([k, v]));
}
