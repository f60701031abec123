/**
 * Jinja2's builtin string filters (jinja2/filters.py 3.1) with Python's str semantics:
 * capitalize, center, escape/e, forceescape, filesizeformat, format, indent, lower, upper,
 * replace, striptags, title, trim, truncate, urlencode, wordcount, wordwrap, xmlattr, pprint,
 * tojson. `urlize` (HTML link detection) is refused: no role renders HTML with it.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { formatFloatAbs, percentFormat, toFloat, toIndex } from '../jinja/convert.ts';
import { PyError, pyRepr, pyStr, truthy, tuple, typeName, Undefined } from '../jinja/value.ts';
import { filter } from './args.ts';
import { escapeHtml, striptags } from './html.ts';
import { dumps } from './json.ts';
import { pformat } from './pprint.ts';
import { codePoints, iterate, splitlines, strip } from './py.ts';
import { compile, findall, splitRe } from './pyre.ts';
import { wrap } from './textwrap.ts';

/** Characters whose Python title case differs from their upper case (str.capitalize uses title case). */
const TITLE = new Map(
  'ßSs Ǆǅ ǅǅ ǆǅ Ǉǈ ǈǈ ǉǈ Ǌǋ ǋǋ ǌǋ Ǳǲ ǲǲ ǳǲ ևԵւ ᾀᾈ ᾁᾉ ᾂᾊ ᾃᾋ ᾄᾌ ᾅᾍ ᾆᾎ ᾇᾏ ᾈᾈ ᾉᾉ ᾊᾊ ᾋᾋ ᾌᾌ ᾍᾍ ᾎᾎ ᾏᾏ ᾐᾘ ᾑᾙ ᾒᾚ ᾓᾛ ᾔᾜ ᾕᾝ ᾖᾞ ᾗᾟ ᾘᾘ ᾙᾙ ᾚᾚ ᾛᾛ ᾜᾜ ᾝᾝ ᾞᾞ ᾟᾟ ᾠᾨ ᾡᾩ ᾢᾪ ᾣᾫ ᾤᾬ ᾥᾭ ᾦᾮ ᾧᾯ ᾨᾨ ᾩᾩ ᾪᾪ ᾫᾫ ᾬᾬ ᾭᾭ ᾮᾮ ᾯᾯ ᾲᾺͅ ᾳᾼ ᾴΆͅ ᾷᾼ͂ ᾼᾼ ῂῊͅ ῃῌ ῄΉͅ ῇῌ͂ ῌῌ ῲῺͅ ῳῼ ῴΏͅ ῷῼ͂ ῼῼ ﬀFf ﬁFi ﬂFl ﬃFfi ﬄFfl ﬅSt ﬆSt ﬓՄն ﬔՄե ﬕՄի ﬖՎն ﬗՄխ'
    .split(' ')
    .map((pair) => {
      const [c, ...t] = [...pair];
      return [c!, t.join('')] as const;
    }),
);

function titleChar(c: string): string {
  const cp = c.codePointAt(0)!;
  if (cp >= 0x10d0 && cp <= 0x10ff) return c; // Georgian Mkhedruli is its own title case
  return TITLE.get(c) ?? c.toUpperCase();
}

/** Python's str.capitalize(). */
export function capitalize(s: string): string {
  const [first = '', ...rest] = [...s];
  return titleChar(first) + rest.join('').toLowerCase();
}

/** Python's str.center(width). */
function center(s: string, width: number): string {
  const len = codePoints(s);
  if (len >= width) return s;
  const marg = width - len;
  const left = Math.floor(marg / 2) + (marg & width & 1);
  return ' '.repeat(left) + s + ' '.repeat(marg - left);
}

/** Python's str.replace(old, new, count). */
function replace(s: string, old: string, repl: string, count: number): string {
  const max = count < 0 ? Number.MAX_SAFE_INTEGER : count;
  if (old === '') {
    // Python inserts before every character and at the end.
    const cps = [...s];
    let out = '';
    for (let i = 0; i <= cps.length; i++) out += (i < max ? repl : '') + (cps[i] ?? '');
    return out;
  }
  let out = '';
  let at = 0;
  for (let n = 0; n < max; n++) {
    const i = s.indexOf(old, at);
    if (i < 0) break;
    out += s.slice(at, i) + repl;
    at = i + old.length;
  }
  return out + s.slice(at);
}

const TITLE_SPLIT = compile('([-\\s({\\[<]+)');
const WORD = compile('\\w+');

/** Jinja2's do_title: each word's first character upper-cased, the rest lower-cased. */
function title(s: string): string {
  return splitRe(TITLE_SPLIT, s)
    .filter((item): item is string => !!item)
    .map((item) => {
      const [first = '', ...rest] = [...item];
      return first.toUpperCase() + rest.join('').toLowerCase();
    })
    .join('');
}

/** Jinja2's url_quote: UTF-8 percent-encoding, keeping A-Z a-z 0-9 _ . - ~ (and / unless for a query). */
function urlQuote(v: unknown, forQs: boolean): string {
  const s = pyStr(v);
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.\-~]/.test(c) || (!forQs && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return forQs ? out.replace(/%20/g, '+') : out;
}

const ATTR_KEY = /[ \t\n\r\f\v/>=]/;

function jsonIndent(indent: unknown): string | null {
  if (indent === null || indent === undefined) return null;
  if (typeof indent === 'string') return indent;
  return ' '.repeat(Math.max(0, toIndex(indent)));
}

function text(v: unknown): string {
  return pyStr(v);
}

export const jinjaTextFilters: FilterTable = {
  capitalize: filter('capitalize', [], (_env, v) => capitalize(text(v))),

  center: filter('center', [['width', 80]], (_env, v, a) => center(text(v), toIndex(a.width))),

  escape: filter('escape', [], (_env, v) => escapeHtml(text(v))),
  e: filter('escape', [], (_env, v) => escapeHtml(text(v))),
  forceescape: filter('forceescape', [], (_env, v) => escapeHtml(text(v))),

  filesizeformat: filter('filesizeformat', [['binary', false]], (_env, v, a) => {
    const bytes = toFloat(v);
    const binary = truthy(a.binary);
    const base = binary ? 1024 : 1000;
    const prefixes = binary ? ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] : ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
    if (bytes === 1) return '1 Byte';
    if (bytes < base) return `${Math.trunc(bytes)} Bytes`;
    const f1 = (x: number) => (x < 0 ? '-' : '') + formatFloatAbs(Math.abs(x), 'f', 1);
    let unit = 0;
    for (let i = 0; i < prefixes.length; i++) {
      unit = base ** (i + 2);
      if (bytes < unit) return `${f1((base * bytes) / unit)} ${prefixes[i]}`;
    }
    return `${f1((base * bytes) / unit)} ${prefixes[prefixes.length - 1]}`;
  }),

  format: filter(
    'format',
    [],
    (_env, v, _a, b) => {
      if (b.rest.length && b.kw.size) {
        throw new PyError('FilterArgumentError', "can't handle positional and keyword arguments at the same time");
      }
      return percentFormat(text(v), b.kw.size ? new Map(b.kw) : tuple(b.rest));
    },
    { varargs: true, varkw: true },
  ),

  indent: filter(
    'indent',
    [
      ['width', 4],
      ['first', false],
      ['blank', false],
    ],
    (_env, s, a) => {
      if (typeof s !== 'string') {
        throw new PyError(
          'TypeError',
          Array.isArray(s)
            ? `can only concatenate ${typeName(s)} (not "str") to ${typeName(s)}`
            : `unsupported operand type(s) for +=: '${typeName(s)}' and 'str'`,
        );
      }
      const indention = typeof a.width === 'string' ? a.width : ' '.repeat(Math.max(0, toIndex(a.width)));
      const lines = splitlines(`${s}\n`);
      let rv: string;
      if (truthy(a.blank)) rv = lines.join(`\n${indention}`);
      else {
        rv = lines.shift()!;
        if (lines.length) rv += `\n${lines.map((line) => (line ? indention + line : line)).join('\n')}`;
      }
      return truthy(a.first) ? indention + rv : rv;
    },
  ),

  lower: filter('lower', [], (_env, v) => text(v).toLowerCase()),
  upper: filter('upper', [], (_env, v) => text(v).toUpperCase()),

  replace: filter('replace', ['old', 'new', ['count', null]], (_env, v, a) => {
    const count = a.count === null ? -1 : toIndex(a.count);
    return replace(text(v), text(a.old), text(a.new), count);
  }),

  striptags: filter('striptags', [], (_env, v) => striptags(text(v))),

  title: filter('title', [], (_env, v) => title(text(v))),

  trim: filter('trim', [['chars', null]], (_env, v, a) => {
    if (a.chars !== null && typeof a.chars !== 'string') throw new PyError('TypeError', 'strip arg must be None or str');
    return strip(text(v), a.chars as string | null);
  }),

  truncate: filter(
    'truncate',
    [
      ['length', 255],
      ['killwords', false],
      ['end', '...'],
      ['leeway', null],
    ],
    (_env, s, a) => {
      const leeway = a.leeway === null ? 5 : toIndex(a.leeway);
      const length = toIndex(a.length);
      const end = a.end;
      if (typeof end !== 'string') throw new PyError('TypeError', `object of type '${typeName(end)}' has no len()`);
      const endLen = codePoints(end);
      if (length < endLen) throw new PyError('AssertionError', `expected length >= ${endLen}, got ${length}`);
      if (leeway < 0) throw new PyError('AssertionError', `expected leeway >= 0, got ${leeway}`);
      if (typeof s !== 'string') {
        if (Array.isArray(s) && s.length <= length + leeway) return s;
        throw new PyError('TypeError', `can only concatenate ${typeName(s)} (not "str") to ${typeName(s)}`);
      }
      const cps = [...s];
      if (cps.length <= length + leeway) return s;
      const head = cps.slice(0, Math.max(0, length - endLen)).join('');
      if (truthy(a.killwords)) return head + end;
      const cut = head.lastIndexOf(' ');
      return (cut < 0 ? head : head.slice(0, cut)) + end;
    },
  ),

  urlencode: filter('urlencode', [], (_env, v) => {
    if (typeof v === 'string' || !(Array.isArray(v) || v instanceof Map)) return urlQuote(v, false);
    const pairs: unknown[][] = v instanceof Map ? [...v] : v.map((item) => iterate(item));
    return pairs
      .map((pair) => {
        if (pair.length !== 2) throw new PyError('ValueError', `too many values to unpack (expected 2)`);
        return `${urlQuote(pair[0], true)}=${urlQuote(pair[1], true)}`;
      })
      .join('&');
  }),

  urlize: filter(
    'urlize',
    [],
    () => {
      throw new PyError('NotSupported', "the 'urlize' filter (HTML links) is not supported by Kiln");
    },
    { varargs: true, varkw: true },
  ),

  wordcount: filter('wordcount', [], (_env, v) => findall(WORD, text(v)).length),

  wordwrap: filter(
    'wordwrap',
    [
      ['width', 79],
      ['break_long_words', true],
      ['wrapstring', null],
      ['break_on_hyphens', true],
    ],
    (_env, s, a) => {
      if (typeof s !== 'string') throw new PyError('AttributeError', `'${typeName(s)}' object has no attribute 'splitlines'`);
      const wrapstring = a.wrapstring === null ? '\n' : text(a.wrapstring);
      const o = { width: toIndex(a.width), breakLongWords: truthy(a.break_long_words), breakOnHyphens: a.break_on_hyphens === true };
      return splitlines(s)
        .map((line) => wrap(line, o).join(wrapstring))
        .join(wrapstring);
    },
  ),

  xmlattr: filter('xmlattr', [['autospace', true]], (_env, d, a) => {
    if (!(d instanceof Map)) throw new PyError('AttributeError', `'${typeName(d)}' object has no attribute 'items'`);
    const items: string[] = [];
    for (const [key, value] of d) {
      if (value === null || value instanceof Undefined) continue;
      if (typeof key === 'string' && ATTR_KEY.test(key))
        throw new PyError('ValueError', `Invalid character in attribute name: ${pyRepr(key)}`);
      items.push(`${escapeHtml(text(key))}="${escapeHtml(text(value))}"`);
    }
    const rv = items.join(' ');
    return truthy(a.autospace) && rv ? ` ${rv}` : rv;
  }),

  pprint: filter('pprint', [], (_env, v) => pformat(v)),

  // Jinja2's htmlsafe_json_dumps with the default policy (sort_keys=True).
  tojson: filter('tojson', [['indent', null]], (_env, v, a) =>
    dumps(v, { sortKeys: true, indent: jsonIndent(a.indent) })
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/'/g, '\\u0027'),
  ),
};
