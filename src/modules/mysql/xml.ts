/**
 * The mariadb/mysql client's `--xml` output: one `<resultset statement="…">` per statement that
 * returns rows (none for INSERT/UPDATE/DDL), each `<row>` of `<field name="…">value</field>` or
 * `<field name="…" xsi:nil="true" />` (NULL). Unlike `--batch`, NULL and the string 'NULL' differ,
 * and values may hold tabs and newlines. Used by mysql_query and mysql_info.
 */

import { PyFloat } from '../../template/jinja/value.ts';

export interface ResultSet {
  statement: string;
  rows: Record<string, string | null>[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : (ENTITIES[e] ?? m),
  );
}

export function parseResultSets(xml: string): ResultSet[] {
  const out: ResultSet[] = [];
  const setRe = /<resultset statement="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/resultset>)/g;
  for (const m of xml.matchAll(setRe)) {
    const rows: Record<string, string | null>[] = [];
    for (const r of (m[2] ?? '').matchAll(/<row>([\s\S]*?)<\/row>/g)) {
      const row: Record<string, string | null> = {};
      for (const f of r[1]!.matchAll(/<field name="([^"]*)"(?:\s+xsi:nil="true"\s*\/>|>([\s\S]*?)<\/field>)/g)) {
        row[unescapeXml(f[1]!)] = f[2] === undefined ? null : unescapeXml(f[2]);
      }
      rows.push(row);
    }
    out.push({ statement: unescapeXml(m[1]!), rows });
  }
  return out;
}

/** community.mysql's __convert for text: an integer's text is an int (Python's int()), else the text. */
export function toInt(v: string | null): string | number | null {
  if (v === null) return null;
  const t = v.trim();
  return /^[+-]?\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : v;
}

/** Shell: runs `sql` with the client in XML mode and prints `<key>_b64=` (its output) and `<key>_rc=`. */
export function xmlSql(sql: string, key: string, tag: string): string {
  return [
    `kiln_x=$("$kiln_my" --protocol=socket --xml 2>&1 <<'${tag}'`,
    sql.endsWith('\n') ? sql.slice(0, -1) : sql,
    tag,
    ')',
    `echo "${key}_rc=$?"`,
    `printf '${key}_b64=%s\\n' "$(printf %s "$kiln_x" | base64 -w0)"`,
  ].join('\n');
}

/** Column types (--column-type-info names) MySQLdb returns as int. */
const INT_COLUMNS = new Set(['TINY', 'SHORT', 'LONG', 'LONGLONG', 'INT24', 'YEAR']);

/**
 * A value as community.mysql's result holds it, by its column type (MySQLdb's conversions, then
 * Ansible's JSON): integers are ints, FLOAT/DOUBLE floats, DATETIME/TIMESTAMP Python's isoformat
 * ("2024-01-02T03:04:05", microseconds as 6 digits), NULL None, the rest text. DECIMAL stays its
 * exact text (Ansible's module fails on a Decimal: "Value of unknown type"). Without a type
 * (the column's type could not be read), an integer's text is an int.
 */
export function driverValue(v: string | null, type: string | undefined): unknown {
  if (v === null) return null;
  if (type === undefined) return toInt(v);
  if (INT_COLUMNS.has(type)) return /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (type === 'FLOAT' || type === 'DOUBLE') {
    const n = Number(v);
    return Number.isFinite(n) ? new PyFloat(n) : v;
  }
  if (type === 'DATETIME' || type === 'TIMESTAMP') {
    const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(v);
    if (!m) return v;
    const us = m[3] ? Number(m[3].padEnd(6, '0').slice(0, 6)) : 0;
    return `${m[1]}T${m[2]}${us ? `.${String(us).padStart(6, '0')}` : ''}`;
  }
  return v;
}
