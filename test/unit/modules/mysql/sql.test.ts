import { describe, expect, it } from 'vitest';
import {
  account,
  ident,
  nativePasswordHash,
  parseVersion,
  replicationDialect,
  sqlString,
  unescapeBatch,
} from '../../../../src/modules/mysql/sql.ts';

describe('SQL quoting', () => {
  it('string literals escape quotes, backslashes and control characters', () => {
    expect(sqlString("it's")).toBe("'it\\'s'");
    expect(sqlString('a\\b')).toBe("'a\\\\b'");
    expect(sqlString("x';DROP DATABASE app;--")).toBe("'x\\';DROP DATABASE app;--'");
    expect(sqlString('l1\nl2')).toBe("'l1\\nl2'");
  });
  it('identifiers double backticks', () => {
    expect(ident('app')).toBe('`app`');
    expect(ident('we`ird')).toBe('`we``ird`');
    expect(account('app', '10.77.0.%')).toBe("'app'@'10.77.0.%'");
  });
  it('unescapes the client batch output', () => {
    expect(unescapeBatch('a\\tb\\nc\\\\d')).toBe('a\tb\nc\\d');
  });
});

describe('mysql_native_password hash', () => {
  it("matches MariaDB's PASSWORD() (value read from MariaDB 10.11 on the lab)", () => {
    // SELECT PASSWORD("pw") on db1 printed this.
    expect(nativePasswordHash('pw')).toBe('*D821809F681A40A6E379B50D0463EFAE20BDD122');
  });
  it('is upper-case hex, 41 characters', () => {
    expect(nativePasswordHash('kiln-lab-app-password')).toMatch(/^\*[0-9A-F]{40}$/);
  });
});

describe('flavour detection', () => {
  it('reads MariaDB and MySQL version strings', () => {
    expect(parseVersion('10.11.19-MariaDB-0+deb12u1')).toMatchObject({ flavor: 'mariadb', major: 10, minor: 11, patch: 19 });
    expect(parseVersion('11.4.2-MariaDB-log')).toMatchObject({ flavor: 'mariadb', major: 11 });
    expect(parseVersion('8.0.36-0ubuntu0.22.04.1')).toMatchObject({ flavor: 'mysql', major: 8, minor: 0, patch: 36 });
    expect(() => parseVersion('garbage')).toThrow(/server version/);
  });
  it('picks the replication dialect: MariaDB, MySQL 8.0.23+, older MySQL', () => {
    expect(replicationDialect(parseVersion('10.11.6-MariaDB'))).toBe('mariadb');
    expect(replicationDialect(parseVersion('8.0.23'))).toBe('mysql');
    expect(replicationDialect(parseVersion('8.4.0'))).toBe('mysql');
    expect(replicationDialect(parseVersion('8.0.22'))).toBe('mysql-legacy');
    expect(replicationDialect(parseVersion('5.7.44-log'))).toBe('mysql-legacy');
  });
});
