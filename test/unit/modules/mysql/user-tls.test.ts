/**
 * mysql_user tls_requires, as community.mysql means it: keys in any case, SUBJECT/ISSUER/CIPHER
 * win over SSL/X509, X509 over SSL, {} / null / left out = REQUIRE NONE (an existing requirement
 * is removed); read from mysql.user (ssl_type, hex of cipher/issuer/subject) so check mode predicts.
 */
import { describe, expect, it } from 'vitest';
import {
  type MysqlUserParams,
  mysqlUserParse,
  mysqlUserPlan,
  mysqlUserPrep,
  mysqlUserProbe,
  mysqlUserSql,
  type MysqlUserState,
  parseTls,
  requireSql,
  wantedTls,
} from '../../../../src/modules/mysql/mysql_user.ts';
import { shSyntax } from '../helpers.ts';

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
const probeOut = (tls: string) =>
  `mysql=up\nversion=10.11.19-MariaDB-0+deb12u1-log\nuser=mysql_native_password\tabc\ntls=${tls}\ngrant=GRANT USAGE ON *.* TO \`app\`@\`localhost\`\n`;
const parsed = (tls: string): MysqlUserState => mysqlUserParse({ stdout: probeOut(tls), stderr: '', code: 0 });
const plan = (p: MysqlUserParams, s: MysqlUserState) => mysqlUserPlan(p, mysqlUserPrep(p), s);

describe('mysql_user tls_requires', () => {
  it("sanitizes as community.mysql's sanitize_requires", () => {
    expect(wantedTls(undefined).type).toBe('');
    expect(wantedTls(null).type).toBe('');
    expect(wantedTls({}).type).toBe('');
    expect(wantedTls({ ssl: null }).type).toBe('ANY');
    expect(wantedTls({ SSL: 'yes', x509: null }).type).toBe('X509');
    expect(wantedTls({ ssl: null, subject: '/CN=alice', cipher: 'ECDHE-ECDSA-AES256-SHA384' })).toEqual({
      type: 'SPECIFIED',
      subject: '/CN=alice',
      issuer: '',
      cipher: 'ECDHE-ECDSA-AES256-SHA384',
    });
    expect(() => wantedTls({ verify: 'x' })).toThrow(/VERIFY is not a TLS requirement/);
    expect(requireSql(wantedTls({ subject: "/CN=o'neil", issuer: '/CN=ca' }))).toBe("REQUIRE SUBJECT '/CN=o\\'neil' AND ISSUER '/CN=ca'");
  });

  it('reads the requirement from the probe (hex) and plans only what differs', () => {
    const none = parsed(',,,');
    expect(none.tls).toEqual({ type: '', cipher: '', issuer: '', subject: '' });
    expect(plan({ name: 'app' }, none)).toEqual([]);
    expect(plan({ name: 'app', tls_requires: {} }, none)).toEqual([]);
    const ssl = plan({ name: 'app', tls_requires: { ssl: null } }, none);
    expect(ssl.map((c) => c.summary)).toEqual(["TLS requirement of 'app'@'localhost': NONE → SSL"]);
    const p: MysqlUserParams = { name: 'app', tls_requires: { ssl: null } };
    expect(mysqlUserSql(p, mysqlUserPrep(p), none, [ssl[0]!.op])).toEqual(["ALTER USER 'app'@'localhost' REQUIRE SSL;"]);
    // Left out, an existing requirement goes (community.mysql compares it with None).
    expect(plan({ name: 'app' }, parsed('ANY,,,')).map((c) => c.summary)).toEqual(["TLS requirement of 'app'@'localhost': SSL → NONE"]);
    const spec = parsed(`SPECIFIED,${hex('X')},,${hex('/CN=a b')}`);
    expect(spec.tls).toEqual({ type: 'SPECIFIED', cipher: 'X', issuer: '', subject: '/CN=a b' });
    expect(plan({ name: 'app', tls_requires: { SUBJECT: '/CN=a b', cipher: 'X' } }, spec)).toEqual([]);
    expect(plan({ name: 'app', tls_requires: { subject: '/CN=b' } }, spec).map((c) => c.summary)).toEqual([
      "TLS requirement of 'app'@'localhost': SUBJECT '/CN=a b' AND CIPHER 'X' → SUBJECT '/CN=b'",
    ]);
    expect(parseTls('X509,,,').type).toBe('X509');
  });

  it('a new account gets its requirement in CREATE USER; the probe is valid shell', () => {
    const p: MysqlUserParams = { name: 'app', tls_requires: { x509: null } };
    const fresh: MysqlUserState = { server: 'up', exists: false, privileges: {} };
    const changes = plan(p, fresh);
    expect(changes[0]!.summary).toContain('REQUIRE X509');
    expect(mysqlUserSql(p, mysqlUserPrep(p), fresh, [changes[0]!.op])).toEqual(["CREATE USER 'app'@'localhost' REQUIRE X509;"]);
    expect(shSyntax(mysqlUserProbe(p))).toBe('');
  });

  it("the anonymous account: name '' (Ansible's way to remove it)", () => {
    const p: MysqlUserParams = { name: '', host: 'localhost', state: 'absent' };
    const s = parsed(',,,');
    expect(plan(p, s).map((c) => c.summary)).toEqual(["drop user ''@'localhost'"]);
    expect(mysqlUserSql(p, mysqlUserPrep(p), s, [plan(p, s)[0]!.op])).toEqual(["DROP USER IF EXISTS ''@'localhost';"]);
  });

  it('column_case_sensitive: false (default) compares column names without case and grants them upper-cased', () => {
    const s = mysqlUserParse({
      stdout: `${probeOut(',,,')}grant=GRANT SELECT (\`id\`, \`Name\`) ON \`app\`.\`t\` TO \`app\`@\`localhost\`\n`,
      stderr: '',
      code: 0,
    });
    expect(plan({ name: 'app', priv: 'app.t:SELECT (name, ID)' }, s)).toEqual([]);
    const sensitive = plan({ name: 'app', priv: 'app.t:SELECT (name, ID)', column_case_sensitive: true }, s);
    expect(sensitive.map((c) => c.summary)).toEqual(["privileges of 'app'@'localhost' on app.t: SELECT (Name, id) → SELECT (ID, name)"]);
  });
});
