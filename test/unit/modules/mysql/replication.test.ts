import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  brokenReason,
  changeSourceSql,
  healthy,
  parseStatus,
  replicaStatus,
  setGtidPosSql,
  startSql,
  statusSql,
  stopSql,
  waitForReconnect,
} from '../../../../src/modules/mysql/replication.ts';

const SRC = { host: '10.77.0.31', port: 3306, user: 'repl', password: "pa'ss" };

describe('replication statements per dialect', () => {
  it('MariaDB: CHANGE MASTER TO … MASTER_USE_GTID=slave_pos, SLAVE statements', () => {
    expect(changeSourceSql('mariadb', SRC)).toBe(
      "CHANGE MASTER TO MASTER_HOST = '10.77.0.31', MASTER_PORT = 3306, MASTER_USER = 'repl', MASTER_PASSWORD = 'pa\\'ss', MASTER_CONNECT_RETRY = 10, MASTER_USE_GTID = slave_pos;",
    );
    expect([startSql('mariadb'), stopSql('mariadb'), statusSql('mariadb')]).toEqual(['START SLAVE;', 'STOP SLAVE;', 'SHOW SLAVE STATUS;']);
    expect(setGtidPosSql('mariadb', '0-31-12')).toBe("SET GLOBAL gtid_slave_pos = '0-31-12';");
  });
  it('MySQL 8.0.23+: CHANGE REPLICATION SOURCE TO … SOURCE_AUTO_POSITION=1, REPLICA statements', () => {
    expect(changeSourceSql('mysql', { ...SRC, connectRetry: 5 })).toBe(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST = '10.77.0.31', SOURCE_PORT = 3306, SOURCE_USER = 'repl', SOURCE_PASSWORD = 'pa\\'ss', SOURCE_CONNECT_RETRY = 5, SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1;",
    );
    expect([startSql('mysql'), stopSql('mysql'), statusSql('mysql')]).toEqual(['START REPLICA;', 'STOP REPLICA;', 'SHOW REPLICA STATUS;']);
    expect(setGtidPosSql('mysql', '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5')).toBe(
      "RESET MASTER; SET GLOBAL gtid_purged = '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5';",
    );
  });
  it('older MySQL: CHANGE MASTER TO … MASTER_AUTO_POSITION=1', () => {
    expect(changeSourceSql('mysql-legacy', SRC)).toMatch(/^CHANGE MASTER TO .*MASTER_AUTO_POSITION = 1;$/);
    expect(startSql('mysql-legacy')).toBe('START SLAVE;');
  });
  it('refuses a GTID position that is not one', () => {
    expect(() => setGtidPosSql('mariadb', "0-1-1'; DROP DATABASE app; --")).toThrow(/GTID/);
  });
});

describe('replica status', () => {
  it('reads MySQL 8 column names under the MariaDB names', () => {
    const head = [
      'Source_Host',
      'Source_User',
      'Source_Port',
      'Replica_IO_Running',
      'Replica_SQL_Running',
      'Seconds_Behind_Source',
      'Last_IO_Error',
      'Last_SQL_Error',
      'Auto_Position',
    ].join('\t');
    const row = ['10.0.0.1', 'repl', '3306', 'Yes', 'Yes', '3', '', '', '1'].join('\t');
    const s = replicaStatus(parseStatus(head, row));
    expect(s).toMatchObject({
      configured: true,
      host: '10.0.0.1',
      user: 'repl',
      port: 3306,
      io: 'Yes',
      sql: 'Yes',
      secondsBehind: 3,
      gtidMode: 'Auto',
    });
    expect(healthy(s)).toBe(true);
  });
  it('a stopped SQL thread with an error is broken, with the error text', () => {
    const st = {
      Master_Host: 'h',
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'No',
      Last_SQL_Error: "Error 'Duplicate entry' on query",
      Seconds_Behind_Master: 'NULL',
    };
    const s = replicaStatus(st);
    expect(s.secondsBehind).toBeNull();
    expect(healthy(s)).toBe(false);
    expect(brokenReason(s)).toBe("SQL thread stopped: Last_SQL_Error: Error 'Duplicate entry' on query");
  });
  it('an IO thread that keeps failing to connect is broken; connecting without an error is not', () => {
    const failing = replicaStatus({
      Master_Host: 'h',
      Slave_IO_Running: 'Connecting',
      Slave_SQL_Running: 'Yes',
      Last_IO_Error: "Access denied for user 'repl'",
    });
    expect(brokenReason(failing)).toMatch(/IO thread connecting: Last_IO_Error: Access denied/);
    const starting = replicaStatus({ Master_Host: 'h', Slave_IO_Running: 'Connecting', Slave_SQL_Running: 'Yes' });
    expect(brokenReason(starting)).toBeUndefined();
    expect(healthy(starting)).toBe(true);
  });
  it('not a replica: empty status', () => {
    expect(replicaStatus(parseStatus(undefined, undefined))).toMatchObject({ configured: false, io: 'No', sql: 'No' });
  });
});

describe('waitForReconnect: a replica whose source just restarted', () => {
  /** Runs the wait with a status command that prints the given rows one call after another (the last one repeats). */
  const run = (rows: string[], seconds: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-reconnect-'));
    const head = 'Slave_IO_Running\tSlave_SQL_Running\tLast_IO_Errno';
    rows.forEach((r, i) => writeFileSync(join(dir, `row${i}`), `${head}\n${r}\n`));
    const status = `n=$(cat ${dir}/n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/n; [ -f ${dir}/row$n ] || n=${rows.length - 1}; cat ${dir}/row$n`;
    const t0 = Date.now();
    execFileSync('sh', ['-c', `${waitForReconnect('mariadb', status, seconds)}\necho "calls=$(cat ${dir}/n)"`], { encoding: 'utf8' });
    const calls = Number(readFileSync(join(dir, 'n'), 'utf8'));
    rmSync(dir, { recursive: true, force: true });
    return { calls, ms: Date.now() - t0 };
  };

  it('polls while the IO thread is Connecting with a connection error, and stops once it runs', () => {
    expect(run(['Connecting\tYes\t2003', 'Connecting\tYes\t2003', 'Yes\tYes\t0'], 10).calls).toBe(3);
  });

  it('does not wait for other errors (wrong password) or a running thread', () => {
    expect(run(['Connecting\tYes\t1045'], 10).calls).toBe(1);
    expect(run(['Yes\tYes\t0'], 10).calls).toBe(1);
    expect(run(['No\tYes\t2003'], 10).calls).toBe(1);
  });

  it('gives up after the wait: a source that stays down is then reported broken', () => {
    expect(run(['Connecting\tYes\t2013'], 1).calls).toBe(2);
  });
});
