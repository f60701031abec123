/**
 * mysql_replica over TLS: primary_ssl, primary_ssl_ca and primary_ssl_verify_server_cert are read
 * back from SHOW SLAVE STATUS (Master_SSL_Allowed, Master_SSL_CA_File,
 * Master_SSL_Verify_Server_Cert), so a drift is planned (stop, change, start) and --check shows it;
 * CHANGE MASTER carries them; the seed's dump client gets them in its option file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clientOptionFile,
  type MysqlReplicationParams,
  mysqlReplicationParse,
  mysqlReplicationPlan,
  mysqlReplicationPrep,
  mysqlReplicationSql,
  type MysqlReplicationState,
} from '../../../../src/modules/mysql/mysql_replication.ts';
import { changeSourceSql, replicaStatus, sslOptionsSql } from '../../../../src/modules/mysql/replication.ts';
import { secretParam as secret } from './ops.ts';

const RECORDED = readFileSync(join(import.meta.dirname, 'fixtures/replica-probe.txt'), 'utf8');
const CA = '/etc/mysql/tls/ca.crt';
const base: MysqlReplicationParams = {
  primary_host: '10.77.0.31',
  primary_user: 'repl',
  primary_password: secret('kiln-lab-repl-password'),
};
const tls: MysqlReplicationParams = { ...base, primary_ssl: true, primary_ssl_ca: CA, primary_ssl_verify_server_cert: true };
const recorded = () => mysqlReplicationParse({ stdout: RECORDED, stderr: '', code: 0 });
const withStatus = (over: Record<string, string>): MysqlReplicationState => {
  const s = recorded();
  return { ...s, status: { ...s.status, ...over } } as MysqlReplicationState;
};
const plan = (p: MysqlReplicationParams, s: MysqlReplicationState) => mysqlReplicationPlan(p, mysqlReplicationPrep(p), s);

describe('mysql_replica over TLS', () => {
  it('reads the TLS columns of SHOW SLAVE STATUS', () => {
    const st = replicaStatus({
      Master_Host: 'h',
      Master_SSL_Allowed: 'Yes',
      Master_SSL_CA_File: CA,
      Master_SSL_Verify_Server_Cert: 'Yes',
    });
    expect(st).toMatchObject({ sslAllowed: 'Yes', sslCa: CA, sslVerify: 'Yes' });
    expect(recorded().status.sslAllowed).toBe('No');
  });

  it('a plaintext replica is moved to TLS (stop, change, start); a converged one is ok', () => {
    const s = recorded();
    expect(plan(base, s)).toEqual([]);
    const changes = plan(tls, s);
    expect(changes.map((c) => c.summary)).toEqual([
      `change replication source: TLS No → Yes, TLS CA (none) → ${CA}, verify the primary's certificate No → Yes (stop, change, start)`,
    ]);
    const sql = mysqlReplicationSql(tls, mysqlReplicationPrep(tls), s, [changes[0]!.op]);
    expect(sql[0]).toBe('STOP SLAVE;');
    expect(sql[1]).toMatch(
      /^CHANGE MASTER TO MASTER_HOST = '10\.77\.0\.31', .*MASTER_USE_GTID = slave_pos, MASTER_SSL = 1, MASTER_SSL_CA = '\/etc\/mysql\/tls\/ca\.crt', MASTER_SSL_VERIFY_SERVER_CERT = 1;$/,
    );
    expect(sql[2]).toBe('START SLAVE;');
    const done = withStatus({ sslAllowed: 'Yes', sslCa: CA, sslVerify: 'Yes' });
    expect(plan(tls, done)).toEqual([]);
    // Drift: verification switched off by hand, or another CA file.
    expect(plan(tls, withStatus({ sslAllowed: 'Yes', sslCa: CA, sslVerify: 'No' })).map((c) => c.summary)).toEqual([
      "change replication source: verify the primary's certificate No → Yes (stop, change, start)",
    ]);
    expect(plan(tls, withStatus({ sslAllowed: 'Yes', sslCa: '/tmp/other.crt', sslVerify: 'Yes' }))[0]!.summary).toContain(
      `TLS CA /tmp/other.crt → ${CA}`,
    );
    // Back to plaintext when asked (false), never when left out.
    expect(plan({ ...base, primary_ssl: false }, done)[0]!.summary).toContain('TLS Yes → No');
    expect(plan(base, done)).toEqual([]);
  });

  it('a new replica is configured over TLS and seeded over TLS', () => {
    const fresh: MysqlReplicationState = {
      server: 'up',
      version: { flavor: 'mariadb', major: 10, minor: 11, patch: 19, raw: '10.11.19-MariaDB' },
      status: { configured: false, io: 'No', sql: 'No', secondsBehind: null },
      gtidSlavePos: '',
      presentDbs: [],
    };
    const p = { ...tls, seed_databases: ['kiln'] };
    const changes = plan(p, fresh);
    expect(changes[0]!.summary).toContain(`as repl over TLS (CA ${CA}, the primary's certificate verified) with GTID`);
    const file = clientOptionFile(p, mysqlReplicationPrep(p));
    expect(file).toContain(`\nssl\nssl-ca="${CA}"\nssl-verify-server-cert\n`);
    expect(clientOptionFile(base, mysqlReplicationPrep(base))).not.toContain('ssl');
  });

  it('the TLS options in each dialect; only with the declarative replica or changeprimary', () => {
    const spec = { host: 'h', port: 3306, user: 'r', password: 'x', ssl: true, sslCa: CA, sslVerifyServerCert: true };
    expect(sslOptionsSql('mysql', spec)).toBe(`, SOURCE_SSL = 1, SOURCE_SSL_CA = '${CA}', SOURCE_SSL_VERIFY_SERVER_CERT = 1`);
    expect(changeSourceSql('mysql-legacy', spec)).toContain('MASTER_SSL_VERIFY_SERVER_CERT = 1');
    expect(sslOptionsSql('mariadb', { host: 'h', port: 1, user: 'r', password: 'x' })).toBe('');
    expect(() => mysqlReplicationPrep({ ...base, primary_ssl_cert: '/x' })).toThrow(/primary_ssl_cert: only with a mode/);
    expect(() => mysqlReplicationPrep(tls)).not.toThrow();
  });
});
