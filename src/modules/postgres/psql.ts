/**
 * What the postgresql_* modules share: the connection options of community.postgresql (with
 * Ansible's meaning, mapped onto libpq's conninfo exactly as the collection's get_conn_params
 * does), SQL quoting, and running SQL through `psql` on the host.
 *
 * Kiln is not Ansible: the host needs no Python and no psycopg2, only PostgreSQL's own client
 * `psql` (installed with the server). Every statement reaches `psql` on stdin through a quoted
 * heredoc inside the one remote script; the conninfo in psql's argv holds no password. A
 * `login_password` is written to a 0600 temp file named by PGPASSFILE (libpq's password file),
 * removed when the script ends: never in argv, never in the environment.
 *
 * Which OS user runs psql: the task's user (become_user: postgres, as geerlingguy.postgresql
 * does, or the connecting user). When that is root, no login_password is given and the
 * connection goes over the Unix socket, psql runs as the OS user named login_user (default
 * postgres) through runuser, so that Debian's `peer` authentication admits it — where Ansible's
 * module, run as root, would be refused by peer authentication.
 */
import { isSecret, type Secret } from '../../core/secret/secret.ts';
import { sha256 } from '../../sh/bytes.ts';
import { q } from '../../sh/quote.ts';

/** The connection options every postgresql_* module takes (community.postgresql's common argument spec). */
export const CONNECTION_PROPS = {
  login_user: {
    type: 'string',
    minLength: 1,
    pattern: '^[^\\n]+$',
    description: 'the PostgreSQL role to connect as (default postgres)',
  },
  login_password: {
    type: 'string',
    'x-secret': true,
    description:
      'password of login_user (a secret: use vault); handed to libpq in a 0600 password file (PGPASSFILE), never in argv or the environment',
  },
  login_host: {
    type: 'string',
    pattern: '^[^\\n]*$',
    description:
      "host to connect to over TCP; empty or localhost with login_unix_socket set: the Unix socket in that directory (as Ansible's module: a socket wins over 'localhost')",
  },
  login_unix_socket: {
    type: 'string',
    pattern: '^[^\\n]*$',
    description: "directory of the server's Unix socket (Debian: /var/run/postgresql); used when login_host is empty or localhost",
  },
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'server port (default 5432); also names the socket file' },
  ssl_mode: {
    enum: ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full'],
    description: "libpq's sslmode for a TCP connection (default prefer)",
  },
  ca_cert: { type: 'string', pattern: '^[^\\n]+$', description: "libpq's sslrootcert: CA certificate file on the host" },
  ssl_cert: { type: 'string', pattern: '^[^\\n]+$', description: "libpq's sslcert: client certificate file on the host" },
  ssl_key: { type: 'string', pattern: '^[^\\n]+$', description: "libpq's sslkey: client key file on the host" },
  connect_params: {
    type: 'object',
    additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    propertyNames: { pattern: '^[a-z_]+$', not: { enum: ['password', 'passfile'] } },
    description: 'further libpq connection parameters (connect_timeout, application_name, …); not password',
  },
  session_role: {
    type: 'string',
    minLength: 1,
    pattern: '^[^\\n]+$',
    description: 'SET ROLE to this role after connecting: the statements run with its privileges',
  },
} as const;

/** The connection part of a postgresql_* module's params. */
export interface PgConnParams {
  login_user?: string;
  login_password?: string | Secret;
  login_host?: string;
  login_unix_socket?: string;
  port?: number;
  ssl_mode?: string;
  ca_cert?: string;
  ssl_cert?: string;
  ssl_key?: string;
  connect_params?: Record<string, string | number | boolean>;
  session_role?: string;
}

/** The cleartext of a secret param, for `prepare` only (the engine hands secret params over as Secrets). */
export function revealParam(v: string | Secret | undefined): string | undefined {
  return v === undefined ? undefined : isSecret(v) ? v.reveal() : String(v);
}

/** A SQL string literal that reads the same whatever standard_conforming_strings is: E'…'. */
export function lit(s: string): string {
  if (s.includes('\0')) throw new Error('a PostgreSQL string cannot hold a NUL character');
  return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A quoted identifier: "name", with " doubled. */
export function ident(s: string): string {
  if (s.includes('\0')) throw new Error('a PostgreSQL name cannot hold a NUL character');
  return `"${s.replace(/"/g, '""')}"`;
}

/** A libpq conninfo value: single-quoted, with \ and ' escaped. */
function connValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Where psql connects: the libpq conninfo (no password) and whether it is a Unix socket. */
export interface PgTarget {
  conninfo: string;
  socket: boolean;
  user: string;
  password?: Secret | string;
}

/**
 * The conninfo community.postgresql's get_conn_params builds: login_host → host, login_user →
 * user, port, the db, ssl options; a login_unix_socket replaces an empty or 'localhost' host.
 */
export function pgTarget(p: PgConnParams, db: string | undefined): PgTarget {
  const kw: [string, string][] = [];
  let host = p.login_host ?? '';
  const localhost = host === '' || host === 'localhost';
  if (localhost && (p.login_unix_socket ?? '') !== '') host = p.login_unix_socket!;
  if (host !== '') kw.push(['host', host]);
  kw.push(['port', String(p.port ?? 5432)]);
  const user = p.login_user ?? 'postgres';
  kw.push(['user', user]);
  if (db) kw.push(['dbname', db]);
  if (p.ssl_mode) kw.push(['sslmode', p.ssl_mode]);
  if (p.ca_cert) kw.push(['sslrootcert', p.ca_cert]);
  if (p.ssl_cert) kw.push(['sslcert', p.ssl_cert]);
  if (p.ssl_key) kw.push(['sslkey', p.ssl_key]);
  for (const [k, v] of Object.entries(p.connect_params ?? {})) kw.push([k, String(v)]);
  const password = p.login_password === undefined || revealParam(p.login_password) === '' ? undefined : p.login_password;
  return {
    conninfo: kw.map(([k, v]) => `${k}=${connValue(v)}`).join(' '),
    // libpq: a host starting with '/' is a socket directory; no host at all is the default socket.
    socket: host === '' || host.startsWith('/'),
    user,
    password,
  };
}

/** A heredoc tag that cannot occur in `body`. */
function tagFor(body: string, prefix: string): string {
  return `${prefix}_${sha256(body).slice(0, 12)}`;
}

/** libpq's password file line matching any host, port, db and user (':' and '\' escaped). */
function passfileLine(pw: string): string {
  if (/[\n\r]/.test(pw)) throw new Error('login_password: a password in a libpq password file cannot hold a line break');
  return `*:*:*:*:${pw.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}`;
}

/**
 * Shell that defines `kiln_pg` (runs psql on stdin with this target: unaligned, tuples only,
 * stop at the first error) and, with a password, writes the 0600 password file. `kiln_pg_end`
 * removes it. The password is in a quoted heredoc read by the `cat` builtin's stdin, never argv.
 */
export function pgSetup(t: PgTarget): string {
  const psql = `psql -X -A -t -q -w -v ON_ERROR_STOP=1 -d ${q(t.conninfo)}`;
  const lines: string[] = [];
  if (t.password !== undefined) {
    const line = passfileLine(revealParam(t.password)!);
    const tag = tagFor(line, 'KILN_PGPASS');
    lines.push(
      'kiln_pf=$(umask 077 && mktemp) || exit 3',
      `cat >"$kiln_pf" <<'${tag}'\n${line}\n${tag}`,
      'PGPASSFILE=$kiln_pf; export PGPASSFILE',
      `kiln_pg() { ${psql} "$@"; }`,
      'kiln_pg_end() { rm -f "$kiln_pf"; }',
    );
  } else if (t.socket) {
    // root over the socket without a password: run psql as the OS user named login_user (peer auth).
    lines.push(
      `if [ "$(id -u)" = 0 ] && id -u ${q(t.user)} >/dev/null 2>&1; then`,
      `  kiln_pg() { (cd / && runuser -u ${q(t.user)} -- ${psql} "$@"); }`,
      `else kiln_pg() { ${psql} "$@"; }; fi`,
      'kiln_pg_end() { :; }',
    );
  } else {
    lines.push(`kiln_pg() { ${psql} "$@"; }`, 'kiln_pg_end() { :; }');
  }
  return lines.join('\n');
}

/** Shell running `sql` through kiln_pg (its heredoc's end tag ends the text: continue on the next line). */
export function runPg(sql: string, opts: { stderr?: boolean } = {}): string {
  const body = sql.endsWith('\n') ? sql : `${sql}\n`;
  const tag = tagFor(body, 'KILN_SQL');
  return `kiln_pg${opts.stderr ? ' 2>&1' : ''} <<'${tag}'\n${body}${tag}\n`;
}

/** SET ROLE for session_role, before the statements (as the collection does after connecting). */
export function sessionRole(p: PgConnParams): string {
  return p.session_role ? `SET ROLE ${ident(p.session_role)};\n` : '';
}

/**
 * The probe frame of every postgresql_* module: `pg=missing` (no psql; `pg_datadir=1` when a
 * cluster's data is left), `pg=down` and `pg_error=` lines (the server refused or the SQL
 * failed), or `pg=up` then the lines the SQL prints (`SELECT 'key=' || …`). Never fails.
 */
export function pgProbe(t: PgTarget, sql: string): string {
  return [
    'if ! command -v psql >/dev/null 2>&1; then echo pg=missing; ls /var/lib/postgresql/*/main/PG_VERSION >/dev/null 2>&1 && echo pg_datadir=1',
    'else',
    pgSetup(t),
    `if kiln_out=$(${runPg(sql, { stderr: true })}); then echo pg=up; printf '%s\\n' "$kiln_out"`,
    "else echo pg=down; printf '%s\\n' \"$kiln_out\" | grep -v '^could not change directory' | head -n 5 | sed 's/^/pg_error=/'",
    'fi',
    'kiln_pg_end',
    'fi',
    'true',
  ].join('\n');
}

/** Apply: the statements in one psql session, in a transaction unless `noTransaction` (CREATE DATABASE cannot run in one). */
export function pgApply(t: PgTarget, sql: string[], opts: { noTransaction?: boolean } = {}): string {
  const body = opts.noTransaction ? sql.join('\n') : ['BEGIN;', ...sql, 'COMMIT;'].join('\n');
  return [
    'command -v psql >/dev/null 2>&1 || { echo "psql is not installed on this host (install postgresql-client)" >&2; exit 3; }',
    pgSetup(t),
    'kiln_rc=0',
    // `|| kiln_rc=$?` keeps a failing psql from ending the script (set -e) before the password file is removed.
    runPg(body)
      .replace(/^(kiln_pg[^\n]*)/, '$1 || kiln_rc=$?')
      .trimEnd(),
    'kiln_pg_end; exit $kiln_rc',
  ].join('\n');
}

export interface PgServer {
  /** up: the probe's SQL ran; missing: no psql; down: the server refused or is not running. */
  server: 'up' | 'missing' | 'down';
  /** No client and no data directory: the server about to be installed starts empty. */
  fresh: boolean;
  /** server_version_num (150005). */
  version?: number;
  error?: string;
}

export { parseLines } from '../../sh/kv.ts';

/**
 * Reads the probe frame. An SQL error from a reachable server (`ERROR:` — a bad `expires`, a
 * missing database) fails the task with the server's message rather than passing for "down".
 */
export function parseServer(kv: Record<string, string>, all: Record<string, string[]>): PgServer {
  const server = kv.pg === 'up' ? 'up' : kv.pg === 'down' ? 'down' : 'missing';
  const errors = all.pg_error ?? [];
  const sqlError = errors.find((e) => /^(psql:[^ ]* )?ERROR: /.test(e));
  if (server === 'down' && sqlError) throw new Error(`PostgreSQL: ${sqlError.replace(/^psql:[^ ]* /, '')}`);
  return {
    server,
    fresh: server === 'missing' && kv.pg_datadir !== '1',
    version: kv.version ? Number(kv.version) : undefined,
    error: errors.length ? errors.join('\n') : undefined,
  };
}

/** The server cannot be probed and its state cannot be inferred: plans are flagged unpredictable. */
export function unknownState(s: PgServer): boolean {
  return s.server !== 'up' && !s.fresh;
}

/** Why a plan cannot look at the server, for change summaries. */
export function notReachable(s: PgServer): string {
  return s.server === 'missing' ? 'server not installed yet' : `server not reachable${s.error ? `: ${s.error.split('\n')[0]}` : ''}`;
}

/** The SQL line printing the server's version, first in every probe. */
export const VERSION_SQL = "SELECT 'version=' || current_setting('server_version_num');";

/** community.postgresql's is_input_dangerous patterns (module_utils/database.py). */
const DANGEROUS = [/('|").*--/, /(UNION|INTERSECT|EXCEPT).*SELECT/i, /;.*(SELECT|UPDATE|INSERT|DELETE|DROP|TRUNCATE|ALTER)/i];

/** The schema property of `trust_input`. */
export const TRUST_INPUT_PROP = {
  trust_input: {
    type: 'boolean',
    description:
      "false: refuse values that look like SQL injection, as the collection's check_input does (Kiln quotes every name and value anyway); default true",
  },
} as const;

/**
 * `trust_input: false`: the collection's check_input over the values it checks. A secret (a
 * password) found dangerous is named, not shown.
 */
export function checkInput(trustInput: boolean | undefined, values: (string | Secret | undefined)[]): void {
  if (trustInput !== false) return;
  const bad: string[] = [];
  for (const v of values) {
    const text = revealParam(v);
    if (text && DANGEROUS.some((re) => re.test(text))) bad.push(isSecret(v) ? '(a secret value)' : text);
  }
  if (bad.length) throw new Error(`Passed input '${bad.join(', ')}' is potentially dangerous`);
}
