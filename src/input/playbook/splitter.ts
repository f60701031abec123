/**
 * Ansible's free-form argument parser (ansible/parsing/splitter.py, ansible-core 2.14), ported
 * line by line: `split_args` splits on spaces but keeps quoted strings and Jinja2 blocks
 * together; `parse_kv` turns `key=value` words into a mapping (quotes around a value removed,
 * `\=` escapes an equals sign, Python string escapes decoded) and, for command-like modules
 * (`checkRaw`), keeps every word that is not one of the module's own `key=value` options in the
 * command line (`_raw_params`). Test data: test/fixtures/ansible/kv.json, produced by Ansible's
 * own functions.
 */

/** The `key=value` words command/shell take out of a free-form command line (parse_kv's list). */
export const RAW_KV_KEYS: readonly string[] = [
  'creates',
  'removes',
  'chdir',
  'executable',
  'warn',
  'stdin',
  'stdin_add_newline',
  'strip_empty_ends',
];

export class SplitError extends Error {}

function quoteState(token: string, quoteChar: string | undefined): string | undefined {
  let prev: string | undefined;
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (i > 0) prev = token[i - 1];
    if ((c === '"' || c === "'") && prev !== '\\') {
      if (quoteChar) {
        if (c === quoteChar) quoteChar = undefined;
      } else quoteChar = c;
    }
  }
  return quoteChar;
}

function count(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i !== -1; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

function blockDepth(token: string, depth: number, open: string, close: string): number {
  const o = count(token, open);
  const c = count(token, close);
  if (o !== c) {
    depth += o - c;
    if (depth < 0) depth = 0;
  }
  return depth;
}

/** Ansible's split_args. Throws SplitError on unbalanced quotes or Jinja2 blocks. */
export function splitArgs(args: string): string[] {
  const params: string[] = [];
  const items = args.split('\n');
  let quoteChar: string | undefined;
  let insideQuotes = false;
  let printDepth = 0;
  let blockDepthN = 0;
  let commentDepth = 0;
  items.forEach((item, itemIdx) => {
    const tokens = item.split(' ');
    let lineContinuation = false;
    tokens.forEach((token, idx) => {
      if (token.length === 0 && idx !== 0) {
        if (!params.length) throw new SplitError('Unable to parse argument string');
        params[params.length - 1] += ' ';
        return;
      }
      if (token === '\\' && !insideQuotes) {
        lineContinuation = true;
        return;
      }
      const wasInsideQuotes = insideQuotes;
      quoteChar = quoteState(token, quoteChar);
      insideQuotes = quoteChar !== undefined;
      let appended = false;
      if (insideQuotes && !wasInsideQuotes && !(printDepth || blockDepthN || commentDepth)) {
        params.push(token);
        appended = true;
      } else if (printDepth || blockDepthN || commentDepth || insideQuotes || wasInsideQuotes) {
        if (!params.length) throw new SplitError('Unable to parse argument string');
        if (idx === 0 && wasInsideQuotes) params[params.length - 1] = `${params.at(-1)}${token}`;
        else if (tokens.length > 1) params[params.length - 1] = `${params.at(-1)}${idx > 0 ? ' ' : ''}${token}`;
        else params[params.length - 1] = `${params.at(-1)}\n${token}`;
        appended = true;
      }
      const prevPrint = printDepth;
      printDepth = blockDepth(token, printDepth, '{{', '}}');
      if (printDepth !== prevPrint && !appended) {
        params.push(token);
        appended = true;
      }
      const prevBlock = blockDepthN;
      blockDepthN = blockDepth(token, blockDepthN, '{%', '%}');
      if (blockDepthN !== prevBlock && !appended) {
        params.push(token);
        appended = true;
      }
      const prevComment = commentDepth;
      commentDepth = blockDepth(token, commentDepth, '{#', '#}');
      if (commentDepth !== prevComment && !appended) {
        params.push(token);
        appended = true;
      }
      if (!(printDepth || blockDepthN || commentDepth) && !insideQuotes && !appended && token !== '') params.push(token);
    });
    if (items.length > 1 && itemIdx !== items.length - 1 && !lineContinuation) {
      if (!params.length) throw new SplitError('Unable to parse argument string');
      params[params.length - 1] += '\n';
    }
  });
  if (printDepth || blockDepthN || commentDepth || insideQuotes) {
    throw new SplitError(`failed at splitting arguments, either an unbalanced jinja2 block or quotes: ${args}`);
  }
  return params;
}

/** Ansible's join_args: the words back together, newlines kept. */
export function joinArgs(words: string[]): string {
  let out = '';
  for (const p of words) out += out.length === 0 || out.endsWith('\n') ? p : ` ${p}`;
  return out;
}

function isQuoted(s: string): boolean {
  return s.length > 1 && s[0] === s.at(-1) && (s[0] === '"' || s[0] === "'") && s.at(-2) !== '\\';
}

/** Ansible's unquote: removes one pair of matching outer quotes. */
export function unquote(s: string): string {
  return isQuoted(s) ? s.slice(1, -1) : s;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Python's unicode-escape decoding of the escape sequences parse_kv decodes (`\n`, `\x41`, `\u00e9`, …). */
function decodeEscapes(s: string): string {
  return s.replace(/\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'"abfnrtv]/g, (m) => {
    const k = m[1]!;
    if (k === 'U' || k === 'u' || k === 'x') return String.fromCodePoint(Number.parseInt(m.slice(2), 16));
    if (k === 'N') throw new SplitError(`\\N{...} escapes are not supported in key=value arguments: ${m}`);
    return SIMPLE_ESCAPES[k]!;
  });
}

/**
 * Ansible's parse_kv. With `checkRaw`, words that are not `key=value` for one of RAW_KV_KEYS are
 * joined back into `_raw_params` (the command line); without it, words without `=` are put in
 * `_raw_params` too (Ansible then refuses them for modules that take no free form).
 */
export function parseKv(args: string, checkRaw = false): Record<string, string> {
  const options: Record<string, string> = {};
  const raw: string[] = [];
  for (const orig of splitArgs(args)) {
    const x = decodeEscapes(orig);
    if (!x.includes('=')) {
      raw.push(orig);
      continue;
    }
    let pos = 0;
    let found = false;
    for (;;) {
      pos = x.indexOf('=', pos + 1);
      if (pos === -1) break;
      if (pos > 0 && x[pos - 1] !== '\\') {
        found = true;
        break;
      }
    }
    if (!found) {
      raw.push(x.replace(/\\=/g, '='));
      continue;
    }
    const k = x.slice(0, pos);
    const v = x.slice(pos + 1);
    if (checkRaw && !RAW_KV_KEYS.includes(k)) raw.push(orig);
    else options[k.trim()] = unquote(v.trim());
  }
  if (raw.length) options._raw_params = joinArgs(raw);
  return options;
}
