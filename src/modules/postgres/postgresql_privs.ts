/**
 * `postgresql_privs`: privileges of roles on tables, sequences, databases and schemas
 * (community.postgresql.postgresql_privs 2.x, those four types; the others are refused in the
 * Ansible mapping and by the schema).
 *
 * The collection runs its GRANT/REVOKE and compares the ACLs before and after. Kiln predicts the
 * same from the probe: the ACL of each object (aclexplode, the owner's default ACL when none is
 * set) for each role, compared with the wanted privileges and grant option; the statement is the
 * collection's own (one GRANT or REVOKE for all objects and roles) and runs only when some
 * privilege differs. ALL_IN_SCHEMA is resolved by the probe to the schema's tables (or sequences)
 * of the moment, as the collection does; the statement is its `ON ALL TABLES IN SCHEMA`.
 */
import {
  CONNECTION_PROPS,
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

const TYPES = ['table', 'sequence', 'database', 'schema'] as const;
type ObjType = (typeof TYPES)[number];

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['database', 'roles'],
  properties: {
    database: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\n]+$',
      description: 'the database to connect to (and, for type database, the default object)',
    },
    roles: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\n]+$',
      description: 'comma-separated roles to grant to or revoke from; PUBLIC: everyone',
    },
    privs: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description:
        'comma-separated privileges: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, CREATE, CONNECT, TEMPORARY/TEMP, USAGE, ALL',
    },
    type: {
      enum: [...TYPES],
      description:
        'type of the objects: table (default), sequence, database, schema (function, procedure, language, tablespace, group, default_privs, foreign_data_wrapper, foreign_server, type are not supported by Kiln)',
    },
    objs: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description:
        'comma-separated object names; ALL_IN_SCHEMA: every table (or sequence) in schema; type database: default the database option',
    },
    schema: { type: 'string', minLength: 1, pattern: '^[^\\n]+$', description: 'schema of tables and sequences (default public)' },
    state: { enum: ['present', 'absent'], description: 'present (default): GRANT; absent: REVOKE' },
    grant_option: {
      type: 'boolean',
      description: 'state present: true grants WITH GRANT OPTION, false revokes the grant option; unset leaves it as it is',
    },
    fail_on_role: {
      type: 'boolean',
      description: 'a role that does not exist fails the task (default true); false: it is skipped with a warning',
    },
    ...CONNECTION_PROPS,
  },
} as const;

export type PgPrivsParams = FromSchema<typeof schema>;

const VALID = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'TRUNCATE',
  'REFERENCES',
  'TRIGGER',
  'CREATE',
  'CONNECT',
  'TEMPORARY',
  'TEMP',
  'EXECUTE',
  'USAGE',
  'ALL',
];
/** What ALL means on each type (PostgreSQL's privileges of the object type). */
const ALL: Record<ObjType, string[]> = {
  table: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
  sequence: ['SELECT', 'UPDATE', 'USAGE'],
  database: ['CREATE', 'CONNECT', 'TEMPORARY'],
  schema: ['CREATE', 'USAGE'],
};

/** The params read as the collection's main() does. */
export interface PrivsRequest {
  type: ObjType;
  /** The privileges as given (upper-cased, order kept) for the statement. */
  privs: string[];
  /** The privileges they mean on this type (ALL expanded, TEMP → TEMPORARY), for the comparison. */
  effective: string[];
  objs: string[] | 'ALL_IN_SCHEMA';
  schema?: string;
  /** 'PUBLIC' or role names. */
  roles: 'PUBLIC' | string[];
}

export function privsRequest(p: PgPrivsParams): PrivsRequest {
  const type = p.type ?? 'table';
  const schemaQualified = type === 'table' || type === 'sequence';
  if (!schemaQualified && p.schema) throw new Error(`Argument "schema" is not allowed for type "${type}".`);
  if (p.objs === 'ALL_IN_SCHEMA' && !schemaQualified)
    throw new Error(
      `Argument "objs": ALL_IN_SCHEMA can be used only for type: table, sequence, function or procedure, ${type} was passed.`,
    );
  const objsText = type === 'database' ? p.objs || p.database : p.objs;
  if (!objsText) throw new Error(`Argument "objs" is required for type "${type}".`);
  if (!p.privs) throw new Error(`Argument "privs" is required for type "${type}".`);
  const privs = [...new Set(p.privs.split(',').map((x) => x.toUpperCase()))];
  const bad = privs.filter((x) => !VALID.includes(x));
  if (bad.length) throw new Error(`Invalid privileges specified: ${bad.join(', ')}`);
  const effective = new Set<string>();
  for (const x of privs) {
    if (x === 'ALL') for (const a of ALL[type]) effective.add(a);
    else effective.add(x === 'TEMP' ? 'TEMPORARY' : x);
  }
  const wrong = [...effective].filter((x) => !ALL[type].includes(x));
  if (wrong.length) throw new Error(`invalid privilege type ${wrong[0]} for ${type}`);
  return {
    type,
    privs,
    effective: [...effective].sort(),
    objs: objsText === 'ALL_IN_SCHEMA' ? 'ALL_IN_SCHEMA' : objsText.split(','),
    schema: schemaQualified ? (p.schema ?? 'public') : undefined,
    roles: p.roles === 'PUBLIC' ? 'PUBLIC' : p.roles.split(','),
  };
}

export interface PgPrivsState extends PgServer {
  /** The objects found (ALL_IN_SCHEMA: all of the schema's). */
  objects: string[];
  /** Roles that exist (PUBLIC always does). */
  roles: string[];
  /** object → role → privilege → grantable. */
  acl: Record<string, Record<string, Record<string, boolean>>>;
}

export type PgPrivsOp = { kind: 'grant' } | { kind: 'revoke' };

/** The catalog query of a type: name, the ACL (owner's default when unset), the filter. */
function catalog(t: ObjType, schemaName: string | undefined): { from: string; name: string; acl: string } {
  switch (t) {
    case 'table':
    case 'sequence':
      return {
        from: `pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${lit(schemaName ?? 'public')} AND c.relkind ${t === 'table' ? "IN ('r', 'v', 'm', 'p', 'f')" : "= 'S'"}`,
        name: 'c.relname',
        acl: `coalesce(c.relacl, acldefault(${t === 'table' ? "'r'" : "'s'"}, c.relowner))`,
      };
    case 'database':
      return { from: 'pg_catalog.pg_database d WHERE true', name: 'd.datname', acl: "coalesce(d.datacl, acldefault('d', d.datdba))" };
    case 'schema':
      return { from: 'pg_catalog.pg_namespace s WHERE true', name: 's.nspname', acl: "coalesce(s.nspacl, acldefault('n', s.nspowner))" };
  }
}

export function pgPrivsProbe(p: PgPrivsParams): string {
  const r = privsRequest(p);
  const c = catalog(r.type, r.schema);
  // ALL_IN_SCHEMA: the collection lists relkind r, v, m, p (not foreign tables).
  const from = r.objs === 'ALL_IN_SCHEMA' ? c.from.replace("IN ('r', 'v', 'm', 'p', 'f')", "IN ('r', 'v', 'm', 'p')") : c.from;
  const objFilter = r.objs === 'ALL_IN_SCHEMA' ? '' : ` AND ${c.name} = ANY(ARRAY[${r.objs.map(lit).join(', ')}]::text[])`;
  const roles = r.roles === 'PUBLIC' ? [] : r.roles;
  const sql = [
    sessionRole(p),
    VERSION_SQL,
    ...(roles.length
      ? [`SELECT 'role=' || rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(ARRAY[${roles.map(lit).join(', ')}]::text[]);`]
      : []),
    `SELECT 'obj=' || json_build_array(${c.name}) FROM ${from}${objFilter};`,
    `SELECT 'acl=' || json_build_array(${c.name}, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable) FROM ${from}${objFilter}, aclexplode(${c.acl}) a;`,
  ].join('\n');
  return pgProbe(pgTarget(p, p.database), sql);
}

export function pgPrivsParse(out: ExecResult): PgPrivsState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all);
  const acl: PgPrivsState['acl'] = {};
  for (const line of all.acl ?? []) {
    const [obj, role, priv, grantable] = JSON.parse(line) as [string, string, string, boolean];
    const roleAcl = ((acl[obj] ??= {})[role] ??= {});
    roleAcl[priv] = roleAcl[priv] || grantable;
  }
  return {
    ...server,
    objects: (all.obj ?? []).map((l) => (JSON.parse(l) as [string])[0]),
    roles: [...(all.role ?? []), 'PUBLIC'],
    acl,
  };
}

/** The roles the statement names: the existing ones (a missing one fails, or is skipped with fail_on_role: false). */
function targetRoles(p: PgPrivsParams, r: PrivsRequest, s: PgPrivsState): string[] {
  if (r.roles === 'PUBLIC') return ['PUBLIC'];
  const out: string[] = [];
  for (const role of r.roles) {
    if (s.roles.includes(role)) out.push(role);
    else if (p.fail_on_role ?? true) throw new Error(`Role '${role.trim()}' does not exist`);
  }
  return out;
}

export function pgPrivsPlan(p: PgPrivsParams, _prep: undefined, s: PgPrivsState, _ctx?: ModuleContext): Planned<PgPrivsOp>[] {
  const r = privsRequest(p);
  const state = p.state ?? 'present';
  const what = `${r.privs.join(',')} on ${r.type} ${r.objs === 'ALL_IN_SCHEMA' ? `ALL_IN_SCHEMA ${r.schema}` : r.objs.join(',')}`;
  if (unknownState(s)) {
    return [
      {
        summary: `${state === 'present' ? 'grant' : 'revoke'} ${what} (${notReachable(s)})`,
        unpredictable: true,
        op: { kind: state === 'present' ? 'grant' : 'revoke' },
      },
    ];
  }
  const roles = targetRoles(p, r, s);
  if (!roles.length) return [];
  const objs = r.objs === 'ALL_IN_SCHEMA' ? s.objects : r.objs;
  if (r.objs !== 'ALL_IN_SCHEMA') {
    const missing = r.objs.filter((o) => !s.objects.includes(o));
    if (missing.length) throw new Error(`${r.type} ${missing.map((m) => (r.schema ? `${r.schema}.${m}` : m)).join(', ')} does not exist`);
  }
  if (!objs.length) return [];
  const diffs: string[] = [];
  for (const o of objs)
    for (const role of roles) {
      const have = s.acl[o]?.[role] ?? {};
      if (state === 'present') {
        const missing = r.effective.filter((x) => !(x in have));
        const needOption = p.grant_option === true ? r.effective.filter((x) => have[x] === false) : [];
        const dropOption = p.grant_option === false ? r.effective.filter((x) => have[x] === true) : [];
        if (missing.length) diffs.push(`${role} on ${o}: + ${missing.join(',')}${p.grant_option ? ' with grant option' : ''}`);
        if (needOption.length) diffs.push(`${role} on ${o}: grant option for ${needOption.join(',')}`);
        if (dropOption.length) diffs.push(`${role} on ${o}: − grant option for ${dropOption.join(',')}`);
      } else {
        const present = r.effective.filter((x) => x in have);
        if (present.length) diffs.push(`${role} on ${o}: − ${present.join(',')}`);
      }
    }
  if (!diffs.length) return [];
  return [
    {
      summary: `${state === 'present' ? 'grant' : 'revoke'} ${what}: ${diffs.join('; ')}`,
      op: { kind: state === 'present' ? 'grant' : 'revoke' },
    },
  ];
}

/** The collection's QueryBuilder statement (one for all objects and roles). */
export function pgPrivsSql(p: PgPrivsParams, s: PgPrivsState, ops: PgPrivsOp[]): string[] {
  if (!ops.length) return [];
  const r = privsRequest(p);
  const roles = targetRoles(p, r, s);
  const forWhom = roles.map((x) => (x === 'PUBLIC' ? 'PUBLIC' : ident(x))).join(',');
  const q = r.schema !== undefined ? ident(r.schema) : '';
  const objIds = r.objs === 'ALL_IN_SCHEMA' ? '' : r.objs.map((o) => (r.schema !== undefined ? `${q}.${ident(o)}` : ident(o))).join(',');
  const setWhat =
    r.objs === 'ALL_IN_SCHEMA'
      ? `${r.privs.join(',')} ON ALL ${r.type === 'table' ? 'TABLES' : 'SEQUENCES'} IN SCHEMA ${q}`
      : `${r.privs.join(',')} ON ${r.type} ${objIds}`;
  if (ops[0]!.kind === 'revoke') return [`REVOKE ${setWhat} FROM ${forWhom};`];
  if (p.grant_option === true) return [`GRANT ${setWhat} TO ${forWhom} WITH GRANT OPTION;`];
  if (p.grant_option === false) return [`GRANT ${setWhat} TO ${forWhom};`, `REVOKE GRANT OPTION FOR ${setWhat} FROM ${forWhom};`];
  return [`GRANT ${setWhat} TO ${forWhom};`];
}

export default defineModule<PgPrivsParams, PgPrivsState, PgPrivsOp>({
  name: 'postgresql_privs',
  description:
    "Grant or revoke privileges of PostgreSQL roles on tables, sequences, databases and schemas (community.postgresql's postgresql_privs): the ACLs are probed (aclexplode) so a check predicts the change. SQL through psql on the host (no Python or psycopg2 needed); as root over the Unix socket, psql runs as the login_user OS user (peer authentication).",
  schema,
  prepare: (p) => {
    privsRequest(p);
    return undefined;
  },
  probe: (p) => pgPrivsProbe(p),
  parse: (out) => pgPrivsParse(out),
  plan: pgPrivsPlan,
  apply: (p, _prep, s, ops) => pgApply(pgTarget(p, p.database), [sessionRole(p), ...pgPrivsSql(p, s, ops)].filter(Boolean)),
  registerData: (p, _prep, s) => {
    const ops = s.server === 'up' ? pgPrivsPlan(p, undefined, s).map((c) => c.op) : [];
    // The collection's queries hold the statement joined by newlines (one entry per run).
    const sql = pgPrivsSql(p, s, ops);
    return { queries: sql.length ? [sql.join('\n')] : [] };
  },
});
