/**
 * login_user/login_password in every mysql module, as Ansible means them: the client logs in as
 * that account. The credentials reach the host only in a 0600 option file in a private temp
 * directory (base64 in the script on stdin), never in argv, and the file is removed.
 */
import { describe, expect, it } from 'vitest';
import { dumpImportShell, mysqlDbProbe } from '../../../../src/modules/mysql/mysql_db.ts';
import mysqlDb from '../../../../src/modules/mysql/mysql_db.ts';
import mysqlInfo from '../../../../src/modules/mysql/mysql_info.ts';
import mysqlQuery from '../../../../src/modules/mysql/mysql_query.ts';
import { applySql, loginOf, loginOptionFile } from '../../../../src/modules/mysql/sql.ts';
import mysqlUser from '../../../../src/modules/mysql/mysql_user.ts';
import mysqlVariables from '../../../../src/modules/mysql/mysql_variables.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';
import { secretParam as secret } from './ops.ts';

const PW = 'pa"ss\\word-login';
const login = { login_user: 'adm', login_password: secret(PW) };

describe('mysql login_user/login_password', () => {
  it('the option file quotes the values; the password stays a secret until the file is written', () => {
    const l = loginOf(login)!;
    expect(l.user).toBe('adm');
    expect(String(l.password)).not.toContain(PW);
    expect(loginOptionFile(l)).toBe('[client]\nuser="adm"\npassword="pa\\"ss\\\\word-login"\n');
    expect(loginOf({})).toBeUndefined();
  });

  it('every module probes and applies as the login, without the password in cleartext or argv', () => {
    const cases: [string, { bind: typeof mysqlDb.bind }, Record<string, unknown>][] = [
      ['mysql_db', mysqlDb, { name: 'app', ...login }],
      ['mysql_user', mysqlUser, { name: 'app', ...login }],
      ['mysql_variables', mysqlVariables, { variable: 'read_only', value: 'ON', ...login }],
      ['mysql_query', mysqlQuery, { query: 'SELECT 1', ...login }],
      ['mysql_info', mysqlInfo, { filter: 'version', ...login }],
    ];
    for (const [name, mod, params] of cases) {
      const probe = mod.bind(params, ctx() as never).probe(ctx());
      expect([name, shSyntax(probe)]).toEqual([name, '']);
      expect([name, probe.includes(PW)]).toEqual([name, false]);
      expect([name, probe.includes('--defaults-extra-file=')]).toEqual([name, true]);
      expect([name, /rm -rf "\$kiln_lt"/.test(probe)]).toEqual([name, true]);
    }
    const apply = applySql('SELECT 1;', loginOf(login));
    expect(shSyntax(apply)).toBe('');
    expect(apply).not.toContain(PW);
    expect(outsideHeredocs(apply)).not.toContain('adm');
    expect(apply).toMatch(/trap '.*rm -rf "\$kiln_lt".*' EXIT/);
  });

  it('a dump logs in with the same option file', () => {
    const p = { name: 'app', state: 'dump' as const, target: '/srv/a.sql', ...login };
    const sh = dumpImportShell(p, { kind: 'dump' });
    expect(sh).toContain('"$kiln_dump" ${kiln_lt:+"--defaults-extra-file=$kiln_lt/login.cnf"} --protocol=socket');
    expect(sh).toContain('rm -rf "$kiln_lt"');
    expect(shSyntax(mysqlDbProbe(p))).toBe('');
  });
});
