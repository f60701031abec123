/**
 * `postgresql_db`: a PostgreSQL database (community.postgresql.postgresql_db 2.x), present
 * (owner, template, encoding, lc_collate, lc_ctype, conn_limit, tablespace) or absent.
 *
 * As the collection: encoding, lc_collate and lc_ctype are given at creation and cannot change
 * afterwards (a database that differs fails the task, in check mode too: Kiln's check predicts
 * the run); owner, conn_limit and tablespace are altered; template only matters at creation.
 * The connection goes to maintenance_db (default postgres). dump/restore/rename are refused
 * (see the Ansible mapping).
 */
import {
  CONNECTION_PROPS,
  checkInput,
  TRUST_INPUT_PROP,
  ident,
  lit,
  notReachable,
  parseLines,
  parseServer,
  type PgServer,
  pgApply,
  pgProbe,
  pgTarget,
  sessionRole,
  unknownState,
  VERSION_SQL,
} from './psql.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[^\\n]+$', description: 'the database name' },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default) or absent (DROP DATABASE: its data is lost); dump, restore and rename are not supported',
    },
    owner: { type: 'string', pattern: '^[^\\n]*$', description: 'the owning role (ALTER DATABASE … OWNER TO when it differs)' },
    template: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: 'template database to create from (template0 to pick another encoding or locale); used only at creation',
    },
    encoding: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: "encoding (UTF-8, UTF8, LATIN1…); compared by the server's encoding id; cannot change after creation",
    },
    lc_collate: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: 'LC_COLLATE (en_US.UTF-8, C.UTF-8…; the locale must exist on the host); cannot change after creation',
    },
    lc_ctype: { type: 'string', pattern: '^[^\\n]*$', description: 'LC_CTYPE; cannot change after creation' },
    conn_limit: { type: 'string', pattern: '^(-?[0-9]+)?$', description: 'CONNECTION LIMIT (-1: no limit; empty: leave it)' },
    tablespace: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: 'default tablespace (ALTER DATABASE … SET TABLESPACE moves the data when it differs)',
    },
    force: {
      type: 'boolean',
      description: 'state absent: DROP DATABASE … WITH (FORCE), terminating its sessions (PostgreSQL 13+); default false',
    },
    maintenance_db: { type: 'string', minLength: 1, pattern: '^[^\\n]+$', description: 'database to connect to (default postgres)' },
    ...CONNECTION_PROPS,
    ...TRUST_INPUT_PROP,
  },
} as const;

export type PgDbParams = FromSchema<typeof schema>;

export interface PgDatabase {
  owner: string;
  encoding: string;
  encoding_id: number;
  lc_collate: string;
  lc_ctype: string;
  conn_limit: number;
  tablespace: string;
}

export interface PgDbState extends PgServer {
  db?: PgDatabase;
  /** pg_char_to_encoding(wanted encoding): -1 when the server does not know it. */
  wantEncodingId?: number;
}

export type PgDbOp = { kind: 'create' } | { kind: 'drop' } | { kind: 'owner' } | { kind: 'conn_limit' } | { kind: 'tablespace' };

export function pgDbProbe(p: PgDbParams): string {
  const sql = [
    sessionRole(p),
    VERSION_SQL,
    ...(p.encoding ? [`SELECT 'want_encoding=' || pg_char_to_encoding(${lit(p.encoding)});`] : []),
    `SELECT 'db=' || json_build_object('owner', rolname, 'encoding', pg_encoding_to_char(encoding), 'encoding_id', encoding, 'lc_collate', datcollate, 'lc_ctype', datctype, 'conn_limit', datconnlimit, 'tablespace', spcname)
FROM pg_catalog.pg_database JOIN pg_catalog.pg_roles ON pg_roles.oid = datdba JOIN pg_catalog.pg_tablespace ON pg_tablespace.oid = dattablespace
WHERE datname = ${lit(p.name)};`,
  ].join('\n');
  return pgProbe(pgTarget(p, p.maintenance_db ?? 'postgres'), sql);
}

export function pgDbParse(out: ExecResult): PgDbState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all);
  if (server.server !== 'up') return server;
  return {
    ...server,
    db: kv.db === undefined ? undefined : (JSON.parse(kv.db) as PgDatabase),
    wantEncodingId: kv.want_encoding === undefined ? undefined : Number(kv.want_encoding),
  };
}

function createDetails(p: PgDbParams): string {
  const o = [
    p.owner ? `owner ${p.owner}` : '',
    p.template ? `template ${p.template}` : '',
    p.encoding ? `encoding ${p.encoding}` : '',
    p.lc_collate ? `lc_collate ${p.lc_collate}` : '',
    p.lc_ctype ? `lc_ctype ${p.lc_ctype}` : '',
    p.tablespace ? `tablespace ${p.tablespace}` : '',
    p.conn_limit ? `connection limit ${p.conn_limit}` : '',
  ].filter(Boolean);
  return o.length ? ` (${o.join(', ')})` : '';
}

export function pgDbPlan(p: PgDbParams, _prep: undefined, s: PgDbState, _ctx?: ModuleContext): Planned<PgDbOp>[] {
  const state = p.state ?? 'present';
  const who = `database ${p.name}`;
  if (unknownState(s)) {
    if (state === 'absent')
      return s.server === 'missing' ? [] : [{ summary: `drop ${who} (${notReachable(s)})`, unpredictable: true, op: { kind: 'drop' } }];
    return [{ summary: `create ${who}${createDetails(p)} (${notReachable(s)})`, unpredictable: true, op: { kind: 'create' } }];
  }
  const d = s.db;
  if (state === 'absent') return d ? [{ summary: `drop ${who}${p.force ? ' (terminating its sessions)' : ''}`, op: { kind: 'drop' } }] : [];
  if (!d) return [{ summary: `create ${who}${createDetails(p)}`, op: { kind: 'create' } }];
  if (p.encoding && s.wantEncodingId !== d.encoding_id)
    throw new Error(`Changing database encoding is not supported. Current encoding: ${d.encoding}`);
  if (p.lc_collate && p.lc_collate !== d.lc_collate)
    throw new Error(`Changing LC_COLLATE is not supported. Current LC_COLLATE: ${d.lc_collate}`);
  if (p.lc_ctype && p.lc_ctype !== d.lc_ctype) throw new Error(`Changing LC_CTYPE is not supported. Current LC_CTYPE: ${d.lc_ctype}`);
  const out: Planned<PgDbOp>[] = [];
  if (p.owner && p.owner !== d.owner) out.push({ summary: `owner of ${who}: ${d.owner} → ${p.owner}`, op: { kind: 'owner' } });
  if (p.conn_limit && p.conn_limit !== String(d.conn_limit))
    out.push({ summary: `connection limit of ${who}: ${d.conn_limit} → ${p.conn_limit}`, op: { kind: 'conn_limit' } });
  if (p.tablespace && p.tablespace !== d.tablespace)
    out.push({ summary: `tablespace of ${who}: ${d.tablespace} → ${p.tablespace}`, op: { kind: 'tablespace' } });
  return out;
}

/** The statements, each with the text the collection reports in `executed_commands`. */
export function pgDbSql(p: PgDbParams, ops: PgDbOp[], version = 150000): { sql: string; query: string }[] {
  const n = ident(p.name);
  const out: { sql: string; query: string }[] = [];
  const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;
  for (const op of ops) {
    switch (op.kind) {
      case 'create': {
        const sql = [`CREATE DATABASE ${n}`];
        const query = [`CREATE DATABASE "${p.name}"`];
        if (p.owner) sql.push(`OWNER ${ident(p.owner)}`), query.push(`OWNER "${p.owner}"`);
        if (p.template) sql.push(`TEMPLATE ${ident(p.template)}`), query.push(`TEMPLATE "${p.template}"`);
        if (p.encoding) sql.push(`ENCODING ${lit(p.encoding)}`), query.push(`ENCODING ${sq(p.encoding)}`);
        if (p.lc_collate) sql.push(`LC_COLLATE ${lit(p.lc_collate)}`), query.push(`LC_COLLATE ${sq(p.lc_collate)}`);
        if (p.lc_ctype) sql.push(`LC_CTYPE ${lit(p.lc_ctype)}`), query.push(`LC_CTYPE ${sq(p.lc_ctype)}`);
        if (p.tablespace) sql.push(`TABLESPACE ${ident(p.tablespace)}`), query.push(`TABLESPACE "${p.tablespace}"`);
        if (p.conn_limit) sql.push(`CONNECTION LIMIT ${Number(p.conn_limit)}`), query.push(`CONNECTION LIMIT ${p.conn_limit}`);
        out.push({ sql: sql.join(' '), query: query.join(' ') });
        break;
      }
      case 'drop': {
        const force = p.force && version >= 130000;
        if (p.force && !force)
          out.push({
            sql: `UPDATE pg_database SET datallowconn = false WHERE datname = ${lit(p.name)}; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${lit(p.name)} AND pid <> pg_backend_pid()`,
            query: '',
          });
        out.push({
          sql: `DROP DATABASE ${n}${force ? ' WITH (FORCE)' : ''}`,
          query: `DROP DATABASE "${p.name}"${force ? ' WITH (FORCE)' : ''}`,
        });
        break;
      }
      case 'owner':
        out.push({
          sql: `ALTER DATABASE ${n} OWNER TO ${ident(p.owner ?? '')}`,
          query: `ALTER DATABASE "${p.name}" OWNER TO "${p.owner}"`,
        });
        break;
      case 'conn_limit':
        out.push({
          sql: `ALTER DATABASE ${n} CONNECTION LIMIT ${Number(p.conn_limit)}`,
          query: `ALTER DATABASE "${p.name}" CONNECTION LIMIT ${p.conn_limit}`,
        });
        break;
      case 'tablespace':
        out.push({
          sql: `ALTER DATABASE ${n} SET TABLESPACE ${ident(p.tablespace ?? '')}`,
          query: `ALTER DATABASE "${p.name}" SET TABLESPACE "${p.tablespace}"`,
        });
        break;
    }
  }
  return out;
}

export default defineModule<PgDbParams, PgDbState, PgDbOp>({
  name: 'postgresql_db',
  description:
    "Create, alter or drop a PostgreSQL database (community.postgresql's postgresql_db): owner, template, encoding, lc_collate, lc_ctype, conn_limit, tablespace. SQL through psql on the host (no Python or psycopg2 needed); as root over the Unix socket, psql runs as the login_user OS user (peer authentication).",
  schema,
  prepare: (p) => {
    checkInput(p.trust_input, [p.owner, p.conn_limit, p.encoding, p.name, p.template, p.tablespace, p.session_role]);
    return undefined;
  },
  probe: (p) => pgDbProbe(p),
  parse: (out) => pgDbParse(out),
  plan: pgDbPlan,
  // CREATE/DROP DATABASE cannot run inside a transaction block.
  apply: (p, _prep, s, ops) =>
    pgApply(
      pgTarget(p, p.maintenance_db ?? 'postgres'),
      [sessionRole(p), ...pgDbSql(p, ops, s.version).map((x) => `${x.sql};`)].filter(Boolean),
      {
        noTransaction: true,
      },
    ),
  registerData: (p, _prep, s) => {
    const ops = s.server === 'up' || s.fresh ? pgDbPlan(p, undefined, s).map((c) => c.op) : [];
    return {
      db: p.name,
      executed_commands: pgDbSql(p, ops, s.version)
        .map((x) => x.query)
        .filter(Boolean),
    };
  },
});
