/**
 * Python's built-in operations that filters and tests are made of, over the value model of
 * ../jinja/value.ts, beside the engine's operators (../jinja/operators.ts: iterate, contains,
 * binop) and str methods (../jinja/methods.ts): len(), hashing for sets and `unique`, sorting
 * with a key, and Jinja2's `environment.getitem` (what `attribute=` arguments and
 * `map('extract')` use).
 */
import { PyNamedTuple } from '../jinja/convert.ts';
import { methodImpl } from '../jinja/methods.ts';
import { contains } from '../jinja/operators.ts';
import {
  dictGet,
  dictHas,
  isInt,
  isNumeric,
  num,
  PyDictView,
  PyError,
  PyRange,
  PyTuple,
  pyCompare,
  pyRepr,
  tuple,
  typeName,
  Undefined,
  undefinedError,
} from '../jinja/value.ts';

/**
 * Python's `item in container`: the engine's `in`, plus the TypeError Python raises for an
 * unhashable item tested against a dict (`[1] in {'a': 1}`), which operators.contains omits.
 */
export function pyContains(container: unknown, item: unknown): boolean {
  if (container instanceof Map) hashKey(item);
  return contains(container, item);
}

/** A Python list (the model's dict views and ranges are Arrays too, but not lists). */
export function isPyList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof PyTuple) && !(v instanceof PyDictView) && !(v instanceof PyRange);
}

/** Ansible's is_sequence: a collections.abc.Sequence that is not a str (list, tuple, range). */
export function isPySequence(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof PyDictView);
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
  } else if ((isPySequence(obj) || typeof obj === 'string') && (isInt(key) || typeof key === 'boolean')) {
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
  // Python's special attributes (__class__, __init__, …) start sandbox escapes: refused as Jinja2's sandbox does.
  if (name.length > 4 && name.startsWith('__') && name.endsWith('__'))
    throw new PyError('SecurityError', `access to attribute '${name}' of '${typeName(obj)}' object is unsafe.`);
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

/** Calls Python's str method `name` (../jinja/methods.ts): `strMethod('split', s, ',', 1)`. */
export function strMethod(name: string, s: string, ...args: unknown[]): unknown {
  return methodImpl(s, name)!(s, args, new Map());
}

export function strip(s: string, chars: string | null = null): string {
  return strMethod('strip', s, chars) as string;
}

export function split(s: string, sep: string | null = null, maxsplit = -1): string[] {
  return strMethod('split', s, sep, maxsplit) as string[];
}

export function splitlines(s: string, keepends = false): string[] {
  return strMethod('splitlines', s, keepends) as string[];
}

/** A dict's items as (key, value) tuples, as Python's dict.items() yields them. */
export function items(d: Map<unknown, unknown>): PyTuple[] {
  return [...d].map(([k, v]) => tuple([k, v]));
}
