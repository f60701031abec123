import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../../src/core/secret/secret.ts';
import postgresqlUser, {
  parseFlags,
  passwordChanges,
  type PgUserParams,
  pgUserParse,
  pgUserPlan,
  pgUserPrep,
  pgUserProbe,
  pgUserSql,
} from '../../../../src/modules/postgres/postgresql_user.ts';
import { pgTarget } from '../../../../src/modules/postgres/psql.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';

// Verifiers PostgreSQL 15 stored on a lab host: md5u's for 'secret', scramu's for 'pa:ss\word'.
const MD5 = 'md5ad16ab8cb9f9946be08171afa599199d';
const SCRAM =
  'SCRAM-SHA-256$4096:+DnY0c/BC1efcZr/gJka+g==$f7c2pZGgF7K3TI8+x2WlzBR1jPgvgq/B7qc0FA+TjbU=:l6NYAd64m35w5LVYRdN/SI+/SX+D66FEwEUJTj6bDuE=';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** The probe's output for a role, as its SQL prints it from pg_authid. */
function probed(rolpassword: string | null, over: Record<string, unknown> = {}) {
  const m = rolpassword ? /^SCRAM-SHA-256\$(\d+):([^$]+)\$[^:]+:(.+)$/.exec(rolpassword) : null;
  const role = {
    super: false,
    createrole: false,
    createdb: true,
    inherit: true,
    login: true,
    replication: false,
    bypassrls: false,
    connlimit: -1,
    validuntil: null,
    expires_same: null,
    pw: rolpassword === null ? 'null' : m ? 'scram' : /^md5[0-9a-f]{32}$/.test(rolpassword) ? 'md5' : 'other',
    pwsha: rolpassword === null ? null : sha(rolpassword),
    scram_iter: m?.[1] ?? null,
    scram_salt: m?.[2] ?? null,
    scram_serverkey_sha: m ? sha(Buffer.from(m[3]!, 'base64')) : null,
    comment: null,
    ...over,
  };
  return pgUserParse({ stdout: `pg=up\nversion=150014\nrole=${JSON.stringify(role)}\n`, stderr: '', code: 0 });
}
const none = pgUserParse({ stdout: 'pg=up\nversion=150014\n', stderr: '', code: 0 });
const plan = (p: PgUserParams, s = none) => pgUserPlan(p, pgUserPrep(p), s, ctx());
const summaries = (p: PgUserParams, s = none) => plan(p, s).map((c) => c.summary);

describe('postgresql_user', () => {
  it('compares a cleartext password with a stored SCRAM verifier (PBKDF2 with its salt) and an md5 one, as the collection does', () => {
    const scramu = (password: string): PgUserParams => ({ name: 'scramu', password });
    expect(passwordChanges(scramu('pa:ss\\word'), pgUserPrep(scramu('pa:ss\\word')), probed(SCRAM).role!)).toBe(false);
    expect(passwordChanges(scramu('other'), pgUserPrep(scramu('other')), probed(SCRAM).role!)).toBe(true);
    const md5u = (password: string): PgUserParams => ({ name: 'md5u', password });
    expect(passwordChanges(md5u('secret'), pgUserPrep(md5u('secret')), probed(MD5).role!)).toBe(false);
    expect(passwordChanges(md5u('Secret'), pgUserPrep(md5u('Secret')), probed(MD5).role!)).toBe(true);
    // A verifier given as the password is compared as it is.
    expect(passwordChanges(scramu(SCRAM), pgUserPrep(scramu(SCRAM)), probed(SCRAM).role!)).toBe(false);
    expect(passwordChanges(md5u(MD5), pgUserPrep(md5u(MD5)), probed(SCRAM).role!)).toBe(true);
    // '' means no password: a change only when one is stored.
    expect(passwordChanges(md5u(''), pgUserPrep(md5u('')), probed(null).role!)).toBe(false);
    expect(passwordChanges(md5u(''), pgUserPrep(md5u('')), probed(MD5).role!)).toBe(true);
    // Without pg_authid (not a superuser) the collection cannot tell and sets it again.
    expect(passwordChanges(md5u('secret'), pgUserPrep(md5u('secret')), probed(MD5, { pw: 'unknown' }).role!)).toBeUndefined();
  });

  it('plans create, alter (only what differs) and drop, and queries as the collection reports them', () => {
    const p: PgUserParams = { name: 'md5u', password: 'secret', role_attr_flags: 'CREATEDB,nosuperuser', conn_limit: 5, comment: 'app' };
    expect(summaries(p)).toEqual([
      'create role md5u (with password, CREATEDB NOSUPERUSER, connection limit 5)',
      'comment on role md5u: "app"',
    ]);
    expect(
      pgUserSql(
        p,
        pgUserPrep(p),
        plan(p).map((c) => c.op),
      ).map((x) => x.query),
    ).toEqual([
      'CREATE USER "md5u" WITH ENCRYPTED PASSWORD %(password)s CONNECTION LIMIT 5 CREATEDB NOSUPERUSER',
      `COMMENT ON ROLE "md5u" IS 'app'`,
    ]);
    expect(summaries(p, probed(MD5, { connlimit: 5, comment: 'app' }))).toEqual([]);
    const drift = probed(MD5, { connlimit: 1, createdb: false, super: true, comment: 'x' });
    expect(summaries(p, drift)).toEqual([
      'alter role md5u: createdb false → true, superuser true → false, connection limit 1 → 5',
      'comment on role md5u: "x" → "app"',
    ]);
    expect(
      pgUserSql(
        p,
        pgUserPrep(p),
        plan(p, drift).map((c) => c.op),
      ).map((x) => x.sql)[0],
    ).toBe('ALTER USER "md5u" WITH CREATEDB NOSUPERUSER CONNECTION LIMIT 5');
    expect(summaries({ name: 'md5u', state: 'absent' }, drift)).toEqual(['drop role md5u']);
    expect(summaries({ name: 'md5u', state: 'absent' })).toEqual([]);
  });

  it("no_password_changes compares only role_attr_flags (Ansible's reading: not expires nor conn_limit)", () => {
    const p: PgUserParams = { name: 'md5u', password: 'other', conn_limit: 9, no_password_changes: true, role_attr_flags: 'LOGIN' };
    expect(summaries(p, probed(MD5))).toEqual([]);
    expect(summaries(p, probed(MD5, { login: false }))).toEqual(['alter role md5u: login false → true']);
  });

  it('expires: the server compares it as timestamptz (the probe), the plan reads the answer', () => {
    const p: PgUserParams = { name: 'md5u', expires: '2031-01-01' };
    expect(summaries(p, probed(MD5, { expires_same: true, validuntil: '2031-01-01T00:00:00+00:00' }))).toEqual([]);
    expect(summaries(p, probed(MD5, { expires_same: false, validuntil: null }))).toEqual([
      'alter role md5u: valid until infinity → 2031-01-01',
    ]);
    expect(pgUserProbe(p)).toContain("E'2031-01-01'::timestamptz IS NOT DISTINCT FROM rolvaliduntil");
  });

  it('a server not installed yet: exact creation on a fresh host; a server that refuses: unpredictable', () => {
    const p: PgUserParams = { name: 'u' };
    const missing = pgUserParse({ stdout: 'pg=missing\n', stderr: '', code: 0 });
    expect(plan(p, missing)).toEqual([{ summary: 'create role u (without password)', op: { kind: 'create' } }]);
    const down = pgUserParse({
      stdout: 'pg=down\npg_error=psql: error: connection to server failed: FATAL:  Peer authentication failed\n',
      stderr: '',
      code: 0,
    });
    expect(plan(p, down)[0]!.summary).toContain('server not reachable: psql: error: connection to server failed');
    // An SQL error (a bad expires) fails the task with the server's words.
    expect(() =>
      pgUserParse({
        stdout: 'pg=down\npg_error=psql:<stdin>:4: ERROR:  invalid input syntax for type timestamp with time zone: "soon"\n',
        stderr: '',
        code: 0,
      }),
    ).toThrow('PostgreSQL: ERROR:  invalid input syntax');
  });

  it('refuses what PostgreSQL 10+ refuses, and PUBLIC', () => {
    expect(() => plan({ name: 'u', password: 'x', encrypted: false }, probed(MD5))).toThrow('no longer store unencrypted passwords');
    expect(() => plan({ name: 'PUBLIC', password: 'x' })).toThrow('cannot change the password for PUBLIC user');
    expect(parseFlags('createdb,NOLOGIN,CREATEDB')).toEqual([
      ['CREATEDB', true],
      ['LOGIN', false],
    ]);
  });

  it('the password reaches psql only on stdin (a heredoc), never argv; the login password through a 0600 password file', () => {
    const p: PgUserParams = {
      name: 'u',
      password: new Secret('pw-XYZ', 'password') as unknown as string,
      login_password: new Secret('lp-ABC', 'login_password') as unknown as string,
      login_host: 'db.example',
    };
    const prep = pgUserPrep(p);
    const script = postgresqlUser.apply(
      p,
      prep,
      none,
      plan(p).map((c) => c.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    expect(script).toContain("E'pw-XYZ'");
    expect(outsideHeredocs(script)).not.toContain('pw-XYZ');
    expect(outsideHeredocs(script)).not.toContain('lp-ABC');
    expect(script).toContain('*:*:*:*:lp-ABC');
    expect(pgTarget(p, p.db).conninfo).toBe("host='db.example' port='5432' user='postgres'");
    const probe = pgUserProbe(p);
    expect(shSyntax(probe)).toBe('');
    expect(outsideHeredocs(probe)).not.toContain('lp-ABC');
    expect(JSON.stringify(postgresqlUser.registerData!(p, prep, none))).not.toContain('pw-XYZ');
  });
});

describe('trust_input: false', () => {
  it("refuses what the collection's check_input refuses, naming a secret without showing it", () => {
    expect(() => pgUserPrep({ name: "x'; --", trust_input: false })).toThrow("Passed input 'x'; --' is potentially dangerous");
    expect(() => pgUserPrep({ name: "x'; --" })).not.toThrow();
    expect(() =>
      pgUserPrep({ name: 'u', password: new Secret('a; DROP TABLE t', 'password') as unknown as string, trust_input: false }),
    ).toThrow("Passed input '(a secret value)' is potentially dangerous");
    expect(() => pgUserPrep({ name: 'u', comment: 'x UNION SELECT 1', trust_input: false })).toThrow('potentially dangerous');
  });
});

describe('fail_on_user', () => {
  it('false: the drop is caught in the server and reported ok with user_removed false, as the collection does', async () => {
    const { pgUserInterpret, pgUserVerify } = await import('../../../../src/modules/postgres/postgresql_user.ts');
    const p: PgUserParams = { name: 'owner', state: 'absent', fail_on_user: false };
    const ops = plan(p, probed(MD5)).map((c) => c.op);
    const [drop] = pgUserSql(p, pgUserPrep(p), ops);
    expect(drop!.sql).toMatch(/^DO \$kiln_[0-9a-f]{12}\$BEGIN EXECUTE E'DROP USER "owner"'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE/);
    expect(drop!.query).toBe('DROP USER "owner"');
    const notice = 'psql:<stdin>:2: NOTICE:  kiln: role not removed: role "owner" cannot be dropped because some objects depend on it';
    expect(pgUserInterpret(p, { stdout: '', stderr: notice, code: 0 })).toEqual({ changed: false, result: { user_removed: false } });
    expect(pgUserInterpret(p, { stdout: '', stderr: '', code: 0 })).toEqual({});
    expect(pgUserVerify(p, pgUserPrep(p), probed(MD5))).toEqual([]);
    // true (the default): a plain DROP USER, whose error fails the task; verify re-plans.
    const strict: PgUserParams = { name: 'owner', state: 'absent' };
    expect(pgUserSql(strict, pgUserPrep(strict), ops)[0]!.sql).toBe('DROP USER "owner"');
    expect(pgUserInterpret(strict, { stdout: '', stderr: 'ERROR:  role "owner" cannot be dropped', code: 3 }).failed).toContain(
      'cannot be dropped',
    );
    expect(pgUserVerify(strict, pgUserPrep(strict), probed(MD5))).toEqual(['drop role owner']);
  });
});
