/**
 * mysql_replication's Ansible modes: plans, SQL and registered results against Ansible's own
 * results (fixtures/replication-modes.json, generated with ansible-playbook and community.mysql
 * 3.7.2 against MariaDB 10.11 on lab hosts: test/fixtures/ansible/mysql-replication-modes.yml).
 * The probe outputs were recorded on the same hosts with Kiln's mode probe (primary: x27m1,
 * replica: x27m2 replicating from it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  modePlan,
  modeResult,
  mysqlReplicationApply,
  type MysqlReplicationParams,
  mysqlReplicationParse,
  mysqlReplicationPrep,
  mysqlReplicationProbe,
  type MysqlReplicationState,
} from '../../../../src/modules/mysql/mysql_replication.ts';
import { changePrimarySql, parseColumnTypes, replicaTerm, typedRow } from '../../../../src/modules/mysql/replication-modes.ts';
import { parseVersion } from '../../../../src/modules/mysql/sql.ts';
import { outsideHeredocs, shSyntax } from '../helpers.ts';
import { secretParam as secret } from './ops.ts';

const dir = join(import.meta.dirname, 'fixtures');
const ANSIBLE = JSON.parse(readFileSync(join(dir, 'replication-modes.json'), 'utf8')) as Record<string, Record<string, unknown>>;
const probed = (f: string): MysqlReplicationState =>
  mysqlReplicationParse({ stdout: readFileSync(join(dir, f), 'utf8'), stderr: '', code: 0 });
const primary = probed('replication-mode-probe-primary.txt');
const replica = probed('replication-mode-probe-replica.txt');
/** The replica with its threads stopped (as after stopreplica). */
const stopped: MysqlReplicationState = {
  ...replica,
  mode: {
    primary: replica.mode!.primary,
    replica: { ...replica.mode!.replica, Slave_IO_Running: 'No', Slave_SQL_Running: 'No', Seconds_Behind_Master: null },
  },
};

const ansible = (k: string) => {
  const { changed: _c, failed: _f, ...rest } = ANSIBLE[k]!;
  return rest;
};
const shape = (o: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(o)
      .map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
const plan = (p: MysqlReplicationParams, s: MysqlReplicationState) => modePlan(p, p.mode!, mysqlReplicationPrep(p), s);
const result = (p: MysqlReplicationParams, s: MysqlReplicationState) => modeResult(p, p.mode!, mysqlReplicationPrep(p), s);

describe('mysql_replication modes', () => {
  it('getprimary and getreplica register the keys and types Ansible registers (MySQLdb: integer columns are ints, NULL null)', () => {
    expect(plan({ mode: 'getprimary' }, primary)).toEqual([]);
    expect(shape(result({ mode: 'getprimary' }, primary))).toEqual(shape(ansible('getprimary')));
    expect(result({ mode: 'getprimary' }, primary)).toMatchObject({ File: 'mysql-bin.000001', Is_Primary: true, queries: [] });
    expect(plan({ mode: 'getreplica' }, replica)).toEqual([]);
    expect(shape(result({ mode: 'getreplica' }, replica))).toEqual(shape(ansible('getreplica')));
    expect(result({ mode: 'getreplica' }, replica)).toMatchObject({
      Master_Host: '10.77.0.225',
      Master_Port: 3306,
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'Yes',
      Is_Replica: true,
    });
    // Not a replica: exactly Ansible's result.
    expect(result({ mode: 'getreplica' }, primary)).toEqual(ansible('getreplica_none'));
  });

  it('changeprimary: always changed, the statement as the module builds it (password masked in queries, real in the SQL)', () => {
    const p: MysqlReplicationParams = {
      mode: 'changeprimary',
      primary_host: '10.77.0.225',
      primary_user: 'repl',
      primary_password: secret('replpw'),
      primary_log_file: 'mysql-bin.000001',
      primary_log_pos: 724,
    };
    const changes = plan(p, primary);
    expect(changes.map((c) => [c.summary, c.action])).toEqual([[(ANSIBLE.changeprimary!.queries as string[])[0], true]]);
    expect(result(p, primary)).toEqual(ansible('changeprimary'));
    const script = mysqlReplicationApply(p, mysqlReplicationPrep(p), primary, [changes[0]!.op]);
    expect(script).toContain("MASTER_PASSWORD='replpw'");
    expect(outsideHeredocs(script)).not.toContain('replpw');
    expect(shSyntax(script)).toBe('');
  });

  it('start/stop/reset report changed as the module does on MariaDB 10.11, and --check predicts it', () => {
    const cases: [MysqlReplicationParams['mode'], MysqlReplicationState, string][] = [
      ['startreplica', primary, 'start_unconfigured'],
      ['startreplica', replica, 'start_again'],
      ['stopreplica', replica, 'stop'],
      ['stopreplica', stopped, 'stop_again'],
      ['stopreplica', primary, 'stop_unconfigured'],
      ['resetreplica', replica, 'reset_running'],
      ['resetreplica', stopped, 'reset'],
      ['resetreplicaall', stopped, 'resetall'],
      ['resetprimary', replica, 'resetprimary'],
    ];
    for (const [mode, s, key] of cases) {
      const changes = plan({ mode }, s);
      expect([mode, key, changes.length > 0]).toEqual([mode, key, ANSIBLE[key]!.changed]);
      expect([key, result({ mode }, s)]).toEqual([key, ansible(key)]);
    }
  });

  it('--check: startreplica on a server that is not a replica yet is unpredictable (a changeprimary before it was only predicted)', () => {
    const p: MysqlReplicationParams = { mode: 'startreplica' };
    expect(modePlan(p, 'startreplica', mysqlReplicationPrep(p), primary, true)).toMatchObject([
      { unpredictable: true, summary: 'START REPLICA (not a replica now: an earlier task of this run may make it one)' },
    ]);
    expect(modePlan(p, 'startreplica', mysqlReplicationPrep(p), replica, true)).toMatchObject([{ summary: 'START REPLICA' }]);
    expect(modePlan(p, 'startreplica', mysqlReplicationPrep(p), primary, false)).toEqual([]);
  });

  it('fail_on_error fails where the module would report no change', () => {
    expect(() => plan({ mode: 'startreplica', fail_on_error: true }, primary)).toThrow(/START REPLICA failed/);
    expect(() => plan({ mode: 'resetreplica', fail_on_error: true }, replica)).toThrow(/RESET REPLICA failed/);
  });

  it('a server that cannot be probed: the action is unpredictable, a get mode fails', () => {
    const down: MysqlReplicationState = { server: 'down', error: "Can't connect", status: replica.status, presentDbs: [] };
    expect(plan({ mode: 'stopreplica' }, down)).toMatchObject([{ unpredictable: true, summary: expect.stringContaining('STOP REPLICA') }]);
    expect(() => plan({ mode: 'getreplica' }, down)).toThrow(/not running/);
  });

  it('options Ansible would ignore or Kiln cannot honour are refused by name', () => {
    expect(() => mysqlReplicationPrep({ primary_host: 'a', primary_user: 'u', primary_password: 'x', primary_log_pos: 4 })).toThrow(
      /primary_log_pos: only with a mode/,
    );
    expect(() => mysqlReplicationPrep({ mode: 'startreplica', primary_host: 'a' })).toThrow(/primary_host: only with mode: changeprimary/);
    expect(() => mysqlReplicationPrep({ mode: 'getreplica', connection_name: 'a', channel: 'b' })).toThrow(/mutually exclusive/);
    expect(() => mysqlReplicationPrep({ mode: 'getreplica', seed_databases: ['app'] })).toThrow(/seed_databases/);
  });

  it('login_user/login_password: a 0600 option file, the password never in cleartext in the script nor in argv', () => {
    const p: MysqlReplicationParams = { mode: 'getreplica', login_user: 'root', login_password: secret('s3cr3t-login') };
    const probe = mysqlReplicationProbe(p, mysqlReplicationPrep(p));
    expect(shSyntax(probe)).toBe('');
    expect(probe).not.toContain('s3cr3t-login');
    expect(probe).toContain('--defaults-extra-file=');
    expect(probe).toContain('umask 077');
    expect(probe).toMatch(/rm -rf "\$kiln_lt"/);
    const a: MysqlReplicationParams = { mode: 'stopreplica', login_user: 'root', login_password: secret('s3cr3t-login') };
    const script = mysqlReplicationApply(a, mysqlReplicationPrep(a), replica, [{ kind: 'mode', mode: 'stopreplica' }]);
    expect(shSyntax(script)).toBe('');
    expect(script).not.toContain('s3cr3t-login');
    expect(script).toMatch(/trap '.*rm -rf "\$kiln_lt".*' EXIT/);
  });

  it('SQL terms and options: REPLICA or SLAVE by version, connection names, channels, GTID modes', () => {
    expect(replicaTerm(parseVersion('10.11.6-MariaDB'))).toBe('REPLICA');
    expect(replicaTerm(parseVersion('10.3.39-MariaDB'))).toBe('SLAVE');
    expect(replicaTerm(parseVersion('8.0.21'))).toBe('SLAVE');
    expect(replicaTerm(parseVersion('8.0.36'))).toBe('REPLICA');
    expect(changePrimarySql({ connection_name: 'east', primary_use_gtid: 'replica_pos', primary_ssl: false }, undefined, 'SLAVE')).toBe(
      "CHANGE MASTER 'east' TO MASTER_SSL=0,MASTER_USE_GTID=slave_pos",
    );
    expect(changePrimarySql({ channel: 'c1', primary_auto_position: true, primary_port: 3307 }, undefined, 'REPLICA')).toBe(
      "CHANGE MASTER TO MASTER_PORT=3307,MASTER_AUTO_POSITION=1 FOR CHANNEL 'c1'",
    );
    expect(plan({ mode: 'startreplica', connection_name: 'east' }, replica)[0]!.summary).toBe("START REPLICA 'east'");
  });

  it('column types: integers become numbers only for integer columns', () => {
    const types = parseColumnTypes('Field   1:  `a`\nType:       LONG\nField   2:  `b`\nType:       VAR_STRING\n');
    expect(types).toEqual({ a: 'LONG', b: 'VAR_STRING' });
    expect(typedRow({ a: '0012', b: '0012' }, types)).toEqual({ a: 12, b: '0012' });
  });
});
