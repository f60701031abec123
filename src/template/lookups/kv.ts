/**
 * Ansible's parse_kv (parsing/splitter.py) for the lookups that take `key=value` terms
 * (password, sequence): whitespace-separated tokens, quotes grouping and removed, `\` escaping a
 * quote; a token without an unquoted `=` goes to `_raw_params`.
 */
import { PyError } from '../jinja/value.ts';

function tokens(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\' && s[i + 1] === quote) {
        cur += c + quote;
        i++;
      } else {
        cur += c;
        if (c === quote) quote = null;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (quote) throw new PyError('AnsibleParserError', 'failed at splitting arguments, either an unbalanced jinja2 block or quotes');
  if (started) out.push(cur);
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

/** key=value pairs of a term, with `_raw_params` for the rest (joined by spaces). */
export function parseKv(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const raw: string[] = [];
  for (const t of tokens(s)) {
    let eq = -1;
    let q: string | null = null;
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      if (q) {
        if (c === q) q = null;
      } else if (c === '"' || c === "'") q = c;
      else if (c === '=' && (i === 0 || t[i - 1] !== '\\')) {
        eq = i;
        break;
      }
    }
    if (eq > 0) out.set(t.slice(0, eq), unquote(t.slice(eq + 1)).replace(/\\(['"])/g, '$1'));
    else raw.push(t);
  }
  if (raw.length) out.set('_raw_params', raw.join(' '));
  return out;
}
