/**
 * `postgresql_user`: a PostgreSQL role (community.postgresql.postgresql_user 2.x): created,
 * altered (password, role_attr_flags, expires, conn_limit, comment) or dropped.
 *
 * Password, as community.postgresql decides it (user_should_we_change_password), without ever
 * setting it again to find out: the probe prints what kind of verifier pg_authid holds (none,
 * md5, SCRAM-SHA-256), a sha256 of it, and for SCRAM its iteration count, salt and a sha256 of
 * its ServerKey. The controller then compares:
 * - a wanted SCRAM verifier (or md5 hash, or `encrypted: false`): the verifier itself;
 * - a cleartext against a stored SCRAM verifier: PBKDF2 with the stored salt and iterations
 *   gives the ServerKey, compared by its sha256 (what the collection does with pbkdf2_hmac);
 * - a cleartext otherwise: 'md5' + md5(password + name) against the stored value.
 * When login_user may not read pg_authid (not a superuser), the collection cannot compare and
 * sets the password on every run: Kiln plans the same, marked as an action.
 *
 * The cleartext reaches the host only inside the SQL on psql's stdin (`… ENCRYPTED PASSWORD
 * E'…'`, as the collection sends it), so the server hashes it with its own password_encryption
 * (a task's `environment: PGOPTIONS` applies); never in argv, a summary, a diff or `queries`
 * (which show `%(password)s` as Ansible's do).
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  CONNECTION_PROPS,
  checkInput,
  TRUST_INPUT_PROP,
  ident,
  lit,
  notReachable,
  parseLines,
  parseServer,
  type PgConnParams,
  type PgServer,
  pgApply,
  pgProbe,
  pgTarget,
  revealParam,
  sessionRole,
  unknownState,
  VERSION_SQL,
} from './psql.ts';
import type { Secret } from '../../core/secret/secret.ts';
import { sha256 } from '../../sh/bytes.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[^\\n]+$', description: 'the role (user) name' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent (DROP USER; fails when the role still owns objects)' },
    password: {
      type: 'string',
      'x-secret': true,
      description:
        "password (a secret: use vault): cleartext, or a verifier as pg_authid stores it ('md5…' or 'SCRAM-SHA-256$…'); empty: no password (PASSWORD NULL)",
    },
    encrypted: {
      type: 'boolean',
      description: 'true (default): ENCRYPTED PASSWORD, the server stores a hash; false: UNENCRYPTED, which PostgreSQL 10 and later refuse',
    },
    no_password_changes: {
      type: 'boolean',
      description:
        "true: never change an existing role's password (and, as in Ansible, nor its expires or conn_limit: only role_attr_flags); default false",
    },
    role_attr_flags: {
      type: 'string',
      pattern:
        '^((NO)?(SUPERUSER|CREATEROLE|CREATEDB|INHERIT|LOGIN|REPLICATION|BYPASSRLS)|(no)?(superuser|createrole|createdb|inherit|login|replication|bypassrls))?(,((NO)?(SUPERUSER|CREATEROLE|CREATEDB|INHERIT|LOGIN|REPLICATION|BYPASSRLS)|(no)?(superuser|createrole|createdb|inherit|login|replication|bypassrls))?)*$',
      description:
        'comma-separated role attributes: [NO]SUPERUSER, [NO]CREATEROLE, [NO]CREATEDB, [NO]INHERIT, [NO]LOGIN, [NO]REPLICATION, [NO]BYPASSRLS',
    },
    expires: {
      type: 'string',
      pattern: '^[^\\n]+$',
      description: "VALID UNTIL: a timestamp the server understands ('2030-01-01', 'infinity'), compared as timestamptz",
    },
    conn_limit: { type: 'integer', minimum: -1, description: 'CONNECTION LIMIT (-1: no limit)' },
    comment: { type: 'string', description: 'COMMENT ON ROLE (empty: no comment)' },
    db: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: "database to connect to (default: libpq's, the login user's name)",
    },
    fail_on_user: {
      type: 'boolean',
      description:
        'state absent: true (default) fails the task when the role cannot be dropped (it owns objects, holds privileges); false leaves it, reported ok with user_removed: false, as Ansible does',
    },
    ...CONNECTION_PROPS,
    ...TRUST_INPUT_PROP,
  },
} as const;

export type PgUserParams = FromSchema<typeof schema>;

/** What prepare computed: the wanted password (cleartext or verifier, a Secret) and how to compare it. */
export interface PgUserPrep {
  password?: Secret | string;
  /** Parsed role_attr_flags: attribute → wanted value, in the user's order. */
  flags: [Flag, boolean][];
}

type Flag = 'SUPERUSER' | 'CREATEROLE' | 'CREATEDB' | 'INHERIT' | 'LOGIN' | 'REPLICATION' | 'BYPASSRLS';
const FLAG_COLUMN: Record<Flag, keyof PgRole> = {
  SUPERUSER: 'super',
  CREATEROLE: 'createrole',
  CREATEDB: 'createdb',
  INHERIT: 'inherit',
  LOGIN: 'login',
  REPLICATION: 'replication',
  BYPASSRLS: 'bypassrls',
};

export interface PgRole {
  super: boolean;
  createrole: boolean;
  createdb: boolean;
  inherit: boolean;
  login: boolean;
  replication: boolean;
  bypassrls: boolean;
  connlimit: number;
  validuntil: string | null;
  /** The wanted `expires` equals rolvaliduntil as timestamptz (null when no expires is wanted). */
  expires_same: boolean | null;
  /** The kind of stored password; `unknown` when login_user may not read pg_authid. */
  pw: 'null' | 'md5' | 'scram' | 'other' | 'unknown';
  pwsha: string | null;
  scram_iter: string | null;
  scram_salt: string | null;
  scram_serverkey_sha: string | null;
  comment: string | null;
}

export interface PgUserState extends PgServer {
  role?: PgRole;
}

export type PgUserOp = { kind: 'create' } | { kind: 'alter'; password: boolean; flags: boolean } | { kind: 'comment' } | { kind: 'drop' };

/** The flags in Ansible's parse_role_attrs: upper-cased, deduplicated; NOX → X false. */
export function parseFlags(s: string | undefined): [Flag, boolean][] {
  const out = new Map<Flag, boolean>();
  for (const raw of (s ?? '').split(',')) {
    const f = raw.toUpperCase();
    if (!f) continue;
    const no = f.startsWith('NO');
    out.set((no ? f.slice(2) : f) as Flag, !no);
  }
  return [...out];
}

function flagsSql(flags: [Flag, boolean][]): string {
  return flags.map(([f, v]) => `${v ? '' : 'NO'}${f}`).join(' ');
}

export function pgUserPrep(p: PgUserParams): PgUserPrep {
  checkInput(p.trust_input, [p.name, p.password, p.expires, p.role_attr_flags, p.comment, p.session_role]);
  return { password: p.password, flags: parseFlags(p.role_attr_flags) };
}

const SCRAM_RE = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

export function pgUserProbe(p: PgUserParams): string {
  const cols = (authid: boolean) =>
    [
      "'super', rolsuper, 'createrole', rolcreaterole, 'createdb', rolcreatedb, 'inherit', rolinherit",
      "'login', rolcanlogin, 'replication', rolreplication, 'bypassrls', rolbypassrls",
      "'connlimit', rolconnlimit, 'validuntil', rolvaliduntil",
      `'expires_same', ${p.expires !== undefined ? `(${lit(p.expires)}::timestamptz IS NOT DISTINCT FROM rolvaliduntil)` : 'NULL'}`,
      authid
        ? [
            `'pw', CASE WHEN rolpassword IS NULL THEN 'null' WHEN rolpassword ~ ${lit(SCRAM_RE.source)} THEN 'scram' WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5' ELSE 'other' END`,
            "'pwsha', encode(sha256(convert_to(rolpassword, 'UTF8')), 'hex')",
            `'scram_iter', substring(rolpassword from ${lit('^SCRAM-SHA-256\\$(\\d+):')})`,
            `'scram_salt', substring(rolpassword from ${lit('^SCRAM-SHA-256\\$\\d+:([^$]+)\\$')})`,
            `'scram_serverkey_sha', CASE WHEN rolpassword ~ ${lit(SCRAM_RE.source)} THEN encode(sha256(decode(substring(rolpassword from ${lit(':([A-Za-z0-9+/=]+)$')}), 'base64')), 'hex') END`,
          ].join(', ')
        : "'pw', 'unknown', 'pwsha', NULL, 'scram_iter', NULL, 'scram_salt', NULL, 'scram_serverkey_sha', NULL",
      "'comment', shobj_description(oid, 'pg_authid')",
    ].join(', ');
  const where = `WHERE rolname = ${lit(p.name)}`;
  const sql = [
    sessionRole(p),
    VERSION_SQL,
    // Only a superuser reads pg_authid (the password verifiers); others see pg_roles.
    "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS kiln_authid \\gset",
    '\\if :kiln_authid',
    `SELECT 'role=' || json_build_object(${cols(true)}) FROM pg_catalog.pg_authid ${where};`,
    '\\else',
    `SELECT 'role=' || json_build_object(${cols(false)}) FROM pg_catalog.pg_roles ${where};`,
    '\\endif',
  ].join('\n');
  return pgProbe(pgTarget(p, p.db), sql);
}

export function pgUserParse(out: ExecResult): PgUserState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all);
  if (server.server !== 'up' || kv.role === undefined) return server;
  return { ...server, role: JSON.parse(kv.role) as PgRole };
}

/** SASLprep as PostgreSQL applies it, for the common cases: non-ASCII spaces → space, NFKC. */
function saslprep(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: RFC 4013's "mapped to nothing" set includes U+00AD
  return s
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
    .normalize('NFKC');
}

/** community.postgresql's user_should_we_change_password, against the probed role. undefined: cannot tell (no pg_authid). */
export function passwordChanges(p: PgUserParams, prep: PgUserPrep, r: PgRole): boolean | undefined {
  const pw = revealParam(prep.password);
  if (pw === undefined) return false;
  if (r.pw === 'unknown') return undefined;
  const storedIs = (v: string) => r.pwsha !== null && sha256(v) === r.pwsha;
  if (pw === '') return r.pw !== 'null';
  if (SCRAM_RE.test(pw)) return !storedIs(pw);
  if (r.pw === 'scram' && r.scram_iter && r.scram_salt) {
    const salted = pbkdf2Sync(Buffer.from(saslprep(pw), 'utf8'), Buffer.from(r.scram_salt, 'base64'), Number(r.scram_iter), 32, 'sha256');
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    return createHash('sha256').update(serverKey).digest('hex') !== r.scram_serverkey_sha;
  }
  if ((pw.startsWith('md5') && pw.length === 35) || p.encrypted === false) return !storedIs(pw);
  return !storedIs(
    `md5${createHash('md5')
      .update(pw + p.name, 'utf8')
      .digest('hex')}`,
  );
}

function flagsDiffer(prep: PgUserPrep, r: PgRole): [Flag, boolean][] {
  return prep.flags.filter(([f, v]) => r[FLAG_COLUMN[f]] !== v);
}

export function pgUserPlan(p: PgUserParams, prep: PgUserPrep, s: PgUserState, _ctx?: ModuleContext): Planned<PgUserOp>[] {
  const state = p.state ?? 'present';
  const who = `role ${p.name}`;
  if (p.encrypted === false && revealParam(prep.password) && (s.version ?? 100000) >= 100000)
    throw new Error('encrypted: false: PostgreSQL 10 and later no longer store unencrypted passwords (UNENCRYPTED PASSWORD is refused)');
  if (p.name === 'PUBLIC' && state === 'present') {
    if (prep.password !== undefined) throw new Error('cannot change the password for PUBLIC user');
    if (prep.flags.length) throw new Error('cannot change the role_attr_flags for PUBLIC user');
    return [];
  }
  if (unknownState(s)) {
    if (state === 'absent')
      return s.server === 'missing' ? [] : [{ summary: `drop ${who} (${notReachable(s)})`, unpredictable: true, op: { kind: 'drop' } }];
    return [{ summary: `create ${who}${createDetails(p, prep)} (${notReachable(s)})`, unpredictable: true, op: { kind: 'create' } }];
  }
  const r = s.role;
  if (state === 'absent') return r ? [{ summary: `drop ${who}`, op: { kind: 'drop' } }] : [];
  const out: Planned<PgUserOp>[] = [];
  if (!r) {
    out.push({ summary: `create ${who}${createDetails(p, prep)}`, op: { kind: 'create' } });
    if (p.comment !== undefined && p.comment !== '')
      out.push({ summary: `comment on ${who}: ${JSON.stringify(p.comment)}`, op: { kind: 'comment' } });
    return out;
  }
  const flags = flagsDiffer(prep, r);
  const flagText = flags.map(([f, v]) => `${f.toLowerCase()} ${!v} → ${v}`);
  if (!p.no_password_changes) {
    const pwc = passwordChanges(p, prep, r);
    const expires = p.expires !== undefined && r.expires_same === false;
    const connlimit = p.conn_limit !== undefined && p.conn_limit !== r.connlimit;
    const parts = [
      ...(pwc ? ['password'] : pwc === undefined ? ['password (login_user cannot read pg_authid: set on every run, as Ansible does)'] : []),
      ...flagText,
      ...(expires ? [`valid until ${r.validuntil ?? 'infinity'} → ${p.expires}`] : []),
      ...(connlimit ? [`connection limit ${r.connlimit} → ${p.conn_limit}`] : []),
    ];
    if (parts.length)
      out.push({
        summary: `alter ${who}: ${parts.join(', ')}`,
        // A password the probe cannot compare is set again on every run: an action, not a state.
        ...(pwc === undefined && !flags.length && !expires && !connlimit ? { action: true } : {}),
        op: { kind: 'alter', password: pwc !== false, flags: flags.length > 0 },
      });
  } else if (flags.length) {
    out.push({ summary: `alter ${who}: ${flagText.join(', ')}`, op: { kind: 'alter', password: false, flags: true } });
  }
  if (p.comment !== undefined && p.comment !== (r.comment ?? ''))
    out.push({ summary: `comment on ${who}: ${JSON.stringify(r.comment ?? '')} → ${JSON.stringify(p.comment)}`, op: { kind: 'comment' } });
  return out;
}

function createDetails(p: PgUserParams, prep: PgUserPrep): string {
  const parts = [
    revealParam(prep.password) ? 'with password' : 'without password',
    ...(prep.flags.length ? [flagsSql(prep.flags)] : []),
    ...(p.expires !== undefined ? [`valid until ${p.expires}`] : []),
    ...(p.conn_limit !== undefined ? [`connection limit ${p.conn_limit}`] : []),
  ];
  return ` (${parts.join(', ')})`;
}

/**
 * The statements for the ops, each as [the SQL to run, the text Ansible reports in `queries`]
 * (with `%(password)s` and `%(expires)s` left as placeholders, as the collection's are).
 */
export function pgUserSql(p: PgUserParams, prep: PgUserPrep, ops: PgUserOp[]): { sql: string; query: string }[] {
  const name = ident(p.name);
  const pw = revealParam(prep.password);
  const crypt = p.encrypted === false ? 'UNENCRYPTED' : 'ENCRYPTED';
  const flags = flagsSql(prep.flags);
  const out: { sql: string; query: string }[] = [];
  const both = (parts: [string, string][]) => ({
    sql: parts.map(([s]) => s).join(' '),
    // Joined as the collection joins its fragments: an empty role_attr_flags leaves its space.
    query: parts.map(([, q]) => q).join(' '),
  });
  for (const op of ops) {
    switch (op.kind) {
      case 'create': {
        const parts: [string, string][] = [[`CREATE USER ${name}`, `CREATE USER "${p.name}"`]];
        if (pw !== undefined && pw !== '') parts.push([`WITH ${crypt} PASSWORD ${lit(pw)}`, `WITH ${crypt} PASSWORD %(password)s`]);
        if (p.expires !== undefined) parts.push([`VALID UNTIL ${lit(p.expires)}`, 'VALID UNTIL %(expires)s']);
        if (p.conn_limit !== undefined) parts.push([`CONNECTION LIMIT ${p.conn_limit}`, `CONNECTION LIMIT ${p.conn_limit}`]);
        parts.push([flags, flags]);
        out.push(both(parts));
        break;
      }
      case 'alter': {
        const parts: [string, string][] = [[`ALTER USER ${name}`, `ALTER USER "${p.name}"`]];
        if (op.password && !p.no_password_changes) {
          if (pw !== '') parts.push([`WITH ${crypt} PASSWORD ${lit(pw ?? '')}`, `WITH ${crypt} PASSWORD %(password)s`]);
          else parts.push(['WITH PASSWORD NULL', 'WITH PASSWORD NULL']);
          parts.push([flags, flags]);
        } else if (flags) parts.push([`WITH ${flags}`, `WITH ${flags}`]);
        if (!p.no_password_changes) {
          if (p.expires !== undefined) parts.push([`VALID UNTIL ${lit(p.expires)}`, 'VALID UNTIL %(expires)s']);
          if (p.conn_limit !== undefined) parts.push([`CONNECTION LIMIT ${p.conn_limit}`, `CONNECTION LIMIT ${p.conn_limit}`]);
        }
        out.push(both(parts));
        break;
      }
      case 'comment':
        // The collection reports the comment's statement as mogrified (the literal in it).
        out.push({
          sql: `COMMENT ON ROLE ${name} IS ${lit(p.comment ?? '')}`,
          query: `COMMENT ON ROLE "${p.name}" IS '${(p.comment ?? '').replace(/'/g, "''")}'`,
        });
        break;
      case 'drop':
        if (p.fail_on_user === false) {
          // The collection drops in a savepoint and carries on when it fails: here a DO block
          // catches the error and says so (a NOTICE on stderr, read by interpret).
          const tag = `$kiln_${sha256(p.name).slice(0, 12)}$`;
          out.push({
            sql: `DO ${tag}BEGIN EXECUTE ${lit(`DROP USER ${name}`)}; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '${NOT_REMOVED} %', SQLERRM; END${tag}`,
            query: `DROP USER "${p.name}"`,
          });
        } else out.push({ sql: `DROP USER ${name}`, query: `DROP USER "${p.name}"` });
        break;
    }
  }
  return out;
}

/** The NOTICE of a drop that failed with fail_on_user: false. */
const NOT_REMOVED = 'kiln: role not removed:';

/** fail_on_user: false and the role could not be dropped: ok, not changed, user_removed false (as the collection). */
export function pgUserInterpret(p: PgUserParams, out: ExecResult): ApplyResult {
  if (out.code !== 0) return { failed: out.stderr.trim() || out.stdout.trim() || `exit code ${out.code}` };
  if ((p.state ?? 'present') === 'absent' && p.fail_on_user === false && out.stderr.includes(NOT_REMOVED))
    return { changed: false, result: { user_removed: false } };
  return {};
}

/** Re-plan (actions aside); a role left in place by fail_on_user: false is what was asked. */
export function pgUserVerify(p: PgUserParams, prep: PgUserPrep, s: PgUserState): string[] {
  if ((p.state ?? 'present') === 'absent' && p.fail_on_user === false) return [];
  return pgUserPlan(p, prep, s)
    .filter((c) => !c.action)
    .map((c) => c.summary);
}

export default defineModule<PgUserParams, PgUserState, PgUserOp, PgUserPrep>({
  name: 'postgresql_user',
  description:
    "Create, alter or drop a PostgreSQL role (community.postgresql's postgresql_user): password compared with the stored md5 or SCRAM verifier without setting it again, role_attr_flags, expires, conn_limit, comment. SQL through psql on the host (no Python or psycopg2 needed); as root over the Unix socket, psql runs as the login_user OS user (peer authentication).",
  schema,
  prepare: (p) => pgUserPrep(p),
  probe: (p) => pgUserProbe(p),
  parse: (out) => pgUserParse(out),
  plan: pgUserPlan,
  apply: (p, prep, _s, ops) =>
    pgApply(pgTarget(p, p.db), [sessionRole(p), ...pgUserSql(p, prep, ops).map((x) => `${x.sql};`)].filter(Boolean)),
  interpret: (p, _prep, out) => pgUserInterpret(p, out),
  verify: (p, prep, s) => pgUserVerify(p, prep, s),
  registerData: (p, prep, s) => {
    const ops = s.server === 'up' || s.fresh ? pgUserPlan(p, prep, s).map((c) => c.op) : [];
    return {
      user: p.name,
      queries: pgUserSql(p, prep, ops).map((x) => x.query),
      ...((p.state ?? 'present') === 'absent' && s.role ? { user_removed: true } : {}),
    };
  },
});
