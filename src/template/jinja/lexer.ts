/**
 * Jinja2's lexer (jinja2/lexer.py, 3.1), ported rule for rule: the same states, the same
 * whitespace control (`-`, `+`, trim_blocks, lstrip_blocks), the same brace balancing inside tags,
 * the same literal syntax and the same error messages. Tokens carry line and column.
 *
 * `tokenize` gives the parser's tokens; `rawTokens` the unconverted ones (Jinja2's `lex`), which
 * Ansible uses to double the backslashes of string literals inside `{{ }}` (see
 * `escapeBackslashes`).
 */
import { JinjaSyntaxError, type Pos } from './errors.ts';
import { float, int } from './value.ts';

/** The environment settings the lexer depends on. */
export interface LexerOptions {
  blockStart: string;
  blockEnd: string;
  variableStart: string;
  variableEnd: string;
  commentStart: string;
  commentEnd: string;
  trimBlocks: boolean;
  lstripBlocks: boolean;
  newlineSequence: string;
  keepTrailingNewline: boolean;
}

export interface Token {
  type: string;
  value: unknown;
  line: number;
  col: number;
}

const OPERATORS: Record<string, string> = {
  '+': 'add',
  '-': 'sub',
  '/': 'div',
  '//': 'floordiv',
  '*': 'mul',
  '%': 'mod',
  '**': 'pow',
  '~': 'tilde',
  '[': 'lbracket',
  ']': 'rbracket',
  '(': 'lparen',
  ')': 'rparen',
  '{': 'lbrace',
  '}': 'rbrace',
  '==': 'eq',
  '!=': 'ne',
  '>': 'gt',
  '>=': 'gteq',
  '<': 'lt',
  '<=': 'lteq',
  '=': 'assign',
  '.': 'dot',
  ':': 'colon',
  '|': 'pipe',
  ',': 'comma',
  ';': 'semicolon',
};
const REVERSE_OPERATORS: Record<string, string> = Object.fromEntries(Object.entries(OPERATORS).map(([k, v]) => [v, k]));

const TOKEN_DESCRIPTIONS: Record<string, string> = {
  comment_begin: 'begin of comment',
  comment_end: 'end of comment',
  comment: 'comment',
  linecomment: 'comment',
  block_begin: 'begin of statement block',
  block_end: 'end of statement block',
  variable_begin: 'begin of print statement',
  variable_end: 'end of print statement',
  linestatement_begin: 'begin of line statement',
  linestatement_end: 'end of line statement',
  data: 'template data / text',
  eof: 'end of template',
};

export function describeTokenType(type: string): string {
  return REVERSE_OPERATORS[type] ?? TOKEN_DESCRIPTIONS[type] ?? type;
}

/** Jinja2's describe_token: a name token is described by its value. */
export function describeToken(t: Token): string {
  return t.type === 'name' ? String(t.value) : describeTokenType(t.type);
}

/** describe_token_expr: `name:endfor` → `endfor`, `block_end` → `end of statement block`. */
export function describeTokenExpr(expr: string): string {
  const i = expr.indexOf(':');
  if (i >= 0) {
    const type = expr.slice(0, i);
    if (type === 'name') return expr.slice(i + 1);
    return describeTokenType(type);
  }
  return describeTokenType(expr);
}

const WHITESPACE = /\s+/y;
const FLOAT = /(?<!\.)(\d+_)*\d+((\.(\d+_)*\d+)?e[+-]?(\d+_)*\d+|\.(\d+_)*\d+)/iy;
const INTEGER = /(0b(_?[0-1])+|0o(_?[0-7])+|0x(_?[\da-f])+|[1-9](_?\d)*|0(_?0)*)/iy;
const NAME = /[\p{L}\p{N}\p{M}\p{Pc}\u00B7]+/uy;
const STRING = /('([^'\\]*(?:\\.[^'\\]*)*)'|"([^"\\]*(?:\\.[^"\\]*)*)")/sy;
const OPERATOR = /\/\/|\*\*|==|!=|>=|<=|[+\-/*%~[\](){}><=.:|,;]/y;
const IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;
const NEWLINES = /\r\n|\r|\n/g;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

interface Rules {
  /** The begin tags, in the order Jinja2 tries them at one position (longest first, then by name, reversed). */
  begins: { type: string; start: string }[];
  /** Finds the next first character of a begin tag, to skip plain text quickly. */
  firstChars: RegExp;
  raw: RegExp;
  blockEnd: RegExp;
  variableEnd: RegExp;
  commentEnd: RegExp;
  rawEnd: RegExp;
}

const rulesCache = new Map<string, Rules>();

function rulesFor(o: LexerOptions): Rules {
  const key = JSON.stringify(o);
  let r = rulesCache.get(key);
  if (r) return r;
  const bs = escapeRe(o.blockStart);
  const be = escapeRe(o.blockEnd);
  const ve = escapeRe(o.variableEnd);
  const ce = escapeRe(o.commentEnd);
  const suffix = o.trimBlocks ? '\\n?' : '';
  const begins = [
    { len: o.commentStart.length, type: 'comment_begin', start: o.commentStart },
    { len: o.blockStart.length, type: 'block_begin', start: o.blockStart },
    { len: o.variableStart.length, type: 'variable_begin', start: o.variableStart },
  ]
    .sort((a, b) => b.len - a.len || (a.type < b.type ? 1 : a.type > b.type ? -1 : 0))
    .map(({ type, start }) => ({ type, start }));
  r = {
    begins,
    firstChars: new RegExp(`[${[...new Set(begins.map((b) => b.start[0]!))].map(escapeRe).join('')}]`, 'g'),
    raw: new RegExp(`${bs}(-|\\+|)\\s*raw\\s*(?:-${be}\\s*|${be})`, 'y'),
    blockEnd: new RegExp(`(?:\\+${be}|-${be}\\s*|${be}${suffix})`, 'y'),
    variableEnd: new RegExp(`-${ve}\\s*|${ve}`, 'y'),
    commentEnd: new RegExp(`([\\s\\S]*?)((?:\\+${ce}|-${ce}\\s*|${ce}${suffix}))`, 'y'),
    rawEnd: new RegExp(`([\\s\\S]*?)((?:${bs}(-|\\+|))\\s*endraw\\s*(?:\\+${be}|-${be}\\s*|${be}${suffix}))`, 'y'),
  };
  rulesCache.set(key, r);
  return r;
}

/** The source as Jinja2 lexes it: newlines normalised to \n, the final newline dropped unless kept. */
export function normalizeSource(source: string, keepTrailingNewline: boolean): string {
  const lines = source.split(/\r\n|\r|\n/);
  if (!keepTrailingNewline && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

/** Offsets of line starts, for turning an offset into line and column. */
class LineIndex {
  readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  pos(offset: number): Pos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1 };
  }
}

function match(re: RegExp, s: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(s);
}

/**
 * Jinja2's tokeniter over the normalised source: raw tokens (data, tag delimiters, whitespace,
 * names, literals and operators as text) with their offsets.
 */
export function rawTokens(
  source: string,
  o: LexerOptions,
  emit: (type: string, value: string, offset: number) => void,
  lines = new LineIndex(source),
  initial?: 'variable',
): void {
  const rules = rulesFor(o);
  const fail = (msg: string, offset: number): never => {
    throw new JinjaSyntaxError(msg, lines.pos(offset));
  };
  let pos = 0;
  const n = source.length;
  const balancing: string[] = [];
  let lineStarting = true;
  const state: string[] = initial ? ['root', 'variable_begin'] : ['root'];
  const lstrip = (text: string, sign: string, isVariable: boolean): string => {
    if (sign === '-') return text.replace(/\s+$/, '');
    if (sign !== '+' && o.lstripBlocks && !isVariable) {
      const lpos = text.lastIndexOf('\n') + 1;
      if ((lpos > 0 || lineStarting) && /^\s+$/.test(text.slice(lpos))) return text.slice(0, lpos);
    }
    return text;
  };

  while (pos < n || state.length > 1) {
    const st = state[state.length - 1]!;
    if (st === 'root') {
      // The earliest begin tag; at one position the raw block is tried first, then the tags in order.
      let found: { at: number; type: string; tag: string; sign: string } | undefined;
      for (let i = pos; i < n && !found; i++) {
        rules.firstChars.lastIndex = i;
        const next = rules.firstChars.exec(source);
        if (!next) break;
        i = next.index;
        if (source.startsWith(o.blockStart, i)) {
          const m = match(rules.raw, source, i);
          if (m) {
            found = { at: i, type: 'raw_begin', tag: m[0], sign: m[1]! };
            break;
          }
        }
        for (const b of rules.begins) {
          if (source.startsWith(b.start, i)) {
            const c = source[i + b.start.length];
            const sign = c === '-' || c === '+' ? c : '';
            found = { at: i, type: b.type, tag: b.start + sign, sign };
            break;
          }
        }
      }
      if (!found) {
        emit('data', source.slice(pos), pos);
        lineStarting = source.endsWith('\n');
        pos = n;
        break;
      }
      const text = lstrip(source.slice(pos, found.at), found.sign, found.type === 'variable_begin');
      if (text) emit('data', text, pos);
      emit(found.type, found.tag, found.at);
      pos = found.at + found.tag.length;
      lineStarting = found.tag.endsWith('\n');
      state.push(found.type);
      continue;
    }
    if (pos >= n) break;
    if (st === 'comment_begin') {
      const m = match(rules.commentEnd, source, pos);
      if (!m) fail('Missing end of comment tag', pos);
      if (m![1]) emit('comment', m![1], pos);
      emit('comment_end', m![2]!, pos + m![1]!.length);
      pos += m![0].length;
      lineStarting = m![0].endsWith('\n');
      state.pop();
      continue;
    }
    if (st === 'raw_begin') {
      const m = match(rules.rawEnd, source, pos);
      if (!m) fail('Missing end of raw directive', pos);
      const text = lstrip(m![1]!, m![3]!, false);
      if (text) emit('data', text, pos);
      emit('raw_end', m![2]!, pos + m![1]!.length);
      pos += m![0].length;
      lineStarting = m![0].endsWith('\n');
      state.pop();
      continue;
    }
    // Inside a block or variable tag.
    const endRe = st === 'block_begin' ? rules.blockEnd : rules.variableEnd;
    const c0 = source[pos]!;
    if (!balancing.length && (c0 === '-' || c0 === '+' || c0 === (st === 'block_begin' ? o.blockEnd[0] : o.variableEnd[0]))) {
      const m = match(endRe, source, pos);
      if (m) {
        emit(st === 'block_begin' ? 'block_end' : 'variable_end', m[0], pos);
        pos += m[0].length;
        lineStarting = m[0].endsWith('\n');
        state.pop();
        continue;
      }
    }
    // Jinja2 tries whitespace, float, integer, name, string, operator in this order; the first
    // character tells which can match, so only those are tried, and plain ASCII runs are scanned
    // without a regular expression.
    const code = source.charCodeAt(pos);
    let text: string | undefined;
    let type = '';
    if (code === 32 || code === 9 || code === 10 || code === 13) {
      let j = pos + 1;
      for (; j < n; j++) {
        const c = source.charCodeAt(j);
        if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      }
      if (j < n && source.charCodeAt(j) > 127) text = match(WHITESPACE, source, pos)![0];
      else text = source.slice(pos, j);
      type = 'whitespace';
    } else if (code >= 48 && code <= 57) {
      let j = pos + 1;
      while (j < n && source.charCodeAt(j) >= 48 && source.charCodeAt(j) <= 57) j++;
      const next = source[j];
      if (next !== undefined && '.eE_xXoObB'.includes(next)) {
        let m = match(FLOAT, source, pos);
        if (m) type = 'float';
        else {
          m = match(INTEGER, source, pos)!;
          type = 'integer';
        }
        text = m[0];
      } else if (code === 48 && j > pos + 1 && /[1-9]/.test(source.slice(pos, j))) {
        text = match(INTEGER, source, pos)![0];
        type = 'integer';
      } else {
        text = source.slice(pos, j);
        type = 'integer';
      }
    } else if (isAsciiNameStart(code)) {
      let j = pos + 1;
      while (j < n && isAsciiNameChar(source.charCodeAt(j))) j++;
      text = j < n && source.charCodeAt(j) > 127 ? match(NAME, source, pos)![0] : source.slice(pos, j);
      type = 'name';
    } else if (code === 39 || code === 34) {
      const m = match(STRING, source, pos);
      if (m) {
        text = m[0];
        type = 'string';
      }
    } else if (code > 127 && !/\s/.test(c0)) {
      const m = match(NAME, source, pos);
      if (m) {
        text = m[0];
        type = 'name';
      }
    } else if (code > 127) {
      text = match(WHITESPACE, source, pos)![0];
      type = 'whitespace';
    }
    if (text === undefined) {
      const m = match(OPERATOR, source, pos);
      if (!m) return fail(`unexpected char ${pyCharRepr(source[pos]!)} at ${pos}`, pos);
      text = m[0];
      type = 'operator';
      if (text === '{') balancing.push('}');
      else if (text === '(') balancing.push(')');
      else if (text === '[') balancing.push(']');
      else if (text === '}' || text === ')' || text === ']') {
        if (!balancing.length) fail(`unexpected '${text}'`, pos);
        const expected = balancing.pop();
        if (expected !== text) fail(`unexpected '${text}', expected '${expected}'`, pos);
      }
    }
    emit(type, text, pos);
    pos += text.length;
    lineStarting = text.endsWith('\n');
  }
}

function isAsciiNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isAsciiNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57);
}

function pyCharRepr(c: string): string {
  if (c === "'") return `"'"`;
  if (c === '\\') return "'\\\\'";
  return `'${c}'`;
}

/** Tokens for the parser (Jinja2's `tokenize`: rawTokens converted, whitespace and comments dropped), ending with eof. */
export function tokenize(source: string, o: LexerOptions, initial?: 'variable'): Token[] {
  const text = normalizeSource(source, o.keepTrailingNewline);
  const lines = new LineIndex(text);
  const out: Token[] = [];
  const nl = o.newlineSequence;
  // Offsets only grow, so the line is tracked with a cursor instead of a search per token.
  const starts = lines.starts;
  let li = 0;
  rawTokens(
    text,
    o,
    (type, value, offset) => {
      while (li + 1 < starts.length && starts[li + 1]! <= offset) li++;
      const line = li + 1;
      const col = offset - starts[li]! + 1;
      switch (type) {
        case 'comment_begin':
        case 'comment':
        case 'comment_end':
        case 'whitespace':
        case 'raw_begin':
        case 'raw_end':
          return;
        case 'data':
          out.push({ type, value: nl === '\n' ? value : value.replace(/\n/g, nl), line, col });
          return;
        case 'name':
          if (!IDENTIFIER.test(value)) throw new JinjaSyntaxError('Invalid character in identifier', { line, col });
          out.push({ type, value, line, col });
          return;
        case 'string':
          out.push({ type, value: unescapeString(value.slice(1, -1).replace(NEWLINES, nl), { line, col }), line, col });
          return;
        case 'integer':
          out.push({ type, value: parseInteger(value.replace(/_/g, '')), line, col });
          return;
        case 'float':
          out.push({ type, value: float(Number(value.replace(/_/g, ''))), line, col });
          return;
        case 'operator':
          out.push({ type: OPERATORS[value]!, value, line, col });
          return;
        default:
          out.push({ type, value, line, col });
      }
    },
    lines,
    initial,
  );
  const last = out[out.length - 1];
  const end = lines.pos(text.length);
  out.push({ type: 'eof', value: '', line: last ? Math.max(last.line, end.line) : end.line, col: end.col });
  return out;
}

function parseInteger(s: string): number | bigint {
  const lower = s.toLowerCase();
  let b: bigint;
  if (lower.startsWith('0b') || lower.startsWith('0o') || lower.startsWith('0x')) b = BigInt(lower);
  else b = BigInt(s);
  return int(b);
}

/** Python's unicode-escape decoding of a string literal's body (`\n`, `\x41`, `\u00e9`, octal, unknown escapes kept). */
export function unescapeString(s: string, at: Pos): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[i + 1];
    if (e === undefined) throw new JinjaSyntaxError('\\ at end of string', at);
    i++;
    switch (e) {
      case '\n':
        break;
      case '\\':
        out += '\\';
        break;
      case "'":
        out += "'";
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(i + 1, i + 1 + len);
        if (hex.length < len || !/^[0-9a-fA-F]+$/.test(hex)) {
          const kind = e === 'x' ? 'truncated \\xXX escape' : e === 'u' ? 'truncated \\uXXXX escape' : 'truncated \\UXXXXXXXX escape';
          throw new JinjaSyntaxError(kind, at);
        }
        const cp = Number.parseInt(hex, 16);
        if (cp > 0x10ffff) throw new JinjaSyntaxError('illegal Unicode character', at);
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      case 'N':
        throw new JinjaSyntaxError('\\N{...} escapes are not supported', at);
      default:
        if (e >= '0' && e <= '7') {
          let oct = e;
          while (oct.length < 3 && s[i + 1] !== undefined && s[i + 1]! >= '0' && s[i + 1]! <= '7') oct += s[++i];
          out += String.fromCodePoint(Number.parseInt(oct, 8));
        } else out += `\\${e}`;
    }
  }
  return out;
}

/**
 * Ansible's `_escape_backslashes` (Templar.template with escape_backslashes=True, i.e. values in
 * playbooks, not template files): inside `{{ }}`, string literals have their backslashes doubled,
 * so `"{{ 'a\\n' }}"` keeps a backslash. The text is rebuilt from the raw tokens, as Ansible does.
 */
export function escapeBackslashes(source: string, o: LexerOptions): string {
  if (!source.includes('\\') || !source.includes(o.variableStart)) return source;
  const text = normalizeSource(source, o.keepTrailingNewline);
  let inVar = false;
  let out = '';
  rawTokens(text, o, (type, value) => {
    if (type === 'variable_begin') inVar = true;
    else if (type === 'variable_end') inVar = false;
    out += inVar && type === 'string' ? value.replace(/\\/g, '\\\\') : value;
  });
  return out;
}
