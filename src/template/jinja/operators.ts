/**
 * Python's operators over the value model (./value.ts), as Jinja2 compiles them to Python:
 * arithmetic (`+ - * / // % **` with int/float/str/list semantics, big ints, floor division and
 * modulo of negatives, `str % args`), unary minus/plus, `~`, membership (`in`), comparisons,
 * iteration (for loops, unpacking) and slicing.
 */
import { percentFormat } from './format.ts';
import {
  dictHas,
  float,
  int,
  isDict,
  isFloat,
  isInt,
  isNumeric,
  isSequence,
  isStrictUndefined,
  isTuple,
  num,
  PlainUndefined,
  PyDictView,
  PyError,
  pyCompare,
  pyEquals,
  pyStr,
  tuple,
  typeName,
  Undefined,
  undefinedError,
} from './value.ts';

function check(v: unknown): void {
  if (isStrictUndefined(v)) throw undefinedError(v);
}

const SYMBOL: Record<string, string> = { add: '+', sub: '-', mul: '*', div: '/', floordiv: '//', mod: '%', pow: '** or pow()' };

function unsupported(op: string, a: unknown, b: unknown): never {
  throw new PyError('TypeError', `unsupported operand type(s) for ${SYMBOL[op]}: '${typeName(a)}' and '${typeName(b)}'`);
}

/** An int operand as a bigint (bool counts as int). */
function big(v: unknown): bigint {
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return BigInt(v as number | bigint);
}

/** The int result of an integer operation done in floating point, redone exactly when it left the safe range. */
function intResult(approx: number, exact: () => bigint): number | bigint {
  if (Number.isSafeInteger(approx)) return approx;
  return int(exact());
}

const isIntLike = (v: unknown) => isInt(v) || typeof v === 'boolean';

function repeat(seq: unknown, n: unknown): unknown {
  const times = Math.max(0, Number(big(n)));
  if (typeof seq === 'string') return seq.repeat(times);
  const arr = seq as unknown[];
  const out: unknown[] = [];
  for (let i = 0; i < times; i++) out.push(...arr);
  return isTuple(seq) ? tuple(out) : out;
}

/** Python's binary arithmetic operators. */
export function binop(op: string, a: unknown, b: unknown): unknown {
  check(a);
  check(b);
  if (a instanceof PlainUndefined || b instanceof PlainUndefined) throw undefinedError(a instanceof Undefined ? a : (b as Undefined));
  const numeric = isNumeric(a) && isNumeric(b);
  const ints = numeric && isIntLike(a) && isIntLike(b);
  switch (op) {
    case 'add':
      if (ints) return intResult(num(a) + num(b), () => big(a) + big(b));
      if (numeric) return float(num(a) + num(b));
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (typeof a === 'string') throw new PyError('TypeError', `can only concatenate str (not "${typeName(b)}") to str`);
      if (isSequence(a) && isSequence(b) && isTuple(a) === isTuple(b) && !(a instanceof PyDictView) && !(b instanceof PyDictView)) {
        const out = [...a, ...b];
        return isTuple(a) ? tuple(out) : out;
      }
      if (isSequence(a) && !(a instanceof PyDictView))
        throw new PyError('TypeError', `can only concatenate ${typeName(a)} (not "${typeName(b)}") to ${typeName(a)}`);
      return unsupported(op, a, b);
    case 'sub':
      if (ints) return intResult(num(a) - num(b), () => big(a) - big(b));
      if (numeric) return float(num(a) - num(b));
      return unsupported(op, a, b);
    case 'mul':
      if (ints) return intResult(num(a) * num(b), () => big(a) * big(b));
      if (numeric) return float(num(a) * num(b));
      if ((typeof a === 'string' || (isSequence(a) && !(a instanceof PyDictView))) && isIntLike(b)) return repeat(a, b);
      if ((typeof b === 'string' || (isSequence(b) && !(b instanceof PyDictView))) && isIntLike(a)) return repeat(b, a);
      if (typeof a === 'string' || typeof b === 'string' || isSequence(a) || isSequence(b))
        throw new PyError(
          'TypeError',
          `can't multiply sequence by non-int of type '${typeName(isSequence(a) || typeof a === 'string' ? b : a)}'`,
        );
      return unsupported(op, a, b);
    case 'div':
      if (!numeric) return unsupported(op, a, b);
      if (num(b) === 0) throw new PyError('ZeroDivisionError', ints ? 'division by zero' : 'float division by zero');
      if (ints && (typeof a === 'bigint' || typeof b === 'bigint')) return float(Number(big(a)) / Number(big(b)));
      return float(num(a) / num(b));
    case 'floordiv':
      if (!numeric) return unsupported(op, a, b);
      if (num(b) === 0)
        throw new PyError('ZeroDivisionError', ints ? 'integer division or modulo by zero' : 'float floor division by zero');
      if (ints) {
        if (typeof a === 'bigint' || typeof b === 'bigint' || !Number.isSafeInteger(num(a) / num(b))) {
          const x = big(a);
          const y = big(b);
          let q = x / y;
          if (x % y !== 0n && x < 0n !== y < 0n) q -= 1n;
          return int(q);
        }
        return Math.floor(num(a) / num(b));
      }
      return float(Math.floor(num(a) / num(b)));
    case 'mod':
      if (typeof a === 'string') return percentFormat(a, b);
      if (!numeric) return unsupported(op, a, b);
      if (num(b) === 0) throw new PyError('ZeroDivisionError', ints ? 'integer modulo by zero' : 'float modulo');
      if (ints) {
        if (typeof a === 'bigint' || typeof b === 'bigint') {
          const x = big(a);
          const y = big(b);
          let r = x % y;
          if (r !== 0n && r < 0n !== y < 0n) r += y;
          return int(r);
        }
        const x = num(a);
        const y = num(b);
        const r = x % y;
        return r !== 0 && r < 0 !== y < 0 ? r + y : r === 0 ? 0 : r;
      }
      {
        const x = num(a);
        const y = num(b);
        let r = x % y;
        if (r !== 0 && r < 0 !== y < 0) r += y;
        else if (r === 0) r = y < 0 ? -0 : 0;
        return float(r);
      }
    case 'pow':
      if (!numeric) return unsupported(op, a, b);
      if (ints && num(b) >= 0) return intResult(num(a) ** num(b), () => big(a) ** big(b));
      if (num(a) === 0 && num(b) < 0) throw new PyError('ZeroDivisionError', '0.0 cannot be raised to a negative power');
      {
        const r = num(a) ** num(b);
        if (Number.isNaN(r) && num(a) < 0) throw new PyError('ValueError', 'complex results are not supported in templates');
        return float(r);
      }
  }
  throw new Error(`unknown operator ${op}`);
}

export function neg(v: unknown): unknown {
  check(v);
  if (typeof v === 'boolean') return v ? -1 : 0;
  if (typeof v === 'bigint') return int(-v);
  if (isInt(v)) return v === 0 ? 0 : -(v as number);
  if (isFloat(v)) return float(-num(v));
  throw new PyError('TypeError', `bad operand type for unary -: '${typeName(v)}'`);
}

export function pos(v: unknown): unknown {
  check(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isNumeric(v)) return v;
  throw new PyError('TypeError', `bad operand type for unary +: '${typeName(v)}'`);
}

/** Python's `item in container`. */
export function contains(container: unknown, item: unknown): boolean {
  check(container);
  check(item);
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new PyError('TypeError', `'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (isDict(container)) return dictHas(container, item);
  if (isSequence(container)) return container.some((x) => pyEquals(x, item));
  if (container instanceof PlainUndefined) return false;
  throw new PyError('TypeError', `argument of type '${typeName(container)}' is not iterable`);
}

/** Python's comparison operators. */
export function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case 'eq':
      return pyEquals(a, b);
    case 'ne':
      return !pyEquals(a, b);
    case 'lt':
      return pyCompare(a, b, '<') < 0;
    case 'lteq':
      return pyCompare(a, b, '<=') <= 0;
    case 'gt':
      return pyCompare(a, b, '>') > 0;
    case 'gteq':
      return pyCompare(a, b, '>=') >= 0;
    case 'in':
      return contains(b, a);
    case 'notin':
      return !contains(b, a);
  }
  throw new Error(`unknown comparison ${op}`);
}

/** The elements Python's `for` sees: list/tuple items, dict keys, string characters. */
export function iterate(v: unknown): unknown[] {
  check(v);
  if (isSequence(v)) return v;
  if (isDict(v)) return [...v.keys()];
  if (typeof v === 'string') return [...v];
  if (v instanceof PlainUndefined) return [];
  throw new PyError('TypeError', `'${typeName(v)}' object is not iterable`);
}

/** Python's unpacking of `v` into `n` targets. */
export function unpack(v: unknown, n: number): unknown[] {
  const items = iterate(v);
  if (items.length < n) throw new PyError('ValueError', `not enough values to unpack (expected ${n}, got ${items.length})`);
  if (items.length > n) throw new PyError('ValueError', `too many values to unpack (expected ${n})`);
  return items;
}

/** A slice (`x[a:b:c]`). */
export class PySlice {
  constructor(
    readonly start: unknown,
    readonly stop: unknown,
    readonly step: unknown,
  ) {}
}

function sliceIndex(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return Number(v);
  throw new PyError('TypeError', 'slice indices must be integers or None or have an __index__ method');
}

/** Python's sequence[start:stop:step]. */
export function sliceSeq(seq: unknown, s: PySlice): unknown {
  const items = typeof seq === 'string' ? [...seq] : (seq as unknown[]);
  const len = items.length;
  const step = sliceIndex(s.step) ?? 1;
  if (step === 0) throw new PyError('ValueError', 'slice step cannot be zero');
  let start = sliceIndex(s.start);
  let stop = sliceIndex(s.stop);
  const out: unknown[] = [];
  if (step > 0) {
    start = start === null ? 0 : start < 0 ? Math.max(0, start + len) : Math.min(start, len);
    stop = stop === null ? len : stop < 0 ? Math.max(0, stop + len) : Math.min(stop, len);
    for (let i = start; i < stop; i += step) out.push(items[i]);
  } else {
    start = start === null ? len - 1 : start < 0 ? Math.max(-1, start + len) : Math.min(start, len - 1);
    stop = stop === null ? -1 : stop < 0 ? Math.max(-1, stop + len) : Math.min(stop, len - 1);
    for (let i = start; i > stop; i += step) out.push(items[i]);
  }
  if (typeof seq === 'string') return out.join('');
  return isTuple(seq) ? tuple(out) : out;
}

/** Python's str() for `~` (Jinja2's str_join): None is 'None', Undefined raises. */
export function concatStr(v: unknown): string {
  check(v);
  return pyStr(v);
}
