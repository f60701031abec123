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
  VERSION_SQL,
} from './psql.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const TYPES = ['table', 'sequence', 'database', 'schema', 'default_privs'] as const;
type ObjType = Exclude<(typeof TYPES)[number], 'default_privs'>;
type DefaultObj = 'TABLES' | 'SEQUENCES' | 'FUNCTIONS' | 'TYPES' | 'SCHEMAS';

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
        'type of the objects: table (default), sequence, database, schema, default_privs (ALTER DEFAULT PRIVILEGES; objs: TABLES, SEQUENCES, FUNCTIONS, TYPES, SCHEMAS or ALL_DEFAULT); function, procedure, language, tablespace, group, foreign_data_wrapper, foreign_server and type are not supported by Kiln',
    },
    objs: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description:
        'comma-separated object names; ALL_IN_SCHEMA: every table (or sequence) in schema; type database: default the database option',
    },
    schema: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\n]+$',
      description:
        "schema of tables and sequences, and of default_privs (default public; default_privs: 'not-specified' or objs 'schemas' for the global defaults)",
    },
    state: { enum: ['present', 'absent'], description: 'present (default): GRANT; absent: REVOKE' },
    grant_option: {
      type: 'boolean',
      description: 'state present: true grants WITH GRANT OPTION, false revokes the grant option; unset leaves it as it is',
    },
    target_roles: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\n]+$',
      description:
        'type default_privs: comma-separated roles whose future objects get the privileges (FOR ROLE); default: the connected role',
    },
    fail_on_role: {
      type: 'boolean',
      description: 'a role that does not exist fails the task (default true); false: it is skipped with a warning',
    },
    ...CONNECTION_PROPS,
    ...TRUST_INPUT_PROP,
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
/** The collection's VALID_DEFAULT_OBJS: the privileges each kind of future object takes. */
const DEFAULT_OBJS: Record<DefaultObj, string[]> = {
  TABLES: ['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
  SEQUENCES: ['ALL', 'SELECT', 'UPDATE', 'USAGE'],
  FUNCTIONS: ['ALL', 'EXECUTE'],
  TYPES: ['ALL', 'USAGE'],
  SCHEMAS: ['CREATE', 'USAGE'],
};
/** pg_default_acl.defaclobjtype of each. */
const DEFACL_TYPE: Record<DefaultObj, string> = { TABLES: 'r', SEQUENCES: 'S', FUNCTIONS: 'f', TYPES: 'T', SCHEMAS: 'n' };
const DEFAULT_ALL: Record<DefaultObj, string[]> = {
  TABLES: ALL.table,
  SEQUENCES: ALL.sequence,
  FUNCTIONS: ['EXECUTE'],
  TYPES: ['USAGE'],
  SCHEMAS: ['CREATE', 'USAGE'],
};

/** The params read as the collection's main() does. */
export type PrivsRequest =
  | {
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
  | {
      type: 'default_privs';
      privs: string[];
      objs: DefaultObj[];
      /** undefined: the global defaults (no IN SCHEMA). */
      schema?: string;
      roles: 'PUBLIC' | string[];
      /** FOR ROLE: undefined = the connected (current) role. */
      targetRoles?: string[];
    };

function splitPrivs(privs: string | undefined, type: string): string[] {
  if (!privs) throw new Error(`Argument "privs" is required for type "${type}".`);
  const out = [...new Set(privs.split(',').map((x) => x.toUpperCase()))];
  const bad = out.filter((x) => !VALID.includes(x));
  if (bad.length) throw new Error(`Invalid privileges specified: ${bad.join(', ')}`);
  return out;
}

export function privsRequest(p: PgPrivsParams): PrivsRequest {
  const type = p.type ?? 'table';
  const roles = p.roles.toUpperCase() === 'PUBLIC' ? 'PUBLIC' : p.roles.split(',');
  if (p.target_roles !== undefined && type !== 'default_privs')
    throw new Error('target_roles: only for type default_privs (Ansible ignores it with a warning for other types: remove it)');
  if (type === 'default_privs') {
    const privs = splitPrivs(p.privs, type);
    if (!p.objs) throw new Error(`Argument "objs" is required for type "${type}".`);
    const objs = (
      p.objs === 'ALL_DEFAULT' ? ['TABLES', 'SEQUENCES', 'FUNCTIONS', 'TYPES'] : [...new Set(p.objs.split(',').map((o) => o.toUpperCase()))]
    ) as DefaultObj[];
    const bad = objs.filter((o) => !(o in DEFAULT_OBJS));
    if (bad.length) throw new Error(`Invalid Object set specified: ${bad.join(', ')}`);
    const wrong = objs.filter((o) => !privs.every((x) => DEFAULT_OBJS[o].includes(x)));
    if (wrong.length) throw new Error(`Invalid priv specified: ${privs.join(',')} cannot be granted on ${wrong.join(', ')}`);
    const global = p.objs === 'schemas' || p.schema === 'not-specified';
    if (objs.includes('SCHEMAS') && !global)
      throw new Error(
        'objs SCHEMAS: default privileges on schemas are global: give objs: schemas (lowercase, as Ansible) or schema: not-specified',
      );
    return {
      type,
      privs,
      objs,
      schema: global ? undefined : (p.schema ?? 'public'),
      roles,
      targetRoles: p.target_roles?.split(','),
    };
  }
  const schemaQualified = type === 'table' || type === 'sequence';
  if (!schemaQualified && p.schema) throw new Error(`Argument "schema" is not allowed for type "${type}".`);
  if (p.objs === 'ALL_IN_SCHEMA' && !schemaQualified)
    throw new Error(
      `Argument "objs": ALL_IN_SCHEMA can be used only for type: table, sequence, function or procedure, ${type} was passed.`,
    );
  const objsText = type === 'database' ? p.objs || p.database : p.objs;
  if (!objsText) throw new Error(`Argument "objs" is required for type "${type}".`);
  const privs = splitPrivs(p.privs, type);
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
    roles,
  };
}

export interface PgPrivsState extends PgServer {
  /** The objects found (ALL_IN_SCHEMA: all of the schema's). */
  objects: string[];
  /** Roles that exist (PUBLIC always does). */
  roles: string[];
  /** object → role → privilege → grantable. */
  acl: Record<string, Record<string, Record<string, boolean>>>;
  /** default_privs: `${defaclrole}/${objtype}` → grantee → privilege → grantable, in the schema (or global). */
  defacl: Record<string, Record<string, Record<string, boolean>>>;
  /** The role the session acts as (current_user): default_privs' FOR ROLE when no target_roles. */
  currentUser?: string;
}

export type PgPrivsOp = { kind: 'grant' } | { kind: 'revoke' };

/** The catalog query of a type: its tables, the filter, the name and the ACL (the owner's default when unset). */
function catalog(
  t: ObjType,
  schemaName: string | undefined,
  allInSchema: boolean,
): { tables: string; where: string; name: string; acl: string } {
  switch (t) {
    case 'table':
    case 'sequence':
      return {
        tables: 'pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace',
        // ALL_IN_SCHEMA: the collection lists relkind r, v, m, p (not foreign tables).
        where: `n.nspname = ${lit(schemaName ?? 'public')} AND c.relkind ${t === 'sequence' ? "= 'S'" : allInSchema ? "IN ('r', 'v', 'm', 'p')" : "IN ('r', 'v', 'm', 'p', 'f')"}`,
        name: 'c.relname',
        acl: `coalesce(c.relacl, acldefault(${t === 'table' ? "'r'" : "'s'"}, c.relowner))`,
      };
    case 'database':
      return { tables: 'pg_catalog.pg_database d', where: 'true', name: 'd.datname', acl: "coalesce(d.datacl, acldefault('d', d.datdba))" };
    case 'schema':
      return {
        tables: 'pg_catalog.pg_namespace s',
        where: 'true',
        name: 's.nspname',
        acl: "coalesce(s.nspacl, acldefault('n', s.nspowner))",
      };
  }
}

const grantee = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END";

export function pgPrivsProbe(p: PgPrivsParams): string {
  const r = privsRequest(p);
  const roles = r.roles === 'PUBLIC' ? [] : r.roles;
  const sql = [
    sessionRole(p),
    VERSION_SQL,
    "SELECT 'current=' || current_user;",
    ...(roles.length
      ? [`SELECT 'role=' || rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(ARRAY[${roles.map(lit).join(', ')}]::text[]);`]
      : []),
  ];
  if (r.type === 'default_privs') {
    const ns = r.schema === undefined ? '0' : `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${lit(r.schema)})`;
    if (r.schema !== undefined)
      sql.push(`SELECT 'obj=' || json_build_array(nspname) FROM pg_catalog.pg_namespace WHERE nspname = ${lit(r.schema)};`);
    sql.push(
      `SELECT 'dacl=' || json_build_array(pg_get_userbyid(d.defaclrole) || '/' || d.defaclobjtype::text, ${grantee}, a.privilege_type, a.is_grantable) FROM pg_catalog.pg_default_acl d, aclexplode(d.defaclacl) a WHERE d.defaclnamespace = ${ns};`,
      `SELECT 'dacl_row=' || pg_get_userbyid(d.defaclrole) || '/' || d.defaclobjtype::text FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = ${ns};`,
    );
  } else {
    const all = r.objs === 'ALL_IN_SCHEMA';
    const c = catalog(r.type, r.schema, all);
    const where = `${c.where}${all ? '' : ` AND ${c.name} = ANY(ARRAY[${(r.objs as string[]).map(lit).join(', ')}]::text[])`}`;
    sql.push(
      `SELECT 'obj=' || json_build_array(${c.name}) FROM ${c.tables} WHERE ${where};`,
      `SELECT 'acl=' || json_build_array(${c.name}, ${grantee}, a.privilege_type, a.is_grantable) FROM ${c.tables} CROSS JOIN LATERAL aclexplode(${c.acl}) a WHERE ${where};`,
    );
  }
  return pgProbe(pgTarget(p, p.database), sql.join('\n'));
}

function addAcl(into: PgPrivsState['acl'], line: string): void {
  const [obj, role, priv, grantable] = JSON.parse(line) as [string, string, string, boolean];
  const roleAcl = ((into[obj] ??= {})[role] ??= {});
  roleAcl[priv] = roleAcl[priv] || grantable;
}

export function pgPrivsParse(out: ExecResult): PgPrivsState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all);
  const acl: PgPrivsState['acl'] = {};
  const defacl: PgPrivsState['defacl'] = {};
  for (const line of all.acl ?? []) addAcl(acl, line);
  for (const line of all.dacl ?? []) addAcl(defacl, line);
  // A pg_default_acl row whose ACL is empty (everything revoked): present, with no grantee.
  for (const key of all.dacl_row ?? []) defacl[key] ??= {};
  return {
    ...server,
    objects: (all.obj ?? []).map((l) => (JSON.parse(l) as [string])[0]),
    roles: [...(all.role ?? []), 'PUBLIC'],
    acl,
    defacl,
    currentUser: kv.current,
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

/** A global default ACL with no row: PostgreSQL's built-in default (PUBLIC may execute functions and use types). */
function builtinDefault(kind: string, role: string): Record<string, boolean> {
  if (role !== 'PUBLIC') return {};
  return kind === 'f' ? { EXECUTE: false } : kind === 'T' ? { USAGE: false } : {};
}

/** default_privs: the differences between the default ACLs and what the collection's statements leave. */
function defaultPrivsDiffs(
  p: PgPrivsParams,
  r: Extract<PrivsRequest, { type: 'default_privs' }>,
  roles: string[],
  s: PgPrivsState,
): string[] {
  const state = p.state ?? 'present';
  const owners = r.targetRoles ?? [s.currentUser ?? p.session_role ?? p.login_user ?? 'postgres'];
  const diffs: string[] = [];
  const have = (owner: string, kind: string, role: string): Record<string, boolean> => {
    const row = s.defacl[`${owner}/${kind}`];
    return row ? (row[role] ?? {}) : r.schema === undefined ? builtinDefault(kind, role) : {};
  };
  const show = (x: Record<string, boolean>) => Object.keys(x).sort().join(',') || 'nothing';
  for (const owner of owners)
    for (const role of roles) {
      if (state === 'absent') {
        // The collection revokes ALL on TABLES, SEQUENCES and TYPES, whatever objs names.
        for (const o of ['TABLES', 'SEQUENCES', 'TYPES'] as DefaultObj[]) {
          const h = have(owner, DEFACL_TYPE[o], role);
          if (Object.keys(h).length) diffs.push(`${role} on future ${o.toLowerCase()} of ${owner}: ${show(h)} → nothing`);
        }
        continue;
      }
      const grant = p.grant_option === true;
      // REVOKE ALL then GRANT on each of objs, then GRANT USAGE ON TYPES (the collection's
      // usage_on_types): what each default ACL holds for the role afterwards.
      const after = new Map<DefaultObj, Record<string, boolean>>();
      for (const o of r.objs)
        after.set(o, Object.fromEntries(r.privs.flatMap((x) => (x === 'ALL' ? DEFAULT_ALL[o] : [x])).map((x) => [x, grant])));
      const types = after.get('TYPES') ?? { ...have(owner, 'T', role) };
      types.USAGE = Boolean(types.USAGE) || grant;
      after.set('TYPES', types);
      for (const [o, a] of after) {
        const h = have(owner, DEFACL_TYPE[o], role);
        const same = Object.keys(a).length === Object.keys(h).length && Object.entries(a).every(([x, g]) => h[x] === g);
        if (!same)
          diffs.push(`${role} on future ${o.toLowerCase()} of ${owner}: ${show(h)} → ${show(a)}${grant ? ' with grant option' : ''}`);
      }
    }
  return diffs;
}

export function pgPrivsPlan(p: PgPrivsParams, _prep: undefined, s: PgPrivsState, _ctx?: ModuleContext): Planned<PgPrivsOp>[] {
  const r = privsRequest(p);
  const state = p.state ?? 'present';
  const kind = state === 'present' ? 'grant' : 'revoke';
  const objsText = r.type !== 'default_privs' && r.objs === 'ALL_IN_SCHEMA' ? `ALL_IN_SCHEMA ${r.schema}` : (r.objs as string[]).join(',');
  const what = `${r.privs.join(',')} on ${r.type === 'default_privs' ? 'future' : r.type} ${objsText}`;
  // Not reachable, or not installed yet: the roles and objects are made by earlier tasks of the run.
  if (s.server !== 'up') return [{ summary: `${kind} ${what} (${notReachable(s)})`, unpredictable: true, op: { kind } }];
  const roles = targetRoles(p, r, s);
  if (!roles.length) return [];
  const diffs: string[] = [];
  if (r.type === 'default_privs') {
    if (r.schema !== undefined && !s.objects.includes(r.schema)) throw new Error(`schema "${r.schema}" does not exist`);
    diffs.push(...defaultPrivsDiffs(p, r, roles, s));
  } else {
    const objs = r.objs === 'ALL_IN_SCHEMA' ? s.objects : r.objs;
    if (r.objs !== 'ALL_IN_SCHEMA') {
      const missing = r.objs.filter((o) => !s.objects.includes(o));
      if (missing.length) throw new Error(`${r.type} ${missing.map((m) => (r.schema ? `${r.schema}.${m}` : m)).join(', ')} does not exist`);
    }
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
  }
  if (!diffs.length) return [];
  return [{ summary: `${kind} ${what}: ${diffs.join('; ')}`, op: { kind } }];
}

/** The collection's QueryBuilder statements (one query for all objects and roles). */
export function pgPrivsSql(p: PgPrivsParams, s: PgPrivsState, ops: PgPrivsOp[]): string[] {
  if (!ops.length) return [];
  const r = privsRequest(p);
  const roles = targetRoles(p, r, s);
  if (!roles.length) return [];
  const forWhom = roles.map((x) => (x === 'PUBLIC' ? 'PUBLIC' : ident(x))).join(',');
  const q = r.schema !== undefined ? ident(r.schema) : '';
  const revoke = ops[0]!.kind === 'revoke';
  if (r.type === 'default_privs') {
    const asWho = r.targetRoles ? ` FOR ROLE ${r.targetRoles.map(ident).join(',')}` : '';
    const inSchema = r.schema !== undefined ? ` IN SCHEMA ${q}` : '';
    const head = `ALTER DEFAULT PRIVILEGES${asWho}${inSchema}`;
    const opt = p.grant_option === true ? ' WITH GRANT OPTION;' : ';';
    if (revoke) return ['TABLES', 'SEQUENCES', 'TYPES'].map((o) => `${head} REVOKE ALL ON ${o} FROM ${forWhom};`);
    return [
      ...r.objs.map((o) => `${head} REVOKE ALL ON ${o} FROM ${forWhom};`),
      ...r.objs.map((o) => `${head} GRANT ${r.privs.join(',')} ON ${o} TO ${forWhom}${opt}`),
      `${head} GRANT USAGE ON TYPES TO ${forWhom}${opt}`,
    ];
  }
  const objIds = r.objs === 'ALL_IN_SCHEMA' ? '' : r.objs.map((o) => (r.schema !== undefined ? `${q}.${ident(o)}` : ident(o))).join(',');
  const setWhat =
    r.objs === 'ALL_IN_SCHEMA'
      ? `${r.privs.join(',')} ON ALL ${r.type === 'table' ? 'TABLES' : 'SEQUENCES'} IN SCHEMA ${q}`
      : `${r.privs.join(',')} ON ${r.type} ${objIds}`;
  if (revoke) return [`REVOKE ${setWhat} FROM ${forWhom};`];
  if (p.grant_option === true) return [`GRANT ${setWhat} TO ${forWhom} WITH GRANT OPTION;`];
  if (p.grant_option === false) return [`GRANT ${setWhat} TO ${forWhom};`, `REVOKE GRANT OPTION FOR ${setWhat} FROM ${forWhom};`];
  return [`GRANT ${setWhat} TO ${forWhom};`];
}

export default defineModule<PgPrivsParams, PgPrivsState, PgPrivsOp>({
  name: 'postgresql_privs',
  description:
    "Grant or revoke privileges of PostgreSQL roles on tables, sequences, databases, schemas and future objects (default_privs), as community.postgresql's postgresql_privs: the ACLs are probed (aclexplode) so a check predicts the change. SQL through psql on the host (no Python or psycopg2 needed); as root over the Unix socket, psql runs as the login_user OS user (peer authentication).",
  schema,
  prepare: (p) => {
    checkInput(p.trust_input, [p.roles, p.target_roles, p.session_role, p.schema]);
    privsRequest(p);
    return undefined;
  },
  probe: (p) => pgPrivsProbe(p),
  parse: (out) => pgPrivsParse(out),
  plan: pgPrivsPlan,
  apply: (p, _prep, s, ops) => pgApply(pgTarget(p, p.database), [sessionRole(p), ...pgPrivsSql(p, s, ops)].filter(Boolean)),
  registerData: (p, _prep, s) => {
    // The collection runs its statement on every run and lists it in queries, changed or not
    // (one entry, the statements joined by newlines); Kiln runs it only when the ACLs differ,
    // and lists the same statement.
    const sql = s.server === 'up' ? pgPrivsSql(p, s, [{ kind: (p.state ?? 'present') === 'present' ? 'grant' : 'revoke' }]) : [];
    return { queries: sql.length ? [sql.join('\n')] : [] };
  },
});
