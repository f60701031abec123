/**
 * Python's conversions between numbers and text, exactly as CPython does them, for filters and the
 * engine alike: `int(s, base)`, `float(s)`, `round(x, n)`, the `%` (printf-style) formatting of
 * `'%05.2f' % x` and the `format` filter, and the correctly rounded fixed/exponent/general float
 * formats they need (JS `toFixed` rounds ties away from zero on the decimal digits it prints;
 * Python rounds the exact binary value, half to even: `'%.2f' % 0.125` is `0.12`).
 *
 * Also `PyNamedTuple`, the tuple with named fields that `groupby` returns (`group.grouper`,
 * `group.list`): attribute access on it reads the field.
 */
import { dictGet, floatRepr, isDict, isFloat, isInt, isNumeric, num, PyError, PyFloat, PyTuple, pyRepr, pyStr, typeName } from './value.ts';

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

/** Fixed-point digits of |x| with `prec` decimals, correctly rounded (Python's '%.Nf'). */
function fixedAbs(x: number, prec: number): string {
  const { digits, point } = exactDigits(x);
  if (!digits) return prec > 0 ? `0.${'0'.repeat(prec)}` : '0';
  const n = roundAt(digits, point, prec).padStart(prec + 1, '0');
  return prec > 0 ? `${n.slice(0, n.length - prec)}.${n.slice(n.length - prec)}` : n;
}

/** Mantissa digits (prec+1 of them) and decimal exponent of |x| (Python's '%.Ne'). */
function expParts(x: number, prec: number): { mant: string; exp: number } {
  const { digits, point } = exactDigits(x);
  if (!digits) return { mant: '0'.repeat(prec + 1), exp: 0 };
  let exp = point - 1;
  // prec+1 significant digits: prec - exp decimals
  let m = roundAt(digits, point, prec - exp);
  if (m.length > prec + 1) {
    // rounding carried into a new digit (9.99 → 10.0)
    exp += 1;
    m = m.slice(0, prec + 1);
  }
  return { mant: m.padEnd(prec + 1, '0'), exp };
}

function specialFloat(x: number, upper: boolean): string | undefined {
  if (Number.isNaN(x)) return upper ? 'NAN' : 'nan';
  if (!Number.isFinite(x)) return upper ? 'INF' : 'inf';
  return undefined;
}

/** Python's format of a float for the types f, e, g (and F, E, G), without sign/width handling. */
export function formatFloatAbs(x: number, type: 'f' | 'e' | 'g' | 'F' | 'E' | 'G', prec: number, alt = false): string {
  const upper = type === 'F' || type === 'E' || type === 'G';
  const special = specialFloat(x, upper);
  if (special) return special;
  const t = type.toLowerCase();
  if (t === 'f') {
    const s = fixedAbs(x, prec);
    return alt && prec === 0 ? `${s}.` : s;
  }
  if (t === 'e') {
    const { mant, exp } = expParts(x, prec);
    const m = prec > 0 || alt ? `${mant[0]}.${mant.slice(1)}` : mant;
    const e = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return `${m}${upper ? 'E' : 'e'}${e}`;
  }
  // g: precision P significant digits; fixed when -4 <= exp < P.
  const P = prec === 0 ? 1 : prec;
  const { exp } = x === 0 ? { exp: 0 } : expParts(x, P - 1);
  let s: string;
  if (exp >= -4 && exp < P) {
    s = fixedAbs(x, P - 1 - exp);
    if (!alt && s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    else if (alt && !s.includes('.')) s += '.';
  } else {
    const { mant, exp: e2 } = expParts(x, P - 1);
    let m = `${mant[0]}${P > 1 || alt ? '.' : ''}${mant.slice(1)}`;
    if (!alt && m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    s = `${m}${upper ? 'E' : 'e'}${e2 < 0 ? '-' : '+'}${String(Math.abs(e2)).padStart(2, '0')}`;
  }
  return s;
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

// ---------------------------------------------------------------------------------------------
// printf-style formatting: `fmt % args`.

const CONV = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+)?)?[hlL]?(.?)/y;

/** Python's `fmt % args` (str.__mod__). `args` is one value, a tuple of values, or a dict for `%(name)s`. */
export function percentFormat(fmt: string, args: unknown): string {
  // The state machine of CPython's PyUnicode_Format: a non-tuple argument is one value (arglen -1).
  let current: unknown = args;
  let arglen = args instanceof PyTuple ? args.length : -1;
  let argidx = args instanceof PyTuple ? 0 : -2;
  // Python treats any object with __getitem__ except tuple and str as a mapping here (so a list never errors "not all converted").
  const dict = !(args instanceof PyTuple) && (isDict(args) || Array.isArray(args)) ? args : undefined;
  const take = (): unknown => {
    if (argidx < arglen) {
      const i = argidx++;
      return arglen < 0 ? current : (current as unknown[])[i];
    }
    throw new PyError('TypeError', 'not enough arguments for format string');
  };
  let out = '';
  let i = 0;
  while (i < fmt.length) {
    const pct = fmt.indexOf('%', i);
    if (pct < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, pct);
    CONV.lastIndex = pct;
    const m = CONV.exec(fmt);
    if (!m || m[5] === '') throw new PyError('ValueError', 'incomplete format');
    const [whole, key, flags = '', widthSpec, precSpec, type = ''] = m;
    i = pct + whole.length;
    if (key !== undefined) {
      if (!dict) throw new PyError('TypeError', 'format requires a mapping');
      if (!isDict(dict)) throw new PyError('TypeError', 'list indices must be integers or slices, not str');
      const got = dictGet(dict, key, MISSING);
      if (got === MISSING) throw new PyError('KeyError', pyRepr(key));
      current = got;
      arglen = -1;
      argidx = -2;
    }
    let width = 0;
    let prec: number | undefined;
    if (widthSpec === '*') width = toIndex(take());
    else if (widthSpec) width = Number(widthSpec);
    if (precSpec === '*') prec = toIndex(take());
    else if (precSpec !== undefined) prec = Number(precSpec);
    else if (whole.includes('.')) prec = 0;
    let left = flags.includes('-');
    if (width < 0) {
      left = true;
      width = -width;
    }
    if (whole === '%%') {
      out += '%';
      continue;
    }
    const body = convertOne(type, take(), flags, prec, pct + whole.length - 1);
    const zero = flags.includes('0') && !left && 'diouxXeEfFgG'.includes(type);
    out += pad(body, width, left, zero);
  }
  if (argidx < arglen && !dict) throw new PyError('TypeError', 'not all arguments converted during string formatting');
  return out;
}

const MISSING = Symbol('missing');

function pad(body: string, width: number, left: boolean, zero: boolean): string {
  const len = [...body].length;
  if (len >= width) return body;
  if (left) return body + ' '.repeat(width - len);
  if (zero) {
    const sign = /^[-+ ]?(0[xXob])?/.exec(body)![0];
    return sign + '0'.repeat(width - len) + body.slice(sign.length);
  }
  return ' '.repeat(width - len) + body;
}

function signed(neg: boolean, digits: string, flags: string): string {
  if (neg) return `-${digits}`;
  if (flags.includes('+')) return `+${digits}`;
  if (flags.includes(' ')) return ` ${digits}`;
  return digits;
}

function convertOne(type: string, v: unknown, flags: string, prec: number | undefined, at: number): string {
  switch (type) {
    case 's': {
      const s = pyStr(v);
      return prec === undefined ? s : [...s].slice(0, prec).join('');
    }
    case 'r':
    case 'a': {
      const s = pyRepr(v);
      return prec === undefined ? s : [...s].slice(0, prec).join('');
    }
    case 'd':
    case 'i':
    case 'u': {
      if (!isNumeric(v)) throw new PyError('TypeError', `%${type} format: a real number is required, not ${typeName(v)}`);
      const n = BigInt(toInt(v));
      let digits = (n < 0n ? -n : n).toString();
      if (prec !== undefined) digits = digits.padStart(prec, '0');
      return signed(n < 0n, digits, flags);
    }
    case 'x':
    case 'X':
    case 'o': {
      if (!isInt(v) && typeof v !== 'boolean')
        throw new PyError('TypeError', `%${type} format: an integer is required, not ${typeName(v)}`);
      const n = BigInt(toInt(v));
      let digits = (n < 0n ? -n : n).toString(type === 'o' ? 8 : 16);
      if (type === 'X') digits = digits.toUpperCase();
      if (prec !== undefined) digits = digits.padStart(prec, '0');
      if (flags.includes('#')) digits = (type === 'o' ? '0o' : type === 'x' ? '0x' : '0X') + digits;
      return signed(n < 0n, digits, flags);
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (!isNumeric(v)) throw new PyError('TypeError', `must be real number, not ${typeName(v)}`);
      const x = num(v);
      const body = formatFloatAbs(Math.abs(x), type, prec ?? 6, flags.includes('#'));
      return signed(x < 0 || Object.is(x, -0), body, flags);
    }
    case 'c': {
      if (typeof v === 'string') {
        if ([...v].length !== 1) throw new PyError('TypeError', '%c requires int or char');
        return v;
      }
      if (!isInt(v) && typeof v !== 'boolean') throw new PyError('TypeError', '%c requires int or char');
      const cp = Number(toInt(v));
      if (cp < 0 || cp > 0x10ffff) throw new PyError('OverflowError', '%c arg not in range(0x110000)');
      return String.fromCodePoint(cp);
    }
    default: {
      const cp = type.codePointAt(0) ?? 0;
      throw new PyError('ValueError', `unsupported format character '${type}' (0x${cp.toString(16)}) at index ${at}`);
    }
  }
}

/** Python's repr() of a float value (an int is converted first), for messages and JSON/YAML emitters. */
export function floatText(v: unknown): string {
  return floatRepr(num(v instanceof PyFloat ? v.value : v));
}

/**
 * A Python object other than the builtin data types (the datetime that `now()` and `to_datetime`
 * return): its attributes come from `getattr` (undefined when it has none), Python's str() of it
 * is `toString()` (what `{{ x }}` writes) and repr() is `repr()`. Methods are `PyMethod`s.
 */
export abstract class PyObject {
  abstract getattr(name: string): unknown;
  abstract toString(): string;
  repr(): string {
    return this.toString();
  }
}

/** A bound method of a PyObject (`now().strftime`): the engine calls it with positional and keyword arguments. */
export class PyMethod {
  constructor(
    readonly name: string,
    readonly call: (args: unknown[], kwargs: Map<string, unknown>) => unknown,
  ) {}

  toString(): string {
    return `<built-in method ${this.name}>`;
  }
}
