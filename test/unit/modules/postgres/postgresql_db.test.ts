import { describe, expect, it } from 'vitest';
import postgresqlDb, { type PgDbParams, pgDbParse, pgDbPlan, pgDbProbe, pgDbSql } from '../../../../src/modules/postgres/postgresql_db.ts';
import { ctx, shSyntax } from '../helpers.ts';

const db = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    owner: 'app',
    encoding: 'UTF8',
    encoding_id: 6,
    lc_collate: 'C.UTF-8',
    lc_ctype: 'C.UTF-8',
    conn_limit: -1,
    tablespace: 'pg_default',
    ...over,
  });
const state = (lines: string) => pgDbParse({ stdout: `pg=up\nversion=150014\n${lines}`, stderr: '', code: 0 });
const plan = (p: PgDbParams, s: ReturnType<typeof state>) => pgDbPlan(p, undefined, s, ctx());

describe('postgresql_db', () => {
  const p: PgDbParams = {
    name: 'appdb',
    owner: 'app',
    template: 'template0',
    encoding: 'UTF-8',
    lc_collate: 'C.UTF-8',
    lc_ctype: 'C.UTF-8',
  };
  it('creates with every option, as the collection words executed_commands', () => {
    const c = plan(p, state('want_encoding=6\n'));
    expect(c.map((x) => x.summary)).toEqual([
      'create database appdb (owner app, template template0, encoding UTF-8, lc_collate C.UTF-8, lc_ctype C.UTF-8)',
    ]);
    expect(
      pgDbSql(
        p,
        c.map((x) => x.op),
      ),
    ).toEqual([
      {
        sql: `CREATE DATABASE "appdb" OWNER "app" TEMPLATE "template0" ENCODING E'UTF-8' LC_COLLATE E'C.UTF-8' LC_CTYPE E'C.UTF-8'`,
        query: `CREATE DATABASE "appdb" OWNER "app" TEMPLATE "template0" ENCODING 'UTF-8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'`,
      },
    ]);
  });
  it('converged: the encoding is compared by the server encoding id (UTF-8 = UTF8); template is only for creation', () => {
    expect(plan(p, state(`want_encoding=6\ndb=${db()}\n`))).toEqual([]);
  });
  it('alters owner, connection limit and tablespace; drops (WITH (FORCE) on 13+)', () => {
    const s = state(`want_encoding=6\ndb=${db({ owner: 'postgres', conn_limit: 3 })}\n`);
    const c = plan({ ...p, conn_limit: '7', tablespace: 'fast' }, s);
    expect(c.map((x) => x.summary)).toEqual([
      'owner of database appdb: postgres → app',
      'connection limit of database appdb: 3 → 7',
      'tablespace of database appdb: pg_default → fast',
    ]);
    expect(
      pgDbSql(
        { ...p, conn_limit: '7', tablespace: 'fast' },
        c.map((x) => x.op),
      ).map((x) => x.query),
    ).toEqual([
      'ALTER DATABASE "appdb" OWNER TO "app"',
      'ALTER DATABASE "appdb" CONNECTION LIMIT 7',
      'ALTER DATABASE "appdb" SET TABLESPACE "fast"',
    ]);
    const d = plan({ name: 'appdb', state: 'absent', force: true }, s);
    expect(
      pgDbSql(
        { name: 'appdb', state: 'absent', force: true },
        d.map((x) => x.op),
        150014,
      ).map((x) => x.sql),
    ).toEqual(['DROP DATABASE "appdb" WITH (FORCE)']);
    expect(plan({ name: 'appdb', state: 'absent' }, state(''))).toEqual([]);
  });
  it('an encoding or locale that differs fails (it cannot change), in check mode as in a run', () => {
    expect(() => plan(p, state(`want_encoding=8\ndb=${db()}\n`))).toThrow(
      'Changing database encoding is not supported. Current encoding: UTF8',
    );
    expect(() => plan({ name: 'appdb', lc_collate: 'en_US.UTF-8' }, state(`db=${db()}\n`))).toThrow('Changing LC_COLLATE is not supported');
  });
  it('connects to maintenance_db; the scripts parse; CREATE DATABASE runs outside a transaction', () => {
    expect(pgDbProbe({ name: 'x', maintenance_db: 'template1' })).toContain("dbname='\"'\"'template1'\"'\"'");
    expect(shSyntax(pgDbProbe(p))).toBe('');
    const s = state('want_encoding=6\n');
    const script = postgresqlDb.apply(
      p,
      undefined,
      s,
      plan(p, s).map((x) => x.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    expect(script).not.toContain('BEGIN;');
    expect(postgresqlDb.registerData!(p, undefined, state(`want_encoding=6\ndb=${db()}\n`))).toEqual({
      db: 'appdb',
      executed_commands: [],
    });
  });
});
