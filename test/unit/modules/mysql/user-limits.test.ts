/**
 * mysql_user resource_limits, as community.mysql means it: the keys are its resource types
 * (MAX_QUERIES_PER_HOUR, MAX_UPDATES_PER_HOUR, MAX_CONNECTIONS_PER_HOUR, MAX_USER_CONNECTIONS,
 * MAX_STATEMENT_TIME on MariaDB only), an unknown key fails, only the limits that differ from
 * mysql.user are set with ALTER USER … WITH …, limits not listed are left alone, and a new
 * account gets every listed limit.
 */
import { describe, expect, it } from 'vitest';
import {
  limitDiff,
  type MysqlUserParams,
  mysqlUserParse,
  mysqlUserPlan,
  mysqlUserPrep,
  mysqlUserProbe,
  mysqlUserSql,
  type MysqlUserState,
  parseLimits,
  wantedLimits,
} from '../../../../src/modules/mysql/mysql_user.ts';
import { shSyntax } from '../helpers.ts';

const probeOut = (limits: string | undefined, version = '10.11.19-MariaDB-0+deb12u1-log') =>
  `mysql=up\nversion=${version}\nuser=mysql_native_password\tabc\ntls=,,,\n${limits === undefined ? '' : `limits=${limits}\n`}grant=GRANT USAGE ON *.* TO \`app\`@\`10.77.0.21\`\n`;
const parsed = (limits?: string, version?: string): MysqlUserState =>
  mysqlUserParse({ stdout: probeOut(limits, version), stderr: '', code: 0 });
const plan = (p: MysqlUserParams, s: MysqlUserState) => mysqlUserPlan(p, mysqlUserPrep(p), s);
const base: MysqlUserParams = { name: 'app', host: '10.77.0.21' };

describe('mysql_user resource_limits', () => {
  it("checks the keys as community.mysql's match_resource_limits", () => {
    expect(wantedLimits(undefined)).toEqual([]);
    expect(wantedLimits({ MAX_USER_CONNECTIONS: 50, MAX_QUERIES_PER_HOUR: 0 })).toEqual([
      ['MAX_USER_CONNECTIONS', 50],
      ['MAX_QUERIES_PER_HOUR', 0],
    ]);
    expect(() => wantedLimits({ max_user_connections: 5 })).toThrow('resource_limits: unsupported resource type max_user_connections');
    expect(() => wantedLimits({ MAX_USER_CONNECTIONS: 1.5 })).toThrow(/must be an integer/);
    expect(wantedLimits({ MAX_STATEMENT_TIME: 2.5 })).toEqual([['MAX_STATEMENT_TIME', 2.5]]);
  });

  it('reads the limits from mysql.user and plans only those that differ', () => {
    const s = parsed('0,0,0,10,0.000000');
    expect(s.limits).toEqual({
      MAX_QUERIES_PER_HOUR: 0,
      MAX_UPDATES_PER_HOUR: 0,
      MAX_CONNECTIONS_PER_HOUR: 0,
      MAX_USER_CONNECTIONS: 10,
      MAX_STATEMENT_TIME: 0,
    });
    const p: MysqlUserParams = { ...base, resource_limits: { MAX_USER_CONNECTIONS: 50, MAX_QUERIES_PER_HOUR: 0 } };
    const changes = plan(p, s);
    expect(changes.map((c) => c.summary)).toEqual(["resource limits of 'app'@'10.77.0.21': MAX_USER_CONNECTIONS 10 → 50"]);
    expect(
      mysqlUserSql(
        p,
        mysqlUserPrep(p),
        s,
        changes.map((c) => c.op),
      ),
    ).toEqual(["ALTER USER 'app'@'10.77.0.21' WITH MAX_USER_CONNECTIONS 50;"]);
    // Converged: nothing; a limit not listed (MAX_USER_CONNECTIONS 10) is left alone.
    expect(plan({ ...base, resource_limits: { MAX_USER_CONNECTIONS: 10 } }, s)).toEqual([]);
    expect(plan({ ...base, resource_limits: { MAX_QUERIES_PER_HOUR: 0 } }, s)).toEqual([]);
    expect(plan({ ...base, resource_limits: { MAX_STATEMENT_TIME: 0 } }, s)).toEqual([]);
    // Not given: the limits are not managed (and not probed).
    expect(plan(base, s)).toEqual([]);
    expect(mysqlUserProbe(base)).not.toContain('max_user_connections');
    expect(limitDiff([['MAX_UPDATES_PER_HOUR', 5]], { MAX_UPDATES_PER_HOUR: 5 })).toEqual([]);
    expect(parseLimits('1,2,3,4')).toEqual({
      MAX_QUERIES_PER_HOUR: 1,
      MAX_UPDATES_PER_HOUR: 2,
      MAX_CONNECTIONS_PER_HOUR: 3,
      MAX_USER_CONNECTIONS: 4,
    });
  });

  it('a new account gets every listed limit after CREATE USER; the probe is valid shell', () => {
    const p: MysqlUserParams = { ...base, tls_requires: { ssl: null }, resource_limits: { MAX_USER_CONNECTIONS: 50 } };
    const fresh: MysqlUserState = { server: 'up', exists: false, privileges: {} };
    const changes = plan(p, fresh);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.summary).toBe("create user 'app'@'10.77.0.21' (without password; REQUIRE SSL; WITH MAX_USER_CONNECTIONS 50)");
    expect(mysqlUserSql(p, mysqlUserPrep(p), fresh, [changes[0]!.op])).toEqual([
      "CREATE USER 'app'@'10.77.0.21' REQUIRE SSL;",
      "ALTER USER 'app'@'10.77.0.21' WITH MAX_USER_CONNECTIONS 50;",
    ]);
    const probe = mysqlUserProbe(p);
    expect(probe).toContain('max_user_connections');
    expect(probe).toContain('max_statement_time');
    expect(shSyntax(probe)).toBe('');
  });

  it('MAX_STATEMENT_TIME is refused on MySQL, as community.mysql does', () => {
    const s = parsed('0,0,0,0', '8.0.36');
    expect(() => plan({ ...base, resource_limits: { MAX_STATEMENT_TIME: 1 } }, s)).toThrow(
      'MAX_STATEMENT_TIME resource limit is only supported by MariaDB.',
    );
    expect(plan({ ...base, resource_limits: { MAX_USER_CONNECTIONS: 0 } }, s)).toEqual([]);
  });
});
