/**
 * Python's string formatting: `str % args` (printf-style) and `str.format()` with the format-spec
 * mini-language (`{:>5}`, `{0}`, `{name}`, `{:.2f}`, `{:,}`, `{!r}`), and `format(value, spec)`.
 *
 * Floats are formatted from their exact binary value with round-half-even, as CPython does, so
 * `'%.2f' % 0.125` is `0.12` and `'{:.0f}'.format(2.5)` is `2` (JavaScript's toFixed differs).
 */
import {
  dictGet,
  floatRepr,
  isDict,
  isFloat,
  isInt,
  isNumeric,
  isSequence,
  isTuple,
  num,
  PyError,
  pyRepr,
  pyStr,
  typeName,
} from './value.ts';

// ---------------------------------------------------------------------------------------------
// Exact decimal formatting of doubles

/** x = digits × 10^-scale exactly (x finite, ≥ 0). */
function exact(x: number): { d: bigint; scale: number } {
  if (x === 0) return { d: 0n, scale: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (expBits === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  if (e >= 0) return { d: mant << BigInt(e), scale: 0 };
  return { d: mant * 5n ** BigInt(-e), scale: -e };
}

/** d / 10^k rounded half to even. */
function roundDiv(d: bigint, k: number): bigint {
  if (k <= 0) return d * 10n ** BigInt(-k);
  const p = 10n ** BigInt(k);
  const q = d / p;
  const r = d % p;
  const twice = r * 2n;
  if (twice > p || (twice === p && q % 2n === 1n)) return q + 1n;
  return q;
}

/** Fixed-point digits of |x| with `prec` decimals: [integer part, fraction]. */
function fixedDigits(x: number, prec: number): [string, string] {
  const { d, scale } = exact(Math.abs(x));
  const q = roundDiv(d, scale - prec)
    .toString()
    .padStart(prec + 1, '0');
  return [q.slice(0, q.length - prec), q.slice(q.length - prec)];
}

/** Scientific digits of |x| with `prec` decimals: [mantissa digits (prec+1), exponent]. */
function sciDigits(x: number, prec: number): [string, number] {
  const { d, scale } = exact(Math.abs(x));
  if (d === 0n) return ['0'.repeat(prec + 1), 0];
  const len = d.toString().length;
  let exp = len - 1 - scale;
  let q = roundDiv(d, len - (prec + 1));
  if (q.toString().length > prec + 1) {
    q /= 10n;
    exp++;
  }
  return [q.toString(), exp];
}

function expStr(exp: number): string {
  return `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function nonFinite(x: number, upper: boolean): string | undefined {
  let s: string | undefined;
  if (Number.isNaN(x)) s = 'nan';
  else if (x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) s = 'inf';
  return s && upper ? s.toUpperCase() : s;
}

/** |x| formatted by type e/f/g/% (no sign). `alt` is the # flag. */
function formatAbsFloat(x: number, type: string, prec: number, alt: boolean): string {
  const upper = type === type.toUpperCase() && type !== '%';
  const nf = nonFinite(x, upper);
  if (nf) return type === '%' ? `${nf}%` : nf;
  const t = type.toLowerCase();
  if (t === 'f') {
    const [i, f] = fixedDigits(x, prec);
    return prec > 0 || alt ? `${i}.${f}` : i;
  }
  if (t === '%') {
    const [i, f] = fixedDigits(x * 100, prec);
    return `${prec > 0 || alt ? `${i}.${f}` : i}%`;
  }
  if (t === 'e') {
    const [m, exp] = sciDigits(x, prec);
    const mant = prec > 0 || alt ? `${m[0]}.${m.slice(1)}` : m;
    return `${mant}${upper ? 'E' : 'e'}${expStr(exp)}`;
  }
  // g
  const p = prec === 0 ? 1 : prec;
  const [, exp] = sciDigits(x, p - 1);
  let s: string;
  if (exp >= -4 && exp < p) {
    const [i, f] = fixedDigits(x, p - 1 - exp);
    s = f.length ? `${i}.${f}` : i;
    if (!alt && s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    else if (alt && !s.includes('.')) s += '.';
  } else {
    const [m] = sciDigits(x, p - 1);
    let mant = m.length > 1 ? `${m[0]}.${m.slice(1)}` : m;
    if (!alt && mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    else if (alt && !mant.includes('.')) mant += '.';
    s = `${mant}${upper ? 'E' : 'e'}${expStr(exp)}`;
  }
  return s;
}

/** Python's format(float, '') with a precision and no type: like g, but a fixed result keeps one decimal. */
function formatAbsFloatNoType(x: number, prec: number | undefined): string {
  const nf = nonFinite(x, false);
  if (nf) return nf;
  if (prec === undefined) return floatRepr(Math.abs(x));
  // CPython: 'g' with Py_DTSF_ADD_DOT_0, which also moves to exponent notation one digit earlier.
  const p = prec === 0 ? 1 : prec;
  const [m, exp] = sciDigits(x, p - 1);
  if (exp < -4 || exp >= p - 1) {
    let mant = m.length > 1 ? `${m[0]}.${m.slice(1)}` : m;
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    return `${mant}e${expStr(exp)}`;
  }
  const [i, f] = fixedDigits(x, p - 1 - exp);
  const s = f.length ? `${i}.${f}`.replace(/0+$/, '').replace(/\.$/, '') : i;
  return s.includes('.') ? s : `${s}.0`;
}

// ---------------------------------------------------------------------------------------------
// The format-spec mini-language

interface Spec {
  fill: string;
  align: string;
  sign: string;
  alt: boolean;
  zero: boolean;
  width: number;
  grouping: string;
  precision: number | undefined;
  type: string;
}

function parseSpec(spec: string): Spec {
  const chars = [...spec];
  let i = 0;
  let fill = ' ';
  let align = '';
  if (chars.length >= 2 && '<>=^'.includes(chars[1]!)) {
    fill = chars[0]!;
    align = chars[1]!;
    i = 2;
  } else if (chars.length >= 1 && '<>=^'.includes(chars[0]!)) {
    align = chars[0]!;
    i = 1;
  }
  let sign = '';
  if (chars[i] !== undefined && '+- '.includes(chars[i]!)) sign = chars[i++]!;
  if (chars[i] === 'z') i++;
  let alt = false;
  if (chars[i] === '#') {
    alt = true;
    i++;
  }
  let zero = false;
  if (chars[i] === '0') {
    zero = true;
    i++;
  }
  let w = '';
  while (chars[i] !== undefined && /[0-9]/.test(chars[i]!)) w += chars[i++];
  let grouping = '';
  if (chars[i] === ',' || chars[i] === '_') grouping = chars[i++]!;
  let precision: number | undefined;
  if (chars[i] === '.') {
    i++;
    let p = '';
    while (chars[i] !== undefined && /[0-9]/.test(chars[i]!)) p += chars[i++];
    if (!p) throw new PyError('ValueError', 'Format specifier missing precision');
    precision = Number(p);
  }
  let type = '';
  if (i < chars.length) type = chars[i++]!;
  if (i < chars.length) throw new PyError('ValueError', 'Invalid format specifier');
  return { fill, align, sign, alt, zero, width: w ? Number(w) : 0, grouping, precision, type };
}

function group(intPart: string, sep: string, every: number): string {
  if (!sep) return intPart;
  let out = '';
  for (let i = intPart.length; i > 0; i -= every) out = intPart.slice(Math.max(0, i - every), i) + (out ? sep + out : '');
  return out;
}

function pad(body: string, prefix: string, s: Spec, defaultAlign: string): string {
  let align = s.align || defaultAlign;
  let fill = s.fill;
  if (s.zero && !s.align) {
    fill = '0';
    align = '=';
  }
  const len = [...prefix].length + [...body].length;
  const n = Math.max(0, s.width - len);
  if (!n) return prefix + body;
  const f = fill.repeat(n);
  switch (align) {
    case '<':
      return prefix + body + f;
    case '=':
      return prefix + f + body;
    case '^': {
      const left = Math.floor(n / 2);
      return fill.repeat(left) + prefix + body + fill.repeat(n - left);
    }
    default:
      return f + prefix + body;
  }
}

function signOf(neg: boolean, sign: string): string {
  if (neg) return '-';
  return sign === '+' ? '+' : sign === ' ' ? ' ' : '';
}

function formatInt(v: number | bigint, s: Spec): string {
  const big = BigInt(v);
  const neg = big < 0n;
  const abs = neg ? -big : big;
  let body: string;
  let prefix = signOf(neg, s.sign);
  switch (s.type) {
    case 'b':
      body = group(abs.toString(2), s.grouping === '_' ? '_' : '', 4);
      if (s.alt) prefix += '0b';
      break;
    case 'o':
      body = group(abs.toString(8), s.grouping === '_' ? '_' : '', 4);
      if (s.alt) prefix += '0o';
      break;
    case 'x':
    case 'X':
      body = group(abs.toString(16), s.grouping === '_' ? '_' : '', 4);
      if (s.type === 'X') body = body.toUpperCase();
      if (s.alt) prefix += s.type === 'X' ? '0X' : '0x';
      break;
    case 'c':
      if (big < 0n || big > 0x10ffffn) throw new PyError('OverflowError', '%c arg not in range(0x110000)');
      return pad(String.fromCodePoint(Number(big)), '', s, '<');
    default:
      body = group(abs.toString(), s.grouping, 3);
  }
  if (s.zero && !s.align && s.grouping && s.type !== 'b' && s.type !== 'o' && s.type !== 'x' && s.type !== 'X') {
    // Zero padding also gets separators, as Python does.
    const width = s.width - prefix.length;
    let digits = body.replace(/,|_/g, '');
    let out = group(digits, s.grouping, 3);
    while (out.length < width) {
      digits = `0${digits}`;
      out = group(digits, s.grouping, 3);
    }
    return prefix + out;
  }
  return pad(body, prefix, s, '>');
}

function formatFloatSpec(x: number, s: Spec): string {
  const neg = x < 0 || Object.is(x, -0);
  const prefix = signOf(neg && !Number.isNaN(x), s.sign);
  let body: string;
  if (s.type === '') body = formatAbsFloatNoType(x, s.precision);
  else body = formatAbsFloat(Math.abs(x), s.type === 'n' ? 'g' : s.type, s.precision ?? 6, s.alt);
  if (s.grouping) {
    const m = /^(\d+)(.*)$/s.exec(body);
    if (m) body = group(m[1]!, s.grouping, 3) + m[2];
  }
  if (s.zero && !s.align && s.grouping && Number.isFinite(x)) {
    const width = s.width - prefix.length;
    const m = /^([\d,_]+)(.*)$/s.exec(body)!;
    let digits = m[1]!.replace(/,|_/g, '');
    let out = group(digits, s.grouping, 3) + m[2];
    while (out.length < width) {
      digits = `0${digits}`;
      out = group(digits, s.grouping, 3) + m[2];
    }
    return prefix + out;
  }
  return pad(body, prefix, s, '>');
}

/** Python's format(value, spec) for the values templates have. */
export function formatValue(v: unknown, spec: string): string {
  if (typeof v === 'boolean' && spec === '') return v ? 'True' : 'False';
  if (isNumeric(v)) {
    const s = parseSpec(spec);
    if (isInt(v) || typeof v === 'boolean') {
      const n = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number | bigint);
      if ('bcdoxXn'.includes(s.type) || s.type === '') {
        if (s.precision !== undefined) throw new PyError('ValueError', 'Precision not allowed in integer format specifier');
        if (s.type === 'c' && s.sign) throw new PyError('ValueError', "Sign not allowed with integer format specifier 'c'");
        return formatInt(n, s);
      }
      if ('eEfFgG%'.includes(s.type)) return formatFloatSpec(Number(n), s);
      throw new PyError('ValueError', `Unknown format code '${s.type}' for object of type 'int'`);
    }
    const x = num(v);
    if (s.type === '' || 'eEfFgGn%'.includes(s.type)) return formatFloatSpec(x, s);
    throw new PyError('ValueError', `Unknown format code '${s.type}' for object of type 'float'`);
  }
  if (typeof v === 'string') {
    const s = parseSpec(spec);
    if (s.type !== '' && s.type !== 's') throw new PyError('ValueError', `Unknown format code '${s.type}' for object of type 'str'`);
    if (s.sign) throw new PyError('ValueError', 'Sign not allowed in string format specifier');
    if (s.alt) throw new PyError('ValueError', 'Alternate form (#) not allowed in string format specifier');
    if (s.align === '=') throw new PyError('ValueError', "'=' alignment not allowed in string format specifier");
    let body = v;
    if (s.precision !== undefined) body = [...body].slice(0, s.precision).join('');
    return pad(body, '', s, '<');
  }
  if (spec !== '') throw new PyError('TypeError', `unsupported format string passed to ${typeName(v)}.__format__`);
  return pyStr(v);
}

// ---------------------------------------------------------------------------------------------
// str.format()

/** Python's `str.format(*args, **kwargs)`. `getattr` resolves `{0.attr}` fields. */
export function strFormat(
  template: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
  getattr: (obj: unknown, name: string) => unknown,
): string {
  const state = { auto: 0, mode: '' as '' | 'auto' | 'manual' };
  return formatString(template, args, kwargs, getattr, state, 2);
}

function formatString(
  t: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
  getattr: (obj: unknown, name: string) => unknown,
  state: { auto: number; mode: '' | 'auto' | 'manual' },
  depth: number,
): string {
  if (depth < 0) throw new PyError('ValueError', 'Max string recursion exceeded');
  let out = '';
  let i = 0;
  while (i < t.length) {
    const c = t[i]!;
    if (c === '{') {
      if (t[i + 1] === '{') {
        out += '{';
        i += 2;
        continue;
      }
      // Find the matching close brace (nested braces in the spec).
      const j = closingBracket(t, i, '{', '}');
      if (j < 0) throw new PyError('ValueError', "expected '}' before end of string");
      const field = t.slice(i + 1, j);
      out += replaceField(field, args, kwargs, getattr, state, depth);
      i = j + 1;
      continue;
    }
    if (c === '}') {
      if (t[i + 1] === '}') {
        out += '}';
        i += 2;
        continue;
      }
      throw new PyError('ValueError', "Single '}' encountered in format string");
    }
    out += c;
    i++;
  }
  return out;
}

function replaceField(
  field: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
  getattr: (obj: unknown, name: string) => unknown,
  state: { auto: number; mode: '' | 'auto' | 'manual' },
  depth: number,
): string {
  // field_name [! conversion] [: format_spec]; the name part ends at the first ! or : outside brackets.
  let k = 0;
  let inBracket = false;
  for (; k < field.length; k++) {
    const ch = field[k];
    if (ch === '[') inBracket = true;
    else if (ch === ']') inBracket = false;
    else if (!inBracket && (ch === '!' || ch === ':')) break;
  }
  const name = field.slice(0, k);
  let conversion = '';
  let spec = '';
  if (field[k] === '!') {
    conversion = field[k + 1] ?? '';
    if (field[k + 2] !== undefined && field[k + 2] !== ':') throw new PyError('ValueError', "expected ':' after conversion specifier");
    if (!conversion) throw new PyError('ValueError', 'end of string while looking for conversion specifier');
    k += 2;
  }
  if (field[k] === ':') spec = field.slice(k + 1);
  // The first part of the name: "" (automatic), digits (index) or an identifier (keyword).
  const m = /^([^.[]*)(.*)$/s.exec(name)!;
  const first = m[1]!;
  let value: unknown;
  if (first === '') {
    if (state.mode === 'manual')
      throw new PyError('ValueError', 'cannot switch from manual field specification to automatic field numbering');
    state.mode = 'auto';
    const idx = state.auto++;
    if (idx >= args.length) throw new PyError('IndexError', `Replacement index ${idx} out of range for positional args tuple`);
    value = args[idx];
  } else if (/^\d+$/.test(first)) {
    if (state.mode === 'auto')
      throw new PyError('ValueError', 'cannot switch from automatic field numbering to manual field specification');
    state.mode = 'manual';
    const idx = Number(first);
    if (idx >= args.length) throw new PyError('IndexError', `Replacement index ${idx} out of range for positional args tuple`);
    value = args[idx];
  } else {
    if (!kwargs.has(first)) throw new PyError('KeyError', strKeyRepr(first));
    value = kwargs.get(first);
  }
  // Accessors: .attr and [key].
  let rest = m[2]!;
  while (rest) {
    if (rest[0] === '.') {
      const a = /^\.([^.[]*)/.exec(rest)!;
      if (!a[1]) throw new PyError('ValueError', 'Empty attribute in format string');
      value = getattr(value, a[1]);
      rest = rest.slice(a[0].length);
    } else if (rest[0] === '[') {
      const end = rest.indexOf(']');
      if (end < 0) throw new PyError('ValueError', "Missing ']' in format string");
      const key = rest.slice(1, end);
      if (!key) throw new PyError('ValueError', 'Empty attribute in format string');
      value = getitemForFormat(value, /^\d+$/.test(key) ? Number(key) : key);
      rest = rest.slice(end + 1);
    } else throw new PyError('ValueError', "Only '.' or '[' may follow ']' in format field specifier");
  }
  if (conversion === 'r') value = pyRepr(value);
  else if (conversion === 's') value = pyStr(value);
  else if (conversion === 'a') value = asciiRepr(value);
  else if (conversion) throw new PyError('ValueError', `Unknown conversion specifier ${conversion}`);
  if (spec.includes('{')) spec = formatString(spec, args, kwargs, getattr, state, depth - 1);
  return formatValue(value, spec);
}

function strKeyRepr(k: string): string {
  return pyRepr(k);
}

function getitemForFormat(obj: unknown, key: string | number): unknown {
  if (isDict(obj)) {
    const v = dictGet(obj, key, NOT_FOUND);
    if (v === NOT_FOUND) throw new PyError('KeyError', pyRepr(key));
    return v;
  }
  if (isSequence(obj) || typeof obj === 'string') {
    if (typeof key !== 'number') throw new PyError('TypeError', `${typeName(obj)} indices must be integers or slices, not str`);
    const seq = typeof obj === 'string' ? [...obj] : obj;
    if (key >= seq.length) throw new PyError('IndexError', `${typeName(obj)} index out of range`);
    return seq[key];
  }
  throw new PyError('TypeError', `'${typeName(obj)}' object is not subscriptable`);
}

const NOT_FOUND = Symbol('not found');

function asciiRepr(v: unknown): string {
  return pyRepr(v).replace(/[^\x00-\x7f]/gu, (ch) => {
    const cp = ch.codePointAt(0)!;
    if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
    if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
    return `\\U${cp.toString(16).padStart(8, '0')}`;
  });
}

// ---------------------------------------------------------------------------------------------
// printf-style: str % args

/** Python's `fmt % args`. */
export function percentFormat(fmt: string, args: unknown): string {
  let list: unknown[];
  let single = false;
  if (isTuple(args)) list = [...args];
  else {
    list = [args];
    single = true;
  }
  // Python treats any object with __getitem__ that is not a tuple or str as a mapping here.
  const mapping = !isTuple(args) && typeof args !== 'string' && (isDict(args) || Array.isArray(args)) ? args : undefined;
  let argIdx = 0;
  let usedSingle = false;
  const nextArg = (): unknown => {
    if (single) {
      if (usedSingle) throw new PyError('TypeError', 'not enough arguments for format string');
      usedSingle = true;
      return list[0];
    }
    if (argIdx >= list.length) throw new PyError('TypeError', 'not enough arguments for format string');
    return list[argIdx++];
  };
  let out = '';
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    i++;
    if (i >= fmt.length) throw new PyError('ValueError', 'incomplete format');
    let value: unknown;
    let hasKey = false;
    if (fmt[i] === '(') {
      if (mapping === undefined || !isDict(mapping)) {
        if (mapping === undefined) throw new PyError('TypeError', 'format requires a mapping');
      }
      const j = closingBracket(fmt, i, '(', ')');
      if (j < 0) throw new PyError('ValueError', 'incomplete format key');
      const key = fmt.slice(i + 1, j);
      if (isDict(mapping)) {
        value = dictGet(mapping, key, NOT_FOUND);
        if (value === NOT_FOUND) throw new PyError('KeyError', pyRepr(key));
      } else throw new PyError('TypeError', 'list indices must be integers or slices, not str');
      hasKey = true;
      i = j + 1;
    }
    let flags = '';
    while (i < fmt.length && '-+ #0'.includes(fmt[i]!)) flags += fmt[i++];
    let width = 0;
    if (fmt[i] === '*') {
      const w = nextArg();
      if (!isInt(w)) throw new PyError('TypeError', '* wants int');
      width = Number(w);
      if (width < 0) {
        flags += '-';
        width = -width;
      }
      i++;
    } else {
      let w = '';
      while (i < fmt.length && /[0-9]/.test(fmt[i]!)) w += fmt[i++];
      if (w) width = Number(w);
    }
    let precision: number | undefined;
    if (fmt[i] === '.') {
      i++;
      if (fmt[i] === '*') {
        const p = nextArg();
        if (!isInt(p)) throw new PyError('TypeError', '* wants int');
        precision = Math.max(0, Number(p));
        i++;
      } else {
        let p = '';
        while (i < fmt.length && /[0-9]/.test(fmt[i]!)) p += fmt[i++];
        precision = p ? Number(p) : 0;
      }
    }
    while (i < fmt.length && 'hlL'.includes(fmt[i]!)) i++;
    if (i >= fmt.length) throw new PyError('ValueError', 'incomplete format');
    const type = fmt[i++]!;
    if (type === '%') {
      out += '%';
      continue;
    }
    if (!hasKey) value = nextArg();
    out += convertOne(value, type, flags, width, precision, i - 1);
  }
  if (!single && argIdx < list.length && mapping === undefined)
    throw new PyError('TypeError', 'not all arguments converted during string formatting');
  if (single && !usedSingle && mapping === undefined)
    throw new PyError('TypeError', 'not all arguments converted during string formatting');
  return out;
}

function padPrintf(body: string, prefix: string, flags: string, width: number, numeric: boolean): string {
  const len = [...prefix].length + [...body].length;
  if (len >= width) return prefix + body;
  const n = width - len;
  if (flags.includes('-')) return prefix + body + ' '.repeat(n);
  if (numeric && flags.includes('0')) return prefix + '0'.repeat(n) + body;
  return ' '.repeat(n) + prefix + body;
}

function convertOne(v: unknown, type: string, flags: string, width: number, precision: number | undefined, at: number): string {
  const sign = (neg: boolean) => (neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '');
  switch (type) {
    case 's':
    case 'r':
    case 'a': {
      let s = type === 's' ? pyStr(v) : type === 'r' ? pyRepr(v) : asciiRepr(v);
      if (precision !== undefined) s = [...s].slice(0, precision).join('');
      return padPrintf(s, '', flags, width, false);
    }
    case 'd':
    case 'i':
    case 'u': {
      if (!isNumeric(v)) throw new PyError('TypeError', `%${type} format: a real number is required, not ${typeName(v)}`);
      let n: bigint;
      if (isFloat(v)) {
        const x = num(v);
        if (!Number.isFinite(x)) throw new PyError(Number.isNaN(x) ? 'ValueError' : 'OverflowError', 'cannot convert float to integer');
        n = BigInt(Math.trunc(x));
      } else n = BigInt(typeof v === 'boolean' ? Number(v) : (v as number | bigint));
      let digits = (n < 0n ? -n : n).toString();
      if (precision !== undefined) digits = digits.padStart(precision, '0');
      return padPrintf(digits, sign(n < 0n), flags, width, true);
    }
    case 'x':
    case 'X':
    case 'o': {
      if (!isInt(v) && typeof v !== 'boolean')
        throw new PyError('TypeError', `%${type} format: an integer is required, not ${typeName(v)}`);
      const n = BigInt(typeof v === 'boolean' ? Number(v) : (v as number | bigint));
      let digits = (n < 0n ? -n : n).toString(type === 'o' ? 8 : 16);
      if (type === 'X') digits = digits.toUpperCase();
      if (precision !== undefined) digits = digits.padStart(precision, '0');
      let prefix = sign(n < 0n);
      if (flags.includes('#')) prefix += type === 'o' ? '0o' : type === 'x' ? '0x' : '0X';
      return padPrintf(digits, prefix, flags, width, true);
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      if (!isNumeric(v)) throw new PyError('TypeError', `must be real number, not ${typeName(v)}`);
      const x = num(v);
      const body = formatAbsFloat(Math.abs(x), type, precision ?? 6, flags.includes('#'));
      const neg = x < 0 || Object.is(x, -0);
      const numeric = Number.isFinite(x);
      return padPrintf(body, sign(neg && !Number.isNaN(x)), flags, width, numeric);
    }
    case 'c': {
      let ch: string;
      if (typeof v === 'string') {
        if ([...v].length !== 1) throw new PyError('TypeError', '%c requires int or char');
        ch = v;
      } else if (isInt(v)) {
        if (Number(v) < 0 || Number(v) > 0x10ffff) throw new PyError('OverflowError', '%c arg not in range(0x110000)');
        ch = String.fromCodePoint(Number(v));
      } else throw new PyError('TypeError', '%c requires int or char');
      return padPrintf(ch, '', flags, width, false);
    }
    default:
      throw new PyError(
        'ValueError',
        `unsupported format character ${pyRepr(type)} (0x${type.codePointAt(0)!.toString(16)}) at index ${at}`,
      );
  }
}

/** The index of the bracket that closes the one at `start` (nested pairs counted), or -1. */
function closingBracket(s: string, start: number, open: string, close: string): number {
  let level = 1;
  for (let j = start + 1; j < s.length; j++) {
    if (s[j] === open) level++;
    else if (s[j] === close && --level === 0) return j;
  }
  return -1;
}
