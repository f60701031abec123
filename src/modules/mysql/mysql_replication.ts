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
  FIND_CLIENT,
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
} from './sql.ts';
import { Secret } from '../../core/secret/secret.ts';
import { q } from '../../sh/quote.ts';
import { sha256, writeBytes } from '../../sh/bytes.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['primary_host', 'primary_user', 'primary_password'],
  properties: {
    primary_host: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9_.:-]+$',
      description: 'address or name of the primary (source) server',
    },
    primary_port: { type: 'integer', minimum: 1, maximum: 65535, description: 'its port (default 3306)' },
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
  password: Secret;
}

/**
 * What apply does (one op per plan):
 * - `configure`: never replicated: (when `seed`, copy the databases from a snapshot first,) set the source, start;
 * - `change_source`: another source: stop, set the source, start;
 * - `start`: the same source, stopped without an error: start.
 */
export type MysqlReplicationOp = { kind: 'configure'; seed: boolean } | { kind: 'change_source' } | { kind: 'start' };

export interface MysqlReplicationState extends ServerProbe {
  status: ReplicaStatus;
  gtidSlavePos?: string;
  gtidBinlogPos?: string;
  readOnly?: boolean;
  /** Which of seed_databases exist here. */
  presentDbs: string[];
  /** sha256 of the stored replication password, when readable. */
  passwordSha?: string;
}

const port = (p: MysqlReplicationParams) => p.primary_port ?? 3306;

export function mysqlReplicationPrep(p: MysqlReplicationParams): MysqlReplicationPrep {
  return { password: new Secret(revealParam(p.primary_password), 'primary_password') };
}
const source = (p: MysqlReplicationParams) => `${p.primary_host}:${port(p)} as ${p.primary_user}`;

/** How long the probe waits for an IO thread that is reconnecting to its source: one retry interval and 5 s. */
const reconnectWait = (p: MysqlReplicationParams) => (p.connect_retry ?? 10) + 5;

export function mysqlReplicationProbe(p: MysqlReplicationParams): string {
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
  );
}

export function mysqlReplicationParse(out: ExecResult): MysqlReplicationState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  const status = replicaStatus(parseStatus(kv.status_head, kv.status_row));
  if (server.server !== 'up') return { ...server, status, presentDbs: [] };
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

/** What differs between the configured source and the wanted one ([] = the same). */
export function sourceDifferences(p: MysqlReplicationParams, prep: MysqlReplicationPrep, s: MysqlReplicationState): string[] {
  const st = s.status;
  const out: string[] = [];
  if (st.host !== p.primary_host) out.push(`host ${st.host} → ${p.primary_host}`);
  if (st.port !== port(p)) out.push(`port ${st.port} → ${port(p)}`);
  if (st.user !== p.primary_user) out.push(`user ${st.user} → ${p.primary_user}`);
  const gm = wantedGtidMode(dialectOf(s));
  if (st.gtidMode !== undefined && st.gtidMode !== gm) out.push(`GTID mode ${st.gtidMode} → ${gm}`);
  if (s.passwordSha && s.passwordSha !== sha256(prep.password.reveal())) out.push('password');
  return out;
}

export function mysqlReplicationPlan(
  p: MysqlReplicationParams,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  _ctx?: ModuleContext,
): Planned<MysqlReplicationOp>[] {
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
  if (broken) throw new Error(`replication from ${s.status.host}:${s.status.port} is broken on this replica:\n${broken}`);
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
  const spec = {
    host: p.primary_host,
    port: port(p),
    user: p.primary_user,
    password: prep.password.reveal(),
    connectRetry: p.connect_retry,
  };
  switch (op.kind) {
    case 'start':
      return [startSql(d)];
    case 'change_source':
      return [stopSql(d), changeSourceSql(d, spec), startSql(d)];
    case 'configure':
      return [changeSourceSql(d, spec), startSql(d)];
  }
}

/** Option file for the dump client: [client] with host, port, user, password (quoted). */
export function clientOptionFile(p: MysqlReplicationParams, prep: MysqlReplicationPrep): string {
  const v = (x: string) => `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `[client]\nhost=${v(p.primary_host)}\nport=${port(p)}\nuser=${v(p.primary_user)}\npassword=${v(prep.password.reveal())}\n`;
}

export function mysqlReplicationApply(
  p: MysqlReplicationParams,
  prep: MysqlReplicationPrep,
  s: MysqlReplicationState,
  ops: MysqlReplicationOp[],
): string {
  const d = dialectOf(s);
  const lines = ['set -e', FIND_CLIENT, '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }'];
  const seeding = ops.some((op) => op.kind === 'configure' && op.seed);
  if (seeding) {
    const dbs = p.seed_databases!.map(q).join(' ');
    lines.push(
      'kiln_dump=$(command -v mariadb-dump 2>/dev/null || command -v mysqldump)',
      'umask 077',
      'kiln_t=$(mktemp -d /root/.kiln-seed.XXXXXX)',
      'trap \'rm -rf "$kiln_t"\' EXIT',
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
  try {
    return mysqlReplicationPlan(p, prep, s).map((c) => c.summary);
  } catch (err) {
    return [(err as Error).message];
  }
}

export default defineModule<MysqlReplicationParams, MysqlReplicationState, MysqlReplicationOp, MysqlReplicationPrep>({
  name: 'mysql_replication',
  description:
    'Make this MariaDB/MySQL server a GTID replica of a primary: seeded from a consistent snapshot when empty, the source changed only when it differs, a healthy replica never restarted.',
  schema,
  prepare: (p) => mysqlReplicationPrep(p),
  probe: (p) => mysqlReplicationProbe(p),
  parse: (out) => mysqlReplicationParse(out),
  plan: mysqlReplicationPlan,
  apply: mysqlReplicationApply,
  verify: mysqlReplicationVerify,
  note: (_p, _prep, s) =>
    s.status.configured
      ? `replicating from ${s.status.host}:${s.status.port}: IO ${s.status.io}, SQL ${s.status.sql}, ${s.status.secondsBehind ?? '?'}s behind the primary (gtid ${s.gtidSlavePos || '-'})`
      : undefined,
  registerData: (_p, _prep, s) => ({
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
    server_version: s.version?.raw ?? null,
  }),
});
