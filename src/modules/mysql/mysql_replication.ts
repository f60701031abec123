/**
 * `mysql_replication`: this server replicates from a primary, with GTIDs.
 *
 * Probe: SHOW SLAVE STATUS (MariaDB, MySQL < 8.0.23) or SHOW REPLICA STATUS (MySQL 8), the GTID
 * positions, read_only, which of `seed_databases` exist, and a sha256 of the stored replication
 * password (MariaDB: master.info) — never the password itself.
 *
 * Plan:
 * - never configured: configure and start; when `seed_databases` is set and this server is
 *   empty (none of them exists, gtid_slave_pos is empty), first seed it from a consistent
 *   snapshot of the primary: `mariadb-dump --single-transaction --gtid --master-data=2`, pulled
 *   over the network with the replication account (credentials in a 0600 option file), loaded
 *   with sql_log_bin=0, then gtid_slave_pos = the snapshot's position;
 *   tables, views and triggers are copied (not stored routines or events, which would need more
 *   privileges on the primary than the replication account has);
 * - configured with another source (host, port, user, password, GTID mode): STOP, CHANGE, START;
 * - the same source, running: nothing — a healthy replica is never reset or restarted;
 * - the same source, stopped without an error: START;
 * - the same source, a thread stopped on an error: the task fails with Last_SQL_Error /
 *   Last_IO_Error (a human decides how to repair data).
 * Replication lag (Seconds_Behind_Master) is in the register data (`seconds_behind_master`).
 *
 * Invariants: the replication password is a Secret from `prepare` to apply, where it goes only
 * into SQL on stdin (a heredoc) and the seed's 0600 option file (written as base64 inside the
 * private mktemp directory, removed on exit); never into argv, the probe, a summary or an op.
 * `apply` acts on the one typed op the plan returns (never on summary text).
 */
import {
  brokenReason,
  changeSourceSql,
  healthy,
  parseStatus,
  type ReplicaStatus,
  replicaStatus,
  startSql,
  statusSql,
  stopSql,
  waitForThreads,
  waitForReconnect,
  wantedGtidMode,
} from './replication.ts';
import {
  changePrimarySql,
  firstRow,
  getResult,
  type Mode,
  MODES,
  type ModeState,
  modeOutcome,
  modeSql,
  replicaStatusSql,
  replicaTerm,
} from './replication-modes.ts';
import {
  FIND_CLIENT,
  type Login,
  loginCleanup,
  loginPrelude,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  type ReplicationDialect,
  replicationDialect,
  revealParam,
  runSql,
  type ServerProbe,
  sqlString,
  unknownState,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { Secret } from '../../core/secret/secret.ts';
import { q } from '../../sh/quote.ts';
import { fromB64, sha256, writeBytes } from '../../sh/bytes.ts';
import { xmlSql } from './xml.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

export const schema = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['mode'] }, { required: ['primary_host', 'primary_user', 'primary_password'] }],
  properties: {
    mode: {
      enum: MODES,
      description:
        "community.mysql's modes, as Ansible means them: getprimary (SHOW MASTER STATUS), getreplica (SHOW REPLICA STATUS), changeprimary (CHANGE MASTER TO with the primary_* options), startreplica, stopreplica, resetprimary, resetreplica, resetreplicaall; results and `changed` as the module reports them. Written with Ansible's name (mysql_replication), mode defaults to getreplica, as in Ansible; Kiln's declarative replica is the mysql_replica module",
    },
    ...LOGIN_PROPERTIES,
    primary_log_file: { type: 'string', minLength: 1, description: 'changeprimary: MASTER_LOG_FILE, the binary log to start from' },
    primary_log_pos: { type: 'integer', minimum: 0, description: 'changeprimary: MASTER_LOG_POS, the position in it' },
    primary_delay: { type: 'integer', minimum: 0, description: 'changeprimary: MASTER_DELAY, seconds the replica lags behind on purpose' },
    relay_log_file: { type: 'string', minLength: 1, description: 'changeprimary: RELAY_LOG_FILE' },
    relay_log_pos: { type: 'integer', minimum: 0, description: 'changeprimary: RELAY_LOG_POS' },
    primary_ssl: {
      type: 'boolean',
      description:
        'changeprimary: MASTER_SSL (TLS to the primary); without mode (mysql_replica): replicate over TLS (true) or not (false), compared with Master_SSL_Allowed; left out = as configured. The seed snapshot then travels over TLS too',
    },
    primary_ssl_ca: {
      type: 'string',
      description:
        "changeprimary: MASTER_SSL_CA; without mode (mysql_replica): the CA file (on this host) the primary's certificate is checked against, compared with Master_SSL_CA_File",
    },
    primary_ssl_capath: { type: 'string', description: 'changeprimary: MASTER_SSL_CAPATH' },
    primary_ssl_cert: { type: 'string', description: 'changeprimary: MASTER_SSL_CERT' },
    primary_ssl_key: { type: 'string', description: 'changeprimary: MASTER_SSL_KEY' },
    primary_ssl_cipher: { type: 'string', description: 'changeprimary: MASTER_SSL_CIPHER' },
    primary_ssl_verify_server_cert: {
      type: 'boolean',
      description:
        'changeprimary: SOURCE_SSL_VERIFY_SERVER_CERT=1 (MySQL 8 syntax, as the module sends it); without mode (mysql_replica): MASTER_SSL_VERIFY_SERVER_CERT (the certificate must name primary_host), compared with Master_SSL_Verify_Server_Cert',
    },
    primary_auto_position: { type: 'boolean', description: 'changeprimary: MASTER_AUTO_POSITION=1 (MySQL GTIDs)' },
    primary_use_gtid: {
      enum: ['current_pos', 'replica_pos', 'disabled'],
      description: 'changeprimary: MASTER_USE_GTID (MariaDB): current_pos, replica_pos (slave_pos on older servers) or disabled (no)',
    },
    connection_name: {
      type: 'string',
      minLength: 1,
      pattern: '^[^\\n]+$',
      description: "modes: a MariaDB multi-source connection ('name' after SHOW/START/STOP/RESET REPLICA and CHANGE MASTER)",
    },
    channel: { type: 'string', minLength: 1, pattern: '^[^\\n]+$', description: "modes: a MySQL replication channel (FOR CHANNEL 'c')" },
    fail_on_error: {
      type: 'boolean',
      description:
        'modes: fail when START/STOP/RESET fails (default false: the module then reports no change, e.g. startreplica on a server that is not a replica)',
    },
    primary_host: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9_.:-]+$',
      description: 'address or name of the primary (source) server',
    },
    primary_port: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      description: 'its port (default 3306; changeprimary: MASTER_PORT only when given)',
    },
    primary_user: {
      type: 'string',
      minLength: 1,
      maxLength: 80,
      pattern: '^[^\\n]+$',
      description:
        'replication account on the primary (needs REPLICATION SLAVE; for seeding also SELECT, SHOW VIEW, TRIGGER, LOCK TABLES on the seeded databases and RELOAD, BINLOG MONITOR)',
    },
    primary_password: {
      type: 'string',
      'x-secret': true,
      description: 'its password (a secret; sent in the SQL on stdin or a 0600 option file, never in argv)',
    },
    seed_databases: {
      type: 'array',
      items: { type: 'string', minLength: 1, pattern: '^[^/\\\\.\\n]+$' },
      description:
        'databases copied from the primary (consistent snapshot) before replication starts, when this server never replicated and none of them exists here yet',
    },
    connect_retry: {
      type: 'integer',
      minimum: 1,
      description: 'seconds between reconnection attempts (default 10); applied when the source is (re)configured',
    },
  },
} as const;

/**
 * The params as the schema types them. `primary_password` is a secret param: the engine hands it
 * over as a Secret (plan/instance.ts), which only `prepare` reads (`revealParam`).
 */
export type MysqlReplicationParams = FromSchema<typeof schema>;

/** Computed on the controller: the replication password, kept a Secret. */
export interface MysqlReplicationPrep {
  /** Absent only with a mode (changeprimary without primary_password, or another mode). */
  password?: Secret;
  /** login_user/login_password. */
  login?: Login;
}

/**
 * What apply does (one op per plan):
 * - `configure`: never replicated: (when `seed`, copy the databases from a snapshot first,) set the source, start;
 * - `change_source`: another source: stop, set the source, start;
 * - `start`: the same source, stopped without an error: start.
 */
export type MysqlReplicationOp =
  | { kind: 'configure'; seed: boolean; fromBinlog?: boolean }
  | { kind: 'change_source' }
  | { kind: 'start' }
  | { kind: 'mode'; mode: Mode };

export interface MysqlReplicationState extends ServerProbe {
  status: ReplicaStatus;
  gtidSlavePos?: string;
  gtidBinlogPos?: string;
  readOnly?: boolean;
  /** Which of seed_databases exist here. */
  presentDbs: string[];
  /** sha256 of the stored replication password, when readable. */
  passwordSha?: string;
  /** With a mode: what the mode's probe read. */
  mode?: ModeState;
}

const port = (p: MysqlReplicationParams) => p.primary_port ?? 3306;

/** Options that only a mode uses (changeprimary's first, then the modes' own). */
/** The changeprimary TLS options the declarative replica also takes. */
const DECLARATIVE_SSL = ['primary_ssl', 'primary_ssl_ca', 'primary_ssl_verify_server_cert'] as const;

const MODE_ONLY = [
  'primary_log_file',
  'primary_log_pos',
  'primary_delay',
  'relay_log_file',
  'relay_log_pos',
  'primary_ssl',
  'primary_ssl_ca',
  'primary_ssl_capath',
  'primary_ssl_cert',
  'primary_ssl_key',
  'primary_ssl_cipher',
  'primary_ssl_verify_server_cert',
  'primary_auto_position',
  'primary_use_gtid',
  'connection_name',
  'channel',
  'fail_on_error',
] as const;
const CHANGE_ONLY = [
  'primary_host',
  'primary_user',
  'primary_password',
  'primary_port',
  'connect_retry',
  ...MODE_ONLY.slice(0, 14),
] as const;

export function mysqlReplicationPrep(p: MysqlReplicationParams): MysqlReplicationPrep {
  const pw = revealParam(p.primary_password);
  const lpw = revealParam(p.login_password);
  const login: Login | undefined =
    p.login_user !== undefined || lpw !== undefined
      ? { user: p.login_user, password: lpw === undefined ? undefined : new Secret(lpw, 'login_password') }
      : undefined;
  if (p.mode === undefined) {
    const extra = MODE_ONLY.filter((k) => p[k] !== undefined && !(DECLARATIVE_SSL as readonly string[]).includes(k));
    if (extra.length)
      throw new Error(
        `${extra.join(', ')}: only with a mode; without mode, mysql_replication converges a GTID replica (give mode: changeprimary for Ansible's CHANGE MASTER TO)`,
      );
    if (p.primary_host === undefined || p.primary_user === undefined || pw === undefined)
      throw new Error('primary_host, primary_user and primary_password are required without mode');
  } else {
    if (p.seed_databases !== undefined) throw new Error("seed_databases: only without mode (Kiln's declarative replica)");
    if (p.connection_name !== undefined && p.channel !== undefined)
      throw new Error('parameters are mutually exclusive: connection_name|channel');
    if (p.mode !== 'changeprimary') {
      // Ansible ignores them in other modes; Kiln says so rather than dropping them silently.
      const ignored = CHANGE_ONLY.filter((k) => p[k] !== undefined);
      if (ignored.length)
        throw new Error(
          `${ignored.join(', ')}: only with mode: changeprimary (mode ${p.mode} does not use them${
            p.mode === 'getreplica'
              ? "; it is Ansible's default when mode is not given — to converge a replica of primary_host, use Kiln's mysql_replica module"
              : ''
          })`,
        );
    }
  }
  return { password: pw === undefined ? undefined : new Secret(pw, 'primary_password'), login };
}
const source = (p: MysqlReplicationParams) => `${p.primary_host}:${port(p)} as ${p.primary_user}${tlsNote(p)}`;

/** " over TLS (CA /etc/…, the primary's certificate verified)" for the declarative replica's summaries. */
function tlsNote(p: MysqlReplicationParams): string {
  if (p.mode !== undefined || !p.primary_ssl) return '';
  const parts = [
    ...(p.primary_ssl_ca ? [`CA ${p.primary_ssl_ca}`] : []),
    ...(p.primary_ssl_verify_server_cert ? ["the primary's certificate verified"] : []),
  ];
  return ` over TLS${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** How long the probe waits for an IO thread that is reconnecting to its source: one retry interval and 5 s. */
const reconnectWait = (p: MysqlReplicationParams) => (p.connect_retry ?? 10) + 5;

/** Shell: runs `sql` with --column-type-info (table mode) and prints `<key>_types_b64=` (the type lines). */
function typesSql(sql: string, key: string): string {
  const tag = `KILN_SQL_${sha256(sql).slice(0, 12)}`;
  return [
    `kiln_o=$("$kiln_my" --protocol=socket -t --column-type-info 2>/dev/null <<'${tag}' | grep -E '^(Field|Type:)'`,
    sql,
    tag,
    ')',
    `printf '${key}_types_b64=%s\\n' "$(printf %s "$kiln_o" | base64 -w0)"`,
  ].join('\n');
}

/** The mode probe: SHOW MASTER STATUS and SHOW REPLICA|SLAVE STATUS, each as XML and with its column types. */
export function modeProbe(p: MysqlReplicationParams, login?: Login): string {
  const o = p;
  const both = (term: 'REPLICA' | 'SLAVE') => {
    const rs = `${replicaStatusSql(term, o)};`;
    return [xmlSql(rs, 'replica', `KILN_SQL_${sha256(rs).slice(0, 12)}`), typesSql(rs, 'replica')].join('\n');
  };
  return probeFrame(
    [
      xmlSql('SHOW MASTER STATUS;', 'primary', 'KILN_SQL_MASTER'),
      typesSql('SHOW MASTER STATUS;', 'primary'),
      // The module's uses_replica_terminology: MariaDB 10.5.1+, MySQL 8.0.22+ say REPLICA.
      `kiln_term=$(printf '%s\\n' "$kiln_v" | awk '{split($0,a,/[.-]/); n=a[1]*10000+a[2]*100+a[3]; print ((/MariaDB/ ? n>=100501 : n>=80022) ? "REPLICA" : "SLAVE")}')`,
      'if [ "$kiln_term" = REPLICA ]; then',
      both('REPLICA'),
      'else',
      both('SLAVE'),
      'fi',
    ].join('\n'),
    login,
  );
}

export function parseModeState(kv: Record<string, string>): ModeState {
  const read = (key: string) => {
    const text = fromB64(kv[`${key}_b64`]);
    if (kv[`${key}_rc`] !== '0') return { row: null, error: text.trim() || `exit ${kv[`${key}_rc`]}` };
    return { row: firstRow(text, fromB64(kv[`${key}_types_b64`])) };
  };
  const pr = read('primary');
  const rr = read('replica');
  const error = [pr.error, rr.error].filter(Boolean).join('\n') || undefined;
  return { primary: pr.row, replica: rr.row, ...(error ? { error } : {}) };
}

export function mysqlReplicationProbe(p: MysqlReplicationParams, prep?: MysqlReplicationPrep): string {
  if (p.mode !== undefined) return modeProbe(p, prep?.login);
  const dbs = (p.seed_databases ?? []).map(sqlString).join(', ');
  const common = [
    "SELECT CONCAT('read_only=', @@GLOBAL.read_only);",
    ...(dbs ? [`SELECT CONCAT('present_db=', SCHEMA_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (${dbs});`] : []),
  ];
  const status = (sql: string) =>
    `${runSql(sql, { header: true }).trimEnd()}\n) && printf '%s\\n' "$kiln_s" | sed -n -e '1s/^/status_head=/p' -e '2s/^/status_row=/p'`;
  return probeFrame(
    [
      'case "$kiln_v" in',
      '*MariaDB*)',
      runSql(
        [
          ...common,
          "SELECT CONCAT('gtid_slave_pos=', @@GLOBAL.gtid_slave_pos);",
          "SELECT CONCAT('gtid_binlog_pos=', @@GLOBAL.gtid_binlog_pos);",
        ].join('\n'),
      ).trimEnd(),
      waitForReconnect('mariadb', runSql('SHOW SLAVE STATUS;', { header: true }), reconnectWait(p)),
      `kiln_s=$(${status('SHOW SLAVE STATUS;')}`,
      ';;',
      '*)',
      runSql([...common, "SELECT CONCAT('gtid_slave_pos=', REPLACE(@@GLOBAL.gtid_executed, '\\n', ''));"].join('\n')).trimEnd(),
      waitForReconnect('mysql', runSql('SHOW REPLICA STATUS;', { header: true }), reconnectWait(p)),
      `kiln_s=$(${status('SHOW REPLICA STATUS;')} || { kiln_s=$(${status('SHOW SLAVE STATUS;')}; }`,
      `${runSql("SELECT CONCAT('password_sha=', SHA2(User_password, 256)) FROM mysql.slave_master_info LIMIT 1;").trimEnd()}`,
      ';;',
      'esac',
      // MariaDB keeps the replication password on line 6 of master.info: only its digest is printed.
      `kiln_d=$(${runSql('SELECT @@datadir;').trimEnd()}`,
      ')',
      'if [ -f "$kiln_d/master.info" ]; then printf \'password_sha=%s\\n\' "$(sed -n 6p "$kiln_d/master.info" | tr -d \'\\n\' | sha256sum | cut -d\' \' -f1)"; fi',
    ].join('\n'),
    prep?.login,
  );
}

export function mysqlReplicationParse(out: ExecResult): MysqlReplicationState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  const status = replicaStatus(parseStatus(kv.status_head, kv.status_row));
  if (server.server !== 'up') return { ...server, status, presentDbs: [] };
  if (kv.primary_rc !== undefined) return { ...server, status, presentDbs: [], mode: parseModeState(kv) };
  return {
    ...server,
    status,
    gtidSlavePos: kv.gtid_slave_pos ?? '',
    gtidBinlogPos: kv.gtid_binlog_pos,
    readOnly: kv.read_only === undefined ? undefined : kv.read_only === '1' || kv.read_only === 'ON',
    presentDbs: all.present_db ?? [],
    passwordSha: kv.password_sha || undefined,
  };
}

function dialectOf(s: MysqlReplicationState): ReplicationDialect {
  return s.version ? replicationDialect(s.version) : 'mariadb';
}

/** Does this server get seeded before replication starts? */
export function needsSeed(p: MysqlReplicationParams, s: MysqlReplicationState): boolean {
  return Boolean(p.seed_databases?.length) && !s.status.configured && !s.gtidSlavePos && s.presentDbs.length === 0;
}

/** MariaDB, not a replica, with binary-log GTIDs its gtid_slave_pos does not have: it has been a primary. */
export function formerPrimary(s: MysqlReplicationState): boolean {
  return dialectOf(s) === 'mariadb' && !s.status.configured && Boolean(s.gtidBinlogPos) && s.gtidBinlogPos !== s.gtidSlavePos;
}

/** The hint added to an IO thread's error 1236 (the source lacks a GTID this server has). */
export function errantHint(s: ReplicaStatus): string {
  return s.ioError && /1236|not in the master's binlog|which is not in the master|GTID/i.test(s.ioError) && s.io !== 'Yes'
    ? "\nThis server has GTIDs its new primary does not have (errant transactions: writes it took as a primary that never reached the promoted server). Kiln neither merges nor drops them: keep what you need from it, then re-seed it (docs/database-failover.md, 'A returning primary with errant GTIDs')."
    : '';
}

/** What differs between the configured source and the wanted one ([] = the same). */
export function sourceDifferences(p: MysqlReplicationParams, prep: MysqlReplicationPrep, s: MysqlReplicationState): string[] {
  const st = s.status;
  const out: string[] = [];
  if (st.host !== p.primary_host) out.push(`host ${st.host} → ${p.primary_host}`);
  if (st.port !== port(p)) out.push(`port ${st.port} → ${port(p)}`);
  if (st.user !== p.primary_user) out.push(`user ${st.user} → ${p.primary_user}`);
  const gm = wantedGtidMode(dialectOf(s));
  if (st.gtidMode !== undefined && st.gtidMode !== gm) out.push(`GTID mode ${st.gtidMode} → ${gm}`);
  if (s.passwordSha && s.passwordSha !== sha256(prep.password!.reveal())) out.push('password');
  const yn = (b: boolean) => (b ? 'Yes' : 'No');
  if (p.primary_ssl !== undefined && (st.sslAllowed === 'Yes') !== p.primary_ssl)
    out.push(`TLS ${st.sslAllowed ?? 'No'} → ${yn(p.primary_ssl)}`);
  if (p.primary_ssl_ca !== undefined && (st.sslCa ?? '') !== p.primary_ssl_ca)
    out.push(`TLS CA ${st.sslCa || '(none)'} → ${p.primary_ssl_ca || '(none)'}`);
  if (p.primary_ssl_verify_server_cert !== undefined && (st.sslVerify === 'Yes') !== p.primary_ssl_verify_server_cert)
    out.push(`verify the primary's certificate ${st.sslVerify ?? 'No'} → ${yn(p.primary_ssl_verify_server_cert)}`);
  return out;
}

const isGet = (m: Mode): m is 'getprimary' | 'getreplica' => m === 'getprimary' || m === 'getreplica';

/** The statement of a mode as the result's `queries` shows it (the password masked, as Ansible's no_log). */
export function shownSql(p: MysqlReplicationParams, mode: Mode, prep: MysqlReplicationPrep, s: MysqlReplicationState): string | undefined {
  return modeSql(mode, p, prep.password ? '********' : undefined, replicaTerm(s.version));
}

/** The plan of a mode (see replication-modes.ts): at most one action, `changed` as the module reports it. */
export function modePlan(
  p: MysqlReplicationParams,
  mode: Mode,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  check = false,
): Planned<MysqlReplicationOp>[] {
  if (isGet(mode)) {
    if (s.server !== 'up') throw new Error(`cannot read the replication state (${mode}): ${notReachable(s)}`);
    if (s.mode?.error) throw new Error(`${mode}: ${s.mode.error}`);
    return [];
  }
  const shown = shownSql(p, mode, prep, s)!;
  const op: MysqlReplicationOp = { kind: 'mode', mode };
  if (s.server !== 'up' || !s.mode) return [{ summary: `${shown} (${notReachable(s)})`, action: true, unpredictable: true, op }];
  if (s.mode.error) throw new Error(`${mode}: ${s.mode.error}`);
  const out = modeOutcome(mode, s.mode, p.fail_on_error ?? false);
  // --check: a changeprimary earlier in the run (only predicted) would make this server a replica.
  if (check && mode === 'startreplica' && !s.mode.replica)
    return [
      { summary: `${shown} (not a replica now: an earlier task of this run may make it one)`, action: true, unpredictable: true, op },
    ];
  if (out.failure) throw new Error(out.failure);
  return out.changed ? [{ summary: shown, action: true, op }] : [];
}

/** The result a mode registers (Ansible's keys; changed/failed are the engine's). */
export function modeResult(
  p: MysqlReplicationParams,
  mode: Mode,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
): Record<string, unknown> {
  if (isGet(mode)) return s.mode ? getResult(mode, s.mode) : { queries: [] };
  const shown = shownSql(p, mode, prep, s)!;
  const msg = s.mode ? modeOutcome(mode, s.mode, false).msg : undefined;
  return { ...(msg !== undefined ? { msg } : {}), queries: [shown] };
}

/** The apply of a mode: its one statement (the real password in the heredoc on stdin), as the login. */
export function modeApply(p: MysqlReplicationParams, mode: Mode, prep: MysqlReplicationPrep, s: MysqlReplicationState): string {
  const sql = modeSql(mode, p, prep.password?.reveal(), replicaTerm(s.version));
  const cleanup = loginCleanup(prep.login);
  return [
    'set -e',
    FIND_CLIENT,
    '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
    ...(cleanup ? [loginPrelude(prep.login), `trap '${cleanup.replace(/'/g, "'\\''")}' EXIT`] : []),
    ...(sql ? [runSql(`${sql};`).trimEnd()] : []),
  ].join('\n');
}

export function mysqlReplicationPlan(
  p: MysqlReplicationParams,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  _ctx?: ModuleContext,
): Planned<MysqlReplicationOp>[] {
  if (p.mode !== undefined) return modePlan(p, p.mode, prep, s, _ctx?.check ?? false);
  const seedNote = p.seed_databases?.length ? `seed ${p.seed_databases.join(', ')} from ${p.primary_host} if empty, then ` : '';
  if (unknownState(s)) {
    // Seeds whenever seed_databases is set: the server could not be looked at.
    return [
      {
        summary: `${seedNote}replicate from ${source(p)} with GTID (${notReachable(s)})`,
        unpredictable: true,
        op: { kind: 'configure', seed: Boolean(seedNote) },
      },
    ];
  }
  if (s.version?.flavor === 'mysql' && needsSeed(p, s)) {
    throw new Error('seeding a MySQL replica is not implemented (only MariaDB); seed it by hand or leave seed_databases unset');
  }
  if (!s.status.configured) {
    if (needsSeed(p, s)) {
      return [
        {
          summary: `seed ${p.seed_databases!.join(', ')} from ${p.primary_host} (consistent snapshot, mariadb-dump --single-transaction --gtid), then replicate from ${source(p)} with GTID`,
          op: { kind: 'configure', seed: true },
        },
      ];
    }
    // A former primary (a switchover's old primary, a failed primary back): its own binary log
    // holds its whole history, its gtid_slave_pos only what it once replicated. It replicates
    // from its binary log's position (MariaDB's documented way to turn a primary into a replica);
    // a GTID the new primary lacks (an errant transaction) then stops the IO thread with error
    // 1236, reported by the verify below — never merged or dropped silently.
    if (formerPrimary(s))
      return [
        {
          summary: `replicate from ${source(p)} with GTID, from this server's own binary log position ${s.gtidBinlogPos} (it was a primary: gtid_slave_pos ${s.gtidSlavePos || '(empty)'} → ${s.gtidBinlogPos})`,
          op: { kind: 'configure', seed: false, fromBinlog: true },
        },
      ];
    return [
      {
        summary: `replicate from ${source(p)} with GTID${s.gtidSlavePos ? ` (from position ${s.gtidSlavePos})` : ''}`,
        op: { kind: 'configure', seed: false },
      },
    ];
  }
  const diffs = sourceDifferences(p, prep, s);
  if (diffs.length)
    return [{ summary: `change replication source: ${diffs.join(', ')} (stop, change, start)`, op: { kind: 'change_source' } }];
  const broken = brokenReason(s.status);
  if (broken)
    throw new Error(`replication from ${s.status.host}:${s.status.port} is broken on this replica:\n${broken}${errantHint(s.status)}`);
  if (!healthy(s.status))
    return [
      { summary: `start replication from ${source(p)} (IO thread: ${s.status.io}, SQL thread: ${s.status.sql})`, op: { kind: 'start' } },
    ];
  return [];
}

/** The SQL (without the seed's shell) for the planned op; pure, unit-tested for every dialect. */
export function mysqlReplicationSql(
  p: MysqlReplicationParams,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  ops: MysqlReplicationOp[],
  d: ReplicationDialect = dialectOf(s),
): string[] {
  const op = ops[0];
  if (!op) return [];
  if (op.kind === 'mode') {
    const sql = modeSql(op.mode, p, prep.password?.reveal(), replicaTerm(s.version));
    return sql ? [`${sql};`] : [];
  }
  const spec = {
    host: p.primary_host!,
    port: port(p),
    user: p.primary_user!,
    password: prep.password!.reveal(),
    connectRetry: p.connect_retry,
    ssl: p.primary_ssl,
    sslCa: p.primary_ssl_ca,
    sslVerifyServerCert: p.primary_ssl_verify_server_cert,
  };
  switch (op.kind) {
    case 'start':
      return [startSql(d)];
    case 'change_source':
      return [stopSql(d), changeSourceSql(d, spec), startSql(d)];
    case 'configure':
      return [...(op.fromBinlog ? ['SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;'] : []), changeSourceSql(d, spec), startSql(d)];
  }
}

/** Option file for the dump client: [client] with host, port, user, password (quoted). */
export function clientOptionFile(p: MysqlReplicationParams, prep: MysqlReplicationPrep): string {
  const v = (x: string) => `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const tls = [
    ...(p.primary_ssl ? ['ssl'] : []),
    ...(p.primary_ssl && p.primary_ssl_ca ? [`ssl-ca=${v(p.primary_ssl_ca)}`] : []),
    ...(p.primary_ssl && p.primary_ssl_verify_server_cert ? ['ssl-verify-server-cert'] : []),
  ].map((l) => `${l}\n`);
  return `[client]\nhost=${v(p.primary_host!)}\nport=${port(p)}\nuser=${v(p.primary_user!)}\npassword=${v(prep.password!.reveal())}\n${tls.join('')}`;
}

export function mysqlReplicationApply(
  p: MysqlReplicationParams,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  ops: MysqlReplicationOp[],
): string {
  const first = ops[0];
  if (first?.kind === 'mode') return modeApply(p, first.mode, prep, s);
  const d = dialectOf(s);
  const cleanup = loginCleanup(prep.login);
  const lines = ['set -e', FIND_CLIENT, '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }'];
  if (cleanup) lines.push(loginPrelude(prep.login), `trap '${cleanup.replace(/'/g, "'\\''")}' EXIT`);
  const seeding = ops.some((op) => op.kind === 'configure' && op.seed);
  if (seeding) {
    const dbs = p.seed_databases!.map(q).join(' ');
    lines.push(
      'kiln_dump=$(command -v mariadb-dump 2>/dev/null || command -v mysqldump)',
      'umask 077',
      'kiln_t=$(mktemp -d /root/.kiln-seed.XXXXXX)',
      `trap 'rm -rf "$kiln_t"${cleanup ? '; if [ -n "$kiln_lt" ]; then rm -rf "$kiln_lt"; fi' : ''}' EXIT`,
      // The credentials travel in a 0600 option file, never in argv. A scratch file in the private
      // directory made above (removed on exit), not a managed file: no atomicWrite needed.
      writeBytes('"$kiln_t/client.cnf"', clientOptionFile(p, prep)).trimEnd(),
      `"$kiln_dump" --defaults-extra-file="$kiln_t/client.cnf" --single-transaction --gtid --master-data=2 --triggers --databases ${dbs} > "$kiln_t/dump.sql"`,
      `kiln_pos=$(sed -n "s/^-- SET GLOBAL gtid_slave_pos='\\([0-9,-]*\\)';$/\\1/p" "$kiln_t/dump.sql" | head -n 1)`,
      'grep -q "^-- SET GLOBAL gtid_slave_pos=" "$kiln_t/dump.sql" || { echo "the dump has no GTID position (is the primary writing a binary log?)" >&2; exit 3; }',
      // Loaded outside the binary log: the copy must not get this server's own GTIDs.
      `{ echo 'SET SESSION sql_log_bin = 0;'; cat "$kiln_t/dump.sql"; } | "$kiln_my" --protocol=socket --batch`,
      `printf "SET GLOBAL gtid_slave_pos = '%s';\\n" "$kiln_pos" | "$kiln_my" --protocol=socket --batch`,
      'echo "seeded at GTID position $kiln_pos"',
    );
  }
  lines.push(runSql(mysqlReplicationSql(p, prep, s, ops, d).join('\n')).trimEnd());
  const statusCmd = runSql(statusSql(d), { header: true });
  lines.push(waitForThreads(d, statusCmd));
  return lines.join('\n');
}

export function mysqlReplicationVerify(p: MysqlReplicationParams, prep: MysqlReplicationPrep, s: MysqlReplicationState): string[] {
  // A mode is an action (a statement run once): there is no state to converge to.
  if (p.mode !== undefined) return [];
  try {
    return mysqlReplicationPlan(p, prep, s).map((c) => c.summary);
  } catch (err) {
    return [(err as Error).message];
  }
}

export default defineModule<MysqlReplicationParams, MysqlReplicationState, MysqlReplicationOp, MysqlReplicationPrep>({
  name: 'mysql_replication',
  description:
    "Without mode: make this MariaDB/MySQL server a GTID replica of a primary (seeded from a consistent snapshot when empty, the source changed only when it differs, a healthy replica never restarted). With mode: community.mysql's modes (getprimary, getreplica, changeprimary, startreplica, stopreplica, resetprimary, resetreplica, resetreplicaall) with Ansible's results.",
  schema,
  prepare: (p) => mysqlReplicationPrep(p),
  probe: (p, prep) => mysqlReplicationProbe(p, prep),
  parse: (out) => mysqlReplicationParse(out),
  plan: mysqlReplicationPlan,
  apply: mysqlReplicationApply,
  verify: mysqlReplicationVerify,
  note: (p, _prep, s) =>
    p.mode === undefined && s.status.configured
      ? `replicating from ${s.status.host}:${s.status.port}: IO ${s.status.io}, SQL ${s.status.sql}, ${s.status.secondsBehind ?? '?'}s behind the primary (gtid ${s.gtidSlavePos || '-'})`
      : undefined,
  registerData: (p, prep, s) =>
    p.mode !== undefined
      ? modeResult(p, p.mode, prep, s)
      : {
          primary_host: s.status.host ?? null,
          primary_port: s.status.port ?? null,
          primary_user: s.status.user ?? null,
          io_running: s.status.io,
          sql_running: s.status.sql,
          seconds_behind_master: s.status.secondsBehind,
          using_gtid: s.status.gtidMode ?? null,
          gtid_slave_pos: s.gtidSlavePos ?? null,
          read_only: s.readOnly ?? null,
          last_io_error: s.status.ioError ?? null,
          last_sql_error: s.status.sqlError ?? null,
          ssl_allowed: s.status.sslAllowed ?? null,
          ssl_ca: s.status.sslCa || null,
          ssl_verify_server_cert: s.status.sslVerify ?? null,
          server_version: s.version?.raw ?? null,
        },
});
