/**
 * `mysql_fence` (Kiln's own module): fence a MariaDB server so it takes no more writes — the
 * first step of a switchover, and what every server is at boot (61-kiln-runtime.cnf says
 * read_only = ON; only the writer a run has chosen is made writable).
 *
 * Probe: read_only, gtid_binlog_pos (registered: after the fence, the position a promoted
 * replica must have applied), the sessions of `kill_users` (their ids; never the replication threads, the
 * `system user`, `Binlog Dump` sessions of replicas, nor this connection), and whether one of
 * `kill_users` holds a privilege that bypasses read_only (SUPER, READ_ONLY ADMIN).
 *
 * Plan:
 * - read_only OFF: SET GLOBAL read_only = ON, then KILL CONNECTION each session of `kill_users`
 *   (pooled connections reconnect; once read_only is on their writes are refused);
 * - read_only ON: converged (a session of an account without READ_ONLY ADMIN cannot write to a
 *   read-only server, so nothing is killed: a second run is a no-op);
 * - one of `kill_users` may bypass read_only: the task fails (fencing could not stop it).
 *
 * Invariants: user names reach SQL only as string literals; session ids only as numbers checked
 * by the shell before KILL; `apply` acts on the typed op only.
 */
import {
  FIND_CLIENT,
  loginOf,
  loginSetup,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  runSql,
  type ServerProbe,
  sqlString,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['kill_users'],
  properties: {
    kill_users: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 80, pattern: "^[^\\n']+$" },
      description:
        "accounts (user names) whose sessions are killed when the server is fenced (the application's); never replication threads nor the system user. Each must lack SUPER and READ_ONLY ADMIN (read_only would not stop it): otherwise the task fails",
    },
    ...LOGIN_PROPERTIES,
  },
} as const;

export type MysqlFenceParams = FromSchema<typeof schema>;

export type MysqlFenceOp = { kind: 'fence' };

export interface MysqlFenceState extends ServerProbe {
  readOnly?: boolean;
  /** Session ids of kill_users (at probe time). */
  sessions: string[];
  /** 'user'@'host' accounts among kill_users that bypass read_only. */
  bypass: string[];
  /** The binary log's GTID position: after the fence, every write this server will ever have taken. */
  gtidBinlogPos?: string;
}

/** Threads that are never killed: replication and the server's own. */
const SPARED_COMMANDS = ['Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Daemon'];

export function sessionsSql(users: readonly string[]): string {
  return (
    `SELECT ID FROM information_schema.PROCESSLIST WHERE USER IN (${users.map(sqlString).join(', ')}) ` +
    `AND USER <> 'system user' AND COMMAND NOT IN (${SPARED_COMMANDS.map(sqlString).join(', ')}) AND ID <> CONNECTION_ID();`
  );
}

export function bypassSql(users: readonly string[]): string {
  const grantees = users.map((u) => `GRANTEE LIKE ${sqlString(`'${u.replace(/[\\%_]/g, (c) => `\\${c}`)}'@%`)}`).join(' OR ');
  return `SELECT CONCAT('bypass=', GRANTEE, ' ', PRIVILEGE_TYPE) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN') AND (${grantees});`;
}

export function mysqlFenceProbe(p: MysqlFenceParams): string {
  const common = ["SELECT CONCAT('read_only=', @@GLOBAL.read_only);", "SELECT CONCAT('gtid_binlog_pos=', @@GLOBAL.gtid_binlog_pos);"];
  if (!p.kill_users.length) return probeFrame(runSql(common.join('\n')), loginOf(p));
  return probeFrame(
    runSql(
      [...common, sessionsSql(p.kill_users).replace(/^SELECT ID /, "SELECT CONCAT('session=', ID) "), bypassSql(p.kill_users)].join('\n'),
    ),
    loginOf(p),
  );
}

export function mysqlFenceParse(out: ExecResult): MysqlFenceState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  return {
    ...server,
    readOnly: kv.read_only === undefined ? undefined : kv.read_only === '1' || kv.read_only === 'ON',
    sessions: all.session ?? [],
    bypass: all.bypass ?? [],
    gtidBinlogPos: kv.gtid_binlog_pos,
  };
}

const who = (p: MysqlFenceParams) => (p.kill_users.length ? p.kill_users.join(', ') : '(no account listed)');

export function mysqlFencePlan(p: MysqlFenceParams, _prep: undefined, s: MysqlFenceState, _ctx?: ModuleContext): Planned<MysqlFenceOp>[] {
  if (s.server !== 'up')
    return [
      {
        summary: `fence: read_only → ON, kill the sessions of ${who(p)} (${notReachable(s)})`,
        unpredictable: true,
        op: { kind: 'fence' },
      },
    ];
  if (s.bypass.length)
    throw new Error(
      `cannot fence this server against ${s.bypass.join(', ')}: that privilege bypasses read_only (revoke it; an application account needs neither SUPER nor READ_ONLY ADMIN)`,
    );
  if (s.readOnly) return [];
  return [
    {
      summary: `fence: read_only OFF → ON, kill ${s.sessions.length} session(s) of ${who(p)} (replication threads left alone)`,
      op: { kind: 'fence' },
    },
  ];
}

export function mysqlFenceApply(p: MysqlFenceParams, _prep: undefined, _s: MysqlFenceState, ops: MysqlFenceOp[]): string {
  if (!ops.some((o) => o.kind === 'fence')) return 'true';
  const lines = [
    'set -e',
    FIND_CLIENT,
    '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
    loginSetup(loginOf(p)),
    runSql('SET GLOBAL read_only = 1;').trimEnd(),
  ].filter(Boolean);
  if (p.kill_users.length) {
    lines.push(
      `kiln_ids=$(${runSql(sessionsSql(p.kill_users)).trimEnd()}`,
      ')',
      'kiln_n=0',
      'for kiln_id in $kiln_ids; do',
      '  case "$kiln_id" in *[!0-9]*|"") continue;; esac',
      // A session may end on its own meanwhile: an unknown thread id is not an error here.
      '  printf \'KILL CONNECTION %s;\\n\' "$kiln_id" | "$kiln_my" --protocol=socket --batch 2>/dev/null && kiln_n=$((kiln_n+1)) || true',
      'done',
      'echo "read_only on; killed $kiln_n session(s)"',
    );
  }
  return lines.join('\n');
}

export default defineModule<MysqlFenceParams, MysqlFenceState, MysqlFenceOp>({
  name: 'mysql_fence',
  description:
    "Fence a MariaDB/MySQL server (Kiln's own module): read_only ON and the listed accounts' sessions killed (never replication threads); converged once read_only is on.",
  schema,
  probe: (p) => mysqlFenceProbe(p),
  parse: (out) => mysqlFenceParse(out),
  plan: mysqlFencePlan,
  apply: mysqlFenceApply,
  registerAfterApply: true,
  registerData: (_p, _prep, s) => ({
    read_only: s.readOnly ?? null,
    sessions: s.sessions.length,
    gtid_binlog_pos: s.gtidBinlogPos ?? null,
  }),
});
