/**
 * Python's textwrap.TextWrapper.wrap, as Jinja2's `wordwrap` filter uses it (expand_tabs=False,
 * replace_whitespace=False, no indents, no max_lines): the same chunking regex (through ./pyre.ts)
 * and the same line-filling loop, so lines break exactly where Python breaks them.
 */
import { PyError } from '../jinja/value.ts';
import { codePoints, strip } from './py.ts';
import { compile, escape, splitRe } from './pyre.ts';

const WHITESPACE = '\t\n\x0b\x0c\r ';
const ws = `[${escape(WHITESPACE)}]`;
const nws = `[^${ws.slice(1)}`;
const wp = `[\\w!"\\'&.,?]`;
const lt = '[^\\d\\W]';

const WORDSEP = compile(
  `
        ( # any whitespace
          ${ws}+
        | # em-dash between words
          (?<=${wp}) -{2,} (?=\\w)
        | # word, possibly hyphenated
          ${nws}+? (?:
            # hyphenated word
              -(?: (?<=${lt}{2}-) | (?<=${lt}-${lt}-))
              (?= ${lt} -? ${lt})
            | # end of word
              (?=${ws}|\\Z)
            | # em-dash
              (?<=${wp}) (?=-{2,}\\w)
            )
        )`,
  { verbose: true },
);
const WORDSEP_SIMPLE = compile(`(${ws}+)`);

export interface WrapOptions {
  width: number;
  breakLongWords: boolean;
  breakOnHyphens: boolean;
}

function slice(s: string, a: number, b?: number): string {
  return [...s].slice(a, b).join('');
}

function rfind(s: string, ch: string, end: number): number {
  const cps = [...s].slice(0, end);
  return cps.lastIndexOf(ch);
}

/** textwrap.wrap(text, width, expand_tabs=False, replace_whitespace=False, …). */
export function wrap(text: string, o: WrapOptions): string[] {
  const chunks = splitRe(o.breakOnHyphens ? WORDSEP : WORDSEP_SIMPLE, text).filter((c): c is string => !!c);
  if (o.width <= 0) throw new PyError('ValueError', `invalid width ${o.width} (must be > 0)`);
  const lines: string[] = [];
  chunks.reverse();
  const isBlank = (c: string) => strip(c) === '';
  while (chunks.length) {
    const cur: string[] = [];
    let curLen = 0;
    const width = o.width;
    if (isBlank(chunks[chunks.length - 1]!) && lines.length) chunks.pop();
    while (chunks.length) {
      const l = codePoints(chunks[chunks.length - 1]!);
      if (curLen + l <= width) {
        cur.push(chunks.pop()!);
        curLen += l;
      } else break;
    }
    if (chunks.length && codePoints(chunks[chunks.length - 1]!) > width) {
      // _handle_long_word
      const spaceLeft = width < 1 ? 1 : width - curLen;
      if (o.breakLongWords) {
        let end = spaceLeft;
        const chunk = chunks[chunks.length - 1]!;
        if (o.breakOnHyphens && codePoints(chunk) > spaceLeft) {
          const hyphen = rfind(chunk, '-', spaceLeft);
          if (hyphen > 0 && [...slice(chunk, 0, hyphen)].some((c) => c !== '-')) end = hyphen + 1;
        }
        cur.push(slice(chunk, 0, end));
        chunks[chunks.length - 1] = slice(chunk, end);
      } else if (!cur.length) cur.push(chunks.pop()!);
      curLen = cur.reduce((n, c) => n + codePoints(c), 0);
    }
    if (cur.length && isBlank(cur[cur.length - 1]!)) {
      curLen -= codePoints(cur[cur.length - 1]!);
      cur.pop();
    }
    if (cur.length) lines.push(cur.join(''));
  }
  return lines;
}
