/**
 * Privileges: what `SHOW GRANTS` prints and what a task asks for, normalized to the same shape so
 * they compare equal when they mean the same thing (peers report MySQL privileges as changed on
 * every run because they compare strings).
 *
 * Normal form: a map from object ("*.*", "app.*", "app.t") to { privs: sorted list of upper-case
 * privilege names, column lists sorted ("SELECT (a, b)"), grant: WITH GRANT OPTION }.
 * - `ALL` and `ALL PRIVILEGES` are the same;
 * - MariaDB 10.5+ aliases (REPLICATION CLIENT = BINLOG MONITOR, REPLICA MONITOR = SLAVE MONITOR,
 *   REPLICATION REPLICA = REPLICATION SLAVE) are canonicalized;
 * - identifiers lose their backticks (`app`.* = app.*); `USAGE` alone means "no privileges".
 */

export interface ObjectPrivs {
  privs: string[];
  grant: boolean;
}
export type Privileges = Record<string, ObjectPrivs>;

const ALIASES: Record<string, string> = {
  ALL: 'ALL PRIVILEGES',
  'REPLICATION CLIENT': 'BINLOG MONITOR',
  'REPLICA MONITOR': 'SLAVE MONITOR',
  'REPLICATION REPLICA': 'REPLICATION SLAVE',
};

/** Splits on commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

/** One privilege: "select" → "SELECT", "SELECT (`b`, a)" → "SELECT (a, b)", aliases resolved. */
export function normalizePriv(p: string): string {
  const m = /^([^()]+?)\s*(?:\(([^)]*)\))?$/.exec(p.trim());
  if (!m) throw new Error(`cannot read the privilege ${JSON.stringify(p)}`);
  const name = m[1]!.trim().replace(/\s+/g, ' ').toUpperCase();
  const canonical = ALIASES[name] ?? name;
  if (m[2] === undefined) return canonical;
  const cols = m[2]
    .split(',')
    .map((c) =>
      c
        .trim()
        .replace(/^`(.*)`$/, '$1')
        .replace(/``/g, '`'),
    )
    .filter(Boolean)
    .sort();
  return `${canonical} (${cols.join(', ')})`;
}

/** "`app`.*" / "app.*" / "*.*" / "`a``b`.`t`" → "app.*", "*.*", "a`b.t"; FUNCTION/PROCEDURE kept as a prefix. */
export function normalizeObject(o: string): string {
  let s = o.trim();
  let prefix = '';
  const kind = /^(FUNCTION|PROCEDURE|TABLE)\s+/i.exec(s);
  if (kind) {
    prefix = kind[1]!.toUpperCase() === 'TABLE' ? '' : `${kind[1]!.toUpperCase()} `;
    s = s.slice(kind[0].length);
  }
  const parts: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '`') {
      let j = i + 1;
      let v = '';
      while (j < s.length) {
        if (s[j] === '`' && s[j + 1] === '`') {
          v += '`';
          j += 2;
        } else if (s[j] === '`') break;
        else v += s[j++];
      }
      parts.push(v);
      i = j + 1;
    } else {
      const j = s.indexOf('.', i);
      parts.push(j < 0 ? s.slice(i) : s.slice(i, j));
      i = j < 0 ? s.length : j;
    }
    if (s[i] === '.') i++;
  }
  if (parts.length === 1) parts.push('*');
  return `${prefix}${parts.join('.')}`;
}

function addTo(out: Privileges, obj: string, privs: string[], grant: boolean): void {
  const cur = (out[obj] ??= { privs: [], grant: false });
  for (const p of privs) {
    const n = normalizePriv(p);
    if (n === 'USAGE') continue;
    if (!cur.privs.includes(n)) cur.privs.push(n);
  }
  cur.privs.sort();
  cur.grant ||= grant;
}

/** Drops objects left with no privilege and no grant option. */
function compact(p: Privileges): Privileges {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v.privs.length || v.grant));
}

/**
 * Parses `SHOW GRANTS` lines (the IDENTIFIED … part may already have been removed by the probe).
 * PROXY grants and role grants (no ON) are ignored.
 */
export function parseShowGrants(lines: string[]): Privileges {
  const out: Privileges = {};
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^GRANT (.+?) ON (.+?) TO (?:`(?:[^`]|``)*`|'[^']*'|[^\s@]+)@(?:`(?:[^`]|``)*`|'[^']*'|\S+)(.*)$/.exec(line);
    if (!m) continue; // role grants: GRANT `role` TO `u`@`h`
    if (/^PROXY$/i.test(m[1]!.trim())) continue;
    addTo(out, normalizeObject(m[2]!), splitTop(m[1]!), / WITH GRANT OPTION/i.test(m[3] ?? ''));
  }
  return compact(out);
}

/**
 * Parses the wanted privileges: Ansible's string form "app.*:ALL/other.t:SELECT,INSERT,GRANT"
 * (GRANT = WITH GRANT OPTION), or a mapping { "app.*": "SELECT,INSERT" | [..] } (the schema
 * checks the values; its type only says `unknown`).
 */
export function parseWantedPrivs(priv: string | Record<string, unknown>): Privileges {
  const out: Privileges = {};
  const entries: [string, string[]][] =
    typeof priv === 'string'
      ? priv
          .split('/')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((x) => {
            const i = x.lastIndexOf(':');
            if (i <= 0) throw new Error(`privilege ${JSON.stringify(x)} must look like db.table:PRIV,PRIV`);
            return [x.slice(0, i), splitTop(x.slice(i + 1))];
          })
      : Object.entries(priv).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : splitTop(String(v))]);
  for (const [obj, privs] of entries) {
    const grant = privs.some((p) => /^GRANT( OPTION)?$/i.test(p.trim()));
    addTo(
      out,
      normalizeObject(obj),
      privs.filter((p) => !/^GRANT( OPTION)?$/i.test(p.trim())),
      grant,
    );
  }
  return compact(out);
}

export function formatPrivs(p: ObjectPrivs | undefined): string {
  if (!p || (!p.privs.length && !p.grant)) return '(none)';
  return `${p.privs.join(', ') || 'USAGE'}${p.grant ? ' WITH GRANT OPTION' : ''}`;
}

export function samePrivs(a: ObjectPrivs | undefined, b: ObjectPrivs | undefined): boolean {
  return formatPrivs(a) === formatPrivs(b);
}

/** An object name back in SQL: app.* → `app`.*, FUNCTION a.f → FUNCTION `a`.`f`. */
export function objectSql(obj: string): string {
  const m = /^((?:FUNCTION|PROCEDURE) )?(.*)$/.exec(obj)!;
  const rest = m[2]!;
  const dot = rest.startsWith('*') ? 1 : rest.lastIndexOf('.');
  const db = rest.slice(0, dot);
  const tbl = rest.slice(dot + 1);
  const q = (x: string) => (x === '*' ? '*' : `\`${x.replace(/`/g, '``')}\``);
  return `${m[1] ?? ''}${q(db)}.${q(tbl)}`;
}

/**
 * community.mysql's column_case_sensitive: false (its default) upper-cases the column names of
 * privileges ("SELECT (a)" → "SELECT (A)"); MariaDB and MySQL compare column names without case,
 * so the account's grants are compared the same way.
 */
export function upperColumns(privs: Privileges): Privileges {
  return Object.fromEntries(
    Object.entries(privs).map(([obj, v]) => [
      obj,
      {
        ...v,
        privs: [
          ...new Set(
            v.privs.map((p) =>
              p.replace(
                /\((.*)\)$/,
                (_, cols: string) =>
                  `(${cols
                    .split(', ')
                    .map((c) => c.toUpperCase())
                    .sort()
                    .join(', ')})`,
              ),
            ),
          ),
        ].sort(),
      },
    ]),
  );
}
