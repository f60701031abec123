/**
 * Python's `ast.literal_eval` of a string, as Ansible applies it to a templated value that looks
 * like a list, dict or bool (ansible_eval_concat): strings, numbers, tuples, lists, dicts, sets,
 * True/False/None, unary +/- on numbers, and, through Ansible's Json2Python transform, the names
 * `true`, `false` and `null`. Anything else (a syntax error, a name, an operator, a call) is a
 * failure, and Ansible then keeps the string.
 *
 * Not supported (reported as a failure, so the string is kept): complex numbers and bytes.
 */
import { unescapeString } from './lexer.ts';
import { dictSet, float, int, isInt, isTuple, num, tuple } from './value.ts';

export type LiteralResult = { ok: true; value: unknown } | { ok: false };

class Fail extends Error {}

const fail = (): never => {
  throw new Fail();
};

type Tok = { t: 'op'; v: string } | { t: 'num'; v: unknown } | { t: 'str'; v: string } | { t: 'name'; v: string } | { t: 'end' };

const OPS = [
  '**',
  '//',
  '->',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  ';',
  '+',
  '-',
  '*',
  '/',
  '%',
  '|',
  '&',
  '^',
  '~',
  '<',
  '>',
  '=',
  '@',
  '!',
];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let depth = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || src[i + 1] === '\r')) {
      i += src[i + 1] === '\r' && src[i + 2] === '\n' ? 3 : 2;
      continue;
    }
    if (c === '\n' || c === '\r') {
      // Inside brackets newlines are whitespace; at the top level only trailing ones are allowed.
      if (
        depth === 0 &&
        src
          .slice(i)
          .replace(/#[^\n\r]*/g, '')
          .trim() !== ''
      )
        fail();
      i++;
      continue;
    }
    const str = /^([rRuUbBfF]{0,2})('''|"""|'|")/.exec(src.slice(i, i + 5));
    if (str && (str[1] === '' || /^(r|u|R|U|b|B|br|rb|bR|Rb|Br|rB|BR|RB|f|F|fr|rf|Fr|rF|fR|Rf|FR|RF)$/.test(str[1]!))) {
      const prefix = str[1]!.toLowerCase();
      if (prefix.includes('b') || prefix.includes('f')) fail();
      const q = str[2]!;
      let j = i + str[0].length;
      let body = '';
      for (;;) {
        if (j >= n) fail();
        if (src.startsWith(q, j)) break;
        const ch = src[j]!;
        if (ch === '\\') {
          body += ch + (src[j + 1] ?? '');
          j += 2;
          continue;
        }
        if ((ch === '\n' || ch === '\r') && q.length === 1) fail();
        body += ch;
        j++;
      }
      i = j + q.length;
      let v: string;
      if (prefix.includes('r')) v = body;
      else {
        try {
          v = unescapeString(body.replace(/\r\n?/g, '\n'), { line: 1, col: 1 });
        } catch {
          return fail();
        }
      }
      out.push({ t: 'str', v });
      continue;
    }
    const num =
      /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?)[jJ]?/.exec(
        src.slice(i),
      );
    if (num && (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? '')))) {
      const text = num[0];
      if (/[jJ]$/.test(text)) fail();
      i += text.length;
      if (/[A-Za-z0-9_]/.test(src[i] ?? '')) fail();
      out.push({ t: 'num', v: parseNumber(text.replace(/_/g, '')) });
      continue;
    }
    const name = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail();
    if (op === '(' || op === '[' || op === '{') depth++;
    if (op === ')' || op === ']' || op === '}') depth--;
    if (depth < 0) fail();
    out.push({ t: 'op', v: op! });
    i += op!.length;
  }
  out.push({ t: 'end' });
  return out;
}

function parseNumber(text: string): unknown {
  const lower = text.toLowerCase();
  if (lower.startsWith('0x') || lower.startsWith('0o') || lower.startsWith('0b')) return int(BigInt(lower));
  if (/^\d+$/.test(text)) {
    if (text.length > 1 && text[0] === '0' && /[1-9]/.test(text)) fail();
    return int(BigInt(text));
  }
  return float(Number(text));
}

class LiteralParser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) fail();
    this.i++;
  }

  parse(): unknown {
    const v = this.exprList(true);
    if (this.peek().t !== 'end') fail();
    return v;
  }

  /** A comma-separated list at the top level or in parentheses: a tuple if there is a comma. */
  private exprList(top: boolean): unknown {
    if (!top && this.isOp(')')) return tuple([]);
    const first = this.value();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      const t = this.peek();
      if (t.t === 'end' || (t.t === 'op' && t.v === ')')) break;
      items.push(this.value());
    }
    return tuple(items);
  }

  private value(): unknown {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '+')) {
      this.i++;
      const operand = this.peek();
      if (operand.t !== 'num') fail();
      this.i++;
      this.noTrailer();
      const v = (operand as { v: unknown }).v;
      if (t.v === '+') return v;
      if (typeof v === 'bigint') return int(-v);
      if (isInt(v)) return v === 0 ? 0 : -(v as number);
      return float(-num(v));
    }
    const v = this.atom();
    this.noTrailer();
    return v;
  }

  /** No operator or trailer may follow a literal (`[1] + [2]`, `'a'.upper()` are not literals). */
  private noTrailer(): void {
    const t = this.peek();
    if (t.t === 'end') return;
    if (t.t === 'op' && [',', ')', ']', '}', ':'].includes(t.v)) return;
    fail();
  }

  private atom(): unknown {
    const t = this.peek();
    this.i++;
    switch (t.t) {
      case 'num':
        return t.v;
      case 'str': {
        let s = t.v;
        while (this.peek().t === 'str') s += (this.toks[this.i++] as { v: string }).v;
        return s;
      }
      case 'name':
        if (t.v === 'True' || t.v === 'true') return true;
        if (t.v === 'False' || t.v === 'false') return false;
        if (t.v === 'None' || t.v === 'null') return null;
        if (t.v === 'set' && this.isOp('(')) {
          this.i++;
          this.expectOp(')');
          return [];
        }
        return fail();
      case 'op':
        if (t.v === '(') {
          const v = this.exprList(false);
          this.expectOp(')');
          return v;
        }
        if (t.v === '[') {
          const items: unknown[] = [];
          while (!this.isOp(']')) {
            items.push(this.value());
            if (!this.isOp(',')) break;
            this.i++;
          }
          this.expectOp(']');
          return items;
        }
        if (t.v === '{') return this.dictOrSet();
        return fail();
      default:
        return fail();
    }
  }

  private dictOrSet(): unknown {
    if (this.isOp('}')) {
      this.i++;
      return new Map();
    }
    const first = this.value();
    if (this.isOp(':')) {
      const d = new Map<unknown, unknown>();
      this.i++;
      dictSet(d, hashable(first), this.value());
      while (this.isOp(',')) {
        this.i++;
        if (this.isOp('}')) break;
        const k = this.value();
        this.expectOp(':');
        dictSet(d, hashable(k), this.value());
      }
      this.expectOp('}');
      return d;
    }
    // A set: Kiln has no set type; its elements become a list, in order, without duplicates.
    const items = [hashable(first)];
    while (this.isOp(',')) {
      this.i++;
      if (this.isOp('}')) break;
      const v = hashable(this.value());
      if (!items.some((x) => x === v)) items.push(v);
    }
    this.expectOp('}');
    return items;
  }
}

function hashable(v: unknown): unknown {
  if ((Array.isArray(v) && !isTuple(v)) || v instanceof Map) fail();
  if (isTuple(v)) for (const x of v) hashable(x);
  return v;
}

/** Python's ast.literal_eval (with Ansible's true/false/null), or `{ ok: false }` where Python fails. */
export function literalEval(src: string): LiteralResult {
  try {
    return { ok: true, value: new LiteralParser(tokenize(src)).parse() };
  } catch (e) {
    if (e instanceof Fail) return { ok: false };
    throw e;
  }
}
