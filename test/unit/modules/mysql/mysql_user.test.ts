import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySql, nativePasswordHash } from '../../../../src/modules/mysql/sql.ts';
import mysqlUser, {
  type MysqlUserOp,
  type MysqlUserParams,
  mysqlUserParse,
  mysqlUserPlan as plan,
  mysqlUserPrep,
  mysqlUserSql as sqlFor,
  type MysqlUserState,
} from '../../../../src/modules/mysql/mysql_user.ts';
import { outsideHeredocs, shSyntax } from '../helpers.ts';
import { expectApplyIgnoresSummaries, secretParam as secret } from './ops.ts';

// The v2 functions take the prepared data (the hash) and the ops; these keep the cases short.
const mysqlUserPlan = (p: MysqlUserParams, s: MysqlUserState) => plan(p, mysqlUserPrep(p), s);
const mysqlUserSql = (p: MysqlUserParams, s: MysqlUserState, changes: { op: MysqlUserOp }[]) =>
  sqlFor(
    p,
    mysqlUserPrep(p),
    s,
    changes.map((c) => c.op),
  );

// Probe output recorded on the lab (MariaDB 10.11, the role's replication account).
const RECORDED = readFileSync(join(import.meta.dirname, 'fixtures/user-probe.txt'), 'utf8');
const PW = 'kiln-lab-repl-password';
const repl: MysqlUserParams = {
  name: 'repl',
  host: '10.77.0.32',
  password: secret(PW),
  priv: '*.*:REPLICATION SLAVE,BINLOG MONITOR,RELOAD/app.*:SELECT,SHOW VIEW,TRIGGER,LOCK TABLES',
  sql_log_bin: false,
};
const state = () => mysqlUserParse({ stdout: RECORDED, stderr: '', code: 0 });
const fresh: MysqlUserState = {
  server: 'up',
  exists: false,
  privileges: {},
  version: { flavor: 'mariadb', major: 10, minor: 11, patch: 6, raw: '10.11.6-MariaDB' },
};

describe('mysql_user', () => {
  it('a converged account is ok: password compared by hash digest, privileges normalized', () => {
    const s = state();
    expect(s).toMatchObject({ server: 'up', exists: true, plugin: 'mysql_native_password' });
    expect(mysqlUserPlan(repl, s)).toEqual([]);
    // Same privileges written differently (aliases, order, case, quoting): still ok.
    expect(
      mysqlUserPlan(
        {
          ...repl,
          priv: { '`app`.*': ['lock tables', 'trigger', 'show view', 'select'], '*.*': 'RELOAD,REPLICATION CLIENT,REPLICATION SLAVE' },
        },
        s,
      ),
    ).toEqual([]);
  });
  it('another password or privilege is planned, without the password in the summary', () => {
    const s = state();
    const changes = mysqlUserPlan(
      { ...repl, password: secret('other-password'), priv: '*.*:REPLICATION SLAVE,BINLOG MONITOR,RELOAD/app.*:SELECT' },
      s,
    );
    expect(changes.map((c) => c.summary)).toEqual([
      "password of 'repl'@'10.77.0.32'",
      "privileges of 'repl'@'10.77.0.32' on app.*: LOCK TABLES, SELECT, SHOW VIEW, TRIGGER → SELECT",
    ]);
    expect(JSON.stringify(changes)).not.toContain('other-password');
    const sql = mysqlUserSql(
      { ...repl, password: secret('other-password'), priv: '*.*:REPLICATION SLAVE,BINLOG MONITOR,RELOAD/app.*:SELECT' },
      s,
      changes,
    );
    expect(sql).toEqual([
      'SET SESSION sql_log_bin = 0;',
      `ALTER USER 'repl'@'10.77.0.32' IDENTIFIED BY PASSWORD '${nativePasswordHash('other-password')}';`,
      "REVOKE ALL PRIVILEGES, GRANT OPTION ON `app`.* FROM 'repl'@'10.77.0.32';",
      "GRANT SELECT ON `app`.* TO 'repl'@'10.77.0.32';",
    ]);
    // Only the hash reaches the server, never the cleartext.
    expect(sql.join('\n')).not.toContain('other-password');
  });
  it('update_password: on_create leaves an existing password alone', () => {
    expect(mysqlUserPlan({ ...repl, password: secret('other'), update_password: 'on_create' }, state())).toEqual([]);
  });
  it('append_privs only adds', () => {
    const changes = mysqlUserPlan({ ...repl, priv: 'app.*:INSERT', append_privs: true }, state());
    expect(changes.map((c) => c.summary)).toEqual([
      "privileges of 'repl'@'10.77.0.32' on app.*: LOCK TABLES, SELECT, SHOW VIEW, TRIGGER → INSERT, LOCK TABLES, SELECT, SHOW VIEW, TRIGGER",
    ]);
    expect(mysqlUserSql({ ...repl, priv: 'app.*:INSERT', append_privs: true }, state(), changes)).toEqual([
      'SET SESSION sql_log_bin = 0;',
      "GRANT INSERT, LOCK TABLES, SELECT, SHOW VIEW, TRIGGER ON `app`.* TO 'repl'@'10.77.0.32';",
    ]);
  });
  it('creates with a hash: MariaDB IDENTIFIED BY PASSWORD, MySQL IDENTIFIED WITH mysql_native_password AS', () => {
    const p = { ...repl, priv: 'app.*:ALL,GRANT' };
    const changes = mysqlUserPlan(p, fresh);
    expect(changes.map((c) => c.summary)).toEqual([
      "create user 'repl'@'10.77.0.32' (with password; app.*: ALL PRIVILEGES WITH GRANT OPTION)",
    ]);
    const maria = mysqlUserSql(p, fresh, changes);
    expect(maria[1]).toMatch(/^CREATE USER 'repl'@'10\.77\.0\.32' IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}';$/);
    expect(maria[2]).toBe("GRANT ALL PRIVILEGES ON `app`.* TO 'repl'@'10.77.0.32' WITH GRANT OPTION;");
    const mysql = mysqlUserSql(p, { ...fresh, version: { flavor: 'mysql', major: 8, minor: 0, patch: 36, raw: '8.0.36' } }, changes);
    expect(mysql[1]).toMatch(/^CREATE USER 'repl'@'10\.77\.0\.32' IDENTIFIED WITH mysql_native_password AS '\*[0-9A-F]{40}';$/);
    // MariaDB's BINLOG MONITOR is MySQL's REPLICATION CLIENT.
    const r = { ...repl, priv: '*.*:REPLICATION SLAVE,REPLICATION CLIENT' };
    const m8 = { ...fresh, version: { flavor: 'mysql' as const, major: 8, minor: 0, patch: 36, raw: '8.0.36' } };
    expect(mysqlUserSql(r, m8, mysqlUserPlan(r, m8)).at(-1)).toBe(
      "GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'repl'@'10.77.0.32';",
    );
    expect(mysqlUserSql(r, fresh, mysqlUserPlan(r, fresh)).at(-1)).toBe(
      "GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* TO 'repl'@'10.77.0.32';",
    );
  });
  it('a server not installed yet: exact plan on a fresh host, unpredictable when a data directory exists', () => {
    expect(mysqlUserPlan(repl, { server: 'missing', fresh: true, exists: false, privileges: {} }).map(({ op: _op, ...c }) => c)).toEqual([
      {
        summary:
          "create user 'repl'@'10.77.0.32' (with password; *.*: BINLOG MONITOR, RELOAD, REPLICATION SLAVE; app.*: LOCK TABLES, SELECT, SHOW VIEW, TRIGGER)",
      },
    ]);
    expect(mysqlUserPlan(repl, { server: 'down', exists: false, privileges: {} })[0]!.unpredictable).toBe(true);
  });
  it('the probe is valid sh and never holds the password or its hash; apply keeps them out of argv', () => {
    const probe = mysqlUser.probe(repl, mysqlUserPrep(repl), {} as never);
    expect(shSyntax(probe)).toBe('');
    expect(probe).not.toContain(PW);
    expect(probe).not.toMatch(/\*[0-9A-F]{40}/);
    const s = state();
    const p = { ...repl, password: secret('new-one') };
    const script = applySql(mysqlUserSql(p, s, mysqlUserPlan(p, s)).join('\n'));
    expect(shSyntax(script)).toBe('');
    expect(outsideHeredocs(script)).not.toMatch(/\*[0-9A-F]{40}|new-one/);
  });
  it('drops an account', () => {
    const changes = mysqlUserPlan({ name: 'repl', host: '10.77.0.32', state: 'absent' }, state());
    expect(changes.map((c) => c.summary)).toEqual(["drop user 'repl'@'10.77.0.32'"]);
    expect(mysqlUserSql({ name: 'repl', host: '10.77.0.32', state: 'absent' }, state(), changes)).toEqual([
      "DROP USER IF EXISTS 'repl'@'10.77.0.32';",
    ]);
  });
  it('apply depends only on the ops: the same script with every summary reworded', () => {
    const p = {
      ...repl,
      password: secret('other-password'),
      priv: '*.*:REPLICATION SLAVE,BINLOG MONITOR,RELOAD/app.*:SELECT/other.*:INSERT',
    };
    const script = expectApplyIgnoresSummaries(mysqlUser, p, mysqlUserPrep(p), state());
    expect(script).toContain(`ALTER USER 'repl'@'10.77.0.32' IDENTIFIED BY PASSWORD '${nativePasswordHash('other-password')}';`);
    expect(script).toContain("GRANT INSERT ON `other`.* TO 'repl'@'10.77.0.32';");
    expect(shSyntax(script)).toBe('');
    expect(expectApplyIgnoresSummaries(mysqlUser, repl, mysqlUserPrep(repl), fresh)).toMatch(
      /CREATE USER 'repl'@'10\.77\.0\.32' IDENTIFIED BY PASSWORD/,
    );
    const gone = { name: 'repl', host: '10.77.0.32', state: 'absent' as const };
    expect(expectApplyIgnoresSummaries(mysqlUser, gone, mysqlUserPrep(gone), state())).toContain(
      "DROP USER IF EXISTS 'repl'@'10.77.0.32';",
    );
  });
});
