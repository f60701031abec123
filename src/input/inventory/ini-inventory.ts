/**
 * Ansible INI inventories.
 *
 *   # comment            ; comment too
 *   lone.example.com     (before any section: ungrouped)
 *   [web]
 *   web[01:03] ansible_port=2222 role="front end"   # host line: host (range, or host:port) then key=value
 *   [web:vars]
 *   http_port = 8080                                # key=value, spaces around `=` allowed
 *   [prod:children]
 *   web
 *
 * Values are read as YAML scalars (core schema): `22` → number, `true`/`True` → boolean,
 * `null`/`~` → null; Ansible-style `yes`/`no`/`on`/`off` are booleans too. A quoted value is
 * always a string. A `#` or `;` that starts a word (outside quotes) starts a comment.
 */
import { parse as parseYamlValue } from 'yaml';
import type { Diagnostic, Loc } from '../../core/diagnostic.ts';
import type { InventoryBuilder } from './builder.ts';
import { normalizeVars, type RawVar } from './connection-keys.ts';
import { expandHostRange, HostRangeError } from './ranges.ts';

interface Token {
  text: string; // quotes removed
  raw: string;
  col: number; // 1-based column of the token start
  /** For key=value tokens: value text (unquoted), whether any part was quoted, and its column. */
  eq?: number;
}

/** Splits a line into words (quotes group, `#`/`;` starting a word ends the line). */
function tokenize(line: string): { tokens: Token[]; error?: { col: number; message: string } } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length || line[i] === '#' || line[i] === ';') break;
    const start = i;
    let text = '';
    let eq: number | undefined;
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        const end = line.indexOf(c, i + 1);
        if (end < 0) return { tokens, error: { col: i + 1, message: 'unterminated quoted value' } };
        text += line.slice(i + 1, end);
        i = end + 1;
      } else {
        if (c === '=' && eq === undefined) eq = text.length;
        text += c;
        i++;
      }
    }
    tokens.push({ text, raw: line.slice(start, i), col: start + 1, ...(eq !== undefined ? { eq } : {}) });
  }
  return { tokens };
}

/** Ansible-like typing of an unquoted INI value. */
export function iniValue(text: string, quoted: boolean): unknown {
  if (quoted) return text;
  if (/^(yes|no|on|off)$/i.test(text)) return /^(yes|on)$/i.test(text);
  if (text === '') return '';
  try {
    const v: unknown = parseYamlValue(text, { schema: 'core' });
    if (v === null || ['number', 'boolean'].includes(typeof v)) return v;
    return text;
  } catch {
    return text;
  }
}

function isQuoted(raw: string): boolean {
  return raw.includes('"') || raw.includes("'");
}

export function readIniInventory(file: string, text: string, label: string, b: InventoryBuilder, errors: Diagnostic[]): void {
  const lines = text.split(/\r?\n/);
  let section = { name: 'ungrouped', kind: 'hosts' as 'hosts' | 'vars' | 'children' };
  const at = (line: number, col: number): Loc => ({ file, line, col });
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    const indent = line.length - line.trimStart().length;
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;

    if (trimmed.startsWith('[')) {
      const m = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(trimmed);
      if (!m) {
        errors.push({
          ...at(lineNo, indent + 1),
          message: `malformed section header '${trimmed}' (expected [group], [group:vars] or [group:children])`,
        });
        section = { name: '', kind: 'hosts' };
        continue;
      }
      const inner = m[1]!.trim();
      const colon = inner.indexOf(':');
      const name = colon < 0 ? inner : inner.slice(0, colon);
      const suffix = colon < 0 ? '' : inner.slice(colon + 1);
      const innerCol = indent + 2 + (m[1]!.length - m[1]!.trimStart().length);
      if (!name || /\s/.test(name)) {
        errors.push({ ...at(lineNo, innerCol), message: `bad group name '${name}' in section header` });
        section = { name: '', kind: 'hosts' };
        continue;
      }
      if (colon >= 0 && suffix !== 'vars' && suffix !== 'children') {
        errors.push({
          ...at(lineNo, innerCol + colon + 1),
          message: `unknown section type '${suffix}' (expected [${name}:vars] or [${name}:children])`,
        });
        section = { name: '', kind: 'hosts' };
        continue;
      }
      section = { name, kind: colon < 0 ? 'hosts' : (suffix as 'vars' | 'children') };
      b.group(name, at(lineNo, innerCol));
      continue;
    }
    if (!section.name) continue; // inside a section whose header was bad: already reported

    if (section.kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        errors.push({ ...at(lineNo, indent + 1), message: `expected 'key=value' in [${section.name}:vars], got '${trimmed}'` });
        continue;
      }
      const key = line.slice(0, eq).trim();
      if (!key || /\s/.test(key)) {
        errors.push({ ...at(lineNo, indent + 1), message: `bad variable name '${key}' in [${section.name}:vars]` });
        continue;
      }
      const rest = line.slice(eq + 1);
      const valueCol = eq + 2 + (rest.length - rest.trimStart().length);
      const { tokens, error } = tokenize(rest);
      if (error) {
        errors.push({ ...at(lineNo, eq + 1 + error.col), message: error.message });
        continue;
      }
      // The value is the rest of the line (comments stripped); quotes make it a string.
      const rawValue = tokens.length
        ? rest.slice(tokens[0]!.col - 1, tokens[tokens.length - 1]!.col - 1 + tokens[tokens.length - 1]!.raw.length)
        : '';
      const quoted = tokens.length === 1 && isQuoted(tokens[0]!.raw);
      const value = quoted ? tokens[0]!.text : iniValue(rawValue, false);
      const entry: RawVar = { key, value, keyLoc: at(lineNo, indent + 1), valueLoc: at(lineNo, valueCol) };
      const { vars, locs } = normalizeVars([entry], errors);
      b.addVars(b.group(section.name), `${label}: group ${section.name}`, vars, locs);
      continue;
    }

    const { tokens, error } = tokenize(line);
    if (error) {
      errors.push({ ...at(lineNo, error.col), message: error.message });
      continue;
    }
    if (!tokens.length) continue;

    if (section.kind === 'children') {
      if (tokens.length > 1) {
        errors.push({
          ...at(lineNo, tokens[1]!.col),
          message: `expected one group name per line in [${section.name}:children], got '${trimmed}'`,
        });
        continue;
      }
      const child = tokens[0]!;
      if (child.text === section.name) {
        errors.push({ ...at(lineNo, child.col), message: `group '${child.text}' cannot be its own child` });
        continue;
      }
      b.addChild(section.name, child.text, at(lineNo, child.col));
      continue;
    }

    // Host line.
    const [hostTok, ...varToks] = tokens as [Token, ...Token[]];
    if (hostTok.eq !== undefined) {
      errors.push({ ...at(lineNo, hostTok.col), message: `expected a host name before '${hostTok.raw}'` });
      continue;
    }
    let hostPattern = hostTok.text;
    let portFromName: number | undefined;
    const colons = hostPattern.replace(/\[[^\]]*\]/g, '').split(':').length - 1;
    const pm = /^(.*):(\d+)$/.exec(hostPattern);
    if (colons === 1 && pm) {
      hostPattern = pm[1]!;
      portFromName = Number(pm[2]);
    }
    let names: string[];
    try {
      names = expandHostRange(hostPattern);
    } catch (err) {
      if (!(err instanceof HostRangeError)) throw err;
      errors.push({ ...at(lineNo, hostTok.col + err.offset), message: err.message });
      continue;
    }
    const tooMany = b.tooManyHosts(names);
    if (tooMany) {
      errors.push({ ...at(lineNo, hostTok.col), message: tooMany });
      break;
    }
    const entries: RawVar[] = [];
    if (portFromName !== undefined) {
      const c = hostTok.col + hostPattern.length + 1;
      entries.push({ key: 'port', value: portFromName, keyLoc: at(lineNo, c), valueLoc: at(lineNo, c) });
    }
    let bad = false;
    for (const t of varToks) {
      if (t.eq === undefined || t.eq === 0) {
        errors.push({ ...at(lineNo, t.col), message: `expected key=value after the host name, got '${t.raw}'` });
        bad = true;
        continue;
      }
      const key = t.text.slice(0, t.eq);
      const rawEq = t.raw.indexOf('=');
      const value = iniValue(t.text.slice(t.eq + 1), isQuoted(t.raw.slice(rawEq + 1)));
      entries.push({ key, value, keyLoc: at(lineNo, t.col), valueLoc: at(lineNo, t.col + rawEq + 1) });
    }
    if (bad) continue;
    const { vars, locs } = normalizeVars(entries, errors);
    const loc = at(lineNo, hostTok.col);
    for (const h of names) {
      b.addHostToGroup(h, section.name, loc);
      if (Object.keys(vars).length) b.addVars(b.host(h, loc), `${label}: host ${h}`, vars, locs);
    }
  }
}

/** Does this text look like an INI inventory (for files without a .yml/.ini extension)? */
export function looksLikeIni(text: string): boolean {
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) continue;
    if (t.startsWith('[')) return true;
    if (t === '---' || /^[^\s=]+:(\s|$)/.test(t)) return false;
    return true;
  }
  return true;
}
