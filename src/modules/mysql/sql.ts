/**
 * SQL helpers shared by the mysql_* modules: quoting, the server flavour (MariaDB or MySQL),
 * running SQL through the local client over the unix socket, and reading its output.
 *
 * Every statement is sent to `mariadb`/`mysql` on stdin through a quoted heredoc inside the one
 * remote script: nothing (least of all a password or a password hash) is in a process's argv.
 * The client runs as the become user (root), which MariaDB on Debian authenticates through
 * unix_socket: no password is needed to administer the server.
 */
import { createHash } from 'node:crypto';
import { isSecret, type Secret, Secret as SecretValue } from '../../core/secret/secret.ts';
import { sha256, writeBytes } from '../../sh/bytes.ts';

/**
 * The cleartext of a secret param, for `prepare` only. The engine hands secret params over as
 * Secrets (plan/instance.ts) although the schema types them as strings; a direct caller may pass
 * a plain string.
 */
export function revealParam(v: string | Secret): string;
export function revealParam(v: string | Secret | undefined): string | undefined;
export function revealParam(v: string | Secret | undefined): string | undefined {
  return v === undefined ? undefined : isSecret(v) ? v.reveal() : String(v);
}

/** A SQL string literal: single quotes, with backslashes and quotes escaped (works in both flavours). */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
}

/** A quoted identifier: backticks, with backticks doubled. */
export function ident(s: string): string {
  return `\`${s.replace(/`/g, '``')}\``;
}

/** 'user'@'host' as an account name in GRANT/CREATE USER. */
export function account(user: string, host: string): string {
  return `${sqlString(user)}@${sqlString(host)}`;
}

/** MariaDB's and MySQL 5.x/8 `mysql_native_password` hash: '*' + upper(hex(sha1(sha1(pw)))). */
export function nativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

export type Flavor = 'mariadb' | 'mysql';

export interface ServerVersion {
  flavor: Flavor;
  major: number;
  minor: number;
  patch: number;
  /** The raw VERSION() string. */
  raw: string;
}

/** Parses `SELECT VERSION()`: "10.11.6-MariaDB-0+deb12u1-log" or "8.0.36" / "8.0.36-0ubuntu0.22.04.1". */
export function parseVersion(raw: string): ServerVersion {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(raw.trim());
  if (!m) throw new Error(`cannot read the server version from ${JSON.stringify(raw)}`);
  return {
    flavor: /mariadb/i.test(raw) ? 'mariadb' : 'mysql',
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    raw: raw.trim(),
  };
}

function atLeast(v: ServerVersion, major: number, minor: number, patch: number): boolean {
  return v.major !== major ? v.major > major : v.minor !== minor ? v.minor > minor : v.patch >= patch;
}

/**
 * Replication statement dialect:
 * - `mariadb`: CHANGE MASTER TO … MASTER_USE_GTID=slave_pos, SHOW SLAVE STATUS, START/STOP SLAVE;
 * - `mysql`: MySQL 8.0.23+: CHANGE REPLICATION SOURCE TO … SOURCE_AUTO_POSITION=1, SHOW REPLICA STATUS, START/STOP REPLICA;
 * - `mysql-legacy`: older MySQL: CHANGE MASTER TO … MASTER_AUTO_POSITION=1, SHOW SLAVE STATUS, START/STOP SLAVE.
 */
export type ReplicationDialect = 'mariadb' | 'mysql' | 'mysql-legacy';

export function replicationDialect(v: ServerVersion): ReplicationDialect {
  if (v.flavor === 'mariadb') return 'mariadb';
  return atLeast(v, 8, 0, 23) ? 'mysql' : 'mysql-legacy';
}

/** Unescapes a value of the client's --batch output (\t \n \\ \0). */
export function unescapeBatch(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : c === 'r' ? '\r' : c));
}

/** A heredoc tag that cannot occur in `body`. */
function tagFor(body: string, prefix: string): string {
  return `${prefix}_${sha256(body).slice(0, 12)}`;
}

/**
 * Shell that sets $kiln_my to the client (mariadb, else mysql). Prints `mysql_client=missing` and
 * sets kiln_my empty when neither is installed.
 */
export const FIND_CLIENT = 'kiln_my=$(command -v mariadb 2>/dev/null || command -v mysql 2>/dev/null || true)';

/**
 * Shell running `sql` with the local client, as the current (become) user over the unix socket.
 * `opts.header`: keep column names (for SHOW … STATUS). Output goes to stdout; on failure the
 * shell status is the client's.
 */
export function runSql(sql: string, opts: { header?: boolean; force?: boolean; stderr?: boolean } = {}): string {
  const body = sql.endsWith('\n') ? sql : `${sql}\n`;
  const tag = tagFor(body, 'KILN_SQL');
  const flags = ['--protocol=socket', '--batch', opts.header ? '' : '--skip-column-names', opts.force ? '--force' : '']
    .filter(Boolean)
    .join(' ');
  // The heredoc's end tag must be alone on its line: callers continue on the next line.
  return `"$kiln_my" ${flags}${opts.stderr ? ' 2>&1' : ''} <<'${tag}'\n${body}${tag}\n`;
}

/**
 * The probe frame every mysql_* module uses: prints `mysql=missing` (no client), `mysql=down`
 * plus `mysql_error=` (server not reachable), or `mysql=up`, `version=` and then whatever
 * `body` prints (shell that may call runSql). Never fails.
 */
export function probeFrame(body: string, login?: Login): string {
  const pre = loginPrelude(login);
  const post = loginCleanup(login);
  return [
    FIND_CLIENT,
    ...(pre ? [pre] : []),
    // No client: is there a data directory left from an earlier install? Without one, the
    // server about to be installed starts empty, and plans can say exactly what they will do.
    'if [ -z "$kiln_my" ]; then echo mysql=missing; [ -d /var/lib/mysql/mysql ] && echo mysql_datadir=1',
    `elif kiln_v=$(${runSql('SELECT VERSION();', { stderr: true })}); then`,
    '  echo mysql=up; printf \'version=%s\\n\' "$kiln_v"',
    // Not indented: heredoc end tags must start their line.
    body,
    "else echo mysql=down; printf '%s\\n' \"$kiln_v\" | head -n 3 | sed 's/^/mysql_error=/'",
    'fi',
    ...(post ? [post] : []),
    'true',
  ].join('\n');
}

/** Wraps apply SQL: find the client, fail clearly when it is missing, (log in as `login`,) run the statements. */
export function applySql(sql: string, login?: Login): string {
  return [
    FIND_CLIENT,
    '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
    loginSetup(login),
    runSql(sql),
  ]
    .filter(Boolean)
    .join('\n');
}

export interface ServerProbe {
  /** up: the probe's queries ran; missing: no client installed; down: the server did not answer. */
  server: 'up' | 'missing' | 'down';
  /** Not installed and no data directory: it will start empty (plans are exact, not guesses). */
  fresh?: boolean;
  version?: ServerVersion;
  error?: string;
}

/** Reads the probeFrame lines. */
export function parseServer(kv: Record<string, string>, errors: string[]): ServerProbe {
  const server = kv.mysql === 'up' ? 'up' : kv.mysql === 'down' ? 'down' : 'missing';
  return {
    server,
    fresh: server === 'missing' && kv.mysql_datadir !== '1',
    version: server === 'up' && kv.version ? parseVersion(kv.version) : undefined,
    error: errors.length ? errors.join('\n') : undefined,
  };
}

export { parseLines } from '../../sh/kv.ts';

/** The server cannot be probed and its state cannot be inferred: plans are flagged unpredictable. */
export function unknownState(s: ServerProbe): boolean {
  return s.server !== 'up' && !s.fresh;
}

/** Why a plan cannot look at the server, for change summaries ("(server not installed yet)"). */
export function notReachable(s: ServerProbe): string {
  return s.server === 'missing' ? 'server not installed yet' : `server not running${s.error ? `: ${s.error.split('\n')[0]}` : ''}`;
}

/** The schema properties of Ansible's login_user/login_password, shared by every mysql module. */
export const LOGIN_PROPERTIES = {
  login_user: {
    type: 'string',
    minLength: 1,
    pattern: '^[^\\n]+$',
    description: 'account the client logs in as over the local socket (default: root through unix_socket, and ~/.my.cnf)',
  },
  login_password: {
    type: 'string',
    'x-secret': true,
    description: "login_user's password (a secret: in a 0600 option file on the host, never in argv)",
  },
} as const;

/** Ansible's login_user/login_password: whom the client logs in as (over the local socket). */
export interface Login {
  user?: string;
  password?: Secret;
}

/** The [client] option file of a login (a secret when it holds a password). */
export function loginOptionFile(l: Login): string {
  const v = (x: string) => `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `[client]\n${l.user !== undefined ? `user=${v(l.user)}\n` : ''}${l.password !== undefined ? `password=${v(l.password.reveal())}\n` : ''}`;
}

/**
 * Shell after FIND_CLIENT: with a login (login_user/login_password), the client runs as that
 * account: its credentials go into a 0600 option file in a private mktemp directory ($kiln_lt),
 * and $kiln_my becomes a wrapper that passes --defaults-extra-file first, so every later
 * `"$kiln_my"` logs in as Ansible's module would. Nothing of the login is in any argv but the
 * file's path. '' without a login. Pair with `loginCleanup`.
 */
export function loginPrelude(l: Login | undefined): string {
  if (!l || (l.user === undefined && l.password === undefined)) return '';
  return [
    'kiln_lt=',
    'if [ -n "$kiln_my" ]; then',
    'kiln_lt=$(umask 077 && mktemp -d /tmp/.kiln-mylogin.XXXXXX)',
    `(umask 077 && ${writeBytes('"$kiln_lt/login.cnf"', loginOptionFile(l)).trimEnd()}`,
    ')',
    'printf \'#!/bin/sh\\nexec "%s" --defaults-extra-file="%s/login.cnf" "$@"\\n\' "$kiln_my" "$kiln_lt" > "$kiln_lt/client"',
    'chmod 700 "$kiln_lt/client"',
    'kiln_my="$kiln_lt/client"',
    'fi',
  ].join('\n');
}

/** The login of a module's params (login_user, login_password: a Secret from the engine), if any. */
export function loginOf(p: { login_user?: string; login_password?: string | Secret }): Login | undefined {
  const pw = revealParam(p.login_password);
  if (p.login_user === undefined && pw === undefined) return undefined;
  return { user: p.login_user, password: pw === undefined ? undefined : new SecretValue(pw, 'login_password') };
}

/** For an apply script (after FIND_CLIENT): the login prelude and a trap removing it on exit ('' without a login). */
export function loginSetup(l: Login | undefined): string {
  const cleanup = loginCleanup(l);
  return cleanup ? `${loginPrelude(l)}\ntrap '${cleanup.replace(/'/g, "'\\''")}' EXIT` : '';
}

/** Removes the login's option file ('' without a login). */
export function loginCleanup(l: Login | undefined): string {
  if (!l || (l.user === undefined && l.password === undefined)) return '';
  return 'if [ -n "$kiln_lt" ]; then rm -rf "$kiln_lt"; fi';
}
