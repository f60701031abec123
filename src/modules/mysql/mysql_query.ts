/**
 * `mysql_query`: run SQL queries, as community.mysql's mysql_query does.
 *
 * Every query runs on every run (the module cannot know what a query does before running it):
 * the plan is an unpredictable action, and the result is `changed` by the collection's rule: a
 * query starting with INSERT/UPDATE/DELETE/REPLACE that affected rows (ROW_COUNT() > 0), or any
 * CREATE/DROP/ALTER/RENAME/TRUNCATE. positional_args (%s) and named_args (%(name)s) are
 * substituted as PyMySQL does (strings quoted and escaped, None as NULL, numbers as they are),
 * on the controller; the statements reach the client on stdin (a quoted heredoc in the script),
 * never in an argv, so arguments that are secrets stay out of process lists (and are redacted
 * from output). The registered result is Ansible's: executed_queries, query_result (a list of
 * rows per query, each value typed by its column as the driver types it: INT columns ints,
 * CHAR/VARCHAR text even when it looks like a number, see xml.ts driverValue), rowcount. The
 * column types are read before the queries run, with the client's --column-type-info, from the
 * query wrapped as `SELECT * FROM (…) LIMIT 0` (no row is read) or, for SHOW/DESCRIBE/EXPLAIN,
 * the statement itself (read-only); a query whose types cannot be read that way keeps the old
 * rule (an integer's text is an int).
 *
 * Kiln connects over the server's socket, as root (unix_socket) or as login_user/login_password
 * (a 0600 option file, as its other mysql modules); login_db selects the database. single_transaction runs the queries in one
 * transaction, committed at the end (rolled back when one fails).
 */
import { sha256 } from '../../sh/bytes.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { isSecret, type Secret } from '../../core/secret/secret.ts';
import { defineModule, type ApplyResult, type ExecResult, type FromSchema } from '../contract.ts';
import {
  FIND_CLIENT,
  ident,
  loginOf,
  loginSetup,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  type ServerProbe,
  sqlString,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { parseColumnTypes } from './replication-modes.ts';
import { driverValue, parseResultSets, xmlSql } from './xml.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: {
      type: ['string', 'array'],
      items: { type: 'string', minLength: 1 },
      minLength: 1,
      description: 'SQL query, or a list of queries run in order (each one statement)',
    },
    positional_args: {
      type: 'array',
      items: { type: ['string', 'number', 'boolean', 'null'] },
      description: 'values for %s placeholders, in order (quoted and escaped as PyMySQL does)',
    },
    named_args: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      description: 'values for %(name)s placeholders',
    },
    ...LOGIN_PROPERTIES,
    login_db: { type: 'string', minLength: 1, description: 'database the queries run in (USE)' },
    single_transaction: {
      type: 'boolean',
      description: 'run all queries in one transaction, committed at the end (default false: autocommit)',
    },
  },
} as const;

export type MysqlQueryParams = FromSchema<typeof schema>;
export type MysqlQueryState = ServerProbe;
export type MysqlQueryOp = { kind: 'run' };

type Arg = string | number | boolean | null | Secret;

const DML = ['INSERT', 'UPDATE', 'DELETE', 'REPLACE'];
const DDL = ['CREATE', 'DROP', 'ALTER', 'RENAME', 'TRUNCATE'];

/** PyMySQL's escape of one argument into a SQL literal. */
export function literal(v: Arg): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  return sqlString(isSecret(v) ? v.reveal() : v);
}

/** PyMySQL's `query % args`: %s (positional) or %(name)s (named); %% is %, only when args are given. */
export function substitute(query: string, p: MysqlQueryParams): string {
  const pos = p.positional_args as Arg[] | undefined;
  const named = p.named_args as Record<string, Arg> | undefined;
  if (pos?.length && named && Object.keys(named).length) throw new Error('positional_args and named_args are mutually exclusive');
  if (pos?.length) {
    let i = 0;
    const out = query.replace(/%(%|s)/g, (m, c: string) => {
      if (c === '%') return '%';
      if (i >= pos.length) throw new Error(`not enough arguments for format string: ${JSON.stringify(query)}`);
      return literal(pos[i++]!);
    });
    if (i < pos.length) throw new Error(`not all arguments converted during string formatting: ${JSON.stringify(query)}`);
    return out;
  }
  if (named && Object.keys(named).length) {
    return query.replace(/%(%|\(([^)]*)\)s)/g, (m, c: string, name?: string) => {
      if (c === '%') return '%';
      if (!(name! in named)) throw new Error(`named_args has no ${JSON.stringify(name)} (used in ${JSON.stringify(query)})`);
      return literal(named[name!]!);
    });
  }
  return query;
}

export const queriesOf = (p: MysqlQueryParams): string[] => (typeof p.query === 'string' ? [p.query] : p.query);

/** The SQL script: each query between a start marker and ROW_COUNT(). */
export function querySql(p: MysqlQueryParams): string {
  const lines: string[] = [];
  if (p.login_db) lines.push(`USE ${ident(p.login_db)};`);
  if (p.single_transaction) lines.push('SET autocommit = 0;', 'START TRANSACTION;');
  queriesOf(p).forEach((q, i) => {
    const sql = substitute(q, p)
      .trim()
      .replace(/;+\s*$/, '');
    lines.push(`SELECT ${i} AS kiln_query_start;`, `${sql};`, 'SELECT ROW_COUNT() AS kiln_rowcount;');
  });
  if (p.single_transaction) lines.push('COMMIT;');
  return lines.join('\n');
}

export function changedBy(query: string, rowcount: number): boolean {
  const head = query.trimStart().slice(0, 8).toUpperCase();
  return DML.some((k) => head.includes(k) && rowcount > 0) || DDL.some((k) => head.includes(k));
}

/** The read-only statement that gives a query's column types (none for queries that return no rows). */
export function typesSql(query: string): string | undefined {
  const q = query.trim().replace(/;+\s*$/, '');
  const head = /^\(*\s*([A-Za-z]+)/.exec(q)?.[1]?.toUpperCase();
  if (head === 'SELECT' || head === 'WITH' || head === 'VALUES' || head === 'TABLE') return `SELECT * FROM (${q}) AS kiln_types LIMIT 0;`;
  if (head === 'SHOW' || head === 'DESC' || head === 'DESCRIBE' || head === 'EXPLAIN') return `${q};`;
  return undefined;
}

/** Shell printing `types_<i>_b64=` (the Field/Type lines of --column-type-info) for each query that returns rows. */
export function typesShell(p: MysqlQueryParams): string {
  return queriesOf(p)
    .flatMap((q, i) => {
      const t = typesSql(substitute(q, p));
      if (!t) return [];
      const sql = `${p.login_db ? `USE ${ident(p.login_db)};\n` : ''}${t}`;
      const tag = `KILN_SQL_${sha256(sql).slice(0, 12)}`;
      return [
        `kiln_o=$("$kiln_my" --protocol=socket -t --column-type-info 2>/dev/null <<'${tag}' | grep -E '^(Field|Type:)'`,
        sql,
        tag,
        ')',
        `printf 'types_${i}_b64=%s\\n' "$(printf %s "$kiln_o" | base64 -w0)"`,
      ];
    })
    .join('\n');
}

/** Reads the client's XML output back into Ansible's result; `types[i]`: query i's column types, when read. */
export function queryResult(
  p: MysqlQueryParams,
  xml: string,
  types: (Record<string, string> | undefined)[] = [],
): { result: Record<string, unknown>; changed: boolean; done: number } {
  const sets = parseResultSets(xml);
  const executed = queriesOf(p).map((q) => substitute(q, p));
  const query_result: Record<string, unknown>[][] = [];
  const rowcount: number[] = [];
  let changed = false;
  let cur: Record<string, unknown>[] | undefined;
  for (const set of sets) {
    const first = set.rows[0] ?? {};
    if ('kiln_query_start' in first && set.rows.length === 1 && Object.keys(first).length === 1) cur = [];
    else if ('kiln_rowcount' in first && set.rows.length === 1 && Object.keys(first).length === 1 && cur) {
      const n = Number(first.kiln_rowcount);
      const count = n >= 0 ? n : cur.length;
      const i = query_result.length;
      query_result.push(cur);
      rowcount.push(count);
      if (changedBy(executed[i] ?? '', count)) changed = true;
      cur = undefined;
    } else if (cur && !cur.length) {
      const t = types[query_result.length];
      const typeOf = (k: string) => (t && Object.keys(t).length ? (t[k] ?? 'VAR_STRING') : undefined);
      cur.push(...set.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, driverValue(v, typeOf(k))]))));
    }
  }
  return {
    result: { executed_queries: executed.slice(0, query_result.length), query_result, rowcount },
    changed,
    done: query_result.length,
  };
}

export default defineModule<MysqlQueryParams, MysqlQueryState, MysqlQueryOp>({
  name: 'mysql_query',
  description:
    "Run SQL queries (with positional or named arguments) as community.mysql's mysql_query; changed when a DML query affected rows or a DDL query ran.",
  schema,
  probe: (p) => probeFrame('true', loginOf(p)),
  parse: (out: ExecResult) => {
    const { kv, all } = parseLines(out.stdout);
    return parseServer(kv, all.mysql_error ?? []);
  },
  plan: (p, _prep, s) => {
    for (const q of queriesOf(p)) substitute(q, p); // argument errors before anything runs
    const qs = queriesOf(p);
    const first = qs[0]!.trim().split('\n')[0]!;
    const what = qs.length === 1 ? `SQL: ${first.length > 80 ? `${first.slice(0, 77)}...` : first}` : `${qs.length} SQL queries`;
    const where = [
      p.login_db ? `in ${p.login_db}` : '',
      p.single_transaction ? 'one transaction' : '',
      s.server !== 'up' ? `(${notReachable(s)})` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [{ summary: `run ${what}${where ? ` ${where}` : ''}`, action: true, unpredictable: true, op: { kind: 'run' } }];
  },
  apply: (p) => {
    const sql = querySql(p);
    return [
      FIND_CLIENT,
      '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
      loginSetup(loginOf(p)),
      typesShell(p),
      xmlSql(sql, 'q', `KILN_SQL_${sha256(sql).slice(0, 12)}`),
    ].join('\n');
  },
  interpret: (p, _prep, out): ApplyResult => {
    const { kv } = parseLines(out.stdout);
    const text = fromB64(kv.q_b64);
    const types = queriesOf(p).map((_, i) =>
      kv[`types_${i}_b64`] === undefined ? undefined : parseColumnTypes(fromB64(kv[`types_${i}_b64`])),
    );
    const { result, changed, done } = queryResult(p, text, types);
    if (kv.q_rc !== '0') {
      const failedQuery = queriesOf(p)[done] ?? '';
      const err =
        text
          .split('\n')
          .filter((l) => /^ERROR/.test(l))
          .join(' ') ||
        text.trim().split('\n').slice(-1)[0] ||
        `exit ${kv.q_rc}`;
      return {
        result,
        failed: `Cannot execute SQL '${failedQuery}': ${err}${p.single_transaction ? ' (the transaction was rolled back)' : ''}`,
        changed: !p.single_transaction && changed,
      };
    }
    return { result, changed };
  },
  registerData: () => ({ executed_queries: [], query_result: [], rowcount: [] }),
});
