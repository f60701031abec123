/**
 * Issue 19's modules (no host): mysql_fence (read_only ON + the application's sessions killed),
 * mysql_promote (GTID wait, stop and forget replication, writable), mysql_topology (the writer
 * and its promotion epoch, never lowered), and mysql_replica's former-primary path.
 */
import { describe, expect, it } from 'vitest';
import mysqlFence, { mysqlFenceParse, mysqlFencePlan, sessionsSql } from '../../../../src/modules/mysql/mysql_fence.ts';
import mysqlPromote, { mysqlPromoteParse, mysqlPromotePlan } from '../../../../src/modules/mysql/mysql_promote.ts';
import mysqlTopology, { mysqlTopologyParse, mysqlTopologyPlan, recordText } from '../../../../src/modules/mysql/mysql_topology.ts';
import {
  errantHint,
  formerPrimary,
  mysqlReplicationParse,
  mysqlReplicationPlan,
  mysqlReplicationSql,
  mysqlReplicationPrep,
} from '../../../../src/modules/mysql/mysql_replication.ts';
import { replicaStatus } from '../../../../src/modules/mysql/replication.ts';
import { ctx, shSyntax } from '../helpers.ts';
import { expectApplyIgnoresSummaries } from './ops.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const UP = 'mysql=up\nversion=10.11.6-MariaDB-0+deb12u1\n';
const STATUS_HEAD =
  'status_head=Slave_IO_State\tMaster_Host\tMaster_User\tMaster_Port\tSlave_IO_Running\tSlave_SQL_Running\tUsing_Gtid\tGtid_IO_Pos';
const statusRow = (host: string) => `status_row=Waiting\t${host}\trepl\t3306\tYes\tYes\tSlave_Pos\t0-31-42`;

describe('mysql_fence', () => {
  const p = { kill_users: ['kiln_app'] };
  it('writable: read_only ON and the sessions killed; read-only: converged (a second run is a no-op)', () => {
    const s = mysqlFenceParse(out(`${UP}read_only=0\ngtid_binlog_pos=0-31-42\nsession=12\nsession=15\n`));
    expect(s).toMatchObject({ readOnly: false, sessions: ['12', '15'], gtidBinlogPos: '0-31-42' });
    expect(mysqlFencePlan(p, undefined, s).map((c) => c.summary)).toEqual([
      'fence: read_only OFF → ON, kill 2 session(s) of kiln_app (replication threads left alone)',
    ]);
    const script = expectApplyIgnoresSummaries(mysqlFence, p, undefined, s);
    expect(script).toContain('SET GLOBAL read_only = 1;');
    expect(script.indexOf('SET GLOBAL read_only = 1;')).toBeLessThan(script.indexOf('KILL CONNECTION'));
    expect(shSyntax(script)).toBe('');
    const fenced = mysqlFenceParse(out(`${UP}read_only=1\ngtid_binlog_pos=0-31-42\nsession=20\n`));
    expect(mysqlFencePlan(p, undefined, fenced)).toEqual([]);
  });
  it('never kills replication threads, the system user or its own connection', () => {
    const sql = sessionsSql(['kiln_app']);
    expect(sql).toContain("USER IN ('kiln_app')");
    expect(sql).toContain("USER <> 'system user'");
    for (const c of ['Binlog Dump', 'Slave_IO', 'Slave_SQL']) expect(sql).toContain(`'${c}'`);
    expect(sql).toContain('ID <> CONNECTION_ID()');
  });
  it('an account that bypasses read_only makes the fence fail', () => {
    const s = mysqlFenceParse(out(`${UP}read_only=0\nbypass='kiln_app'@'10.0.0.5' READ_ONLY ADMIN\n`));
    expect(() => mysqlFencePlan(p, undefined, s)).toThrow(/cannot fence this server against 'kiln_app'@'10.0.0.5' READ_ONLY ADMIN/);
  });
  it('server down: unpredictable', () => {
    const s = mysqlFenceParse(out('mysql=down\nmysql_error=ERROR 2002\n'));
    expect(mysqlFencePlan(p, undefined, s)[0]!.unpredictable).toBe(true);
  });
});

describe('mysql_promote', () => {
  it('a replica: wait for the GTID, stop and reset replication, writable; then converged', () => {
    const p = { wait_gtid: '0-31-42', wait_timeout: 30 };
    const s = mysqlPromoteParse(
      out(`${UP}read_only=1\ngtid_slave_pos=0-31-40\ngtid_current_pos=0-31-40\n${STATUS_HEAD}\n${statusRow('10.77.0.31')}\n`),
    );
    expect(s.status.configured).toBe(true);
    expect(s.gtidIoPos).toBe('0-31-42');
    expect(mysqlPromotePlan(p, undefined, s).map((c) => c.summary)).toEqual([
      'promote to writer: wait until GTID 0-31-42 is applied (at most 30s), stop replication from 10.77.0.31:3306, RESET SLAVE ALL, read_only ON → OFF (at GTID 0-31-40)',
    ]);
    const script = expectApplyIgnoresSummaries(mysqlPromote, p, undefined, s);
    expect(script).toContain("MASTER_GTID_WAIT('%s', 30)");
    expect(script).toContain("kiln_wp='0-31-42'");
    const order = ['MASTER_GTID_WAIT', 'STOP SLAVE;', 'RESET SLAVE ALL;', 'SET GLOBAL read_only = 0;'].map((x) => script.indexOf(x));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(shSyntax(script)).toBe('');
    const done = mysqlPromoteParse(out(`${UP}read_only=0\ngtid_slave_pos=0-31-42\ngtid_current_pos=0-31-42\n`));
    expect(mysqlPromotePlan(p, undefined, done)).toEqual([]);
  });
  it('failover: received = the IO thread stopped, then everything it received applied', () => {
    const p = { wait_gtid: 'received' };
    const s = mysqlPromoteParse(
      out(`${UP}read_only=1\ngtid_slave_pos=0-31-40\ngtid_current_pos=0-31-40\n${STATUS_HEAD}\n${statusRow('10.77.0.31')}\n`),
    );
    const script = mysqlPromote.apply(p, undefined, s, [{ kind: 'promote' }], ctx());
    expect(script.indexOf('STOP SLAVE IO_THREAD;')).toBeLessThan(script.indexOf('MASTER_GTID_WAIT'));
    expect(script).toContain('Gtid_IO_Pos');
    expect(shSyntax(script)).toBe('');
  });
  it('the schema takes only GTID characters (they reach SQL)', () => {
    const pattern = new RegExp(mysqlPromote.schema.properties!.wait_gtid!.pattern as string);
    expect(pattern.test('0-31-42,1-32-7')).toBe(true);
    expect(pattern.test("0-31-42'); DROP")).toBe(false);
  });
});

describe('mysql_topology', () => {
  it('reads a record, or none', () => {
    expect(mysqlTopologyParse('topology_present=0\n')).toEqual({ present: false });
    expect(mysqlTopologyParse(`topology_present=1\n${recordText(3, 'db2')}`)).toEqual({ present: true, epoch: 3, primary: 'db2' });
  });
  it('writes a newer epoch, keeps the same, refuses a lower one or a second writer at the same epoch', () => {
    const s = { present: true, epoch: 2, primary: 'db1' };
    expect(mysqlTopologyPlan({}, s)).toEqual([]);
    expect(mysqlTopologyPlan({ epoch: 3, primary: 'db2' }, s).map((c) => c.summary)).toEqual([
      'topology record: epoch 2 → 3, primary db1 → db2',
    ]);
    expect(mysqlTopologyPlan({ epoch: 2, primary: 'db1' }, s)).toEqual([]);
    expect(() => mysqlTopologyPlan({ epoch: 1, primary: 'db1' }, s)).toThrow(/a lower epoch never overwrites a higher one/);
    expect(() => mysqlTopologyPlan({ epoch: 2, primary: 'db3' }, s)).toThrow(/two promotions disagree at epoch 2/);
    expect(mysqlTopologyPlan({ epoch: 1, primary: 'db1' }, { present: false }).map((c) => c.summary)).toEqual([
      'topology record: epoch 1, primary db1 (none before)',
    ]);
  });
  it('writes atomically (temp file in the same directory, renamed)', () => {
    const script = mysqlTopology.apply({ epoch: 2, primary: 'db2' }, undefined, { present: false }, [{ kind: 'write' }], ctx());
    expect(script).toMatch(/mktemp "\$dir\/\.kiln\./);
    expect(script).toContain('mv -f -- "$tmp" "$dest"');
    expect(shSyntax(script)).toBe('');
  });
});

describe("mysql_replica: a former primary replicates from its own binary log's position", () => {
  const p = { primary_host: '10.77.0.32', primary_user: 'repl', primary_password: 'pw' };
  const prep = mysqlReplicationPrep(p);
  it('not a replica, binary-log GTIDs beyond gtid_slave_pos: gtid_slave_pos = gtid_binlog_pos first', () => {
    const s = mysqlReplicationParse(out(`${UP}read_only=1\ngtid_slave_pos=\ngtid_binlog_pos=0-31-42\n`));
    expect(formerPrimary(s)).toBe(true);
    const planned = mysqlReplicationPlan(p, prep, s);
    expect(planned.map((c) => c.summary)).toEqual([
      "replicate from 10.77.0.32:3306 as repl with GTID, from this server's own binary log position 0-31-42 (it was a primary: gtid_slave_pos (empty) → 0-31-42)",
    ]);
    const sql = mysqlReplicationSql(
      p,
      prep,
      s,
      planned.map((c) => c.op),
    );
    expect(sql[0]).toBe('SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;');
    expect(sql[1]).toMatch(/^CHANGE MASTER TO/);
  });
  it('a fresh server (no binary-log GTIDs) is configured as before', () => {
    const s = mysqlReplicationParse(out(`${UP}read_only=1\ngtid_slave_pos=\ngtid_binlog_pos=\n`));
    expect(formerPrimary(s)).toBe(false);
    expect(
      mysqlReplicationSql(
        p,
        prep,
        s,
        mysqlReplicationPlan(p, prep, s).map((c) => c.op),
      )[0],
    ).toMatch(/^CHANGE MASTER TO/);
  });
  it('error 1236 (errant GTIDs) is explained, never repaired silently', () => {
    const st = replicaStatus({
      Master_Host: '10.77.0.32',
      Slave_IO_Running: 'No',
      Slave_SQL_Running: 'Yes',
      Last_IO_Error:
        "Got fatal error 1236 from master when reading data from binary log: 'Error: connecting slave requested to start from GTID 0-31-43, which is not in the master's binlog'",
    });
    expect(errantHint(st)).toMatch(/errant transactions/);
  });
});
