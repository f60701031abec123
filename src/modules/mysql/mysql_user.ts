/**
 * `mysql_user`: a MariaDB/MySQL account 'name'@'host' (host may be a pattern: '10.77.0.%'),
 * its password and its privileges.
 *
 * - Password: the controller computes the mysql_native_password hash of the wanted password
 *   ('*' + upper(hex(sha1(sha1(pw)))), as MariaDB's PASSWORD()). The probe prints only a
 *   sha256 of the stored authentication_string, never the hash itself; apply sets the password
 *   with `IDENTIFIED BY PASSWORD '<hash>'` (MySQL: `IDENTIFIED WITH mysql_native_password AS`),
 *   so the cleartext never even reaches the host. A converged user is "ok" on every run.
 * - Privileges: `SHOW GRANTS` is parsed and normalized (grants.ts) and compared with
 *   the wanted ones per object; only the objects that differ are revoked and granted again.
 * - `sql_log_bin: false` keeps the statements out of the binary log: accounts are then managed
 *   on each server on its own instead of replicating (used by roles/mysql on primary and replicas).
 *
 * Invariants: the wanted hash is computed once, in `prepare`, and stays a Secret (Prep) until
 * apply puts it in the SQL heredoc; neither the password nor its hash is ever in a summary, an op,
 * argv or the probe. `apply` builds its SQL from the typed ops alone (never from summaries).
 */
import {
  formatPrivs,
  objectSql,
  upperColumns,
  type ObjectPrivs,
  parseShowGrants,
  parseWantedPrivs,
  type Privileges,
  samePrivs,
} from './grants.ts';
import {
  account,
  applySql,
  loginOf,
  nativePasswordHash,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  revealParam,
  runSql,
  type ServerProbe,
  sqlString,
  unescapeBatch,
  unknownState,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { Secret } from '../../core/secret/secret.ts';
import { sha256 } from '../../sh/bytes.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      maxLength: 80,
      pattern: '^[^\\n]*$',
      description: "account user name ('' is the anonymous account, as in Ansible: name: '' with state: absent removes it)",
    },
    host: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[^\\n]+$',
      description: "account host or pattern: localhost (default), '10.77.0.%', '%', an address",
    },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent (DROP USER)' },
    password: {
      type: 'string',
      'x-secret': true,
      description: 'cleartext password (a secret: use vault); stored as a mysql_native_password hash computed on the controller',
    },
    password_hash: {
      type: 'string',
      'x-secret': true,
      pattern: '^\\*[0-9A-Fa-f]{40}$',
      description: "mysql_native_password hash instead of password ('*' + 40 hex digits, as PASSWORD('x') prints)",
    },
    encrypted: {
      type: 'boolean',
      description:
        "password is already a mysql_native_password hash ('*' + 40 hex digits), as Ansible's encrypted: true (default false: cleartext)",
    },
    update_password: {
      enum: ['always', 'on_create'],
      description: 'always (default): set the password when the stored hash differs; on_create: only when creating the user',
    },
    priv: {
      anyOf: [
        { type: 'string' },
        { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } },
      ],
      description:
        'privileges: "db.*:PRIV,PRIV/db2.tbl:PRIV" (Ansible form; GRANT = with grant option) or a mapping {"db.*": "SELECT,INSERT"}; objects not listed are revoked unless append_privs',
    },
    column_case_sensitive: {
      type: 'boolean',
      description:
        "community.mysql's column_case_sensitive (3.8+): false (default) upper-cases the column names of priv and compares them without case, as the server does; true keeps their case",
    },
    append_privs: { type: 'boolean', description: 'only add the listed privileges, never revoke others (default false)' },
    tls_requires: {
      type: ['object', 'null'],
      additionalProperties: { type: ['string', 'boolean', 'null'] },
      description:
        "the account's TLS requirement, as Ansible's tls_requires (keys in any case): {ssl: …} → REQUIRE SSL, {x509: …} → REQUIRE X509, any of subject, issuer, cipher → REQUIRE SUBJECT … AND ISSUER … AND CIPHER … (ssl and x509 then dropped); {} or null → REQUIRE NONE. As in community.mysql, leaving it out also means REQUIRE NONE: an existing requirement is removed",
    },
    resource_limits: {
      type: 'object',
      additionalProperties: { type: 'number', minimum: 0 },
      description:
        "the account's resource limits, as Ansible's resource_limits: {MAX_QUERIES_PER_HOUR, MAX_UPDATES_PER_HOUR, MAX_CONNECTIONS_PER_HOUR, MAX_USER_CONNECTIONS, MAX_STATEMENT_TIME (MariaDB only)}: number (0 = unlimited). Compared with mysql.user; only the limits that differ are set (ALTER USER … WITH …); limits not listed are left as they are",
    },
    ...LOGIN_PROPERTIES,
    sql_log_bin: {
      type: 'boolean',
      description: 'false: do not write these statements to the binary log (the account is not replicated); default true',
    },
  },
} as const;

/**
 * The params as the schema types them. `password` and `password_hash` are secret params: the
 * engine hands them over as Secrets (plan/instance.ts), which only `prepare` reads (`revealParam`).
 */
export type MysqlUserParams = FromSchema<typeof schema>;

/** Computed on the controller: the wanted mysql_native_password hash, undefined when no password is managed. */
export interface MysqlUserPrep {
  hash?: Secret;
  /** The wanted TLS requirement (tls_requires, sanitized as community.mysql does). */
  tls: TlsRequire;
  /** The wanted resource limits (resource_limits), in the order given. */
  limits: [LimitName, number][];
}

/** community.mysql's resource types, and the mysql.user column each is stored in. */
export const LIMIT_COLUMNS = {
  MAX_QUERIES_PER_HOUR: 'max_questions',
  MAX_UPDATES_PER_HOUR: 'max_updates',
  MAX_CONNECTIONS_PER_HOUR: 'max_connections',
  MAX_USER_CONNECTIONS: 'max_user_connections',
  MAX_STATEMENT_TIME: 'max_statement_time',
} as const;
export type LimitName = keyof typeof LIMIT_COLUMNS;

/** resource_limits checked as community.mysql checks them: an unknown key fails; integers except MAX_STATEMENT_TIME. */
export function wantedLimits(req: Record<string, number> | undefined): [LimitName, number][] {
  if (!req) return [];
  return Object.entries(req).map(([k, v]) => {
    if (!(k in LIMIT_COLUMNS)) throw new Error(`resource_limits: unsupported resource type ${k}`);
    if (k !== 'MAX_STATEMENT_TIME' && !Number.isInteger(v)) throw new Error(`resource_limits: ${k} must be an integer`);
    return [k as LimitName, v];
  });
}

/** The limits that differ from the account's (all of them for a new account). */
export function limitDiff(want: [LimitName, number][], have: Partial<Record<LimitName, number>> | undefined): [LimitName, number][] {
  if (!have) return want;
  return want.filter(([k, v]) => have[k] !== v);
}

/** ALTER USER … WITH MAX_USER_CONNECTIONS 50 MAX_QUERIES_PER_HOUR 0. */
export const limitsSql = (who: string, limits: [LimitName, number][]) =>
  `ALTER USER ${who} WITH ${limits.map(([k, v]) => `${k} ${v}`).join(' ')};`;

/** An account's TLS requirement as mysql.user stores it: ssl_type '' (NONE), ANY (SSL), X509, SPECIFIED. */
export interface TlsRequire {
  type: '' | 'ANY' | 'X509' | 'SPECIFIED';
  cipher: string;
  issuer: string;
  subject: string;
}

const TLS_KEYS = ['SSL', 'X509', 'SUBJECT', 'ISSUER', 'CIPHER'];

/** community.mysql's sanitize_requires: keys upper-cased; SUBJECT/ISSUER/CIPHER win over SSL/X509; X509 over SSL; {} is NONE. */
export function wantedTls(req: Record<string, unknown> | null | undefined): TlsRequire {
  const none: TlsRequire = { type: '', cipher: '', issuer: '', subject: '' };
  if (!req || !Object.keys(req).length) return none;
  const up = Object.fromEntries(Object.entries(req).map(([k, v]) => [k.toUpperCase(), v]));
  const bad = Object.keys(up).filter((k) => !TLS_KEYS.includes(k));
  if (bad.length) throw new Error(`tls_requires: ${bad.join(', ')} is not a TLS requirement (SSL, X509, SUBJECT, ISSUER, CIPHER)`);
  const str = (k: string) => {
    const v = up[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new Error(`tls_requires: ${k} must be a string`);
    return v;
  };
  if ('SUBJECT' in up || 'ISSUER' in up || 'CIPHER' in up)
    return { type: 'SPECIFIED', cipher: str('CIPHER'), issuer: str('ISSUER'), subject: str('SUBJECT') };
  return { ...none, type: 'X509' in up ? 'X509' : 'ANY' };
}

/** REQUIRE NONE | SSL | X509 | SUBJECT '…' AND ISSUER '…' AND CIPHER '…'. */
export function requireSql(t: TlsRequire): string {
  if (t.type === '') return 'REQUIRE NONE';
  if (t.type === 'ANY') return 'REQUIRE SSL';
  if (t.type === 'X509') return 'REQUIRE X509';
  const parts = [
    t.subject ? `SUBJECT ${sqlString(t.subject)}` : '',
    t.issuer ? `ISSUER ${sqlString(t.issuer)}` : '',
    t.cipher ? `CIPHER ${sqlString(t.cipher)}` : '',
  ].filter(Boolean);
  return `REQUIRE ${parts.join(' AND ')}`;
}

const sameTls = (a: TlsRequire, b: TlsRequire) =>
  a.type === b.type && (a.type !== 'SPECIFIED' || (a.cipher === b.cipher && a.issuer === b.issuer && a.subject === b.subject));
const showTls = (t: TlsRequire) => requireSql(t).replace(/^REQUIRE /, '');

/**
 * What apply does. `create` carries the grants to give the new account; `privileges` one object
 * whose privileges differ: revoke what is there (unless append_privs), then grant `want`.
 */
export type MysqlUserOp =
  | { kind: 'create'; grants: [string, ObjectPrivs][] }
  | { kind: 'drop' }
  | { kind: 'password' }
  | { kind: 'tls' }
  | { kind: 'limits'; limits: [LimitName, number][] }
  | { kind: 'privileges'; object: string; revoke: boolean; want?: ObjectPrivs };

export interface MysqlUserState extends ServerProbe {
  exists: boolean;
  plugin?: string;
  /** sha256 of mysql.user.authentication_string. */
  authSha?: string;
  /** The account's TLS requirement (mysql.user ssl_type, ssl_cipher, x509_issuer, x509_subject). */
  tls?: TlsRequire;
  /** The account's resource limits (probed only when resource_limits is given). */
  limits?: Partial<Record<LimitName, number>>;
  privileges: Privileges;
}

/** The wanted hash ('*…', a Secret), or undefined when no password is managed. */
export function wantedHash(p: MysqlUserParams): Secret | undefined {
  if (p.encrypted && p.password_hash !== undefined)
    throw new Error('encrypted applies to password; password_hash is a hash already: give one of them');
  const h = revealParam(p.encrypted ? p.password : p.password_hash);
  if (h !== undefined) {
    if (!/^\*[0-9A-Fa-f]{40}$/.test(h)) {
      throw new Error(
        `${p.encrypted ? 'password (encrypted: true)' : 'password_hash'} must be a mysql_native_password hash: '*' and 40 hex digits`,
      );
    }
    return new Secret(h.toUpperCase(), 'password_hash');
  }
  const pw = revealParam(p.password);
  return pw === undefined ? undefined : new Secret(nativePasswordHash(pw), 'password_hash');
}

export function mysqlUserPrep(p: MysqlUserParams): MysqlUserPrep {
  if (p.state === 'absent' || !p.resource_limits) return { hash: wantedHash(p), tls: wantedTls(p.tls_requires), limits: [] };
  return { hash: wantedHash(p), tls: wantedTls(p.tls_requires), limits: wantedLimits(p.resource_limits) };
}

const acct = (p: MysqlUserParams) => account(p.name, p.host ?? 'localhost');
const label = (p: MysqlUserParams) => `'${p.name}'@'${p.host ?? 'localhost'}'`;

export function mysqlUserProbe(p: MysqlUserParams): string {
  const where = `User = ${sqlString(p.name)} AND Host = ${sqlString(p.host ?? 'localhost')}`;
  return probeFrame(
    [
      // Only a digest of the stored hash leaves the host.
      `kiln_u=$(${runSql(`SELECT CONCAT('user=', plugin, '\\t', SHA2(authentication_string, 256)) FROM mysql.user WHERE ${where};`)})`,
      'printf \'%s\\n\' "$kiln_u"',
      // Hex: a subject or cipher may hold any character.
      runSql(
        `SELECT CONCAT('tls=', ssl_type, ',', HEX(ssl_cipher), ',', HEX(x509_issuer), ',', HEX(x509_subject)) FROM mysql.user WHERE ${where};`,
      ).trimEnd(),
      ...(p.resource_limits && p.state !== 'absent'
        ? [
            'case "$kiln_v" in *MariaDB*)',
            runSql(
              `SELECT CONCAT('limits=', max_questions, ',', max_updates, ',', max_connections, ',', max_user_connections, ',', max_statement_time) FROM mysql.user WHERE ${where};`,
            ).trimEnd(),
            ';; *)',
            runSql(
              `SELECT CONCAT('limits=', max_questions, ',', max_updates, ',', max_connections, ',', max_user_connections) FROM mysql.user WHERE ${where};`,
            ).trimEnd(),
            ';; esac',
          ]
        : []),
      'if [ -n "$kiln_u" ]; then',
      // SHOW GRANTS may print the password hash (IDENTIFIED BY PASSWORD '*…'): cut it off here.
      `  ${runSql(`SHOW GRANTS FOR ${acct(p)};`).trimEnd()}`,
      "fi | sed -e '/ WITH GRANT OPTION$/s/ IDENTIFIED .* WITH GRANT OPTION$/ WITH GRANT OPTION/' -e 's/ IDENTIFIED .*$//' -e 's/^GRANT /grant=GRANT /'",
    ].join('\n'),
    loginOf(p),
  );
}

export function mysqlUserParse(out: ExecResult): MysqlUserState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  if (server.server !== 'up' || kv.user === undefined) return { ...server, exists: false, privileges: {} };
  const [plugin, authSha] = unescapeBatch(kv.user).split('\t');
  const tls = kv.tls === undefined ? undefined : parseTls(kv.tls);
  const limits = kv.limits === undefined ? undefined : parseLimits(kv.limits);
  return {
    ...server,
    exists: true,
    plugin,
    authSha,
    tls,
    ...(limits ? { limits } : {}),
    privileges: parseShowGrants((all.grant ?? []).map(unescapeBatch)),
  };
}

/** "max_questions,max_updates,max_connections,max_user_connections[,max_statement_time]" from the probe. */
export function parseLimits(line: string): Partial<Record<LimitName, number>> {
  const names = Object.keys(LIMIT_COLUMNS) as LimitName[];
  const out: Partial<Record<LimitName, number>> = {};
  line.split(',').forEach((v, i) => {
    if (names[i] && v !== '' && v !== 'NULL') out[names[i]] = Number(v);
  });
  return out;
}

/** "ssl_type,hex(cipher),hex(issuer),hex(subject)" from the probe. */
export function parseTls(line: string): TlsRequire {
  const [type = '', c = '', i = '', sub = ''] = line.split(',');
  const hex = (h: string) => Buffer.from(h, 'hex').toString('utf8');
  const t = (['', 'ANY', 'X509', 'SPECIFIED'] as const).find((x) => x === type) ?? '';
  return { type: t, cipher: hex(c), issuer: hex(i), subject: hex(sub) };
}

function wantedPrivs(p: MysqlUserParams): Privileges | undefined {
  if (p.priv === undefined) return undefined;
  const w = parseWantedPrivs(p.priv);
  return p.column_case_sensitive ? w : upperColumns(w);
}

/** Per object: the privileges to end up with, for objects that differ. undefined = revoke all there. */
export function privilegeDiff(p: MysqlUserParams, had: Privileges): [string, ObjectPrivs | undefined][] {
  const want = wantedPrivs(p);
  const have = p.column_case_sensitive ? had : upperColumns(had);
  if (!want) return [];
  const out: [string, ObjectPrivs | undefined][] = [];
  if (p.append_privs) {
    for (const [obj, w] of Object.entries(want)) {
      const h = have[obj];
      const missing = w.privs.filter((x) => !h?.privs.includes(x) && !h?.privs.includes('ALL PRIVILEGES'));
      if (missing.length || (w.grant && !h?.grant))
        out.push([obj, { privs: [...new Set([...(h?.privs ?? []), ...missing])].sort(), grant: w.grant || Boolean(h?.grant) }]);
    }
    return out;
  }
  for (const obj of [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()) {
    if (!samePrivs(want[obj], have[obj])) out.push([obj, want[obj]]);
  }
  return out;
}

export function mysqlUserPlan(p: MysqlUserParams, prep: MysqlUserPrep, s: MysqlUserState, _ctx?: ModuleContext): Planned<MysqlUserOp>[] {
  const state = p.state ?? 'present';
  const { hash } = prep;
  const who = label(p);
  const create = (): MysqlUserOp => ({ kind: 'create', grants: Object.entries(wantedPrivs(p) ?? {}) });
  if (unknownState(s)) {
    if (state === 'absent')
      return s.server === 'missing'
        ? []
        : [{ summary: `drop user ${who} (${notReachable(s)})`, unpredictable: true, op: { kind: 'drop' } }];
    return [{ summary: `create user ${who}${createDetails(p, hash)} (${notReachable(s)})`, unpredictable: true, op: create() }];
  }
  if (state === 'absent') return s.exists ? [{ summary: `drop user ${who}`, op: { kind: 'drop' } }] : [];
  if (!s.exists) {
    if (s.version?.flavor === 'mysql' && prep.limits.some(([k]) => k === 'MAX_STATEMENT_TIME'))
      throw new Error('MAX_STATEMENT_TIME resource limit is only supported by MariaDB.');
    return [{ summary: `create user ${who}${createDetails(p, hash)}`, op: create() }];
  }
  const out: Planned<MysqlUserOp>[] = [];
  if (hash !== undefined && (p.update_password ?? 'always') === 'always') {
    if (s.plugin !== 'mysql_native_password') {
      out.push({ summary: `password of ${who} (authentication ${s.plugin || 'none'} → mysql_native_password)`, op: { kind: 'password' } });
    } else if (sha256(hash.reveal()) !== s.authSha) out.push({ summary: `password of ${who}`, op: { kind: 'password' } });
  }
  if (s.tls && !sameTls(s.tls, prep.tls))
    out.push({ summary: `TLS requirement of ${who}: ${showTls(s.tls)} → ${showTls(prep.tls)}`, op: { kind: 'tls' } });
  const limits = limitDiff(prep.limits, s.limits ?? {});
  if (limits.length) {
    if (s.version?.flavor === 'mysql' && limits.some(([k]) => k === 'MAX_STATEMENT_TIME'))
      throw new Error('MAX_STATEMENT_TIME resource limit is only supported by MariaDB.');
    const shown = limits.map(([k, v]) => `${k} ${s.limits?.[k] ?? '?'} → ${v}`).join(', ');
    out.push({ summary: `resource limits of ${who}: ${shown}`, op: { kind: 'limits', limits } });
  }
  for (const [obj, want] of privilegeDiff(p, s.privileges)) {
    out.push({
      summary: `privileges of ${who} on ${obj}: ${formatPrivs(s.privileges[obj])} → ${formatPrivs(want)}`,
      op: { kind: 'privileges', object: obj, revoke: Boolean(s.privileges[obj]) && !p.append_privs, want },
    });
  }
  return out;
}

function createDetails(p: MysqlUserParams, hash: Secret | undefined): string {
  const want = wantedPrivs(p) ?? {};
  const privs = Object.entries(want).map(([o, v]) => `${o}: ${formatPrivs(v)}`);
  const parts = [hash !== undefined ? 'with password' : 'without password', ...privs];
  if (p.tls_requires && Object.keys(p.tls_requires).length) parts.push(requireSql(wantedTls(p.tls_requires)));
  const limits = p.resource_limits ? wantedLimits(p.resource_limits) : [];
  if (limits.length) parts.push(`WITH ${limits.map(([k, v]) => `${k} ${v}`).join(' ')}`);
  return ` (${parts.join('; ')})`;
}

/** MariaDB names (the normal form) that MySQL spells differently. */
const MYSQL_NAMES: Record<string, string> = { 'BINLOG MONITOR': 'REPLICATION CLIENT', 'SLAVE MONITOR': 'REPLICATION CLIENT' };

/** A privilege in SQL: "SELECT (a, b)" → "SELECT (`a`, `b`)"; names are checked (they come from params). */
export function privSql(priv: string, flavor: 'mariadb' | 'mysql' = 'mariadb'): string {
  const m = /^([A-Z][A-Z ]*?)(?: \((.*)\))?$/.exec(priv);
  if (!m) throw new Error(`not a privilege name: ${JSON.stringify(priv)}`);
  const name = flavor === 'mysql' ? (MYSQL_NAMES[m[1]!] ?? m[1]!) : m[1]!;
  return m[2] === undefined
    ? name
    : `${name} (${m[2]
        .split(', ')
        .map((c) => `\`${c.replace(/`/g, '``')}\``)
        .join(', ')})`;
}

function grantSql(obj: string, want: ObjectPrivs, who: string, flavor: 'mariadb' | 'mysql' = 'mariadb'): string {
  const privs = want.privs.length ? [...new Set(want.privs.map((x) => privSql(x, flavor)))].join(', ') : 'USAGE';
  return `GRANT ${privs} ON ${objectSql(obj)} TO ${who}${want.grant ? ' WITH GRANT OPTION' : ''};`;
}

/** The statements for the planned ops (pure; unit-tested for both flavours). */
export function mysqlUserSql(p: MysqlUserParams, prep: MysqlUserPrep, s: MysqlUserState, ops: MysqlUserOp[]): string[] {
  if (!ops.length) return [];
  const who = acct(p);
  const flavor = s.version?.flavor;
  const identified = (h: Secret) =>
    flavor === 'mysql'
      ? `IDENTIFIED WITH mysql_native_password AS ${sqlString(h.reveal())}`
      : `IDENTIFIED BY PASSWORD ${sqlString(h.reveal())}`;
  const sql: string[] = [];
  if (p.sql_log_bin === false) sql.push('SET SESSION sql_log_bin = 0;');
  for (const op of ops) {
    switch (op.kind) {
      case 'drop':
        sql.push(`DROP USER IF EXISTS ${who};`);
        break;
      case 'create':
        sql.push(
          `CREATE USER ${who}${prep.hash !== undefined ? ` ${identified(prep.hash)}` : ''}${prep.tls.type ? ` ${requireSql(prep.tls)}` : ''};`,
        );
        for (const [obj, want] of op.grants) sql.push(grantSql(obj, want, who, flavor));
        if (prep.limits.length) sql.push(limitsSql(who, prep.limits));
        break;
      case 'limits':
        sql.push(limitsSql(who, op.limits));
        break;
      case 'password':
        if (prep.hash !== undefined) sql.push(`ALTER USER ${who} ${identified(prep.hash)};`);
        break;
      case 'tls':
        sql.push(`ALTER USER ${who} ${requireSql(prep.tls)};`);
        break;
      case 'privileges':
        if (op.revoke) sql.push(`REVOKE ALL PRIVILEGES, GRANT OPTION ON ${objectSql(op.object)} FROM ${who};`);
        if (op.want) sql.push(grantSql(op.object, op.want, who, flavor));
        break;
    }
  }
  return sql;
}

export default defineModule<MysqlUserParams, MysqlUserState, MysqlUserOp, MysqlUserPrep>({
  name: 'mysql_user',
  description:
    'Create, change or drop a MariaDB/MySQL account: host pattern, password (compared by hash, never re-set), privileges (SHOW GRANTS, normalized).',
  schema,
  prepare: (p) => mysqlUserPrep(p),
  probe: (p) => mysqlUserProbe(p),
  parse: (out) => mysqlUserParse(out),
  plan: mysqlUserPlan,
  apply: (p, prep, s, ops) => applySql(mysqlUserSql(p, prep, s, ops).join('\n'), loginOf(p)),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    user: p.name,
    host: p.host ?? 'localhost',
    exists: s.exists,
    plugin: s.plugin ?? null,
    privileges: Object.fromEntries(Object.entries(s.privileges).map(([o, v]) => [o, formatPrivs(v)])),
  }),
});
