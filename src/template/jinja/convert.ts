/**
 * Python's conversions between numbers and text, exactly as CPython does them: `int(s, base)`,
 * `float(s)`, `int(v)`, `operator.index(v)`, and `round(x, n)` on the exact binary value, half to
 * even (`round(2.675, 2)` is 2.67). (Formatting with `%` and str.format is ./format.ts.)
 *
 * Also `PyNamedTuple`, the tuple with named fields that `groupby` returns (`group.grouper`,
 * `group.list`): attribute access on it reads the field.
 */
import { isFloat, isInt, isNumeric, num, PyError, PyTuple, pyRepr, typeName } from './value.ts';

/** A tuple whose items are also attributes (Python's collections.namedtuple). Renders as a tuple. */
export class PyNamedTuple<T = unknown> extends PyTuple<T> {
  fields: readonly string[] = [];

  /** The item named `name`, or `undefined` when there is no such field. */
  field(name: string): T | undefined {
    const i = this.fields.indexOf(name);
    return i < 0 ? undefined : this[i];
  }
}

export function namedTuple<T>(fields: readonly string[], items: readonly T[]): PyNamedTuple<T> {
  const t = new PyNamedTuple<T>();
  t.fields = fields;
  for (const x of items) t.push(x);
  return t;
}

/** Python's str.isspace() characters (what int(), float() and str.strip() strip). */
const PY_SPACE =
  /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function stripSpace(s: string): string {
  return s.replace(PY_SPACE, '');
}

const ND = /\p{Nd}/u;

/** Unicode decimal digits (Arabic-Indic ١٢, fullwidth １２, …) as ASCII digits, as int() and float() read them. */
function asciiDigits(s: string): string {
  return s.replace(/[^\x00-\x7f]/gu, (ch) => {
    let cp = ch.codePointAt(0)!;
    if (!ND.test(ch)) return ch;
    const at = cp;
    while (ND.test(String.fromCodePoint(cp - 1))) cp--;
    return String((at - cp) % 10);
  });
}

/** Python's int(s, base): whitespace, sign, `_` between digits, `0x`/`0o`/`0b` prefixes. */
export function parseIntStr(s: string, base = 10): number | bigint {
  if (base !== 0 && (base < 2 || base > 36)) throw new PyError('ValueError', 'int() base must be >= 2 and <= 36, or 0');
  const bad = () => new PyError('ValueError', `invalid literal for int() with base ${base}: ${pyRepr(s)}`);
  let t = asciiDigits(stripSpace(s));
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let b = base;
  const prefix = /^0([xob])/i.exec(t)?.[1]?.toLowerCase();
  const prefixBase = prefix === 'x' ? 16 : prefix === 'o' ? 8 : prefix === 'b' ? 2 : 0;
  if (prefixBase && (b === 0 || b === prefixBase)) {
    b = prefixBase;
    t = t.slice(2);
    if (t.startsWith('_')) t = t.slice(1);
  } else if (b === 0) {
    // Base 0: a decimal literal may not have leading zeros (except 0 itself).
    if (/^0+(_?0)*$/.test(t)) return 0;
    if (t.startsWith('0')) throw bad();
    b = 10;
  }
  if (!t || t.startsWith('_') || t.endsWith('_') || t.includes('__')) throw bad();
  const digits = t.replace(/_/g, '').toLowerCase();
  let n = 0n;
  const B = BigInt(b);
  for (const ch of digits) {
    const d = Number.parseInt(ch, 36);
    if (Number.isNaN(d) || d >= b) throw bad();
    n = n * B + BigInt(d);
  }
  if (neg) n = -n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const FLOAT_RE = /^[+-]?(?:(?:\d(?:_?\d)*)?\.?(?:\d(?:_?\d)*)?(?:e[+-]?\d(?:_?\d)*)?|inf|infinity|nan)$/i;

/** Python's float(s). */
export function parseFloatStr(s: string): number {
  const t = asciiDigits(stripSpace(s));
  if (!FLOAT_RE.test(t) || !/\d|inf|nan/i.test(t) || /^[+-]?\.?(e|$)/i.test(t.replace(/^[+-]?\.(?=\d)/, '0'))) {
    throw new PyError('ValueError', `could not convert string to float: ${pyRepr(s)}`);
  }
  const c = t.replace(/_/g, '').toLowerCase();
  if (/^[+-]?inf(inity)?$/.test(c)) return c.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[+-]?nan$/.test(c)) return Number.NaN;
  return Number(c);
}

/** Python's float(v) for a value: numbers, bools, strings; anything else raises TypeError. */
export function toFloat(v: unknown): number {
  if (isNumeric(v)) return num(v);
  if (typeof v === 'string') return parseFloatStr(v);
  throw new PyError('TypeError', `float() argument must be a string or a real number, not '${typeName(v)}'`);
}

/** Python's int(v): truncates floats, parses strings in base 10. */
export function toInt(v: unknown): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return v as number | bigint;
  if (isFloat(v)) {
    const x = num(v);
    if (Number.isNaN(x)) throw new PyError('ValueError', 'cannot convert float NaN to integer');
    if (!Number.isFinite(x)) throw new PyError('OverflowError', 'cannot convert float infinity to integer');
    const t = Math.trunc(x);
    return Number.isSafeInteger(t) ? t : BigInt(t);
  }
  if (typeof v === 'string') return parseIntStr(v, 10);
  throw new PyError('TypeError', `int() argument must be a string, a bytes-like object or a real number, not '${typeName(v)}'`);
}

/** Python's operator.index(v): an int (or bool), as a JS number. */
export function toIndex(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (isInt(v)) return v as number;
  throw new PyError('TypeError', `'${typeName(v)}' object cannot be interpreted as an integer`);
}

// ---------------------------------------------------------------------------------------------
// Exact decimal expansion of a double, and rounding half to even on it.

/** |x| as exact decimal digits: value = 0.digits × 10^point (digits without leading zeros). */
function exactDigits(x: number): { digits: string; point: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  if (mant === 0n) return { digits: '', point: 0 };
  let digits: string;
  let point: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    point = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    point = digits.length + exp;
  }
  const trimmed = digits.replace(/0+$/, '');
  return { digits: trimmed, point };
}

/**
 * Rounds 0.digits × 10^point to `keep` digits after the decimal point (keep may be negative),
 * half to even. Returns the digit string of the integer round(value × 10^keep).
 */
function roundAt(digits: string, point: number, keep: number): string {
  const cut = point + keep; // how many of `digits` stay
  if (cut < 0) return '0';
  if (cut >= digits.length) return (digits + '0'.repeat(cut - digits.length)).replace(/^0+(?=\d)/, '') || '0';
  let head = digits.slice(0, cut);
  const rest = digits.slice(cut);
  const first = rest.charCodeAt(0) - 48;
  const tail = rest.slice(1);
  let up = first > 5 || (first === 5 && (/[1-9]/.test(tail) || (head.length > 0 && (head.charCodeAt(head.length - 1) - 48) % 2 === 1)));
  if (first === 5 && !/[1-9]/.test(tail) && head.length === 0) up = false; // 0.5 → 0 (even)
  if (up) head = (BigInt(head || '0') + 1n).toString();
  return head.replace(/^0+(?=\d)/, '') || '0';
}

/** Python's round(x, ndigits) for a float: correctly rounded, half to even. */
export function roundFloat(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (ndigits > 330) return x;
  const { digits, point } = exactDigits(x);
  const r = roundAt(digits, point, ndigits);
  const v = Number(`${r}e${-ndigits}`);
  return x < 0 ? -v : v;
}

/** Python's round(n, ndigits) for an int: ints stay ints (negative ndigits round half to even). */
export function roundInt(n: number | bigint, ndigits: number): number | bigint {
  if (ndigits >= 0) return n;
  const p = 10n ** BigInt(-ndigits);
  const b = BigInt(n);
  let q = b / p;
  let r = b % p;
  if (r < 0n) {
    r += p;
    q -= 1n;
  }
  if (2n * r > p || (2n * r === p && q % 2n !== 0n)) q += 1n;
  const out = q * p;
  return out >= BigInt(Number.MIN_SAFE_INTEGER) && out <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(out) : out;
}
