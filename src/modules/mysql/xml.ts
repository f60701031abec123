/**
 * The mariadb/mysql client's `--xml` output: one `<resultset statement="…">` per statement that
 * returns rows (none for INSERT/UPDATE/DDL), each `<row>` of `<field name="…">value</field>` or
 * `<field name="…" xsi:nil="true" />` (NULL). Unlike `--batch`, NULL and the string 'NULL' differ,
 * and values may hold tabs and newlines. Used by mysql_query and mysql_info.
 */

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
