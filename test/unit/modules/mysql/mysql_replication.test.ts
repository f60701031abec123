import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import mysqlReplication, {
  clientOptionFile as optionFile,
  mysqlReplicationApply as applyFor,
  type MysqlReplicationOp,
  type MysqlReplicationParams,
  mysqlReplicationParse,
  mysqlReplicationPlan as plan,
  mysqlReplicationPrep as prepOf,
  mysqlReplicationSql as sqlFor,
  type MysqlReplicationState,
} from '../../../../src/modules/mysql/mysql_replication.ts';
import { outsideHeredocs, shSyntax } from '../helpers.ts';
import { expectApplyIgnoresSummaries, secretParam as secret } from './ops.ts';

// The v2 functions take the prepared data (the password as a Secret) and the ops; these keep the cases short.
type Planned = { op: MysqlReplicationOp }[];
const mysqlReplicationPlan = (p: MysqlReplicationParams, s: MysqlReplicationState) => plan(p, prepOf(p), s);
const mysqlReplicationSql = (p: MysqlReplicationParams, s: MysqlReplicationState, changes: Planned) =>
  sqlFor(
    p,
    prepOf(p),
    s,
    changes.map((c) => c.op),
  );
const mysqlReplicationApply = (p: MysqlReplicationParams, s: MysqlReplicationState, changes: Planned) =>
  applyFor(
    p,
    prepOf(p),
    s,
    changes.map((c) => c.op),
  );
const clientOptionFile = (p: MysqlReplicationParams) => optionFile(p, prepOf(p));

// Probe output recorded on the lab: db2 replicating from db1 (MariaDB 10.11), converged.
const RECORDED = readFileSync(join(import.meta.dirname, 'fixtures/replica-probe.txt'), 'utf8');
const PW = 'kiln-lab-repl-password';
const p: MysqlReplicationParams = {
  primary_host: '10.77.0.31',
  primary_user: 'repl',
  primary_password: secret(PW),
  seed_databases: ['app'],
};
const recorded = () => mysqlReplicationParse({ stdout: RECORDED, stderr: '', code: 0 });
const withStatus = (over: Record<string, string>): MysqlReplicationState => {
  const s = recorded();
  return { ...s, status: { ...s.status, ...over } } as MysqlReplicationState;
};
const fresh: MysqlReplicationState = {
  server: 'up',
  version: { flavor: 'mariadb', major: 10, minor: 11, patch: 19, raw: '10.11.19-MariaDB' },
  status: { configured: false, io: 'No', sql: 'No', secondsBehind: null },
  gtidSlavePos: '',
  presentDbs: [],
};

describe('mysql_replication', () => {
  it('reads the recorded state: source, threads, lag, GTID position, password digest', () => {
    const s = recorded();
    expect(s.status).toMatchObject({
      configured: true,
      host: '10.77.0.31',
      port: 3306,
      user: 'repl',
      io: 'Yes',
      sql: 'Yes',
      secondsBehind: 0,
      gtidMode: 'Slave_Pos',
    });
    expect(s.gtidSlavePos).toBe('0-31-1');
    expect(s.readOnly).toBe(true);
    expect(s.presentDbs).toEqual(['app']);
    expect(s.passwordSha).toMatch(/^[0-9a-f]{64}$/);
    expect(mysqlReplication.registerData!(p, prepOf(p), s)).toMatchObject({
      seconds_behind_master: 0,
      io_running: 'Yes',
      sql_running: 'Yes',
      gtid_slave_pos: '0-31-1',
    });
    // Shown with the "ok" result in the run output.
    expect(mysqlReplication.note!(p, prepOf(p), s)).toBe(
      'replicating from 10.77.0.31:3306: IO Yes, SQL Yes, 0s behind the primary (gtid 0-31-1)',
    );
    expect(mysqlReplication.note!(p, prepOf(p), fresh)).toBeUndefined();
  });
  it('a healthy replica of the same source is ok: never reset, never restarted', () => {
    expect(mysqlReplicationPlan(p, recorded())).toEqual([]);
    // Still connecting without an error (just started): not touched either.
    expect(mysqlReplicationPlan(p, withStatus({ io: 'Connecting' }))).toEqual([]);
  });
  it('changes the source only when it differs (host, port, user, password)', () => {
    const other = { ...p, primary_host: '10.77.0.33', primary_password: secret('new-repl-pw') };
    const changes = mysqlReplicationPlan(other, recorded());
    expect(changes.map((c) => c.summary)).toEqual([
      'change replication source: host 10.77.0.31 → 10.77.0.33, password (stop, change, start)',
    ]);
    expect(mysqlReplicationSql(other, recorded(), changes)).toEqual([
      'STOP SLAVE;',
      "CHANGE MASTER TO MASTER_HOST = '10.77.0.33', MASTER_PORT = 3306, MASTER_USER = 'repl', MASTER_PASSWORD = 'new-repl-pw', MASTER_CONNECT_RETRY = 10, MASTER_USE_GTID = slave_pos;",
      'START SLAVE;',
    ]);
    expect(JSON.stringify(changes)).not.toContain('new-repl-pw');
  });
  it('the same change for MySQL 8 uses CHANGE REPLICATION SOURCE TO and START REPLICA', () => {
    const s = { ...recorded(), version: { flavor: 'mysql' as const, major: 8, minor: 0, patch: 36, raw: '8.0.36' } };
    s.status = { ...s.status, gtidMode: 'Auto' };
    const other = { ...p, primary_port: 3307 };
    const changes = mysqlReplicationPlan(other, s);
    expect(changes.map((c) => c.summary)).toEqual(['change replication source: port 3306 → 3307 (stop, change, start)']);
    expect(mysqlReplicationSql(other, s, changes)).toEqual([
      'STOP REPLICA;',
      `CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.77.0.31', SOURCE_PORT = 3307, SOURCE_USER = 'repl', SOURCE_PASSWORD = '${PW}', SOURCE_CONNECT_RETRY = 10, SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1;`,
      'START REPLICA;',
    ]);
  });
  it('a broken replica fails the task with Last_SQL_Error / Last_IO_Error', () => {
    const broken = withStatus({
      sql: 'No',
      sqlError: "Could not execute Write_rows_v1 event on table app.t; Duplicate entry '7' for key 'PRIMARY'",
    });
    expect(() => mysqlReplicationPlan(p, broken)).toThrow(
      /is broken on this replica:\nSQL thread stopped: Last_SQL_Error: Could not execute Write_rows_v1 .*Duplicate entry '7'/,
    );
    const io = withStatus({
      io: 'Connecting',
      ioError: "error connecting to master 'repl@10.77.0.31:3306' - retry-time: 10  maximum-retries: 100000  message: Access denied",
    });
    expect(() => mysqlReplicationPlan(p, io)).toThrow(/IO thread connecting: Last_IO_Error: error connecting to master/);
  });
  it('a replica stopped without an error is started (no reset)', () => {
    const changes = mysqlReplicationPlan(p, withStatus({ io: 'No', sql: 'No' }));
    expect(changes.map((c) => c.summary)).toEqual(['start replication from 10.77.0.31:3306 as repl (IO thread: No, SQL thread: No)']);
    expect(mysqlReplicationSql(p, recorded(), changes)).toEqual(['START SLAVE;']);
  });
  it('an empty new replica is seeded from a snapshot first; one holding the database is not', () => {
    const changes = mysqlReplicationPlan(p, fresh);
    expect(changes.map((c) => c.summary)).toEqual([
      'seed app from 10.77.0.31 (consistent snapshot, mariadb-dump --single-transaction --gtid), then replicate from 10.77.0.31:3306 as repl with GTID',
    ]);
    const script = mysqlReplicationApply(p, fresh, changes);
    expect(shSyntax(script)).toBe('');
    expect(script).toContain('--single-transaction --gtid --master-data=2');
    expect(script).toContain('SET SESSION sql_log_bin = 0;');
    // The password is only inside heredocs (SQL on stdin, the 0600 option file as base64).
    expect(outsideHeredocs(script)).not.toContain(PW);
    expect(script).toContain('umask 077');
    expect(Buffer.from(clientOptionFile(p)).toString('base64')).not.toBe('');
    expect(clientOptionFile({ ...p, primary_password: secret('a"b\\c') })).toContain('password="a\\"b\\\\c"');
    const holding = mysqlReplicationPlan(p, { ...fresh, presentDbs: ['app'] });
    expect(holding.map((c) => c.summary)).toEqual(['replicate from 10.77.0.31:3306 as repl with GTID']);
  });
  it('dry run on a host without the server: exact when fresh, flagged unpredictable otherwise', () => {
    expect(
      mysqlReplicationPlan(p, { ...fresh, server: 'missing', fresh: true, version: undefined, gtidSlavePos: undefined })[0]!.unpredictable,
    ).toBeUndefined();
    expect(mysqlReplicationPlan(p, { ...fresh, server: 'down' })[0]!.unpredictable).toBe(true);
  });
  it('seeding a MySQL replica is refused clearly', () => {
    expect(() => mysqlReplicationPlan(p, { ...fresh, version: { flavor: 'mysql', major: 8, minor: 0, patch: 36, raw: '8.0.36' } })).toThrow(
      /MySQL replica is not implemented/,
    );
  });
  it('the probe is valid sh without the password', () => {
    const probe = mysqlReplication.probe(p, prepOf(p), {} as never);
    expect(shSyntax(probe)).toBe('');
    expect(probe).not.toContain(PW);
  });
  it('apply depends only on the ops: the same script with every summary reworded', () => {
    const seed = expectApplyIgnoresSummaries(mysqlReplication, p, prepOf(p), fresh);
    expect(seed).toContain('--single-transaction --gtid --master-data=2');
    expect(outsideHeredocs(seed)).not.toContain(PW);
    const other = { ...p, primary_host: '10.77.0.33' };
    expect(expectApplyIgnoresSummaries(mysqlReplication, other, prepOf(other), recorded())).toMatch(
      /STOP SLAVE;\nCHANGE MASTER TO MASTER_HOST = '10\.77\.0\.33'.*\nSTART SLAVE;/,
    );
    expect(expectApplyIgnoresSummaries(mysqlReplication, p, prepOf(p), withStatus({ io: 'No', sql: 'No' }))).not.toContain('CHANGE MASTER');
    // A server that cannot be looked at: seeded when seed_databases is set (as the summary says).
    const down = expectApplyIgnoresSummaries(mysqlReplication, p, prepOf(p), { ...fresh, server: 'down' });
    expect(down).toContain('mariadb-dump');
    expect(
      expectApplyIgnoresSummaries(mysqlReplication, { ...p, seed_databases: undefined }, prepOf(p), { ...fresh, server: 'down' }),
    ).not.toContain('mariadb-dump');
    for (const script of [seed, down]) expect(shSyntax(script)).toBe('');
  });
});
