/**
 * `mysql_db`: a MariaDB/MySQL database, present (with charset and collation) or absent.
 *
 * Probe: information_schema.SCHEMATA through the local client over the unix socket (become).
 * When the server is not installed or not running yet (an earlier task only predicted its
 * install in a dry run), the plan says so and flags its change as unpredictable.
 *
 * Invariants: the name is a SQL string literal in the probe and a quoted identifier in apply;
 * `apply` builds its SQL from the typed ops alone (never from summaries), one statement per run.
 */
import {
  applySql,
  ident,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  runSql,
  type ServerProbe,
  sqlString,
  unescapeBatch,
  unknownState,
} from './sql.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^/\\\\.\\n]+$', description: 'database name' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent (DROP DATABASE: its data is lost)' },
    encoding: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]+$',
      description: 'default character set, e.g. utf8mb4 (an existing database is altered when it differs)',
    },
    collation: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]+$',
      description: 'default collation, e.g. utf8mb4_unicode_ci (altered when it differs)',
    },
  },
} as const;

export type MysqlDbParams = FromSchema<typeof schema>;

/** What apply does: CREATE (with charset/collation), DROP, or ALTER one attribute (one ALTER for all). */
export type MysqlDbOp = { kind: 'create' } | { kind: 'drop' } | { kind: 'alter'; attribute: 'charset' | 'collation' };

export interface MysqlDbState extends ServerProbe {
  exists: boolean;
  encoding?: string;
  collation?: string;
}

export function mysqlDbProbe(p: MysqlDbParams): string {
  const sql = `SELECT CONCAT('db=', DEFAULT_CHARACTER_SET_NAME, '\\t', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlString(p.name)};`;
  return probeFrame(runSql(sql));
}

export function mysqlDbParse(out: ExecResult): MysqlDbState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  if (server.server !== 'up' || kv.db === undefined) return { ...server, exists: false };
  const [encoding, collation] = unescapeBatch(kv.db).split('\t');
  return { ...server, exists: true, encoding, collation };
}

export function mysqlDbPlan(p: MysqlDbParams, _prep: undefined, s: MysqlDbState, _ctx?: ModuleContext): Planned<MysqlDbOp>[] {
  const state = p.state ?? 'present';
  if (unknownState(s)) {
    // Nothing can exist on a server that is not installed; a stopped one may hold anything.
    if (state === 'absent')
      return s.server === 'missing'
        ? []
        : [{ summary: `drop database ${p.name} (${notReachable(s)})`, unpredictable: true, op: { kind: 'drop' } }];
    return [{ summary: `create database ${p.name}${describeOpts(p)} (${notReachable(s)})`, unpredictable: true, op: { kind: 'create' } }];
  }
  if (state === 'absent') return s.exists ? [{ summary: `drop database ${p.name}`, op: { kind: 'drop' } }] : [];
  if (!s.exists) return [{ summary: `create database ${p.name}${describeOpts(p)}`, op: { kind: 'create' } }];
  const out: Planned<MysqlDbOp>[] = [];
  if (p.encoding && p.encoding.toLowerCase() !== s.encoding?.toLowerCase()) {
    out.push({
      summary: `character set of database ${p.name}: ${s.encoding} → ${p.encoding}`,
      op: { kind: 'alter', attribute: 'charset' },
    });
  }
  if (p.collation && p.collation.toLowerCase() !== s.collation?.toLowerCase()) {
    out.push({
      summary: `collation of database ${p.name}: ${s.collation} → ${p.collation}`,
      op: { kind: 'alter', attribute: 'collation' },
    });
  }
  return out;
}

function describeOpts(p: MysqlDbParams): string {
  const o = [p.encoding ? `character set ${p.encoding}` : '', p.collation ? `collation ${p.collation}` : ''].filter(Boolean);
  return o.length ? ` (${o.join(', ')})` : '';
}

function specSql(p: MysqlDbParams): string {
  return `${p.encoding ? ` CHARACTER SET ${p.encoding}` : ''}${p.collation ? ` COLLATE ${p.collation}` : ''}`;
}

/**
 * The statements for the planned ops (pure; unit-tested). ALTER states both attributes the task
 * names, once, whichever of them differ.
 */
export function mysqlDbSql(p: MysqlDbParams, ops: MysqlDbOp[]): string[] {
  const db = ident(p.name);
  const sql: string[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'drop':
        sql.push(`DROP DATABASE IF EXISTS ${db};`);
        break;
      case 'create':
        sql.push(`CREATE DATABASE IF NOT EXISTS ${db}${specSql(p)};`);
        break;
      case 'alter': {
        const stmt = `ALTER DATABASE ${db}${specSql(p)};`;
        if (!sql.includes(stmt)) sql.push(stmt);
        break;
      }
    }
  }
  return sql;
}

export default defineModule<MysqlDbParams, MysqlDbState, MysqlDbOp>({
  name: 'mysql_db',
  description: 'Create or drop a MariaDB/MySQL database, with its character set and collation (SQL over the local unix socket).',
  schema,
  probe: (p) => mysqlDbProbe(p),
  parse: (out) => mysqlDbParse(out),
  plan: mysqlDbPlan,
  apply: (p, _prep, _s, ops) => applySql(mysqlDbSql(p, ops).join('\n')),
  registerData: (p, _prep, s) => ({
    name: p.name,
    exists: s.exists,
    encoding: s.encoding ?? null,
    collation: s.collation ?? null,
    server_version: s.version?.raw ?? null,
  }),
});
