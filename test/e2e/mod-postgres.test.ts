/**
 * Stop 27 (P) on a lab host added to the running lab (x27p1 10.77.0.221 only): PostgreSQL from
 * the lab's mirror, driven by postgresql_user, postgresql_db and postgresql_privs through psql.
 * Each module goes through the converge cycle (converge → 0 changed → tamper with psql as
 * postgres → --check --diff finds the drift → converge → 0 changed), and the registered results
 * are compared with the ones community.postgresql gave for the same tasks on the same kind of
 * host (test/fixtures/ansible/postgres/results.json, made by generate.yml beside it).
 * The shared site's hosts are never touched.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { parse, stringify } from 'yaml';
import { ensureLab, kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';
import { comparePrediction, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED stop 27 (P) lab suite: ${skip}`);

const HOST = 'x27p1';
/** The second host: geerlingguy.postgresql, unmodified, from the corpus. */
const ROLE_HOST = 'x27p2';
const CORPUS = join(REPO_ROOT, 'test/fixtures/role-corpus');

describe.skipIf(skip)('postgresql_user, postgresql_db and postgresql_privs on a lab host', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), HOST, cmd], { encoding: 'utf8', timeout: 120_000 }).trim();
  /** SQL run by psql as the postgres OS user on the host (the tamper tool). */
  const psql = (sql: string, db = 'postgres') =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), HOST, `sudo -u postgres psql -X -A -t -q -v ON_ERROR_STOP=1 -d ${db}`], {
      input: sql,
      encoding: 'utf8',
      timeout: 120_000,
    }).trim();
  const playbook = (name: string, body: string, head = '  become_user: postgres\n'): string => {
    const f = join(work, name);
    writeFileSync(f, `- hosts: ${HOST}\n  gather_facts: false\n${head}  tasks:\n${body}`);
    return f;
  };
  const failures = (r: Awaited<ReturnType<typeof runPlaybook>>) =>
    r.tasks.filter((t) => t.status === 'failed').map((t) => `${t.task}: ${t.message}`);

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-p27-'));
    inv = join(work, 'inventory.yml');
    // Leftovers of an interrupted run; one host at a time (a remove naming a host not added removes none).
    for (const h of [HOST, ROLE_HOST]) await kiln(['lab', 'remove', h], SHARED_LAB_CWD);
    const add = await kiln(['lab', 'add', HOST, '--address', '10.77.0.221', '--inventory', inv], SHARED_LAB_CWD);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const setup = await runPlaybook(
      playbook(
        'setup.yml',
        [
          '    - package: {name: [postgresql], state: present, update_cache: true}',
          '    - service: {name: postgresql, state: started}',
          '',
        ].join('\n'),
        '',
      ),
      inv,
    );
    expect(failures(setup)).toEqual([]);
  }, 900_000);

  afterAll(async () => {
    if (skip) return;
    for (const h of [HOST, ROLE_HOST]) await kiln(['lab', 'remove', h], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it("registers community.postgresql's result shapes (the same tasks as the Ansible fixture)", async () => {
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/ansible/postgres/results.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    // The fixture's playbook, run by Kiln under Kiln's module names (ans_ → k_ names).
    const src = readFileSync(join(import.meta.dirname, '../fixtures/ansible/postgres/generate.yml'), 'utf8')
      .replace(/community\.postgresql\./g, '')
      .replace(/ans_u/g, 'k_u')
      .replace(/ans_db/g, 'k_db')
      .replace(
        '        dest: /tmp/p27/ansible-results.json\n      delegate_to: localhost\n      become: false\n',
        '        dest: /root/p27-results.json\n      become_user: root\n',
      );
    const pb = join(work, 'results.yml');
    writeFileSync(pb, src);
    const rep = await runPlaybook(pb, inv);
    expect(failures(rep)).toEqual([]);
    const got = JSON.parse(ssh('sudo cat /root/p27-results.json')) as Record<string, Record<string, unknown>>;
    // Word order inside a statement follows Python's set order in the collection (role_attr_flags, privs).
    const norm = (v: unknown): unknown =>
      typeof v === 'string'
        ? v
            .replace(/ans_u|k_u/g, 'U')
            .replace(/ans_db|k_db/g, 'D')
            .split('\n')
            .map((l) =>
              l
                .split(/([ ,])/)
                .filter((w) => w !== ',' && w !== '')
                .sort()
                .join('|'),
            )
            .join('\n')
        : Array.isArray(v)
          ? v.map(norm)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
            : v;
    expect(Object.keys(got).sort()).toEqual(Object.keys(fixture).sort());
    for (const k of Object.keys(fixture)) expect(norm(got[k]), k).toEqual(norm(fixture[k]));
  }, 600_000);

  it('postgresql_user: the converge cycle (password compared with the SCRAM verifier, attributes, comment)', async () => {
    const pb = playbook(
      'user.yml',
      '    - postgresql_user: {name: cyc_u, password: "pa:ss\\\\word", role_attr_flags: "CREATEDB,NOSUPERUSER,LOGIN", conn_limit: 5, comment: cycle, expires: "2031-01-01"}\n',
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () =>
        expect(
          psql("SELECT rolcreatedb, rolsuper, rolconnlimit, rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'cyc_u'"),
        ).toBe('t|f|5|t'),
      tamper: () => {
        psql("ALTER ROLE cyc_u PASSWORD 'changed' CONNECTION LIMIT 1 NOCREATEDB; COMMENT ON ROLE cyc_u IS 'tampered'");
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').flatMap((t) => t.changes.map((c) => c.summary))).toEqual([
      'alter role cyc_u: password, createdb false → true, connection limit 1 → 5',
      'comment on role cyc_u: "tampered" → "cycle"',
    ]);
  }, 600_000);

  it('login_user/login_password over TCP: the password goes through a password file that is removed', async () => {
    // The role of the cycle above logs in over TCP with its password (Debian: scram-sha-256 for 127.0.0.1).
    const pb = playbook(
      'tcp.yml',
      '    - postgresql_db: {name: cyc_owned, login_host: 127.0.0.1, login_user: cyc_u, login_password: "pa:ss\\\\word", owner: cyc_u}\n',
      '',
    );
    expect((await runPlaybook(pb, inv)).tasks.map((t) => t.status)).toEqual(['changed']);
    expect((await runPlaybook(pb, inv)).tasks.map((t) => t.status)).toEqual(['ok']);
    expect(psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'cyc_owned'")).toBe('cyc_u');
    expect(ssh("sudo grep -rl 'pa\\\\:ss' /tmp /var/tmp 2>/dev/null || true")).toBe('');
    // A wrong password: the server refuses, and the plan says it could not look.
    const wrong = playbook(
      'tcp-wrong.yml',
      '    - postgresql_db: {name: cyc_owned, login_host: 127.0.0.1, login_user: cyc_u, login_password: nope}\n',
      '',
    );
    const w = await runPlaybook(wrong, inv, { check: true });
    expect(w.tasks[0]!.unpredictable).toBe(true);
    expect(w.tasks[0]!.changes[0]!.summary).toContain('password authentication failed');
  }, 600_000);

  it('postgresql_db: the converge cycle (owner, connection limit), run as root (psql as the postgres OS user)', async () => {
    psql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'db_owner') THEN CREATE ROLE db_owner; END IF; END$$");
    const pb = playbook(
      'db.yml',
      '    - postgresql_db: {name: cyc_db, owner: db_owner, encoding: UTF-8, template: template0, lc_collate: C.UTF-8, lc_ctype: C.UTF-8, conn_limit: "7"}\n',
      '',
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () =>
        expect(
          psql(
            "SELECT pg_get_userbyid(datdba), datconnlimit, pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE datname = 'cyc_db'",
          ),
        ).toBe('db_owner|7|UTF8|C.UTF-8'),
      tamper: () => {
        psql('ALTER DATABASE cyc_db OWNER TO postgres; ALTER DATABASE cyc_db CONNECTION LIMIT -1');
      },
    });
    expect(r.check.tasks[0]!.changes.map((c) => c.summary)).toEqual([
      'owner of database cyc_db: postgres → db_owner',
      'connection limit of database cyc_db: -1 → 7',
    ]);
    // An encoding that differs from the existing database's fails, in --check too (it cannot change).
    const bad = playbook('db-bad.yml', '    - postgresql_db: {name: cyc_db, encoding: LATIN1}\n', '');
    for (const check of [true, false]) {
      const rep = await runPlaybook(bad, inv, { check });
      expect(rep.tasks[0]!.status).toBe('failed');
      expect(rep.tasks[0]!.message).toContain('Changing database encoding is not supported. Current encoding: UTF8');
    }
  }, 600_000);

  it('postgresql_privs: the converge cycle on a table, a schema, a database and default privileges', async () => {
    psql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN CREATE ROLE reader LOGIN; END IF; END$$");
    psql("SELECT 'CREATE DATABASE privdb' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'privdb')\\gexec");
    psql('CREATE TABLE IF NOT EXISTS t1 (id int); CREATE TABLE IF NOT EXISTS t2 (id int); CREATE SCHEMA IF NOT EXISTS app', 'privdb');
    const pb = playbook(
      'privs.yml',
      [
        '    - postgresql_privs: {db: privdb, roles: reader, privs: "SELECT,UPDATE", objs: ALL_IN_SCHEMA}',
        '    - postgresql_privs: {db: privdb, roles: reader, privs: USAGE, type: schema, objs: app, grant_option: true}',
        '    - postgresql_privs: {db: privdb, roles: reader, privs: "CONNECT,TEMP", type: database}',
        '    - postgresql_privs: {db: privdb, roles: reader, privs: SELECT, type: default_privs, objs: "TABLES,SEQUENCES", schema: app, target_roles: postgres}',
        '    - postgresql_privs: {db: privdb, roles: reader, privs: INSERT, objs: t2, state: absent}',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        expect(psql("SELECT has_table_privilege('reader', 't1', 'SELECT'), has_table_privilege('reader', 't2', 'UPDATE')", 'privdb')).toBe(
          't|t',
        );
        expect(psql("SELECT has_schema_privilege('reader', 'app', 'USAGE WITH GRANT OPTION')", 'privdb')).toBe('t');
        expect(psql("SELECT has_database_privilege('reader', 'privdb', 'TEMP')")).toBe('t');
        expect(psql("SELECT count(*) FROM pg_default_acl WHERE defaclnamespace = 'app'::regnamespace", 'privdb')).toBe('3');
      },
      tamper: () => {
        psql(
          'REVOKE SELECT ON t1 FROM reader; GRANT INSERT ON t2 TO reader; REVOKE GRANT OPTION FOR USAGE ON SCHEMA app FROM reader; ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA app GRANT UPDATE ON TABLES TO reader',
          'privdb',
        );
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').flatMap((t) => t.changes.map((c) => c.summary))).toEqual([
      'grant SELECT,UPDATE on table ALL_IN_SCHEMA public: reader on t1: + SELECT',
      'grant USAGE on schema app: reader on app: grant option for USAGE',
      'grant SELECT on future TABLES,SEQUENCES: reader on future tables of postgres: SELECT,UPDATE → SELECT',
      'revoke INSERT on table t2: reader on t2: − INSERT',
    ]);
    // A role that does not exist fails the task, as fail_on_role's default; false skips it.
    const missing = playbook('privs-missing.yml', '    - postgresql_privs: {db: privdb, roles: nobody_here, privs: SELECT, objs: t1}\n');
    const m = await runPlaybook(missing, inv, { check: true });
    expect(m.tasks[0]!.message).toContain("Role 'nobody_here' does not exist");
    const skipped = playbook(
      'privs-skip.yml',
      '    - postgresql_privs: {db: privdb, roles: nobody_here, privs: SELECT, objs: t1, fail_on_role: false}\n',
    );
    expect((await runPlaybook(skipped, inv)).tasks[0]!.status).toBe('ok');
  }, 600_000);
  it('postgresql_user state absent: a role that owns objects fails the task, or with fail_on_user: false stays (ok, user_removed false)', async () => {
    psql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'owner_u') THEN CREATE ROLE owner_u; END IF; END$$");
    psql('CREATE TABLE IF NOT EXISTS owned (id int); ALTER TABLE owned OWNER TO owner_u');
    const strict = playbook('drop.yml', '    - postgresql_user: {name: owner_u, state: absent}\n');
    const failed = await runPlaybook(strict, inv);
    expect(failed.tasks[0]!.status).toBe('failed');
    expect(failed.tasks[0]!.message).toContain('cannot be dropped because some objects depend on it');
    const lenient = playbook(
      'drop-lenient.yml',
      [
        '    - postgresql_user: {name: owner_u, state: absent, fail_on_user: false}',
        '      register: dropped',
        "    - copy: {content: '{{ dropped | to_json }}', dest: /root/p27-dropped.json}",
        '      become_user: root',
        '',
      ].join('\n'),
    );
    const r = await runPlaybook(lenient, inv);
    expect(r.tasks.map((t) => t.status)).toEqual(['ok', 'changed']);
    expect(JSON.parse(ssh('sudo cat /root/p27-dropped.json'))).toMatchObject({
      changed: false,
      user: 'owner_u',
      user_removed: false,
      queries: ['DROP USER "owner_u"'],
    });
    expect(psql("SELECT count(*) FROM pg_roles WHERE rolname = 'owner_u'")).toBe('1');
  }, 600_000);

  it("geerlingguy.postgresql, unmodified: a fresh dry run stops where Ansible's does; converges; more users, databases and privileges are predicted and made", async () => {
    const added = join(work, 'added.yml');
    const add = await kiln(['lab', 'add', ROLE_HOST, '--address', '10.77.0.222', '--inventory', added], SHARED_LAB_CWD);
    expect(add.code, add.stderr).toBe(0);
    // The host in the group the role's README playbook targets (as in the corpus's hosts.yml).
    const vars = (parse(readFileSync(added, 'utf8')) as { all: { vars: Record<string, unknown> } }).all.vars;
    const inventory = join(work, 'role-inventory.yml');
    writeFileSync(inventory, stringify({ all: { vars, children: { database: { hosts: { [ROLE_HOST]: { address: '10.77.0.222' } } } } } }));
    const apply = async (tag: string, args: string[] = []) => {
      const json = join(work, `role-${tag}.json`);
      const r = await kiln(['apply', join(CORPUS, 'postgresql.yml'), '-i', inventory, '--json', json, ...args], CORPUS);
      return { r, rep: readReport(json) };
    };
    const changed = (r: Report) => [
      ...new Set(
        r.tasks.filter((t) => t.status === 'changed').map((t) => `${t.handler ? 'handler ' : ''}${t.task.replace(/ \(.*\)$/, '')}`),
      ),
    ];
    // locale_gen needs the locales package the run installs: Ansible's dry run fails there too.
    const fresh = await apply('fresh-check', ['--check']);
    expect(fresh.r.code).toBe(4);
    expect(fresh.rep.tasks.find((t) => t.status === 'failed')?.task).toMatch(/^Ensure all configured locales are present\./);
    expect(changed(fresh.rep)).toContain('Ensure PostgreSQL packages are installed.');
    const real = await apply('real', ['--diff']);
    expect(real.r.code, real.r.stdout.slice(-4000) + real.r.stderr).toBe(0);
    expect(changed(real.rep)).toEqual(
      expect.arrayContaining(['Ensure PostgreSQL users are present.', 'Ensure PostgreSQL databases are present.']),
    );
    const again = await apply('again');
    expect(changed(again.rep), 'a second run changes nothing').toEqual([]);
    const ssh2 = (cmd: string) =>
      execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), ROLE_HOST, cmd], { encoding: 'utf8', timeout: 120_000 }).trim();
    // The README's user logs in with its password over TCP (the role's pg_hba: md5 on 127.0.0.1).
    expect(ssh2("PGPASSWORD=supersecure psql -h 127.0.0.1 -U example_user -d example_db -XAtc 'SELECT current_user'")).toBe('example_user');

    // More users, a database and privileges: the dry run predicts them (privileges on a database
    // the run creates cannot be probed before: flagged unpredictable), the run makes them, then 0 changed.
    const more = join(work, 'more.yml');
    writeFileSync(
      more,
      stringify({
        postgresql_databases: [{ name: 'example_db' }, { name: 'shop', owner: 'shopper' }],
        postgresql_users: [
          { name: 'example_user', password: 'supersecure' },
          { name: 'shopper', password: 'shop-pw', role_attr_flags: 'CREATEDB,NOSUPERUSER' },
        ],
        postgresql_privs: [
          { db: 'shop', roles: 'example_user', privs: 'CONNECT', type: 'database' },
          { db: 'shop', roles: 'example_user', privs: 'SELECT', type: 'default_privs', objs: 'TABLES', target_roles: 'shopper' },
        ],
      }),
    );
    const check = await apply('more-check', ['--check', '--diff', '-e', `@${more}`]);
    expect(check.r.code, check.r.stdout.slice(-4000)).toBe(0);
    const made = await apply('more', ['--diff', '-e', `@${more}`]);
    expect(made.r.code, made.r.stdout.slice(-4000)).toBe(0);
    comparePrediction(check.rep, made.rep);
    expect(changed(made.rep)).toEqual([
      'Ensure PostgreSQL users are present.',
      'Ensure PostgreSQL databases are present.',
      'Ensure PostgreSQL users are configured correctly.',
      'Ensure PostgreSQL users privileges are configured correctly.',
    ]);
    const settled = await apply('more-again', ['-e', `@${more}`]);
    expect(changed(settled.rep)).toEqual([]);
    expect(
      ssh2("PGPASSWORD=shop-pw psql -h 127.0.0.1 -U shopper -d shop -XAtc 'SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user'"),
    ).toBe('t');
    expect(ssh2("sudo -u postgres psql -d shop -XAtc \"SELECT has_database_privilege('example_user', 'shop', 'CONNECT')\"")).toBe('t');
  }, 900_000);
});
