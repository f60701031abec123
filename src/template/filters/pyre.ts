/**
 * Python's `re` module on top of JavaScript RegExp: a Python pattern is translated into an
 * equivalent JS pattern (compiled with the `v` flag) so that it matches exactly what Python's
 * would, and search/match/sub/findall/split follow Python's semantics.
 *
 * The translation spells out what differs instead of relying on JS flags:
 * - `.` is `[^\n]` (DOTALL: any character); `^`/`$`/`\A`/`\Z` are lookarounds with Python's
 *   meaning (`$` also matches before a final newline; MULTILINE breaks lines at `\n` only);
 * - `\w`, `\d`, `\s`, `\b` are Unicode-aware like Python's str patterns (ASCII with `(?a)`);
 * - `(?P<name>…)`, `(?P=name)`, `(?#…)`, `{,n}`, global inline flags `(?imsx)`, octal escapes,
 *   `re.VERBOSE` whitespace and comments.
 * What Python has and JS cannot express (conditionals `(?(1)…)`, atomic groups, possessive
 * quantifiers, scoped flags `(?i:…)`, `\N{…}`) is refused with a PyError, never approximated.
 */
import { PyError } from '../jinja/value.ts';
import { codePoints } from './py.ts';

export interface PyFlags {
  ignorecase?: boolean;
  multiline?: boolean;
  dotall?: boolean;
  verbose?: boolean;
  ascii?: boolean;
}

export interface PyPattern {
  source: string;
  /** Number of capturing groups. */
  groups: number;
  /** Group name → number. */
  groupIndex: Map<string, number>;
  /** Global regexp (search from lastIndex). */
  global: RegExp;
  /** Sticky regexp (match exactly at lastIndex). */
  sticky: RegExp;
}

export interface PyMatch {
  start: number;
  end: number;
  /** group 0..n; undefined for a group that did not participate. */
  groups: (string | undefined)[];
}

function reError(msg: string, pos?: number): PyError {
  return new PyError('re.error', pos === undefined ? msg : `${msg} at position ${pos}`);
}

function notSupported(what: string): PyError {
  return new PyError('NotSupported', `Python regular expression ${what} is not supported by Kiln`);
}

const WS_CLASS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

function lit(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /[A-Za-z0-9]/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

type Ctx = Required<PyFlags>;

function classEscape(letter: string, ascii: boolean): string | undefined {
  switch (letter) {
    case 'd':
      return ascii ? '[0-9]' : '\\p{Nd}';
    case 'D':
      return ascii ? '[^0-9]' : '\\P{Nd}';
    case 'w':
      return ascii ? '[A-Za-z0-9_]' : '[\\p{L}\\p{N}_]';
    case 'W':
      return ascii ? '[^A-Za-z0-9_]' : '[^\\p{L}\\p{N}_]';
    case 's':
      return ascii ? '[ \\t\\n\\r\\f\\v]' : `[${WS_CLASS}]`;
    case 'S':
      return ascii ? '[^ \\t\\n\\r\\f\\v]' : `[^${WS_CLASS}]`;
  }
  return undefined;
}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };

/** Translates a Python pattern; returns the JS source, group count and names. */
function translate(pattern: string, flags: PyFlags): { js: string; groups: number; names: Map<string, number>; ctx: Ctx } {
  const ctx: Ctx = {
    ignorecase: !!flags.ignorecase,
    multiline: !!flags.multiline,
    dotall: !!flags.dotall,
    verbose: !!flags.verbose,
    ascii: !!flags.ascii,
  };
  const cps = [...pattern];
  let i = 0;
  // Global inline flags, only at the very start (Python 3.11).
  for (;;) {
    const m = /^\(\?([aiLmsux]+)\)/.exec(cps.slice(i).join(''));
    if (!m) break;
    for (const f of m[1]!) {
      if (f === 'i') ctx.ignorecase = true;
      else if (f === 'm') ctx.multiline = true;
      else if (f === 's') ctx.dotall = true;
      else if (f === 'x') ctx.verbose = true;
      else if (f === 'a') ctx.ascii = true;
      else if (f === 'L') throw reError("bad inline flags: cannot use 'L' flag with a str pattern");
    }
    i += [...m[0]].length;
  }
  let groups = 0;
  const names = new Map<string, number>();
  const openGroups: number[] = [];
  // Widths (min, max code points) as Python's sre_parse computes them, for its lookbehind rule: a
  // look-behind must be fixed-width (JS would accept any width: silently more matches).
  type W = [number, number];
  interface Frame {
    start: number;
    kind: 'group' | 'other' | 'ahead' | 'behind';
    gid: number;
    alt: W | undefined;
    seq: W;
    /** The sequence's width before its last item (the one a quantifier repeats), and that item's. */
    prev: W;
    lastW: W;
    /** For a look-behind: the groups count when the outermost enclosing look-behind began, before it. */
    savedLookbehind: number | undefined;
  }
  const frame = (start: number, kind: Frame['kind'], gid = 0): Frame => ({
    start,
    kind,
    gid,
    alt: undefined,
    seq: [0, 0],
    prev: [0, 0],
    lastW: [0, 0],
    savedLookbehind: lookbehindGroups,
  });
  const groupWidths = new Map<number, W>();
  /** Groups defined before the outermost open look-behind began (Python: state.lookbehindgroups). */
  let lookbehindGroups: number | undefined;
  let variableLookbehind = false;
  const frames: Frame[] = [frame(0, 'other')];
  const top = () => frames[frames.length - 1]!;
  const addW = (w: W) => {
    const f = top();
    f.prev = f.seq;
    f.seq = [f.seq[0] + w[0], f.seq[1] + w[1]];
    f.lastW = w;
  };
  const widthOf = (f: Frame): W => (f.alt ? [Math.min(f.alt[0], f.seq[0]), Math.max(f.alt[1], f.seq[1])] : f.seq);
  /** Python's checklookbehindgroup: a reference inside a look-behind to a group defined in it. */
  const checkLookbehindRef = (g: number) => {
    if (lookbehindGroups !== undefined && g > lookbehindGroups)
      throw reError('cannot refer to group defined in the same lookbehind subpattern', i);
  };
  let out = '';
  const word = ctx.ascii ? '[A-Za-z0-9_]' : '[\\p{L}\\p{N}_]';
  const wordBoundary = `(?:(?<=${word})(?!${word})|(?<!${word})(?=${word}))`;
  const notWordBoundary = `(?:(?<=${word})(?=${word})|(?<!${word})(?!${word}))`;
  const peek = (k = 0) => cps[i + k];
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const isOct = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
  const hexAt = (n: number, start: number): number => {
    const h = cps.slice(i, i + n).join('');
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw reError(`incomplete escape \\${cps[i - 1]}${h}`, start);
    i += n;
    return Number.parseInt(h, 16);
  };
  /** A literal-character escape after the backslash (shared by classes and the top level); undefined if not one. */
  const charEscape = (c: string, start: number, inClass: boolean): number | undefined => {
    if (c in SIMPLE_ESCAPES && (c !== 'b' || inClass)) return SIMPLE_ESCAPES[c];
    if (c === 'x') return hexAt(2, start);
    if (c === 'u') return hexAt(4, start);
    if (c === 'U') {
      const cp = hexAt(8, start);
      if (cp > 0x10ffff) throw reError(`bad escape \\U${cps.slice(i - 8, i).join('')}`, start);
      return cp;
    }
    if (c === 'N') throw notSupported('\\N{...} escapes');
    if (c === '0' || (inClass && isOct(c))) {
      let digits = c;
      while (digits.length < 3 && isOct(peek())) digits += cps[i++];
      const cp = Number.parseInt(digits, 8);
      if (cp > 0o377) throw reError(`octal escape value \\${digits} outside of range 0-0o377`, start);
      return cp;
    }
    if (!/[A-Za-z0-9]/.test(c)) return c.codePointAt(0)!;
    return undefined;
  };
  /** What the output ends with: nothing repeatable, an atom, a repeat, or an assertion. */
  let last: 'none' | 'atom' | 'repeat' | 'assert' | 'lookaround' = 'none';
  const emit = (js: string, kind: 'atom' | 'assert' | 'lookaround', width: W = kind === 'atom' ? [1, 1] : [0, 0]) => {
    out += js;
    last = kind;
    addW(width);
  };
  while (i < cps.length) {
    const start = i;
    const c = cps[i++]!;
    if (ctx.verbose && /[\t\n\v\f\r ]/.test(c)) continue;
    if (ctx.verbose && c === '#') {
      while (i < cps.length && cps[i] !== '\n') i++;
      continue;
    }
    switch (c) {
      case '\\': {
        const e = cps[i++];
        if (e === undefined) throw reError('bad escape (end of pattern)', start);
        if (e === 'A') emit('(?<![\\s\\S])', 'assert');
        else if (e === 'Z') emit('(?![\\s\\S])', 'assert');
        else if (e === 'b') emit(wordBoundary, 'assert');
        else if (e === 'B') emit(notWordBoundary, 'assert');
        else if (classEscape(e, ctx.ascii)) emit(classEscape(e, ctx.ascii)!, 'atom');
        else if (isDigit(e) && e !== '0') {
          // \ddd is octal when three octal digits, else a group reference of one or two digits.
          if (isOct(e) && isOct(peek()) && isOct(peek(1))) {
            const digits = e + cps[i] + cps[i + 1];
            i += 2;
            const cp = Number.parseInt(digits, 8);
            if (cp > 0o377) throw reError(`octal escape value \\${digits} outside of range 0-0o377`, start);
            emit(lit(cp), 'atom');
          } else {
            let n = e;
            if (isDigit(peek())) n += cps[i++];
            const g = Number(n);
            if (g > groups) throw reError(`invalid group reference ${g}`, start + 1);
            if (openGroups.includes(g)) throw reError('cannot refer to an open group', start);
            checkLookbehindRef(g);
            emit(`(?:\\${g})`, 'atom', groupWidths.get(g));
          }
        } else {
          const cp = charEscape(e, start, false);
          if (cp === undefined) throw reError(`bad escape \\${e}`, start);
          emit(lit(cp), 'atom');
        }
        break;
      }
      case '.':
        emit(ctx.dotall ? '[\\s\\S]' : '[^\\n]', 'atom');
        break;
      case '^':
        emit(ctx.multiline ? '(?<![^\\n])' : '(?<![\\s\\S])', 'assert');
        break;
      case '$':
        emit(ctx.multiline ? '(?![^\\n])' : '(?=\\n?(?![\\s\\S]))', 'assert');
        break;
      case '[': {
        let cls = '[';
        if (peek() === '^') {
          cls += '^';
          i++;
        }
        let first = true;
        const parts: string[] = [];
        for (;;) {
          const ch = cps[i];
          if (ch === undefined) throw reError('unterminated character set', start);
          if (ch === ']' && !first) {
            i++;
            break;
          }
          first = false;
          const itemStart = i;
          i++;
          let item: { kind: 'cp'; cp: number } | { kind: 'set'; text: string };
          if (ch === '\\') {
            const e = cps[i++];
            if (e === undefined) throw reError('bad escape (end of pattern)', itemStart);
            const set = classEscape(e, ctx.ascii);
            if (set) item = { kind: 'set', text: set };
            else {
              const cp = charEscape(e, itemStart, true);
              if (cp === undefined) throw reError(`bad escape \\${e}`, itemStart);
              item = { kind: 'cp', cp };
            }
          } else item = { kind: 'cp', cp: ch.codePointAt(0)! };
          // A range a-b (a '-' before ']' is literal).
          if (item.kind === 'cp' && cps[i] === '-' && cps[i + 1] !== undefined && cps[i + 1] !== ']') {
            i++;
            const hiStart = i;
            const h = cps[i++]!;
            let hi: number;
            if (h === '\\') {
              const e = cps[i++];
              if (e === undefined) throw reError('bad escape (end of pattern)', hiStart);
              if (classEscape(e, ctx.ascii)) throw reError(`bad character range ${String.fromCodePoint(item.cp)}-\\${e}`, itemStart);
              const cp = charEscape(e, hiStart, true);
              if (cp === undefined) throw reError(`bad escape \\${e}`, hiStart);
              hi = cp;
            } else hi = h.codePointAt(0)!;
            if (hi < item.cp) throw reError(`bad character range ${cps.slice(itemStart, i).join('')}`, itemStart);
            parts.push(`${lit(item.cp)}-${lit(hi)}`);
            continue;
          }
          parts.push(item.kind === 'cp' ? lit(item.cp) : item.text);
        }
        // ']' first in a set is literal, so the set is never empty.
        emit(`${cls}${parts.join('')}]`, 'atom');
        break;
      }
      case '(': {
        if (peek() !== '?') {
          groups++;
          openGroups.push(groups);
          frames.push(frame(start, 'group', groups));
          out += '(';
          last = 'none';
          break;
        }
        i++;
        const k = cps[i++];
        if (k === ':' || k === '=' || k === '!') out += `(?${k}`;
        else if (k === '<' && (peek() === '=' || peek() === '!')) out += `(?<${cps[i++]}`;
        else if (k === 'P' && peek() === '<') {
          i++;
          let name = '';
          while (i < cps.length && cps[i] !== '>') name += cps[i++];
          if (cps[i] !== '>') throw reError('missing >, unterminated name', start + 4);
          i++;
          if (!/^[\p{L}\p{Nl}_][\p{L}\p{N}\p{Mn}\p{Mc}\p{Pc}]*$/u.test(name))
            throw reError(`bad character in group name '${name}'`, start + 4);
          if (names.has(name))
            throw reError(`redefinition of group name '${name}' as group ${groups + 1}; was group ${names.get(name)}`, start + 4);
          groups++;
          names.set(name, groups);
          openGroups.push(groups);
          frames.push(frame(start, 'group', groups));
          out += `(?<${name}>`;
          last = 'none';
          break;
        } else if (k === 'P' && peek() === '=') {
          i++;
          let name = '';
          while (i < cps.length && cps[i] !== ')') name += cps[i++];
          if (cps[i] !== ')') throw reError('missing ), unterminated name', start + 4);
          i++;
          const g = names.get(name);
          if (g === undefined) throw reError(`unknown group name '${name}'`, start + 4);
          if (openGroups.includes(g)) throw reError('cannot refer to an open group', start + 4);
          checkLookbehindRef(g);
          emit(`(?:\\${g})`, 'atom', groupWidths.get(g));
          break;
        } else if (k === '#') {
          while (i < cps.length && cps[i] !== ')') i++;
          if (i >= cps.length) throw reError('missing ), unterminated comment', start);
          i++;
          break;
        } else if (k === '(') throw notSupported('conditional groups (?(...)...)');
        else if (k === '>') throw notSupported('atomic groups (?>...)');
        else if (k !== undefined && /[aiLmsux-]/.test(k)) {
          let j = i - 1;
          while (j < cps.length && /[aiLmsux-]/.test(cps[j]!)) j++;
          if (cps[j] === ')') throw reError('global flags not at the start of the expression', start);
          throw notSupported('scoped inline flags (?flags:...)');
        } else throw reError(`unknown extension ?${k ?? ''}`, start + 1);
        openGroups.push(k === ':' ? -1 : -2);
        if (k === '<') {
          frames.push(frame(start, 'behind'));
          if (lookbehindGroups === undefined) lookbehindGroups = groups;
        } else frames.push(frame(start, k === ':' ? 'other' : 'ahead'));
        last = 'none';
        break;
      }
      case ')': {
        if (!openGroups.length) throw reError('unbalanced parenthesis', start);
        const g = openGroups.pop()!;
        const f = frames.pop()!;
        const w = widthOf(f);
        if (f.kind === 'group') groupWidths.set(f.gid, w);
        if (f.kind === 'behind') {
          if (w[0] !== w[1]) variableLookbehind = true;
          lookbehindGroups = f.savedLookbehind;
        }
        // A lookaround is not repeatable in JS (Python allows it, to no effect worth having).
        emit(')', g === -2 ? 'lookaround' : 'atom', f.kind === 'ahead' || f.kind === 'behind' ? [0, 0] : w);
        break;
      }
      case '*':
      case '+':
      case '?':
      case '{': {
        let q: string = c;
        let repMin: number;
        let repMax: number;
        if (c === '{') {
          const m = /^(\d*)(,?)(\d*)\}/.exec(cps.slice(i, i + 40).join(''));
          if (!m || (m[1] === '' && m[3] === '')) {
            // Not a repeat: a literal brace.
            emit(lit(123), 'atom');
            break;
          }
          i += m[0].length;
          const lo = m[1] === '' ? '0' : m[1]!;
          if (m[2] && m[3] && Number(m[3]) < Number(lo)) throw reError('min repeat greater than max repeat', start + 1);
          q = `{${lo}${m[2]}${m[3]}}`;
          repMin = Number(lo);
          repMax = m[2] ? (m[3] ? Number(m[3]) : Number.POSITIVE_INFINITY) : Number(lo);
        } else [repMin, repMax] = c === '*' ? [0, Number.POSITIVE_INFINITY] : c === '+' ? [1, Number.POSITIVE_INFINITY] : [0, 1];
        if (last === 'repeat') throw reError('multiple repeat', start);
        if (last === 'none') throw reError('nothing to repeat', start);
        if (last === 'assert') throw reError('nothing to repeat', start);
        if (last === 'lookaround') throw notSupported('repeated lookaround assertions');
        if (peek() === '?') {
          i++;
          q += '?';
        } else if (peek() === '+') throw notSupported('possessive quantifiers');
        out += q;
        last = 'repeat';
        {
          const f = top();
          const [lo, hi] = f.lastW;
          const rw: W = [lo * repMin, hi === 0 || repMax === 0 ? 0 : hi * repMax];
          f.seq = [f.prev[0] + rw[0], f.prev[1] + rw[1]];
          f.lastW = rw;
        }
        break;
      }
      case '|': {
        out += '|';
        last = 'none';
        const f = top();
        f.alt = widthOf(f);
        f.seq = [0, 0];
        f.prev = [0, 0];
        f.lastW = [0, 0];
        break;
      }
      default:
        emit(lit(c.codePointAt(0)!), 'atom');
    }
  }
  // Python reports the innermost group left open, at its '('.
  if (openGroups.length) throw reError('missing ), unterminated subpattern', top().start);
  // Python's compiler (after parsing the whole pattern) refuses this, with no position.
  if (variableLookbehind) throw reError('look-behind requires fixed-width pattern');
  return { js: out, groups, names, ctx };
}

const cache = new Map<string, PyPattern>();

/** Python's re.compile(pattern, flags). */
export function compile(pattern: string, flags: PyFlags = {}): PyPattern {
  const key = `${flags.ignorecase ? 'i' : ''}${flags.multiline ? 'm' : ''}${flags.dotall ? 's' : ''}${flags.verbose ? 'x' : ''}${flags.ascii ? 'a' : ''}\0${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const { js, groups, names, ctx } = translate(pattern, flags);
  const f = ctx.ignorecase ? 'iv' : 'v';
  let global: RegExp;
  let sticky: RegExp;
  try {
    global = new RegExp(js, `${f}g`);
    sticky = new RegExp(js, `${f}y`);
  } catch (e) {
    throw new PyError('re.error', `cannot translate pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  const p: PyPattern = { source: pattern, groups, groupIndex: names, global, sticky };
  if (cache.size > 500) cache.clear();
  cache.set(key, p);
  return p;
}

function toMatch(m: RegExpExecArray): PyMatch {
  return { start: m.index, end: m.index + m[0].length, groups: Array.from(m) };
}

/** re.search from position `pos`. */
export function search(p: PyPattern, s: string, pos = 0): PyMatch | null {
  p.global.lastIndex = pos;
  let m = p.global.exec(s);
  // V8 tries an empty match between the halves of a surrogate pair; Python has no such position.
  while (m && m[0] === '' && insidePair(s, m.index)) {
    p.global.lastIndex = m.index + 1;
    m = p.global.exec(s);
  }
  return m ? toMatch(m) : null;
}

function insidePair(s: string, i: number): boolean {
  const lo = s.charCodeAt(i);
  const hi = s.charCodeAt(i - 1);
  return lo >= 0xdc00 && lo <= 0xdfff && hi >= 0xd800 && hi <= 0xdbff;
}

/** re.match: anchored at `pos`. */
export function match(p: PyPattern, s: string, pos = 0): PyMatch | null {
  p.sticky.lastIndex = pos;
  const m = p.sticky.exec(s);
  return m ? toMatch(m) : null;
}

/** re.fullmatch. */
export function fullmatch(p: PyPattern, s: string): PyMatch | null {
  const re = new RegExp(`(?:${p.sticky.source})(?![\\s\\S])`, p.sticky.flags);
  re.lastIndex = 0;
  const m = re.exec(s);
  return m ? toMatch(m) : null;
}

/** A match at exactly `pos` that is not empty (Python's "must advance" after an empty match), or null. */
function nonEmptyAt(p: PyPattern, s: string, pos: number): PyMatch | null {
  // The lookbehind counts code points (the `v` flag), pos counts UTF-16 units.
  const re = new RegExp(`(?:${p.sticky.source})(?<!^[\\s\\S]{${codePoints(s.slice(0, pos))}})`, p.sticky.flags);
  re.lastIndex = pos;
  const m = re.exec(s);
  return m && m[0].length > 0 ? toMatch(m) : null;
}

/**
 * Every non-overlapping match, as Python's finditer yields them: after an empty match the next
 * match may not be empty at the same position (but may be a non-empty one starting there).
 */
export function finditer(p: PyPattern, s: string): PyMatch[] {
  const out: PyMatch[] = [];
  let pos = 0;
  let mustAdvance = false;
  while (pos <= s.length) {
    let m = search(p, s, pos);
    if (!m) break;
    if (mustAdvance && m.start === pos && m.end === pos) {
      m = nonEmptyAt(p, s, pos);
      if (!m) {
        if (pos >= s.length) break;
        m = search(p, s, pos + (s.codePointAt(pos)! > 0xffff ? 2 : 1));
        if (!m) break;
      }
    }
    out.push(m);
    mustAdvance = m.end === m.start;
    pos = m.end;
  }
  return out;
}

/** Python's findall: whole matches without groups, the group with one, tuples of groups with more. */
export function findall(p: PyPattern, s: string): (string | string[])[] {
  return finditer(p, s).map((m) => {
    if (p.groups === 0) return m.groups[0]!;
    if (p.groups === 1) return m.groups[1] ?? '';
    return m.groups.slice(1).map((g) => g ?? '');
  });
}

type ReplPart = string | number;

/** Parses a Python replacement template (`\1`, `\g<name>`, `\n`, …) against a pattern's groups. */
export function parseTemplate(p: PyPattern, repl: string): ReplPart[] {
  const parts: ReplPart[] = [];
  let lit = '';
  const cps = [...repl];
  let i = 0;
  const flush = () => {
    if (lit) parts.push(lit);
    lit = '';
  };
  const group = (g: number, pos: number) => {
    if (g > p.groups) throw reError(`invalid group reference ${g}`, pos);
    flush();
    parts.push(g);
  };
  while (i < cps.length) {
    const c = cps[i++]!;
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const pos = i - 1;
    const e = cps[i++];
    if (e === undefined) throw reError('bad escape (end of pattern)', pos);
    if (e === 'g') {
      if (cps[i] !== '<') throw reError('missing <', i);
      let name = '';
      i++;
      while (i < cps.length && cps[i] !== '>') name += cps[i++];
      if (cps[i] !== '>') throw reError('missing >, unterminated name', pos + 3);
      i++;
      if (name === '') throw reError('missing group name', pos + 3);
      if (/^\d+$/.test(name)) group(Number(name), pos + 3);
      else {
        const g = p.groupIndex.get(name);
        if (g === undefined) {
          if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(name)) throw reError(`bad character in group name '${name}'`, pos + 3);
          throw new PyError('IndexError', `unknown group name '${name}'`);
        }
        group(g, pos);
      }
    } else if (e === '0') {
      let digits = '0';
      while (digits.length < 3 && cps[i] !== undefined && cps[i]! >= '0' && cps[i]! <= '7') digits += cps[i++];
      lit += String.fromCodePoint(Number.parseInt(digits, 8));
    } else if (e >= '1' && e <= '9') {
      let digits = e;
      if (cps[i] !== undefined && cps[i]! >= '0' && cps[i]! <= '9') {
        digits += cps[i++];
        if ([...digits].every((d) => d <= '7') && cps[i] !== undefined && cps[i]! >= '0' && cps[i]! <= '7') {
          digits += cps[i++];
          const cp = Number.parseInt(digits, 8);
          if (cp > 0o377) throw reError(`octal escape value \\${digits} outside of range 0-0o377`, pos);
          lit += String.fromCodePoint(cp);
          continue;
        }
      }
      group(Number(digits), pos + 1);
    } else if (e in SIMPLE_ESCAPES) lit += String.fromCodePoint(SIMPLE_ESCAPES[e]!);
    else if (/[A-Za-z]/.test(e)) throw reError(`bad escape \\${e}`, pos);
    else lit += `\\${e}`;
  }
  flush();
  return parts;
}

function expand(parts: ReplPart[], m: PyMatch): string {
  let out = '';
  for (const part of parts) out += typeof part === 'number' ? (m.groups[part] ?? '') : part;
  return out;
}

/** Python's re.sub(pattern, repl, string, count) with a template replacement; returns [result, n]. */
export function sub(p: PyPattern, repl: string, s: string, count = 0): [string, number] {
  const parts = parseTemplate(p, repl);
  let out = '';
  let last = 0;
  let n = 0;
  for (const m of finditer(p, s)) {
    if (count > 0 && n >= count) break;
    out += s.slice(last, m.start) + expand(parts, m);
    last = m.end;
    n++;
  }
  return [out + s.slice(last), n];
}

/** Python's re.split (captured groups are included). */
export function splitRe(p: PyPattern, s: string, maxsplit = 0): (string | null)[] {
  const out: (string | null)[] = [];
  let last = 0;
  let n = 0;
  for (const m of finditer(p, s)) {
    if (maxsplit > 0 && n >= maxsplit) break;
    out.push(s.slice(last, m.start));
    for (let g = 1; g <= p.groups; g++) out.push(m.groups[g] ?? null);
    last = m.end;
    n++;
  }
  out.push(s.slice(last));
  return out;
}

const ESCAPED = new Set('()[]{}?*+-|^$\\.&~# \t\n\r\v\f');

/** Python's re.escape. */
export function escape(s: string): string {
  let out = '';
  for (const ch of s) out += ESCAPED.has(ch) ? `\\${ch}` : ch;
  return out;
}
