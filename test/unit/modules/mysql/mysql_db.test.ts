import { describe, expect, it } from 'vitest';
import mysqlDb, {
  type MysqlDbParams,
  mysqlDbParse,
  mysqlDbPlan as plan,
  mysqlDbSql,
  type MysqlDbState,
} from '../../../../src/modules/mysql/mysql_db.ts';
import mysqlVariables, {
  mysqlVariablesPlan as planVariables,
  normalizeValue,
  valueSql,
} from '../../../../src/modules/mysql/mysql_variables.ts';
import { shSyntax } from '../helpers.ts';
import { expectApplyIgnoresSummaries } from './ops.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const mysqlDbPlan = (p: MysqlDbParams, s: MysqlDbState) => plan(p, undefined, s);
const ops = (planned: { op: Parameters<typeof mysqlDbSql>[1][number] }[]) => planned.map((c) => c.op);
const mysqlVariablesPlan = (p: Parameters<typeof planVariables>[0], s: Parameters<typeof planVariables>[2]) =>
  planVariables(p, undefined, s);

describe('mysql_db', () => {
  const p = { name: 'app', encoding: 'utf8mb4', collation: 'utf8mb4_unicode_ci' };
  it('present with the same charset/collation: ok (batch output escapes the tab)', () => {
    const s = mysqlDbParse(out('mysql=up\nversion=10.11.19-MariaDB\ndb=utf8mb4\\tutf8mb4_unicode_ci\n'));
    expect(s).toMatchObject({ exists: true, encoding: 'utf8mb4', collation: 'utf8mb4_unicode_ci' });
    expect(mysqlDbPlan(p, s)).toEqual([]);
  });
  it('creates, alters, drops', () => {
    const none = mysqlDbParse(out('mysql=up\nversion=10.11.19-MariaDB\n'));
    const c = mysqlDbPlan(p, none);
    expect(c.map((x) => x.summary)).toEqual(['create database app (character set utf8mb4, collation utf8mb4_unicode_ci)']);
    expect(mysqlDbSql(p, ops(c))).toEqual(['CREATE DATABASE IF NOT EXISTS `app` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;']);
    const latin = mysqlDbParse(out('mysql=up\nversion=10.11.19-MariaDB\ndb=latin1\\tlatin1_swedish_ci\n'));
    const a = mysqlDbPlan(p, latin);
    expect(a.map((x) => x.summary)).toEqual([
      'character set of database app: latin1 → utf8mb4',
      'collation of database app: latin1_swedish_ci → utf8mb4_unicode_ci',
    ]);
    expect(mysqlDbSql(p, ops(a))).toEqual(['ALTER DATABASE `app` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;']);
    const d = mysqlDbPlan({ name: 'app', state: 'absent' }, latin);
    expect(mysqlDbSql({ name: 'app', state: 'absent' }, ops(d))).toEqual(['DROP DATABASE IF EXISTS `app`;']);
  });
  it('server missing: exact on a fresh host; server down: unpredictable with the reason', () => {
    expect(mysqlDbPlan(p, mysqlDbParse(out('mysql=missing\n')))[0]).toEqual({
      summary: 'create database app (character set utf8mb4, collation utf8mb4_unicode_ci)',
      op: { kind: 'create' },
    });
    const down = mysqlDbPlan(
      p,
      mysqlDbParse(out("mysql=down\nmysql_error=ERROR 2002 (HY000): Can't connect to local server through socket\n")),
    );
    expect(down[0]).toMatchObject({ unpredictable: true });
    expect(down[0]!.summary).toMatch(/server not running: ERROR 2002/);
    expect(mysqlDbPlan(p, mysqlDbParse(out('mysql=missing\nmysql_datadir=1\n')))[0]!.unpredictable).toBe(true);
  });
  it('probe is valid sh and quotes the name as a string literal', () => {
    const probe = mysqlDb.probe({ name: "we'ird" }, undefined, {} as never);
    expect(shSyntax(probe)).toBe('');
    expect(probe).toContain("SCHEMA_NAME = 'we\\'ird'");
  });
  it('apply depends only on the ops: the same script with every summary reworded', () => {
    const latin = mysqlDbParse(out('mysql=up\nversion=10.11.19-MariaDB\ndb=latin1\\tlatin1_swedish_ci\n'));
    const script = expectApplyIgnoresSummaries(mysqlDb, p, undefined, latin);
    expect(script).toContain('ALTER DATABASE `app` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;');
    expect(shSyntax(script)).toBe('');
    expect(expectApplyIgnoresSummaries(mysqlDb, p, undefined, mysqlDbParse(out('mysql=up\nversion=10.11.19-MariaDB\n')))).toContain(
      'CREATE DATABASE IF NOT EXISTS `app`',
    );
    expect(expectApplyIgnoresSummaries(mysqlDb, { name: 'app', state: 'absent' }, undefined, latin)).toContain(
      'DROP DATABASE IF EXISTS `app`;',
    );
  });
});

describe('mysql_variables', () => {
  it('ON/1/true compare equal; a difference is set at runtime', () => {
    expect(normalizeValue('ON')).toBe(normalizeValue(1));
    expect(normalizeValue(true)).toBe('1');
    const s = { server: 'up' as const, value: 'OFF' };
    expect(mysqlVariablesPlan({ variable: 'read_only', value: 'OFF' }, s)).toEqual([]);
    expect(mysqlVariablesPlan({ variable: 'read_only', value: 'ON' }, s).map((c) => c.summary)).toEqual([
      'set global read_only: OFF → ON (at runtime, no restart)',
    ]);
    expect(valueSql('ON')).toBe('1');
    expect(valueSql('ROW')).toBe("'ROW'");
    expect(mysqlVariables.apply({ variable: 'read_only', value: 'ON' }, undefined, s, [{ kind: 'set_global' }], {} as never)).toContain(
      'SET GLOBAL read_only = 1;',
    );
    expect(() => mysqlVariablesPlan({ variable: 'nope', value: 1 }, { server: 'up' })).toThrow(/unknown server variable/);
  });
  it('apply depends only on the ops: the same script with every summary reworded', () => {
    const script = expectApplyIgnoresSummaries(mysqlVariables, { variable: 'read_only', value: 'ON' }, undefined, {
      server: 'up',
      value: 'OFF',
    });
    expect(script).toContain('SET GLOBAL read_only = 1;');
    expect(shSyntax(script)).toBe('');
  });
});

describe('mysql_* schemas', () => {
  it('compile in strict mode (engine options), closed, every property described', async () => {
    const { newAjv } = await import('../../../../src/plan/schema.ts');
    const ajv = newAjv();
    const { default: user } = await import('../../../../src/modules/mysql/mysql_user.ts');
    const { default: repl } = await import('../../../../src/modules/mysql/mysql_replication.ts');
    for (const m of [mysqlDb, user, repl, mysqlVariables]) {
      const validate = ajv.compile(m.schema);
      expect(m.schema.additionalProperties).toBe(false);
      for (const [k, v] of Object.entries(m.schema.properties ?? {}))
        expect((v as { description?: string }).description, `${m.name}.${k}`).toMatch(/\w/);
      expect(validate({ bogus: 1 })).toBe(false);
    }
    expect(ajv.compile(user.schema)({ name: 'app', host: '10.77.0.%', password: 'x', priv: { 'app.*': ['SELECT'] } })).toBe(true);
    expect(ajv.compile(user.schema)({ name: 'app', password_hash: 'plain' })).toBe(false);
    expect(
      ajv.compile(repl.schema)({ primary_host: '10.77.0.31', primary_user: 'repl', primary_password: 'x', seed_databases: ['app'] }),
    ).toBe(true);
    expect(ajv.compile(repl.schema)({ primary_host: '10.0.0.1; rm -rf /', primary_user: 'r', primary_password: 'x' })).toBe(false);
  });
});
