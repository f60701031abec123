/**
 * `mysql_promote` (Kiln's own module): make this MariaDB replica the writer — the promotion step
 * of a switchover or a failover.
 *
 * Probe: read_only, SHOW SLAVE STATUS (the source, Gtid_IO_Pos), gtid_slave_pos, gtid_current_pos.
 *
 * Plan:
 * - still a replica (a source configured) or read_only ON: promote —
 *   1. wait (MASTER_GTID_WAIT, at most `wait_timeout` s) until this server has applied
 *      `wait_gtid`: a GTID position (the fenced primary's gtid_binlog_pos, in a switchover), or
 *      `received` (failover: the IO thread is stopped first, then everything it received — the
 *      relay log — must be applied); a timeout fails the task and promotes nothing;
 *   2. STOP SLAVE, RESET SLAVE ALL (this server forgets its source);
 *   3. SET GLOBAL read_only = OFF;
 * - no source and read_only OFF: converged (a second run is a no-op).
 *
 * Invariants: a GTID position reaches SQL only after the schema's pattern (or, for `received`,
 * the shell's check of the characters); `apply` acts on the typed op only.
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
import { parseStatus, replicaStatus, type ReplicaStatus } from './replication.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait_gtid: {
      type: 'string',
      pattern: '^(received|[0-9,\\- ]*)$',
      description:
        "before promoting, wait until this server has applied this GTID position (e.g. the fenced primary's gtid_binlog_pos), or `received`: stop the IO thread and apply everything already received (the relay log; a failover, the primary being gone). Empty or left out: no wait",
    },
    wait_timeout: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      description: 'seconds the wait may take (default 60); past them the task fails and nothing is promoted',
    },
    ...LOGIN_PROPERTIES,
  },
} as const;

export type MysqlPromoteParams = FromSchema<typeof schema>;

export type MysqlPromoteOp = { kind: 'promote' };

export interface MysqlPromoteState extends ServerProbe {
  readOnly?: boolean;
  status: ReplicaStatus;
  gtidSlavePos?: string;
  gtidCurrentPos?: string;
  gtidIoPos?: string;
}

export function mysqlPromoteProbe(p: MysqlPromoteParams): string {
  return probeFrame(
    [
      runSql(
        [
          "SELECT CONCAT('read_only=', @@GLOBAL.read_only);",
          "SELECT CONCAT('gtid_slave_pos=', @@GLOBAL.gtid_slave_pos);",
          "SELECT CONCAT('gtid_current_pos=', @@GLOBAL.gtid_current_pos);",
        ].join('\n'),
      ).trimEnd(),
      `kiln_s=$(${runSql('SHOW SLAVE STATUS;', { header: true }).trimEnd()}`,
      `) && printf '%s\\n' "$kiln_s" | sed -n -e '1s/^/status_head=/p' -e '2s/^/status_row=/p'`,
    ].join('\n'),
    loginOf(p),
  );
}

export function mysqlPromoteParse(out: ExecResult): MysqlPromoteState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  const raw = parseStatus(kv.status_head, kv.status_row);
  return {
    ...server,
    readOnly: kv.read_only === undefined ? undefined : kv.read_only === '1' || kv.read_only === 'ON',
    status: replicaStatus(raw),
    gtidSlavePos: kv.gtid_slave_pos,
    gtidCurrentPos: kv.gtid_current_pos,
    gtidIoPos: raw.Gtid_IO_Pos,
  };
}

const timeout = (p: MysqlPromoteParams) => p.wait_timeout ?? 60;

function waitNote(p: MysqlPromoteParams): string {
  if (!p.wait_gtid) return '';
  return p.wait_gtid === 'received'
    ? `stop the IO thread and apply the relay log (everything received, at most ${timeout(p)}s), `
    : `wait until GTID ${p.wait_gtid} is applied (at most ${timeout(p)}s), `;
}

export function mysqlPromotePlan(
  p: MysqlPromoteParams,
  _prep: undefined,
  s: MysqlPromoteState,
  _ctx?: ModuleContext,
): Planned<MysqlPromoteOp>[] {
  if (s.server !== 'up')
    return [
      {
        summary: `promote to writer: ${waitNote(p)}stop replication, read_only → OFF (${notReachable(s)})`,
        unpredictable: true,
        op: { kind: 'promote' },
      },
    ];
  if (!s.status.configured && s.readOnly === false) return [];
  const from = s.status.configured ? `stop replication from ${s.status.host}:${s.status.port}, RESET SLAVE ALL, ` : '';
  return [
    {
      summary: `promote to writer: ${waitNote(p)}${from}read_only ${s.readOnly ? 'ON' : 'OFF'} → OFF (at GTID ${s.gtidCurrentPos || '-'})`,
      op: { kind: 'promote' },
    },
  ];
}

/** Shell: SELECT MASTER_GTID_WAIT(pos, t) must answer 0, else exit 1 with the positions. */
function waitShell(posExpr: string, seconds: number): string {
  return [
    `kiln_w=$(printf "SELECT MASTER_GTID_WAIT('%s', ${seconds});\\n" ${posExpr} | "$kiln_my" --protocol=socket --batch --skip-column-names)`,
    'if [ "$kiln_w" != 0 ]; then',
    `  kiln_at=$(${runSql('SELECT @@GLOBAL.gtid_slave_pos;').trimEnd()}`,
    '  )',
    `  echo "not promoted: GTID position ${'$'}{kiln_wp} not applied within ${seconds}s (this server is at $kiln_at); it is still a read-only replica" >&2`,
    '  exit 1',
    'fi',
  ].join('\n');
}

export function mysqlPromoteApply(p: MysqlPromoteParams, _prep: undefined, s: MysqlPromoteState, ops: MysqlPromoteOp[]): string {
  if (!ops.some((o) => o.kind === 'promote')) return 'true';
  const lines = [
    'set -e',
    FIND_CLIENT,
    '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
    loginSetup(loginOf(p)),
  ].filter(Boolean);
  // A server that was never a replica (or was reset) has nothing to wait for nor to stop.
  const replica = s.server !== 'up' || s.status.configured;
  if (replica && p.wait_gtid === 'received') {
    lines.push(
      runSql('STOP SLAVE IO_THREAD;').trimEnd(),
      `kiln_wp=$(${runSql('SHOW SLAVE STATUS;', { header: true }).trimEnd()}`,
      `)`,
      `kiln_wp=$(printf '%s\\n' "$kiln_wp" | awk -F'\\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{print $h["Gtid_IO_Pos"]}')`,
      'case "$kiln_wp" in *[!0-9,-]*) echo "unexpected Gtid_IO_Pos: $kiln_wp" >&2; exit 1;; esac',
      'if [ -n "$kiln_wp" ]; then',
      waitShell('"$kiln_wp"', timeout(p)),
      'fi',
    );
  } else if (replica && p.wait_gtid) {
    const pos = p.wait_gtid.replace(/\s+/g, '');
    lines.push(`kiln_wp=${sqlString(pos)}`, waitShell('"$kiln_wp"', timeout(p)));
  }
  lines.push(runSql([...(replica ? ['STOP SLAVE;', 'RESET SLAVE ALL;'] : []), 'SET GLOBAL read_only = 0;'].join('\n')).trimEnd());
  lines.push(`${runSql("SELECT CONCAT('promoted at GTID ', @@GLOBAL.gtid_current_pos);").trimEnd()}`);
  return lines.join('\n');
}

export default defineModule<MysqlPromoteParams, MysqlPromoteState, MysqlPromoteOp>({
  name: 'mysql_promote',
  description:
    "Promote this MariaDB replica to writer (Kiln's own module): wait until a GTID position (or its relay log) is applied, stop and forget replication, read_only OFF; converged once it has no source and is writable.",
  schema,
  probe: (p) => mysqlPromoteProbe(p),
  parse: (out) => mysqlPromoteParse(out),
  plan: mysqlPromotePlan,
  apply: mysqlPromoteApply,
  registerAfterApply: true,
  registerData: (_p, _prep, s) => ({
    read_only: s.readOnly ?? null,
    replicating_from: s.status.host ?? null,
    gtid_current_pos: s.gtidCurrentPos ?? null,
    gtid_slave_pos: s.gtidSlavePos ?? null,
  }),
});
