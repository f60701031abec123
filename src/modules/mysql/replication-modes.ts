/**
 * community.mysql's `mysql_replication` modes, as Ansible means them (community.mysql 3.7):
 * getprimary (SHOW MASTER STATUS), getreplica (SHOW REPLICA|SLAVE STATUS), changeprimary
 * (CHANGE MASTER TO …), startreplica, stopreplica, resetprimary (RESET MASTER), resetreplica,
 * resetreplicaall. Kiln's declarative form (no `mode`) is in mysql_replication.ts.
 *
 * Results are Ansible's: the status row with the driver's types (MySQLdb: integer columns are
 * ints, NULL is null, the rest strings) plus Is_Primary / Is_Replica, or msg; `queries` lists the
 * statements run (a password as Ansible's no_log shows it: '********').
 *
 * `changed` as the module reports it on MariaDB 10.11 (fixtures generated with Ansible,
 * test/unit/modules/mysql/fixtures/replication-modes.json): the get modes never change;
 * changeprimary, stopreplica and resetprimary always do; startreplica does unless the server is
 * not a replica (START fails, the module says "cannot be started"); resetreplica(all) does
 * unless a replication thread runs (RESET fails). The probe reads the status, so the plan (and
 * --check) predicts exactly that. With `fail_on_error`, the cases the module would report as
 * unchanged fail the task, as Ansible's fail_on_error does.
 */
import { parseResultSets } from './xml.ts';
import { type ServerVersion, sqlString } from './sql.ts';

export const MODES = [
  'getprimary',
  'getreplica',
  'changeprimary',
  'startreplica',
  'stopreplica',
  'resetprimary',
  'resetreplica',
  'resetreplicaall',
] as const;
export type Mode = (typeof MODES)[number];

/** The options of changeprimary, by Kiln parameter (Ansible's names, aliases renamed). */
export interface ChangePrimaryOptions {
  primary_host?: string;
  primary_user?: string;
  primary_port?: number;
  connect_retry?: number;
  primary_log_file?: string;
  primary_log_pos?: number;
  primary_delay?: number;
  relay_log_file?: string;
  relay_log_pos?: number;
  primary_ssl?: boolean;
  primary_ssl_ca?: string;
  primary_ssl_capath?: string;
  primary_ssl_cert?: string;
  primary_ssl_key?: string;
  primary_ssl_cipher?: string;
  primary_ssl_verify_server_cert?: boolean;
  primary_auto_position?: boolean;
  primary_use_gtid?: 'current_pos' | 'replica_pos' | 'disabled';
  connection_name?: string;
  channel?: string;
}

/** REPLICA since MariaDB 10.5.1 and MySQL 8.0.22, SLAVE before (the module's uses_replica_terminology). */
export function replicaTerm(v: ServerVersion | undefined): 'REPLICA' | 'SLAVE' {
  if (!v) return 'REPLICA';
  const n = v.major * 10000 + v.minor * 100 + v.patch;
  return n >= (v.flavor === 'mariadb' ? 100501 : 80022) ? 'REPLICA' : 'SLAVE';
}

const nameClause = (o: ChangePrimaryOptions) => (o.connection_name ? ` ${sqlString(o.connection_name)}` : '');
const channelClause = (o: ChangePrimaryOptions) => (o.channel ? ` FOR CHANNEL ${sqlString(o.channel)}` : '');

/** SHOW REPLICA|SLAVE ['name'] STATUS [FOR CHANNEL 'c'] for a term. */
export const replicaStatusSql = (term: string, o: ChangePrimaryOptions) => `SHOW ${term}${nameClause(o)} STATUS${channelClause(o)}`;

/**
 * The CHANGE MASTER TO items in the module's order. `password` is what goes in the SQL; the
 * `queries` of the result get '********' instead (masked: Ansible's no_log).
 */
export function changePrimaryItems(o: ChangePrimaryOptions, password: string | undefined, term: 'REPLICA' | 'SLAVE'): string[] {
  const c: string[] = [];
  const s = sqlString;
  if (o.primary_host !== undefined) c.push(`MASTER_HOST=${s(o.primary_host)}`);
  if (o.primary_user !== undefined) c.push(`MASTER_USER=${s(o.primary_user)}`);
  if (password !== undefined) c.push(`MASTER_PASSWORD=${s(password)}`);
  if (o.primary_port !== undefined) c.push(`MASTER_PORT=${o.primary_port}`);
  if (o.connect_retry !== undefined) c.push(`MASTER_CONNECT_RETRY=${o.connect_retry}`);
  if (o.primary_log_file !== undefined) c.push(`MASTER_LOG_FILE=${s(o.primary_log_file)}`);
  if (o.primary_log_pos !== undefined) c.push(`MASTER_LOG_POS=${o.primary_log_pos}`);
  if (o.primary_delay !== undefined) c.push(`MASTER_DELAY=${o.primary_delay}`);
  if (o.relay_log_file !== undefined) c.push(`RELAY_LOG_FILE=${s(o.relay_log_file)}`);
  if (o.relay_log_pos !== undefined) c.push(`RELAY_LOG_POS=${o.relay_log_pos}`);
  if (o.primary_ssl !== undefined) c.push(`MASTER_SSL=${o.primary_ssl ? 1 : 0}`);
  if (o.primary_ssl_ca !== undefined) c.push(`MASTER_SSL_CA=${s(o.primary_ssl_ca)}`);
  if (o.primary_ssl_capath !== undefined) c.push(`MASTER_SSL_CAPATH=${s(o.primary_ssl_capath)}`);
  if (o.primary_ssl_cert !== undefined) c.push(`MASTER_SSL_CERT=${s(o.primary_ssl_cert)}`);
  if (o.primary_ssl_key !== undefined) c.push(`MASTER_SSL_KEY=${s(o.primary_ssl_key)}`);
  if (o.primary_ssl_cipher !== undefined) c.push(`MASTER_SSL_CIPHER=${s(o.primary_ssl_cipher)}`);
  if (o.primary_ssl_verify_server_cert) c.push('SOURCE_SSL_VERIFY_SERVER_CERT=1');
  if (o.primary_auto_position) c.push('MASTER_AUTO_POSITION=1');
  if (o.primary_use_gtid !== undefined) {
    // The module: disabled → no; replica_pos → slave_pos where the server says SLAVE.
    const g =
      o.primary_use_gtid === 'disabled'
        ? 'no'
        : o.primary_use_gtid === 'replica_pos' && term === 'SLAVE'
          ? 'slave_pos'
          : o.primary_use_gtid;
    c.push(`MASTER_USE_GTID=${g}`);
  }
  return c;
}

export function changePrimarySql(o: ChangePrimaryOptions, password: string | undefined, term: 'REPLICA' | 'SLAVE'): string {
  return `CHANGE MASTER${nameClause(o)} TO ${changePrimaryItems(o, password, term).join(',')}${channelClause(o)}`;
}

/** The statement a mode runs (none for the get modes). `password` as in changePrimaryItems. */
export function modeSql(mode: Mode, o: ChangePrimaryOptions, password: string | undefined, term: 'REPLICA' | 'SLAVE'): string | undefined {
  const tail = `${nameClause(o)}`;
  switch (mode) {
    case 'getprimary':
    case 'getreplica':
      return undefined;
    case 'changeprimary':
      return changePrimarySql(o, password, term);
    case 'startreplica':
      return `START ${term}${tail}${channelClause(o)}`;
    case 'stopreplica':
      return `STOP ${term}${tail}${channelClause(o)}`;
    case 'resetprimary':
      return 'RESET MASTER';
    case 'resetreplica':
      return `RESET ${term}${tail}${channelClause(o)}`;
    case 'resetreplicaall':
      return `RESET ${term}${tail} ALL${channelClause(o)}`;
  }
}

/** What the mode probe found: the status rows (typed) and whether the binary log is on. */
export interface ModeState {
  /** SHOW MASTER STATUS's row, null when the server writes no binary log. */
  primary: Record<string, unknown> | null;
  /** SHOW REPLICA STATUS's row, null when not a replica. */
  replica: Record<string, unknown> | null;
  /** The probe could not read them (error text). */
  error?: string;
}

/** MySQLdb's conversions of the column types the client's --column-type-info names. */
const INT_TYPES = new Set(['TINY', 'SHORT', 'LONG', 'LONGLONG', 'INT24', 'YEAR']);

/**
 * A result row with the driver's types: `types` maps a column to its type name (LONG,
 * VAR_STRING…); integers become numbers (beyond 2^53 they stay text), NULL null.
 */
export function typedRow(row: Record<string, string | null>, types: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => {
      if (v === null) return [k, null];
      if (INT_TYPES.has(types[k] ?? '') && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return [k, Number(v)];
      return [k, v];
    }),
  );
}

/** Reads `--column-type-info` text: "Field   1:  `name`" … "Type:       LONG" → { name: LONG }. */
export function parseColumnTypes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let cur: string | undefined;
  for (const line of text.split('\n')) {
    const f = /^Field\s+\d+:\s+`(.*)`\s*$/.exec(line);
    if (f) cur = f[1]!;
    const t = /^Type:\s+(\S+)/.exec(line);
    if (t && cur !== undefined) {
      out[cur] = t[1]!;
      cur = undefined;
    }
  }
  return out;
}

/** The first row of an --xml result, typed, or null when there is none. */
export function firstRow(xml: string, typesText: string): Record<string, unknown> | null {
  const row = parseResultSets(xml)[0]?.rows[0];
  return row ? typedRow(row, parseColumnTypes(typesText)) : null;
}

/** Is a replication thread running (RESET fails then)? */
export function threadsRunning(r: Record<string, unknown> | null): boolean {
  if (!r) return false;
  const io = String(r.Slave_IO_Running ?? r.Replica_IO_Running ?? 'No');
  const sql = String(r.Slave_SQL_Running ?? r.Replica_SQL_Running ?? 'No');
  return io !== 'No' || sql !== 'No';
}

export interface ModeOutcome {
  /** Does the statement run and report changed? */
  changed: boolean;
  msg?: string;
  /** The module's fail_on_error message, when it applies. */
  failure?: string;
}

/** What a mode does on this state, as the module reports it (see the file comment). */
export function modeOutcome(mode: Mode, s: ModeState, failOnError: boolean): ModeOutcome {
  const fail = (what: string, msg: string): ModeOutcome =>
    failOnError ? { changed: false, failure: `${what} failed: ${msg}` } : { changed: false, msg: undefined };
  switch (mode) {
    case 'getprimary':
    case 'getreplica':
      return { changed: false };
    case 'changeprimary':
      return { changed: true };
    case 'startreplica':
      if (!s.replica)
        return {
          ...fail('START REPLICA', 'this server is not configured as a replica'),
          msg: 'Replica already started (Or cannot be started)',
        };
      return { changed: true, msg: 'Replica started ' };
    case 'stopreplica':
      return { changed: true, msg: 'Replica stopped' };
    case 'resetprimary':
      if (!s.primary) return { ...fail('RESET MASTER', 'the server writes no binary log'), msg: 'Primary already reset' };
      return { changed: true, msg: 'Primary reset' };
    case 'resetreplica':
    case 'resetreplicaall': {
      const what = mode === 'resetreplica' ? 'RESET REPLICA' : 'RESET REPLICA ALL';
      if (threadsRunning(s.replica))
        return { ...fail(what, 'a replication thread is running (stop the replica first)'), msg: 'Replica already reset' };
      return { changed: true, msg: 'Replica reset' };
    }
  }
}

/** The registered result of a get mode (Ansible's shape, without changed/failed). */
export function getResult(mode: 'getprimary' | 'getreplica', s: ModeState): Record<string, unknown> {
  if (mode === 'getprimary')
    return s.primary
      ? { ...s.primary, Is_Primary: true, queries: [] }
      : { Is_Primary: false, msg: 'Server is not configured as mysql primary', queries: [] };
  return s.replica
    ? { ...s.replica, Is_Replica: true, queries: [] }
    : { Is_Replica: false, msg: 'Server is not configured as mysql replica', queries: [] };
}
