import { describe, expect, it } from 'vitest';
import postgresqlPrivs, {
  type PgPrivsParams,
  pgPrivsParse,
  pgPrivsPlan,
  pgPrivsProbe,
  pgPrivsSql,
  privsRequest,
} from '../../../../src/modules/postgres/postgresql_privs.ts';
import { ctx, shSyntax } from '../helpers.ts';

const acl = (obj: string, role: string, priv: string, grantable = false) => `acl=${JSON.stringify([obj, role, priv, grantable])}\n`;
const dacl = (key: string, role: string, priv: string, grantable = false) => `dacl=${JSON.stringify([key, role, priv, grantable])}\n`;
const state = (lines: string) =>
  pgPrivsParse({ stdout: `pg=up\nversion=150014\ncurrent=postgres\nrole=reader\n${lines}`, stderr: '', code: 0 });
const plan = (p: PgPrivsParams, s: ReturnType<typeof state>) => pgPrivsPlan(p, undefined, s, ctx());
const summaries = (p: PgPrivsParams, s: ReturnType<typeof state>) => plan(p, s).map((c) => c.summary);

describe('postgresql_privs', () => {
  const t: PgPrivsParams = { database: 'db', roles: 'reader', privs: 'SELECT,UPDATE', objs: 't1,t2' };
  it('tables: grants only when a role lacks a privilege; the statement is the collection’s', () => {
    const have = state(
      `obj=["t1"]\nobj=["t2"]\n${acl('t1', 'reader', 'SELECT')}${acl('t1', 'reader', 'UPDATE')}${acl('t2', 'reader', 'SELECT')}`,
    );
    expect(summaries(t, have)).toEqual(['grant SELECT,UPDATE on table t1,t2: reader on t2: + UPDATE']);
    expect(
      pgPrivsSql(
        t,
        have,
        plan(t, have).map((c) => c.op),
      ),
    ).toEqual(['GRANT SELECT,UPDATE ON table "public"."t1","public"."t2" TO "reader";']);
    const all = state(
      `obj=["t1"]\nobj=["t2"]\n${acl('t1', 'reader', 'SELECT')}${acl('t1', 'reader', 'UPDATE')}${acl('t2', 'reader', 'SELECT')}${acl('t2', 'reader', 'UPDATE')}`,
    );
    expect(plan(t, all)).toEqual([]);
    expect(summaries({ ...t, state: 'absent' }, all)).toEqual([
      'revoke SELECT,UPDATE on table t1,t2: reader on t1: − SELECT,UPDATE; reader on t2: − SELECT,UPDATE',
    ]);
    // Registered queries: the statement, on every run, as the collection lists it.
    expect(postgresqlPrivs.registerData!(t, undefined, all)).toEqual({
      queries: ['GRANT SELECT,UPDATE ON table "public"."t1","public"."t2" TO "reader";'],
    });
  });
  it('grant_option: true grants it where missing; false revokes it (GRANT then REVOKE GRANT OPTION FOR)', () => {
    const s = state(`obj=["app"]\n${acl('app', 'reader', 'USAGE', true)}`);
    const p: PgPrivsParams = { database: 'db', roles: 'reader', privs: 'USAGE', type: 'schema', objs: 'app' };
    expect(plan({ ...p, grant_option: true }, s)).toEqual([]);
    expect(plan(p, s)).toEqual([]);
    expect(summaries({ ...p, grant_option: false }, s)).toEqual(['grant USAGE on schema app: reader on app: − grant option for USAGE']);
    expect(pgPrivsSql({ ...p, grant_option: false }, s, [{ kind: 'grant' }])).toEqual([
      'GRANT USAGE ON schema "app" TO "reader";',
      'REVOKE GRANT OPTION FOR USAGE ON schema "app" FROM "reader";',
    ]);
  });
  it('database: objs default to the database; ALL and TEMP mean what PostgreSQL means', () => {
    const s = state(`obj=["db"]\n${acl('db', 'reader', 'CONNECT')}${acl('db', 'reader', 'TEMPORARY')}`);
    expect(plan({ database: 'db', roles: 'reader', privs: 'connect,temp', type: 'database' }, s)).toEqual([]);
    expect(summaries({ database: 'db', roles: 'reader', privs: 'ALL', type: 'database' }, s)).toEqual([
      'grant ALL on database db: reader on db: + CREATE',
    ]);
  });
  it('ALL_IN_SCHEMA: the schema’s tables of the moment, granted with ON ALL TABLES IN SCHEMA', () => {
    const p: PgPrivsParams = { database: 'db', roles: 'reader', privs: 'SELECT', objs: 'ALL_IN_SCHEMA', schema: 'app' };
    const s = state(`obj=["a"]\nobj=["b"]\n${acl('a', 'reader', 'SELECT')}`);
    expect(summaries(p, s)).toEqual(['grant SELECT on table ALL_IN_SCHEMA app: reader on b: + SELECT']);
    expect(pgPrivsSql(p, s, [{ kind: 'grant' }])).toEqual(['GRANT SELECT ON ALL TABLES IN SCHEMA "app" TO "reader";']);
    expect(pgPrivsProbe(p)).toContain("c.relkind IN ('r', 'v', 'm', 'p')");
  });
  it('default_privs: REVOKE ALL + GRANT leaves exactly the privileges (and USAGE on types) for the target role', () => {
    const p: PgPrivsParams = {
      database: 'db',
      roles: 'reader',
      privs: 'SELECT',
      type: 'default_privs',
      objs: 'TABLES',
      target_roles: 'app',
    };
    const converged = state(`obj=["public"]\n${dacl('app/r', 'reader', 'SELECT')}${dacl('app/T', 'reader', 'USAGE')}`);
    expect(plan(p, converged)).toEqual([]);
    const extra = state(
      `obj=["public"]\n${dacl('app/r', 'reader', 'SELECT')}${dacl('app/r', 'reader', 'UPDATE')}${dacl('app/T', 'reader', 'USAGE')}`,
    );
    expect(summaries(p, extra)).toEqual(['grant SELECT on future TABLES: reader on future tables of app: SELECT,UPDATE → SELECT']);
    expect(pgPrivsSql(p, extra, [{ kind: 'grant' }])).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" REVOKE ALL ON TABLES FROM "reader";',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT SELECT ON TABLES TO "reader";',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT USAGE ON TYPES TO "reader";',
    ]);
    // Without target_roles: the defaults of the connected role (current_user).
    expect(summaries({ ...p, target_roles: undefined }, state('obj=["public"]\n'))).toEqual([
      'grant SELECT on future TABLES: reader on future tables of postgres: nothing → SELECT; reader on future types of postgres: nothing → USAGE',
    ]);
    // absent: the collection revokes ALL on tables, sequences and types, whatever objs says.
    expect(summaries({ ...p, state: 'absent' }, converged)).toEqual([
      'revoke SELECT on future TABLES: reader on future tables of app: SELECT → nothing; reader on future types of app: USAGE → nothing',
    ]);
  });
  it('roles: a missing one fails (fail_on_role) or is skipped; PUBLIC in any case', () => {
    const s = state('obj=["t1"]\nobj=["t2"]\n');
    expect(() => plan({ ...t, roles: 'reader,ghost' }, s)).toThrow("Role 'ghost' does not exist");
    expect(summaries({ ...t, roles: 'reader,ghost', fail_on_role: false }, s)).toEqual([
      'grant SELECT,UPDATE on table t1,t2: reader on t1: + SELECT,UPDATE; reader on t2: + SELECT,UPDATE',
    ]);
    expect(pgPrivsSql({ ...t, roles: 'public' }, s, [{ kind: 'grant' }])).toEqual([
      'GRANT SELECT,UPDATE ON table "public"."t1","public"."t2" TO PUBLIC;',
    ]);
  });
  it('refuses what the collection refuses, located at validation (prepare)', () => {
    expect(() => privsRequest({ database: 'db', roles: 'r', privs: 'SELECT', type: 'schema', objs: 'x', schema: 'y' })).toThrow(
      'Argument "schema" is not allowed for type "schema".',
    );
    expect(() => privsRequest({ database: 'db', roles: 'r', privs: 'SELECT', type: 'database', objs: 'ALL_IN_SCHEMA' })).toThrow(
      'ALL_IN_SCHEMA can be used only',
    );
    expect(() => privsRequest({ database: 'db', roles: 'r', privs: 'FLY', objs: 't' })).toThrow('Invalid privileges specified: FLY');
    expect(() => privsRequest({ database: 'db', roles: 'r', privs: 'EXECUTE', type: 'default_privs', objs: 'TABLES' })).toThrow(
      'Invalid priv specified',
    );
    expect(() => privsRequest({ database: 'db', roles: 'r', privs: 'SELECT', objs: 't', target_roles: 'x' })).toThrow(
      'only for type default_privs',
    );
    expect(() => privsRequest({ database: 'db', roles: 'r', objs: 't' })).toThrow('Argument "privs" is required for type "table".');
  });
  it('the probe parses as sh for every type', () => {
    for (const p of [
      t,
      { database: 'db', roles: 'r', privs: 'CONNECT', type: 'database' as const },
      { database: 'db', roles: 'r', privs: 'USAGE', type: 'schema' as const, objs: 'a' },
      { database: 'db', roles: 'PUBLIC', privs: 'ALL', type: 'default_privs' as const, objs: 'ALL_DEFAULT' },
    ])
      expect(shSyntax(pgPrivsProbe(p))).toBe('');
  });
});

describe('postgresql_privs before the server answers', () => {
  it('a server not installed yet (its roles and objects come from earlier tasks) or refusing: unpredictable, not an error', () => {
    const p: PgPrivsParams = { database: 'shop', roles: 'reader', privs: 'CONNECT', type: 'database' };
    for (const stdout of ['pg=missing\n', 'pg=down\npg_error=psql: error: FATAL:  database "shop" does not exist\n']) {
      const planned = pgPrivsPlan(p, undefined, pgPrivsParse({ stdout, stderr: '', code: 0 }), ctx());
      expect(planned).toHaveLength(1);
      expect(planned[0]!.unpredictable).toBe(true);
    }
  });
});
