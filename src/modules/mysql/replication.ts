/**
 * Replication statements and status for both flavours (pure; unit-tested):
 * - MariaDB: CHANGE MASTER TO … MASTER_USE_GTID=slave_pos; START/STOP SLAVE; SHOW SLAVE STATUS.
 * - MySQL 8.0.23+: CHANGE REPLICATION SOURCE TO … SOURCE_AUTO_POSITION=1; START/STOP REPLICA;
 *   SHOW REPLICA STATUS (columns Source_… and Replica_…, read here under the MariaDB names).
 * - Older MySQL: CHANGE MASTER TO … MASTER_AUTO_POSITION=1; START/STOP SLAVE.
 */
import { type ReplicationDialect, sqlString, unescapeBatch } from './sql.ts';

export interface SourceSpec {
  host: string;
  port: number;
  user: string;
  password: string;
  connectRetry?: number;
  /** TLS to the source: MASTER_SSL (undefined = left as configured). */
  ssl?: boolean;
  /** MASTER_SSL_CA: the CA file the source's certificate is checked against. */
  sslCa?: string;
  /** MASTER_SSL_VERIFY_SERVER_CERT: the certificate's name must match the source's host. */
  sslVerifyServerCert?: boolean;
}

/** The TLS options of CHANGE MASTER / CHANGE REPLICATION SOURCE that `s` sets (", MASTER_SSL = 1, …" or ""). */
export function sslOptionsSql(d: ReplicationDialect, s: SourceSpec): string {
  const k = d === 'mysql' ? 'SOURCE' : 'MASTER';
  const parts: string[] = [];
  if (s.ssl !== undefined) parts.push(`${k}_SSL = ${s.ssl ? 1 : 0}`);
  if (s.sslCa !== undefined) parts.push(`${k}_SSL_CA = ${sqlString(s.sslCa)}`);
  if (s.sslVerifyServerCert !== undefined) parts.push(`${k}_SSL_VERIFY_SERVER_CERT = ${s.sslVerifyServerCert ? 1 : 0}`);
  return parts.map((x) => `, ${x}`).join('');
}

export function changeSourceSql(d: ReplicationDialect, s: SourceSpec): string {
  const retry = s.connectRetry ?? 10;
  if (d === 'mysql') {
    return (
      `CHANGE REPLICATION SOURCE TO SOURCE_HOST = ${sqlString(s.host)}, SOURCE_PORT = ${s.port}, SOURCE_USER = ${sqlString(s.user)}, ` +
      `SOURCE_PASSWORD = ${sqlString(s.password)}, SOURCE_CONNECT_RETRY = ${retry}, SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1${sslOptionsSql(d, s)};`
    );
  }
  const gtid = d === 'mariadb' ? 'MASTER_USE_GTID = slave_pos' : 'MASTER_AUTO_POSITION = 1';
  return (
    `CHANGE MASTER TO MASTER_HOST = ${sqlString(s.host)}, MASTER_PORT = ${s.port}, MASTER_USER = ${sqlString(s.user)}, ` +
    `MASTER_PASSWORD = ${sqlString(s.password)}, MASTER_CONNECT_RETRY = ${retry}, ${gtid}${sslOptionsSql(d, s)};`
  );
}

export const startSql = (d: ReplicationDialect) => (d === 'mysql' ? 'START REPLICA;' : 'START SLAVE;');
export const stopSql = (d: ReplicationDialect) => (d === 'mysql' ? 'STOP REPLICA;' : 'STOP SLAVE;');
export const statusSql = (d: ReplicationDialect) => (d === 'mysql' ? 'SHOW REPLICA STATUS;' : 'SHOW SLAVE STATUS;');

/** Sets the replica's starting GTID position after a seed (MariaDB: gtid_slave_pos; MySQL: gtid_purged on a reset replica). */
export function setGtidPosSql(d: ReplicationDialect, pos: string): string {
  if (!/^[0-9a-fA-F:,\-\s]*$/.test(pos)) throw new Error(`not a GTID position: ${JSON.stringify(pos)}`);
  return d === 'mariadb' ? `SET GLOBAL gtid_slave_pos = ${sqlString(pos)};` : `RESET MASTER; SET GLOBAL gtid_purged = ${sqlString(pos)};`;
}

/** MySQL 8 column names → the MariaDB names this module reads. */
const RENAME: [RegExp, string][] = [
  [/^Source_/, 'Master_'],
  [/^Replica_/, 'Slave_'],
  [/_Source_/, '_Master_'],
  [/_Source$/, '_Master'],
  [/_Replica_/, '_Slave_'],
];

/** Reads SHOW SLAVE/REPLICA STATUS in --batch form (header line + value line). Empty when not a replica. */
export function parseStatus(head: string | undefined, row: string | undefined): Record<string, string> {
  if (!head || row === undefined) return {};
  const names = head.split('\t').map((n) => RENAME.reduce((acc, [re, to]) => acc.replace(re, to), n));
  const values = row.split('\t');
  return Object.fromEntries(names.map((n, i) => [n, unescapeBatch(values[i] ?? '')]));
}

export type ThreadState = 'Yes' | 'No' | 'Connecting' | 'Preparing' | string;

export interface ReplicaStatus {
  configured: boolean;
  host?: string;
  port?: number;
  user?: string;
  io: ThreadState;
  sql: ThreadState;
  ioError?: string;
  sqlError?: string;
  /** null while a thread is not running. */
  secondsBehind: number | null;
  /** MariaDB Using_Gtid (Slave_Pos, Current_Pos, No); MySQL: Auto_Position 1 → "Auto". */
  gtidMode?: string;
  /** Names of the system threads' connection ids are not in SHOW … STATUS; see the e2e test. */
  sqlState?: string;
  /** Master_SSL_Allowed: Yes, No (or Ignored: asked for, but the replica has no TLS). */
  sslAllowed?: string;
  /** Master_SSL_CA_File ('' = none). */
  sslCa?: string;
  /** Master_SSL_Verify_Server_Cert: Yes or No. */
  sslVerify?: string;
}

export function replicaStatus(st: Record<string, string>): ReplicaStatus {
  const configured = Boolean(st.Master_Host);
  const sb = st.Seconds_Behind_Master;
  return {
    configured,
    host: st.Master_Host || undefined,
    port: st.Master_Port ? Number(st.Master_Port) : undefined,
    user: st.Master_User || undefined,
    io: st.Slave_IO_Running ?? 'No',
    sql: st.Slave_SQL_Running ?? 'No',
    ioError: st.Last_IO_Error || undefined,
    sqlError: st.Last_SQL_Error || undefined,
    secondsBehind: sb === undefined || sb === '' || sb === 'NULL' ? null : Number(sb),
    gtidMode: st.Using_Gtid ?? (st.Auto_Position === '1' ? 'Auto' : st.Auto_Position === '0' ? 'No' : undefined),
    sqlState: st.Slave_SQL_Running_State || undefined,
    sslAllowed: st.Master_SSL_Allowed || undefined,
    sslCa: st.Master_SSL_CA_File,
    sslVerify: st.Master_SSL_Verify_Server_Cert || undefined,
  };
}

/** The GTID mode this module sets, as the status reports it. */
export const wantedGtidMode = (d: ReplicationDialect) => (d === 'mariadb' ? 'Slave_Pos' : 'Auto');

/** Running (or getting there without an error): not to be touched. */
export function healthy(s: ReplicaStatus): boolean {
  const up = (t: ThreadState) => t === 'Yes' || t === 'Connecting' || t === 'Preparing';
  return up(s.io) && s.sql === 'Yes' && !s.sqlError && !(s.io !== 'Yes' && s.ioError);
}

/** "Last_SQL_Error: …; Last_IO_Error: …" when a thread stopped or cannot connect because of an error. */
export function brokenReason(s: ReplicaStatus): string | undefined {
  const parts: string[] = [];
  if (s.sqlError && s.sql !== 'Yes') parts.push(`SQL thread stopped: Last_SQL_Error: ${s.sqlError}`);
  if (s.ioError && s.io !== 'Yes') parts.push(`IO thread ${s.io === 'No' ? 'stopped' : s.io.toLowerCase()}: Last_IO_Error: ${s.ioError}`);
  return parts.length ? parts.join('\n') : undefined;
}

/**
 * Client errors of an IO thread that is only retrying to reach its source (it reconnects by itself
 * every connect_retry seconds): can't connect (2002, 2003), server gone away (2006), lost (2013).
 */
export const RECONNECTING_IO_ERRNOS = [2002, 2003, 2006, 2013] as const;

/**
 * Shell (after FIND_CLIENT) for the probe: while the IO thread is `Connecting` with one of
 * RECONNECTING_IO_ERRNOS (its source restarted a moment ago), wait up to `seconds` for it to
 * reconnect before the state is read, so a source restart is not taken for broken replication.
 * A source that stays unreachable is still reported broken once the wait is over.
 */
export function waitForReconnect(d: ReplicationDialect, statusCmd: string, seconds: number): string {
  const io = d === 'mysql' ? 'Replica_IO_Running' : 'Slave_IO_Running';
  const transient = RECONNECTING_IO_ERRNOS.map((n) => `Connecting/${n}`).join('|');
  return [
    'kiln_i=0',
    `while [ "$kiln_i" -lt ${seconds * 2} ]; do`,
    `  kiln_st=$(${statusCmd.trimEnd()}`,
    `  ) || break`,
    `  kiln_st=$(printf '%s\\n' "$kiln_st" | awk -F'\\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{print $h["${io}"] "/" ($h["Last_IO_Errno"]+0)}')`,
    `  case "$kiln_st" in ${transient}) ;; *) break;; esac`,
    '  kiln_i=$((kiln_i+1)); sleep 0.5',
    'done',
  ].join('\n');
}

/**
 * Shell (after FIND_CLIENT) that waits up to `seconds` for both threads to run or one to report
 * an error, so the verify probe that follows sees the settled state.
 */
export function waitForThreads(d: ReplicationDialect, statusCmd: string, seconds = 15): string {
  const [io, sql] = d === 'mysql' ? ['Replica_IO_Running', 'Replica_SQL_Running'] : ['Slave_IO_Running', 'Slave_SQL_Running'];
  return [
    'kiln_i=0',
    `while [ "$kiln_i" -lt ${seconds * 2} ]; do`,
    `  kiln_st=$(${statusCmd.trimEnd()}`,
    `  ) || break`,
    `  kiln_st=$(printf '%s\\n' "$kiln_st" | awk -F'\\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{print $h["${io}"] "/" $h["${sql}"] "/" ($h["Last_IO_Errno"]+0) "/" ($h["Last_SQL_Errno"]+0)}')`,
    '  case "$kiln_st" in Yes/Yes/*) break;; */*/0/0) ;; *) break;; esac',
    '  kiln_i=$((kiln_i+1)); sleep 0.5',
    'done',
  ].join('\n');
}
