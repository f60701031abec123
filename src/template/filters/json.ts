/**
 * Python's json.dumps / json.loads over the value model, as Ansible's `to_json`, `to_nice_json`,
 * `from_json` and Jinja2's `tojson` call them: key order, separators, `ensure_ascii` escaping,
 * float repr, `NaN`/`Infinity`, key conversion and the TypeErrors for what JSON cannot hold.
 */
import { floatRepr, isFloat, isInt, num, PyError, PyFloat, tuple, typeName, Undefined, undefinedError } from '../jinja/value.ts';
import { sortedBy } from './py.ts';

export interface DumpOptions {
  indent?: string | null;
  separators?: readonly [string, string];
  sortKeys?: boolean;
  ensureAscii?: boolean;
  allowNan?: boolean;
  skipKeys?: boolean;
}

function escapeString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c < 0x20 || (ensureAscii && c > 0x7e)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function floatStr(x: number, allowNan: boolean): string {
  if (Number.isFinite(x)) return floatRepr(x);
  if (!allowNan) throw new PyError('ValueError', `Out of range float values are not JSON compliant: ${floatRepr(x)}`);
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

function keyStr(k: unknown, o: Required<DumpOptions>): string | undefined {
  if (typeof k === 'string') return k;
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (k === null) return 'null';
  if (isInt(k)) return String(k);
  if (isFloat(k)) return floatStr(num(k), o.allowNan);
  if (o.skipKeys) return undefined;
  throw new PyError('TypeError', `keys must be str, int, float, bool or None, not ${typeName(k)}`);
}

/** Python's json.dumps(v, ...) (with Ansible's encoder: dicts from any mapping). */
export function dumps(v: unknown, opts: DumpOptions = {}): string {
  const indent = opts.indent ?? null;
  const o: Required<DumpOptions> = {
    indent: indent as string,
    separators: opts.separators ?? (indent === null ? [', ', ': '] : [',', ': ']),
    sortKeys: opts.sortKeys ?? false,
    ensureAscii: opts.ensureAscii ?? true,
    allowNan: opts.allowNan ?? true,
    skipKeys: opts.skipKeys ?? false,
  };
  const [itemSep, keySep] = o.separators;
  const enc = (x: unknown, level: number): string => {
    if (typeof x === 'string') return escapeString(x, o.ensureAscii);
    if (x === null) return 'null';
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    if (isInt(x)) return String(x);
    if (isFloat(x)) return floatStr(num(x), o.allowNan);
    if (x instanceof Undefined) throw undefinedError(x);
    const nl = indent === null ? '' : `\n${indent.repeat(level + 1)}`;
    const close = indent === null ? '' : `\n${indent.repeat(level)}`;
    const sep = indent === null ? itemSep : itemSep + nl;
    if (Array.isArray(x)) {
      if (!x.length) return '[]';
      return `[${nl}${x.map((e) => enc(e, level + 1)).join(sep)}${close}]`;
    }
    if (x instanceof Map) {
      if (!x.size) return '{}';
      let entries = [...x];
      if (o.sortKeys) entries = sortedBy(entries, (e) => tuple(e));
      const parts: string[] = [];
      for (const [k, val] of entries) {
        const ks = keyStr(k, o);
        if (ks === undefined) continue;
        parts.push(`${escapeString(ks, o.ensureAscii)}${keySep}${enc(val, level + 1)}`);
      }
      if (!parts.length) return '{}';
      return `{${nl}${parts.join(sep)}${close}}`;
    }
    throw new PyError('TypeError', `Object of type ${typeName(x)} is not JSON serializable`);
  };
  return enc(v, 0);
}

/** Python's json.loads: objects become dicts in document order (a repeated key keeps its first place, last value). */
export function loads(text: string): unknown {
  let i = 0;
  const s = text;
  const fail = (msg: string): never => {
    const before = s.slice(0, i);
    const line = before.split('\n').length;
    const col = i - before.lastIndexOf('\n');
    throw new PyError('JSONDecodeError', `${msg}: line ${line} column ${col} (char ${i})`);
  };
  const ws = () => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      const d = new Map<unknown, unknown>();
      ws();
      if (s[i] === '}') {
        i++;
        return d;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail('Expecting property name enclosed in double quotes');
        const k = string();
        ws();
        if (s[i] !== ':') fail("Expecting ':' delimiter");
        i++;
        d.set(k, value());
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return d;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '[') {
      i++;
      const l: unknown[] = [];
      ws();
      if (s[i] === ']') {
        i++;
        return l;
      }
      for (;;) {
        l.push(value());
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return l;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ['null', null],
      ['true', true],
      ['false', false],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['-Infinity', Number.NEGATIVE_INFINITY],
    ] as const) {
      if (s.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(s.slice(i));
    if (!m) return fail('Expecting value');
    i += m[0].length;
    if (m[1] || m[2]) {
      const x = Number(m[0]);
      return Number.isInteger(x) ? new PyFloat(x) : x;
    }
    const b = BigInt(m[0]);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };
  const string = (): string => {
    i++;
    let out = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) fail('Unterminated string starting at');
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = s[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
          out += String.fromCharCode(Number.parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail('Invalid \\escape');
        continue;
      }
      if (c.charCodeAt(0) < 0x20) fail('Invalid control character at');
      out += c;
      i++;
    }
  };
  const v = value();
  ws();
  if (i < s.length) fail('Extra data');
  return v;
}
