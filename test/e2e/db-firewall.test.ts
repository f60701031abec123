/**
 * The database firewall (issue 18) on the converged site, each denial shown from outside:
 *
 * - the network rule: 3306 of every db host from the web tier and the other db hosts (any of them
 *   may be the writer after a switchover or failover: docs/database-failover.md); lb1 and mon1
 *   reach no db host;
 * - the application account only from web-tier addresses (from the replica, which the network lets
 *   reach the primary: "Access denied for user 'kiln_app'@'<db2>'"), the replication account only
 *   from the replicas (from web1: denied);
 * - TLS required: the app account without TLS (right host, right password) is refused; the
 *   replication account without TLS (--skip-ssl) too; with TLS both work;
 * - least privilege: DROP, GRANT, SELECT on mysql.user, ALTER, CREATE DATABASE, INTO OUTFILE,
 *   LOAD DATA INFILE, SET GLOBAL each fail with their error; LOAD_FILE gives NULL (MariaDB's
 *   answer without the FILE privilege: no error, and no content);
 * - MAX_USER_CONNECTIONS + 1 connections → ER_USER_LIMIT_REACHED (1226);
 * - replication runs over TLS with the primary's certificate verified (Master_SSL_Allowed and
 *   Master_SSL_Verify_Server_Cert Yes); a drift of it, of the app account's limits or of the
 *   replication account's TLS requirement is shown by --check and fixed by the next run;
 * - the app still works end to end: POST /items through a load balancer → the row on the
 *   primary → read back from the replica.
 *
 * The web hosts have no MariaDB client: the app's own driver (Debian's node-mysql, which the app
 * uses) runs a small probe script with node on web1, reading the app's config.json as root for the
 * account and CA; nothing is installed for the test. The db hosts use their mariadb client with a
 * 0600 option file (passwords never in argv).
 *
 * Nothing is left different from the converged site: the connections are closed, the drifts are
 * converged again by the run that fixes them (the suite ends with a --check: 0 changed).
 *
 * KILN_E2E_DBFW_SITE=file.json runs the suite on another converged site instead of the shared one
 * (a developer's own `kiln lab add` hosts): {"inventory": "...", "ca": ".../ca.crt", "hosts":
 * {"lb1": ["name", "10.77.0.x"], "web1": […], "db1": […], "db2": […], "mon1": […]}}.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';
import { ensureSite, SITE_PLAYBOOK } from './site-setup.ts';
import { changedLines, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e db-firewall suite: ${skip}`);

/** The roles' lab-only defaults (roles/mysql/defaults/main.yml): the site uses them on the lab. */
const APP_PASSWORD = 'kiln-lab-app-password';
const REPL_PASSWORD = 'kiln-lab-repl-password';
const NATIVE_HASH = /\*[0-9A-F]{40}/;

type Role = 'lb1' | 'web1' | 'db1' | 'db2' | 'mon1';
interface Topology {
  inventory: string;
  /** `-e` arguments of the site's runs. */
  extraArgs: string[];
  ca: string;
  hosts: Record<Role, [name: string, address: string]>;
  sshConfig: string;
}

/** The app's driver on a web host: connect (TLS with the app's CA, or not) and run statements, or open N connections. */
const PROBE_JS = `
const mysql = require('/usr/share/nodejs/mysql');
const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync('/etc/kiln-app/config.json', 'utf8')).db;
const a = JSON.parse(Buffer.from(PROBE_B64, 'base64').toString('utf8'));
const password = a.password !== undefined ? a.password : Buffer.from(cfg.password_b64, 'base64').toString('utf8');
const err = (e) => ({ code: e.code, errno: e.errno, message: e.sqlMessage || e.message });
function connect() {
  const c = mysql.createConnection({
    host: a.host, port: 3306, user: a.user || cfg.user, password, database: a.database, connectTimeout: 5000,
    ...(a.tls ? { ssl: { ca: fs.readFileSync(cfg.tls.ca, 'utf8') } } : {}),
  });
  return new Promise((res) => c.connect((e) => res(e ? { c, error: err(e) } : { c })));
}
const q = (c, sql) => new Promise((res) => c.query(sql, (e, rows) => res(e ? { error: err(e) } : { rows })));
(async () => {
  if (a.connections) {
    const all = await Promise.all(Array.from({ length: a.connections }, connect));
    console.log(JSON.stringify({ ok: all.filter((x) => !x.error).length, errors: all.filter((x) => x.error).map((x) => x.error) }));
    for (const x of all) x.c.destroy();
    return;
  }
  const { c, error } = await connect();
  if (error) { c.destroy(); console.log(JSON.stringify({ connect: error })); return; }
  const results = [];
  for (const sql of a.sql || []) results.push(await q(c, sql));
  c.end(() => console.log(JSON.stringify({ results })));
})();
`;

interface SqlError {
  code: string;
  errno: number;
  message: string;
}
interface ProbeResult {
  connect?: SqlError;
  results?: { rows?: Record<string, unknown>[]; error?: SqlError }[];
}

describe.skipIf(skip)('database firewall: who reaches MariaDB, over what, with which rights', () => {
  let T: Topology;
  let work: string;
  const h = (r: Role) => T.hosts[r][0];
  const ip = (r: Role) => T.hosts[r][1];
  const ssh = (host: string, cmd: string, input?: string) =>
    execFileSync('ssh', ['-F', T.sshConfig, host, cmd], { encoding: 'utf8', input, timeout: 120_000 });
  /** Like ssh, but returns exit code and both outputs. */
  const sshTry = (host: string, cmd: string, input?: string): { code: number; out: string } => {
    try {
      return { code: 0, out: ssh(host, cmd, input) };
    } catch (e) {
      const x = e as { status?: number; stdout?: string; stderr?: string };
      return { code: x.status ?? 1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
    }
  };
  /** The probe on web1 with the app's driver; the probe (and any password in it) travels on stdin. */
  const probe = (a: Record<string, unknown>): ProbeResult => {
    const b64 = Buffer.from(JSON.stringify(a)).toString('base64');
    const out = ssh(h('web1'), 'sudo node -', `const PROBE_B64 = '${b64}';\n${PROBE_JS}`);
    expect(out).not.toMatch(NATIVE_HASH);
    return JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;
  };
  /** The mariadb client as root on a db host to another host, credentials in a 0600 option file (stdin). */
  const client = (from: Role, to: Role, user: string, password: string, tls: 'verify' | 'off', sql: string) =>
    sshTry(
      h(from),
      // The SQL travels base64-encoded (no quoting), the credentials on stdin.
      `sudo sh -c 'umask 077; f=$(mktemp); cat > "$f"; mariadb --defaults-extra-file="$f" -h ${ip(to)} ${
        tls === 'verify' ? '--ssl-ca=/etc/mysql/tls/ca.crt --ssl-verify-server-cert' : '--skip-ssl'
      } --batch --skip-column-names -e "$(echo ${Buffer.from(sql).toString('base64')} | base64 -d)" 2>&1; rc=$?; rm -f "$f"; exit $rc'`,
      `[client]\nuser=${user}\npassword=${password}\n`,
    );
  const reachable = (from: Role, to: Role) =>
    sshTry(h(from), `timeout 3 bash -c 'echo > /dev/tcp/${ip(to)}/3306' 2>/dev/null && echo open || echo blocked`).out.trim();
  const rootSql = (r: Role, sql: string) => ssh(h(r), 'sudo mariadb --batch --skip-column-names', sql).trim();
  const slaveStatus = (r: Role): Record<string, string> => {
    const [head, row] = ssh(h(r), 'sudo mariadb --batch', 'SHOW SLAVE STATUS;').split('\n');
    const values = (row ?? '').split('\t');
    return Object.fromEntries((head ?? '').split('\t').map((n, i) => [n, values[i] ?? '']));
  };
  const apply = async (name: string, args: string[]): Promise<{ code: number; rep: Report; out: string }> => {
    const json = join(work, `${name}.json`);
    const r = await kiln(['apply', SITE_PLAYBOOK, '-i', T.inventory, ...T.extraArgs, '--json', json, ...args], REPO_ROOT, 900000);
    for (const s of [APP_PASSWORD, REPL_PASSWORD]) {
      expect(r.stdout + r.stderr).not.toContain(s);
      expect(readFileSync(json, 'utf8')).not.toContain(s);
    }
    return { code: r.code, rep: readReport(json), out: r.stdout + r.stderr };
  };
  const waitFor = async (what: string, fn: () => boolean, timeoutMs = 30_000) => {
    const t0 = Date.now();
    while (!fn()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-dbfw-'));
    const own = process.env.KILN_E2E_DBFW_SITE;
    if (own) {
      const o = JSON.parse(readFileSync(own, 'utf8')) as Omit<Topology, 'extraArgs' | 'sshConfig'>;
      T = { ...o, extraArgs: [], sshConfig: join(SHARED_LAB_CWD, '.lab/ssh_config') };
      return;
    }
    const site = await ensureSite();
    T = {
      inventory: site.lab.inventory,
      extraArgs: site.extraArgs,
      ca: join(REPO_ROOT, '.kiln/pki/ca.crt'),
      sshConfig: join(site.lab.dir, 'ssh_config'),
      hosts: {
        lb1: ['lb1', '10.77.0.11'],
        web1: ['web1', '10.77.0.21'],
        db1: ['db1', '10.77.0.31'],
        db2: ['db2', '10.77.0.32'],
        mon1: ['mon1', '10.77.0.41'],
      },
    };
  });

  it('the network rule: 3306 from the web tier and the other db hosts (any may be the writer after a switchover), not from the others', () => {
    const seen = Object.fromEntries(
      (
        [
          ['web1', 'db1'],
          ['web1', 'db2'],
          ['db2', 'db1'],
          ['db1', 'db2'],
          ['lb1', 'db1'],
          ['lb1', 'db2'],
          ['mon1', 'db1'],
          ['mon1', 'db2'],
        ] as [Role, Role][]
      ).map(([f, t]) => [`${f}→${t}`, reachable(f, t)]),
    );
    expect(seen).toEqual({
      'web1→db1': 'open',
      'web1→db2': 'open',
      'db2→db1': 'open',
      'db1→db2': 'open',
      'lb1→db1': 'blocked',
      'lb1→db2': 'blocked',
      'mon1→db1': 'blocked',
      'mon1→db2': 'blocked',
    });
  });

  it("the app account from a host that is not a web host: Access denied for user 'kiln_app'@'<that host>'", () => {
    // db2 is the one host outside the web tier that the network rule lets reach the primary.
    const r = client('db2', 'db1', 'kiln_app', APP_PASSWORD, 'verify', 'SELECT 1');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`Access denied for user 'kiln_app'@'${ip('db2')}'`);
    // The same account and password from web1, over TLS: accepted (the denial above is the host's).
    const ok = probe({ host: ip('db1'), tls: true, database: 'kiln', sql: ['SELECT 1 AS ok', "SHOW STATUS LIKE 'Ssl_version'"] });
    expect(ok.connect).toBeUndefined();
    expect(ok.results![0]!.rows).toEqual([{ ok: 1 }]);
    expect(String(ok.results![1]!.rows![0]!.Value)).toMatch(/^TLSv1\.[23]$/);
  });

  it('the replication account from a web host: denied; from the replica without TLS: refused; with TLS: accepted', () => {
    const fromWeb = probe({ host: ip('db1'), tls: true, user: 'repl', password: REPL_PASSWORD, sql: ['SELECT 1'] });
    // MariaDB may or may not add "(using password: YES)" here (seen both on 10.11): the denial is what counts.
    expect(fromWeb.connect?.message).toMatch(
      new RegExp(`^Access denied for user 'repl'@'${ip('web1').replaceAll('.', '\\.')}'( \\(using password: YES\\))?$`),
    );
    const plain = client('db2', 'db1', 'repl', REPL_PASSWORD, 'off', 'SELECT 1');
    expect(plain.code).not.toBe(0);
    expect(plain.out).toContain(`ERROR 1045 (28000): Access denied for user 'repl'@'${ip('db2')}' (using password: YES)`);
    const tls = client('db2', 'db1', 'repl', REPL_PASSWORD, 'verify', "SHOW STATUS LIKE 'Ssl_version'");
    expect(tls.code, tls.out).toBe(0);
    expect(tls.out).toMatch(/Ssl_version\tTLSv1\.[23]/);
  });

  it('the app account without TLS (right host, right password) is refused', () => {
    for (const r of ['db1', 'db2'] as Role[]) {
      const plain = probe({ host: ip(r), tls: false, sql: ['SELECT 1'] });
      expect(plain.connect).toEqual({
        code: 'ER_ACCESS_DENIED_ERROR',
        errno: 1045,
        message: `Access denied for user 'kiln_app'@'${ip('web1')}' (using password: YES)`,
      });
    }
  });

  it('least privilege: each statement outside SELECT, INSERT, CREATE on its database fails with its error', () => {
    const me = `'kiln_app'@'${ip('web1')}'`;
    // The app creates its table at its first write: make sure it exists (a fresh site has none yet).
    expect(ssh(h('web1'), 'curl -sS -X POST --data dbfw-first-write http://127.0.0.1:3000/items')).toContain('"written_to":"primary"');
    const table = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'kiln' AND TABLE_NAME = 'kiln_items';";
    expect(rootSql('db1', table)).toBe('1');
    const cases: [string, Partial<SqlError> | 'null'][] = [
      ['DROP TABLE kiln.kiln_items', { errno: 1142, message: `DROP command denied to user ${me} for table \`kiln\`.\`kiln_items\`` }],
      [`GRANT SELECT ON kiln.* TO 'kiln_app'@'${ip('mon1')}'`, { errno: 1044, message: `Access denied for user ${me} to database 'kiln'` }],
      ['SELECT User FROM mysql.user', { errno: 1142, message: `SELECT command denied to user ${me} for table \`mysql\`.\`user\`` }],
      [
        'ALTER TABLE kiln.kiln_items ADD COLUMN x INT',
        { errno: 1142, message: `ALTER command denied to user ${me} for table \`kiln\`.\`kiln_items\`` },
      ],
      ['CREATE DATABASE kiln_other', { errno: 1044, message: `Access denied for user ${me} to database 'kiln_other'` }],
      [
        "SELECT 1 INTO OUTFILE '/tmp/kiln-e2e-outfile'",
        { errno: 1227, message: 'Access denied; you need (at least one of) the FILE privilege(s) for this operation' },
      ],
      [
        "LOAD DATA INFILE '/etc/passwd' INTO TABLE kiln.kiln_items",
        { errno: 1045, message: `Access denied for user ${me} (using password: YES)` },
      ],
      [
        'SET GLOBAL read_only = 1',
        { errno: 1227, message: 'Access denied; you need (at least one of) the READ_ONLY ADMIN privilege(s) for this operation' },
      ],
      // Without FILE, MariaDB's LOAD_FILE answers NULL: no error, and nothing of the file.
      ["SELECT LOAD_FILE('/etc/passwd') AS f", 'null'],
    ];
    const r = probe({ host: ip('db1'), tls: true, database: 'kiln', sql: cases.map(([s]) => s) });
    expect(r.connect).toBeUndefined();
    cases.forEach(([sql, want], i) => {
      const got = r.results![i]!;
      if (want === 'null') expect(got, sql).toEqual({ rows: [{ f: null }] });
      else expect(got.error, sql).toMatchObject(want);
    });
    // The table and the primary are as they were.
    expect(rootSql('db1', table)).toBe('1');
    expect(rootSql('db1', 'SELECT @@GLOBAL.read_only;')).toBe('0');
  });

  it('MAX_USER_CONNECTIONS + 1 connections from one web host: ER_USER_LIMIT_REACHED (1226)', () => {
    const limit = Number(rootSql('db1', `SELECT max_user_connections FROM mysql.user WHERE User = 'kiln_app' AND Host = '${ip('web1')}';`));
    expect(limit).toBe(50);
    const r = probe({ host: ip('db1'), tls: true, connections: limit + 1 }) as unknown as { ok: number; errors: SqlError[] };
    // The app's own pool may hold some of the account's connections: at most `limit` succeed in all.
    expect(r.ok).toBeLessThanOrEqual(limit);
    expect(r.errors.length).toBeGreaterThanOrEqual(1);
    for (const e of r.errors) {
      expect(e).toEqual({
        code: 'ER_USER_LIMIT_REACHED',
        errno: 1226,
        message: `User 'kiln_app' has exceeded the 'max_user_connections' resource (current value: ${limit})`,
      });
    }
  });

  it("replication runs over TLS, the primary's certificate verified against Kiln's CA", () => {
    const st = slaveStatus('db2');
    expect(st).toMatchObject({
      Master_Host: ip('db1'),
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'Yes',
      Master_SSL_Allowed: 'Yes',
      Master_SSL_CA_File: '/etc/mysql/tls/ca.crt',
      Master_SSL_Verify_Server_Cert: 'Yes',
      Last_IO_Error: '',
    });
    // The primary's certificate names its address and chains to the controller's CA.
    const crt = join(work, 'db1-server.crt');
    writeFileSync(crt, ssh(h('db1'), 'sudo cat /etc/mysql/tls/server.crt'));
    const verify = execFileSync('openssl', ['verify', '-CAfile', T.ca, crt], { encoding: 'utf8' });
    expect(verify).toContain('OK');
    const sans = ssh(h('db1'), 'sudo openssl x509 -in /etc/mysql/tls/server.crt -noout -ext subjectAltName');
    expect(sans).toContain(`IP Address:${ip('db1')}`);
    // The key: root:mysql 0640 in a 0750 directory; the server reads it, others cannot.
    expect(ssh(h('db1'), 'sudo stat -c "%a %U:%G" /etc/mysql/tls /etc/mysql/tls/server.key').trim().split('\n')).toEqual([
      '750 root:mysql',
      '640 root:mysql',
    ]);
    // Every TCP client must use TLS.
    expect(rootSql('db1', 'SELECT @@require_secure_transport;')).toBe('1');
  });

  it('a drift (replica verification off, the app limit lowered, the replication TLS requirement dropped) is shown by --check and fixed', async () => {
    ssh(h('db2'), 'sudo mariadb', 'STOP SLAVE; CHANGE MASTER TO MASTER_SSL_VERIFY_SERVER_CERT = 0; START SLAVE;');
    ssh(
      h('db1'),
      'sudo mariadb',
      `SET SESSION sql_log_bin = 0; ALTER USER 'kiln_app'@'${ip('web1')}' WITH MAX_USER_CONNECTIONS 5; ALTER USER 'repl'@'${ip('db2')}' REQUIRE NONE;`,
    );
    const check = await apply('drift-check', ['-l', 'db', '--check', '--diff']);
    expect(check.code, check.out).toBe(0);
    const lines = changedLines(check.rep);
    expect(lines).toEqual(
      expect.arrayContaining([
        `${h('db1')} mysql | application account (app hosts' addresses) (${h('web1')}): resource limits of 'kiln_app'@'${ip('web1')}': MAX_USER_CONNECTIONS 5 → 50`,
        `${h('db1')} mysql | replication account (the other database servers' addresses) (${h('db2')}): TLS requirement of 'repl'@'${ip('db2')}': NONE → SSL`,
        `${h('db2')} mysql | replicate from the primary: change replication source: verify the primary's certificate No → Yes (stop, change, start)`,
      ]),
    );
    expect(lines.filter((l) => l.includes('application account') && !l.includes(ip('web1')))).toEqual([]);
    const fix = await apply('drift-fix', ['-l', 'db']);
    expect(fix.code, fix.out).toBe(0);
    expect(changedLines(fix.rep)).toEqual(lines);
    expect(slaveStatus('db2')).toMatchObject({ Master_SSL_Verify_Server_Cert: 'Yes', Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
    const again = await apply('drift-converged', ['--check']);
    expect(again.code, again.out).toBe(0);
    expect(Object.values(again.rep.hosts).map((x) => x.changed)).toEqual(Object.values(again.rep.hosts).map(() => 0));
  });

  it('the app still works end to end: POST through a load balancer → the primary → read back from the replica', async () => {
    const curl = (args: string) => execFileSync('sh', ['-c', `curl -sS --cacert '${T.ca}' --max-time 10 ${args}`], { encoding: 'utf8' });
    const lb = `https://${ip('lb1')}`;
    await waitFor('both database connections ok in /health', () => {
      const health = JSON.parse(curl(`${lb}/health`)) as { db?: { primary: string; replica: string } };
      return health.db?.primary === 'ok' && health.db?.replica === 'ok';
    });
    const text = `dbfw-${Date.now()}`;
    const written = JSON.parse(curl(`-X POST -H 'Content-Type: application/json' --data '{"text":"${text}"}' ${lb}/items`)) as {
      written_to: string;
    };
    expect(written.written_to).toBe('primary');
    expect(rootSql('db1', `SELECT COUNT(*) FROM kiln.kiln_items WHERE text = '${text}';`)).toBe('1');
    await waitFor(`${text} read back from the replica through the load balancer`, () => {
      const r = JSON.parse(curl(`${lb}/items?limit=200`)) as { read_from: string; items: { text: string }[] };
      return r.read_from === 'replica' && r.items.some((i) => i.text === text);
    });
    expect(rootSql('db2', `SELECT COUNT(*) FROM kiln.kiln_items WHERE text = '${text}';`)).toBe('1');
    // The app's connections are the TLS ones its account requires (REQUIRE SSL): it would not be connected otherwise.
    expect(rootSql('db1', "SELECT ssl_type FROM mysql.user WHERE User = 'kiln_app' LIMIT 1;")).toBe('ANY');
  });
});
