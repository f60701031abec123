/**
 * Python's methods on str, list, tuple and dict, as templates call them (`item.split(':')`,
 * `name.startswith('/etc')`, `d.get('x', 1)`, `d.items()`, `list.append(x)`), with Python's
 * argument checking and results. `methodOf(obj, name)` is what attribute access (`obj.name`)
 * finds first, as Python's getattr does.
 *
 * Strings are indexed by code point, as in Python.
 */
import { formatValue, strFormat } from './format.ts';
import {
  dictGet,
  dictHas,
  dictSet,
  dictView,
  isDict,
  isInt,
  isSequence,
  isStrictUndefined,
  isTuple,
  PyDictView,
  PyError,
  PyTuple,
  PyRange,
  pyCompare,
  pyEquals,
  pyRepr,
  tuple,
  typeName,
  undefinedError,
} from './value.ts';

type Impl = (self: never, args: unknown[], kwargs: Map<string, unknown>) => unknown;

/** A method bound to its object: `s.upper` before it is called. */
export class BoundMethod {
  constructor(
    readonly self: unknown,
    readonly name: string,
    private readonly impl: Impl,
  ) {}
  invoke(args: unknown[], kwargs: Map<string, unknown>): unknown {
    return (this.impl as (self: unknown, a: unknown[], k: Map<string, unknown>) => unknown)(this.self, args, kwargs);
  }
  toString(): string {
    return `<built-in method ${this.name} of ${typeName(this.self)} object>`;
  }
}

/** Methods that change their object in place (a template using them gets its own copy of the variables). */
export const MUTATING_METHODS = new Set([
  'append',
  'extend',
  'insert',
  'pop',
  'remove',
  'sort',
  'reverse',
  'clear',
  'update',
  'setdefault',
  'popitem',
]);

/** Python's whitespace (str.isspace, str.split(), str.strip()). */
const WS =
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const isWs = (c: string) => WS.includes(c);
const LINE_BREAKS = '\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029';

function chars(s: string): string[] {
  return [...s];
}

/** Argument binding for a builtin method: positional params (with defaults), keywords where Python allows them. */
function bind(
  method: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
  params: string[],
  required: number,
  keywords: boolean | string[] = false,
): unknown[] {
  if (kwargs.size === 0 && args.length >= required && args.length <= params.length) return args;
  if (args.length > params.length) {
    if (params.length === 0) throw new PyError('TypeError', `${method}() takes no arguments (${args.length} given)`);
    throw new PyError(
      'TypeError',
      required === params.length
        ? `${method}() takes exactly ${params.length === 1 ? 'one argument' : `${params.length} arguments`} (${args.length} given)`
        : `${method}() takes at most ${params.length} argument${params.length === 1 ? '' : 's'} (${args.length} given)`,
    );
  }
  const out: unknown[] = [...args];
  for (const [k, v] of kwargs) {
    const i = params.indexOf(k);
    const allowed = keywords === true || (Array.isArray(keywords) && keywords.includes(k));
    if (!allowed || i < 0) {
      if (!keywords) throw new PyError('TypeError', `${method}() takes no keyword arguments`);
      throw new PyError('TypeError', `${method}() got an unexpected keyword argument '${k}'`);
    }
    if (i < args.length) throw new PyError('TypeError', `argument for ${method}() given by name ('${k}') and position (${i + 1})`);
    out[i] = v;
  }
  for (let i = 0; i < required; i++) {
    if (out[i] === undefined)
      throw new PyError(
        'TypeError',
        required === params.length && required === 1
          ? `${method}() takes exactly one argument (0 given)`
          : `${method}() missing required argument '${params[i]}' (pos ${i + 1})`,
      );
  }
  return out;
}

function checkStr(method: string, v: unknown, what = 'argument'): string {
  if (typeof v !== 'string') throw new PyError('TypeError', `${method}() ${what} must be str, not ${typeName(v)}`);
  return v;
}

function checkInt(v: unknown, what = 'integer'): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!isInt(v)) throw new PyError('TypeError', `'${typeName(v)}' object cannot be interpreted as an ${what}`);
  return Number(v);
}

/** Python slice bounds for start/end arguments (None allowed), clamped to [0, len]. */
function sliceBounds(len: number, start: unknown, end: unknown): [number, number] {
  const norm = (v: unknown, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (!isInt(v) && typeof v !== 'boolean')
      throw new PyError('TypeError', 'slice indices must be integers or None or have an __index__ method');
    let n = Number(v);
    if (n < 0) n = Math.max(0, n + len);
    return Math.min(n, len);
  };
  return [norm(start, 0), norm(end, len)];
}

function findIn(hay: string[], needle: string[], from: number, to: number, reverse: boolean): number {
  if (needle.length === 0) return reverse ? to : from <= hay.length ? from : -1;
  if (reverse) {
    for (let i = to - needle.length; i >= from; i--) if (matchAt(hay, needle, i)) return i;
  } else {
    for (let i = from; i + needle.length <= to; i++) if (matchAt(hay, needle, i)) return i;
  }
  return -1;
}

function matchAt(hay: string[], needle: string[], i: number): boolean {
  for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) return false;
  return true;
}

const isCased = (c: string) => /[\p{Lu}\p{Ll}\p{Lt}]/u.test(c);
const isLowerC = (c: string) => /\p{Ll}/u.test(c) || (isCased(c) && c.toLowerCase() === c && c.toUpperCase() !== c);
const isUpperC = (c: string) => /\p{Lu}|\p{Lt}/u.test(c) && !/\p{Ll}/u.test(c);

function title(s: string): string {
  let prevCased = false;
  let out = '';
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : c.toUpperCase();
    prevCased = isCased(c);
  }
  return out;
}

function splitWhitespace(s: string, maxsplit: number): string[] {
  const cs = chars(s);
  const out: string[] = [];
  let i = 0;
  const n = cs.length;
  while (i < n) {
    while (i < n && isWs(cs[i]!)) i++;
    if (i >= n) break;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(cs.slice(i).join(''));
      return out;
    }
    let j = i;
    while (j < n && !isWs(cs[j]!)) j++;
    out.push(cs.slice(i, j).join(''));
    i = j;
  }
  return out;
}

function rsplitWhitespace(s: string, maxsplit: number): string[] {
  const cs = chars(s);
  const out: string[] = [];
  let i = cs.length;
  while (i > 0) {
    while (i > 0 && isWs(cs[i - 1]!)) i--;
    if (i <= 0) break;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.unshift(cs.slice(0, i).join(''));
      return out;
    }
    let j = i;
    while (j > 0 && !isWs(cs[j - 1]!)) j--;
    out.unshift(cs.slice(j, i).join(''));
    i = j;
  }
  return out;
}

function splitSep(s: string, sep: string, maxsplit: number): string[] {
  if (sep === '') throw new PyError('ValueError', 'empty separator');
  const out: string[] = [];
  let rest = s;
  while (maxsplit < 0 || out.length < maxsplit) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

function rsplitSep(s: string, sep: string, maxsplit: number): string[] {
  if (sep === '') throw new PyError('ValueError', 'empty separator');
  const out: string[] = [];
  let rest = s;
  while (maxsplit < 0 || out.length < maxsplit) {
    const i = rest.lastIndexOf(sep);
    if (i < 0) break;
    out.unshift(rest.slice(i + sep.length));
    rest = rest.slice(0, i);
  }
  out.unshift(rest);
  return out;
}

function stripChars(s: string, set: unknown, method: string, left: boolean, right: boolean): string {
  let test: (c: string) => boolean;
  if (set === undefined || set === null) test = isWs;
  else {
    const cs = checkStr(method, set, 'arg');
    test = (c) => cs.includes(c);
  }
  const a = chars(s);
  let i = 0;
  let j = a.length;
  if (left) while (i < j && test(a[i]!)) i++;
  if (right) while (j > i && test(a[j - 1]!)) j--;
  return a.slice(i, j).join('');
}

function fillChar(method: string, v: unknown): string {
  if (v === undefined) return ' ';
  if (typeof v !== 'string') throw new PyError('TypeError', `${method}() argument 2 must be str, not ${typeName(v)}`);
  if (chars(v).length !== 1) throw new PyError('TypeError', 'The fill character must be exactly one character long');
  return v;
}

function prefixTest(method: string, s: string, arg: unknown, start: unknown, end: unknown, atEnd: boolean): boolean {
  let seg: string | null = s;
  if ((start !== undefined && start !== null) || (end !== undefined && end !== null)) {
    const cs = chars(s);
    const [from, to] = sliceBounds(cs.length, start, end);
    seg = from <= to ? cs.slice(from, to).join('') : null;
  }
  if (isTuple(arg)) {
    for (const p of arg) if (affixMatch(method, seg, p, atEnd)) return true;
    return false;
  }
  if (typeof arg !== 'string') throw new PyError('TypeError', `${method} first arg must be str or a tuple of str, not ${typeName(arg)}`);
  return affixMatch(method, seg, arg, atEnd);
}

function affixMatch(method: string, seg: string | null, p: unknown, atEnd: boolean): boolean {
  if (typeof p !== 'string') throw new PyError('TypeError', `tuple for ${method} must only contain str, not ${typeName(p)}`);
  if (seg === null) return false;
  return atEnd ? seg.endsWith(p) : seg.startsWith(p);
}

function splitLines(s: string, keepends: boolean): string[] {
  const out: string[] = [];
  let cur = '';
  const cs = chars(s);
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (LINE_BREAKS.includes(c)) {
      let brk = c;
      if (c === '\r' && cs[i + 1] === '\n') {
        brk = '\r\n';
        i++;
      }
      out.push(keepends ? cur + brk : cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

const category = (re: RegExp) => (s: string) => s.length > 0 && chars(s).every((c) => re.test(c));

const STR_METHODS: Record<string, (s: string, args: unknown[], kw: Map<string, unknown>) => unknown> = {
  upper: (s, a, k) => (bind('upper', a, k, [], 0), s.toUpperCase()),
  lower: (s, a, k) => (bind('lower', a, k, [], 0), s.toLowerCase()),
  casefold: (s, a, k) => (bind('casefold', a, k, [], 0), s.toLowerCase().replace(/ß/g, 'ss')),
  swapcase: (s, a, k) => (
    bind('swapcase', a, k, [], 0),
    chars(s)
      .map((c) => (isUpperC(c) ? c.toLowerCase() : isLowerC(c) ? c.toUpperCase() : c))
      .join('')
  ),
  capitalize: (s, a, k) => {
    bind('capitalize', a, k, [], 0);
    const cs = chars(s);
    return cs.length ? cs[0]!.toUpperCase() + cs.slice(1).join('').toLowerCase() : '';
  },
  title: (s, a, k) => (bind('title', a, k, [], 0), title(s)),
  strip: (s, a, k) => stripChars(s, bind('strip', a, k, ['chars'], 0)[0], 'strip', true, true),
  lstrip: (s, a, k) => stripChars(s, bind('lstrip', a, k, ['chars'], 0)[0], 'lstrip', true, false),
  rstrip: (s, a, k) => stripChars(s, bind('rstrip', a, k, ['chars'], 0)[0], 'rstrip', false, true),
  split: (s, a, k) => {
    const [sep, max] = bind('split', a, k, ['sep', 'maxsplit'], 0, true);
    const m = max === undefined ? -1 : checkInt(max);
    if (sep === undefined || sep === null) return splitWhitespace(s, m);
    return splitSep(s, checkStr('split', sep, 'argument 1'), m);
  },
  rsplit: (s, a, k) => {
    const [sep, max] = bind('rsplit', a, k, ['sep', 'maxsplit'], 0, true);
    const m = max === undefined ? -1 : checkInt(max);
    if (sep === undefined || sep === null) return rsplitWhitespace(s, m);
    return rsplitSep(s, checkStr('rsplit', sep, 'argument 1'), m);
  },
  splitlines: (s, a, k) => {
    const [keep] = bind('splitlines', a, k, ['keepends'], 0, true);
    return splitLines(s, keep !== undefined && Boolean(keep));
  },
  partition: (s, a, k) => {
    const sep = checkStr('partition', bind('partition', a, k, ['sep'], 1)[0]);
    if (!sep) throw new PyError('ValueError', 'empty separator');
    const i = s.indexOf(sep);
    return i < 0 ? tuple([s, '', '']) : tuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  rpartition: (s, a, k) => {
    const sep = checkStr('rpartition', bind('rpartition', a, k, ['sep'], 1)[0]);
    if (!sep) throw new PyError('ValueError', 'empty separator');
    const i = s.lastIndexOf(sep);
    return i < 0 ? tuple(['', '', s]) : tuple([s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  join: (s, a, k) => {
    const [it] = bind('join', a, k, ['iterable'], 1);
    const items = iterateForMethod(it);
    return items
      .map((x, i) => {
        if (typeof x !== 'string') throw new PyError('TypeError', `sequence item ${i}: expected str instance, ${typeName(x)} found`);
        return x;
      })
      .join(s);
  },
  replace: (s, a, k) => {
    const [o, n, c] = bind('replace', a, k, ['old', 'new', 'count'], 2);
    const old = checkStr('replace', o, 'argument 1');
    const nw = checkStr('replace', n, 'argument 2');
    let count = c === undefined ? -1 : checkInt(c);
    if (old === '') {
      const cs = chars(s);
      let out = '';
      for (let i = 0; i <= cs.length; i++) {
        if (count !== 0) {
          out += nw;
          count--;
        }
        if (i < cs.length) out += cs[i];
      }
      return out;
    }
    if (count < 0) return s.split(old).join(nw);
    let out = '';
    let rest = s;
    while (count-- > 0) {
      const i = rest.indexOf(old);
      if (i < 0) break;
      out += rest.slice(0, i) + nw;
      rest = rest.slice(i + old.length);
    }
    return out + rest;
  },
  startswith: (s, a, k) => {
    const [p, st, en] = bind('startswith', a, k, ['prefix', 'start', 'end'], 1);
    return prefixTest('startswith', s, p, st, en, false);
  },
  endswith: (s, a, k) => {
    const [p, st, en] = bind('endswith', a, k, ['suffix', 'start', 'end'], 1);
    return prefixTest('endswith', s, p, st, en, true);
  },
  find: (s, a, k) => strFind('find', s, a, k, false, false),
  rfind: (s, a, k) => strFind('rfind', s, a, k, true, false),
  index: (s, a, k) => strFind('index', s, a, k, false, true),
  rindex: (s, a, k) => strFind('rindex', s, a, k, true, true),
  count: (s, a, k) => {
    const [sub, st, en] = bind('count', a, k, ['sub', 'start', 'end'], 1);
    const needle = chars(checkStr('count', sub, 'argument 1'));
    const cs = chars(s);
    const [from, to] = sliceBounds(cs.length, st, en);
    if (from > to) return 0;
    if (!needle.length) return to - from + 1;
    let n = 0;
    for (let i = from; i + needle.length <= to; ) {
      if (matchAt(cs, needle, i)) {
        n++;
        i += needle.length;
      } else i++;
    }
    return n;
  },
  removeprefix: (s, a, k) => {
    const p = checkStr('removeprefix', bind('removeprefix', a, k, ['prefix'], 1)[0]);
    return p && s.startsWith(p) ? s.slice(p.length) : s;
  },
  removesuffix: (s, a, k) => {
    const p = checkStr('removesuffix', bind('removesuffix', a, k, ['suffix'], 1)[0]);
    return p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  zfill: (s, a, k) => {
    const w = checkInt(bind('zfill', a, k, ['width'], 1)[0]);
    const cs = chars(s);
    if (cs.length >= w) return s;
    const fill = '0'.repeat(w - cs.length);
    if (cs[0] === '+' || cs[0] === '-') return cs[0] + fill + cs.slice(1).join('');
    return fill + s;
  },
  center: (s, a, k) => {
    const [w, f] = bind('center', a, k, ['width', 'fillchar'], 1);
    const width = checkInt(w);
    const fill = fillChar('center', f);
    const len = chars(s).length;
    const marg = width - len;
    if (marg <= 0) return s;
    const left = Math.floor(marg / 2) + (marg & width & 1);
    return fill.repeat(left) + s + fill.repeat(marg - left);
  },
  ljust: (s, a, k) => {
    const [w, f] = bind('ljust', a, k, ['width', 'fillchar'], 1);
    const n = checkInt(w) - chars(s).length;
    return n > 0 ? s + fillChar('ljust', f).repeat(n) : s;
  },
  rjust: (s, a, k) => {
    const [w, f] = bind('rjust', a, k, ['width', 'fillchar'], 1);
    const n = checkInt(w) - chars(s).length;
    return n > 0 ? fillChar('rjust', f).repeat(n) + s : s;
  },
  expandtabs: (s, a, k) => {
    const [t] = bind('expandtabs', a, k, ['tabsize'], 0, true);
    const size = t === undefined ? 8 : checkInt(t);
    let out = '';
    let col = 0;
    for (const c of s) {
      if (c === '\t') {
        const n = size > 0 ? size - (col % size) : 0;
        out += ' '.repeat(n);
        col += n;
      } else {
        out += c;
        col = c === '\n' || c === '\r' ? 0 : col + 1;
      }
    }
    return out;
  },
  isdigit: (s, a, k) => (bind('isdigit', a, k, [], 0), category(/[\p{Nd}\u00B2\u00B3\u00B9\u2070-\u2079\u2080-\u2089\u2460-\u2468]/u)(s)),
  isdecimal: (s, a, k) => (bind('isdecimal', a, k, [], 0), category(/\p{Nd}/u)(s)),
  isnumeric: (s, a, k) => (bind('isnumeric', a, k, [], 0), category(/\p{N}/u)(s)),
  isalpha: (s, a, k) => (bind('isalpha', a, k, [], 0), category(/\p{L}/u)(s)),
  isalnum: (s, a, k) => (bind('isalnum', a, k, [], 0), category(/[\p{L}\p{N}]/u)(s)),
  isascii: (s, a, k) => (bind('isascii', a, k, [], 0), /^[\x00-\x7f]*$/.test(s)),
  isspace: (s, a, k) => (bind('isspace', a, k, [], 0), s.length > 0 && chars(s).every(isWs)),
  isidentifier: (s, a, k) => (bind('isidentifier', a, k, [], 0), /^[\p{ID_Start}_][\p{ID_Continue}]*$/u.test(s)),
  isprintable: (s, a, k) => (bind('isprintable', a, k, [], 0), chars(s).every((c) => c === ' ' || !/[\p{C}\p{Z}]/u.test(c))),
  islower: (s, a, k) => {
    bind('islower', a, k, [], 0);
    const cased = chars(s).filter(isCased);
    return cased.length > 0 && cased.every(isLowerC);
  },
  isupper: (s, a, k) => {
    bind('isupper', a, k, [], 0);
    const cased = chars(s).filter(isCased);
    return cased.length > 0 && cased.every(isUpperC);
  },
  istitle: (s, a, k) => {
    bind('istitle', a, k, [], 0);
    let prevCased = false;
    let any = false;
    for (const c of s) {
      if (isUpperC(c)) {
        if (prevCased) return false;
        prevCased = true;
        any = true;
      } else if (isLowerC(c)) {
        if (!prevCased) return false;
        prevCased = true;
        any = true;
      } else prevCased = false;
    }
    return any;
  },
  format: (s, a, k) => strFormat(s, a, k, formatGetattr),
  format_map: (s, a, k) => {
    const [m] = bind('format_map', a, k, ['mapping'], 1);
    if (!isDict(m)) throw new PyError('TypeError', `'${typeName(m)}' object is not subscriptable`);
    const kw = new Map<string, unknown>();
    for (const [key, v] of m) if (typeof key === 'string') kw.set(key, v);
    return strFormat(s, [], kw, formatGetattr);
  },
  __format__: (s, a, k) => formatValue(s, checkStr('__format__', bind('__format__', a, k, ['format_spec'], 1)[0])),
};

/** `'{0.name}'.format(x)`: the emulated Python attributes only; special attributes are refused like Jinja2's sandbox does. */
function formatGetattr(obj: unknown, name: string): unknown {
  if (name.length > 4 && name.startsWith('__') && name.endsWith('__'))
    throw new PyError('SecurityError', `access to attribute '${name}' of '${typeName(obj)}' object is unsafe.`);
  const m = methodOf(obj, name);
  if (m) return m;
  throw new PyError('AttributeError', `'${typeName(obj)}' object has no attribute '${name}'`);
}

function strFind(method: string, s: string, a: unknown[], k: Map<string, unknown>, reverse: boolean, raise: boolean): number {
  const [sub, st, en] = bind(method, a, k, ['sub', 'start', 'end'], 1);
  const needle = chars(checkStr(method, sub, 'argument 1'));
  const cs = chars(s);
  const [from, to] = sliceBounds(cs.length, st, en);
  const i = from > to ? -1 : findIn(cs, needle, from, to, reverse);
  if (i < 0 && raise) throw new PyError('ValueError', 'substring not found');
  return i;
}

/** Python iteration for method arguments (join, extend, update): lists, tuples, str, dict keys. */
function iterateForMethod(v: unknown): unknown[] {
  if (isStrictUndefined(v)) throw undefinedError(v);
  if (typeof v === 'string') return chars(v);
  if (isSequence(v)) return [...v];
  if (isDict(v)) return [...v.keys()];
  throw new PyError('TypeError', `'${typeName(v)}' object is not iterable`);
}

function seqIndex(method: string, seq: unknown[], a: unknown[], k: Map<string, unknown>, kind: string): number {
  const [x, st, en] = bind(method, a, k, ['value', 'start', 'stop'], 1);
  const [from, to] = sliceBounds(seq.length, st, en);
  for (let i = from; i < to; i++) if (pyEquals(seq[i], x)) return i;
  throw new PyError('ValueError', kind === 'list' ? `${pyRepr(x)} is not in list` : 'tuple.index(x): x not in tuple');
}

const TUPLE_METHODS: Record<string, (t: unknown[], args: unknown[], kw: Map<string, unknown>) => unknown> = {
  count: (t, a, k) => {
    const [x] = bind('count', a, k, ['value'], 1);
    return t.filter((y) => pyEquals(y, x)).length;
  },
  index: (t, a, k) => seqIndex('index', t, a, k, 'tuple'),
};

const LIST_METHODS: Record<string, (l: unknown[], args: unknown[], kw: Map<string, unknown>) => unknown> = {
  ...TUPLE_METHODS,
  index: (l, a, k) => seqIndex('index', l, a, k, 'list'),
  append: (l, a, k) => {
    l.push(bind('append', a, k, ['object'], 1)[0]);
    return null;
  },
  extend: (l, a, k) => {
    l.push(...iterateForMethod(bind('extend', a, k, ['iterable'], 1)[0]));
    return null;
  },
  insert: (l, a, k) => {
    const [i, x] = bind('insert', a, k, ['index', 'object'], 2);
    let n = checkInt(i);
    if (n < 0) n = Math.max(0, n + l.length);
    l.splice(Math.min(n, l.length), 0, x);
    return null;
  },
  pop: (l, a, k) => {
    const [i] = bind('pop', a, k, ['index'], 0);
    if (!l.length) throw new PyError('IndexError', 'pop from empty list');
    let n = i === undefined ? l.length - 1 : checkInt(i);
    if (n < 0) n += l.length;
    if (n < 0 || n >= l.length) throw new PyError('IndexError', 'pop index out of range');
    return l.splice(n, 1)[0];
  },
  remove: (l, a, k) => {
    const [x] = bind('remove', a, k, ['value'], 1);
    const i = l.findIndex((y) => pyEquals(y, x));
    if (i < 0) throw new PyError('ValueError', 'list.remove(x): x not in list');
    l.splice(i, 1);
    return null;
  },
  reverse: (l, a, k) => {
    bind('reverse', a, k, [], 0);
    l.reverse();
    return null;
  },
  sort: (l, a, k) => {
    if (a.length) throw new PyError('TypeError', 'sort() takes no positional arguments');
    for (const key of k.keys()) {
      if (key === 'key') throw new PyError('TypeError', 'list.sort(key=...) is not supported in templates (use the sort filter)');
      if (key !== 'reverse') throw new PyError('TypeError', `'${key}' is an invalid keyword argument for sort()`);
    }
    const reverse = Boolean(k.get('reverse'));
    const sorted = [...l].sort((x, y) => pyCompare(x, y));
    if (reverse) sorted.reverse();
    l.splice(0, l.length, ...sorted);
    return null;
  },
  copy: (l, a, k) => (bind('copy', a, k, [], 0), [...l]),
  clear: (l, a, k) => {
    bind('clear', a, k, [], 0);
    l.length = 0;
    return null;
  },
};

const MISSING = Symbol('missing');

const DICT_METHODS: Record<string, (d: Map<unknown, unknown>, args: unknown[], kw: Map<string, unknown>) => unknown> = {
  get: (d, a, k) => {
    const [key, dflt] = bind('get', a, k, ['key', 'default'], 1);
    const v = dictGet(d, key, MISSING);
    return v === MISSING ? (dflt === undefined ? null : dflt) : v;
  },
  keys: (d, a, k) => (bind('keys', a, k, [], 0), dictView('dict_keys', d.keys())),
  values: (d, a, k) => (bind('values', a, k, [], 0), dictView('dict_values', d.values())),
  items: (d, a, k) => {
    bind('items', a, k, [], 0);
    const view = dictView('dict_items', []);
    d.forEach((v, key) => {
      const t = new PyTuple(2);
      t[0] = key;
      t[1] = v;
      view.push(t);
    });
    return view;
  },
  copy: (d, a, k) => (bind('copy', a, k, [], 0), new Map(d)),
  clear: (d, a, k) => {
    bind('clear', a, k, [], 0);
    d.clear();
    return null;
  },
  pop: (d, a, k) => {
    const [key, dflt] = bind('pop', a, k, ['key', 'default'], 1);
    if (!dictHas(d, key)) {
      if (a.length < 2) throw new PyError('KeyError', pyRepr(key));
      return dflt;
    }
    const v = dictGet(d, key);
    for (const existing of d.keys()) if (pyEquals(existing, key)) d.delete(existing);
    return v;
  },
  popitem: (d, a, k) => {
    bind('popitem', a, k, [], 0);
    const last = [...d].pop();
    if (!last) throw new PyError('KeyError', "'popitem(): dictionary is empty'");
    d.delete(last[0]);
    return tuple(last);
  },
  setdefault: (d, a, k) => {
    const [key, dflt] = bind('setdefault', a, k, ['key', 'default'], 1);
    if (dictHas(d, key)) return dictGet(d, key);
    const v = dflt === undefined ? null : dflt;
    dictSet(d, key, v);
    return v;
  },
  update: (d, a, k) => {
    if (a.length > 1) throw new PyError('TypeError', `update expected at most 1 argument, got ${a.length}`);
    if (a.length) {
      const other = a[0];
      if (isDict(other)) for (const [x, y] of other) dictSet(d, x, y);
      else
        for (const [i, pair] of iterateForMethod(other).entries()) {
          const kv = iterateForMethod(pair);
          if (kv.length !== 2)
            throw new PyError('ValueError', `dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
          dictSet(d, kv[0], kv[1]);
        }
    }
    for (const [x, y] of k) dictSet(d, x, y);
    return null;
  },
};

/** Is `name` a method of dict (so `d.name` is the method, not the item)? */
export function isDictMethod(name: string): boolean {
  return Object.hasOwn(DICT_METHODS, name);
}

function table(obj: unknown): Record<string, Impl> | undefined {
  if (typeof obj === 'string') return STR_METHODS as Record<string, Impl>;
  if (obj instanceof Map) return DICT_METHODS as Record<string, Impl>;
  if (obj instanceof PyDictView) return undefined;
  if (isTuple(obj) || obj instanceof PyRange) return TUPLE_METHODS as Record<string, Impl>;
  if (Array.isArray(obj)) return LIST_METHODS as Record<string, Impl>;
  return undefined;
}

/** The implementation of Python method `name` for `obj`'s type (called with obj, args, kwargs), or undefined. */
export function methodImpl(
  obj: unknown,
  name: string,
): ((self: unknown, args: unknown[], kwargs: Map<string, unknown>) => unknown) | undefined {
  const t = table(obj);
  return t && Object.hasOwn(t, name) ? (t[name] as (self: unknown, a: unknown[], k: Map<string, unknown>) => unknown) : undefined;
}

/** The Python method `name` of `obj`, bound, or undefined when the type has no such method. */
export function methodOf(obj: unknown, name: string): BoundMethod | undefined {
  const t = table(obj);
  return t && Object.hasOwn(t, name) ? new BoundMethod(obj, name, t[name]!) : undefined;
}
