/**
 * Issue 19 (database half), proof by failure on the suite's OWN lab hosts (never the 7 shared
 * ones): dbf1 (10.77.0.171, the inventory's db_primary), dbf2 (.172) and dbf3 (.173) replicas, and
 * dbfw (.175) running the sample app (roles/app) wired to the writer. The data and web tiers are
 * applied with test/fixtures/db-failover/tiers.yml (site.yml's data play and web play, app only).
 *
 * Load while the database moves: on dbfw, a node script
 * - writes through the application (POST /items, text `<tag>-<n>`, one at a time every 50 ms):
 *   each 201 is an acknowledged write, checked afterwards on the new writer;
 * - reads from dbf3 (a replica in both scenarios) with the application's account and driver
 *   (SELECT COUNT(*) every 100 ms): failures are counted and printed.
 * The figures (write downtime, failover time, reads failed, semi-sync cost) are printed; the
 * assertions are about correctness, never timings.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';
import { changedLines, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED database failover suite: ${skip}`);

const TIERS = join(REPO_ROOT, 'test/fixtures/db-failover/tiers.yml');
const SWITCHOVER = join(REPO_ROOT, 'playbooks/db-switchover.yml');
const FAILOVER = join(REPO_ROOT, 'playbooks/db-failover.yml');
const DB = ['dbf1', 'dbf2', 'dbf3'];
const WEB = 'dbfw';
const ALL = [...DB, WEB];
const ADDR: Record<string, string> = { dbf1: '10.77.0.171', dbf2: '10.77.0.172', dbf3: '10.77.0.173', dbfw: '10.77.0.175' };

/** The load script on the web host (node, the app's driver): writes through the app, reads from a replica. */
const LOAD_JS = `
const http = require('http');
const fs = require('fs');
const mysql = require('/usr/share/nodejs/mysql');
const a = JSON.parse(Buffer.from(process.argv[2], 'base64').toString('utf8'));
const cfg = JSON.parse(fs.readFileSync('/etc/kiln-app/config.json', 'utf8')).db;
const password = Buffer.from(cfg.password_b64, 'base64').toString('utf8');
const stopped = () => fs.existsSync(a.stop);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stdout.write(s + '\\n');
function post(text) {
  return new Promise((res) => {
    const req = http.request({ host: '127.0.0.1', port: 3000, path: '/items', method: 'POST', timeout: 5000 }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode));
    });
    req.on('error', () => res(0));
    req.on('timeout', () => req.destroy());
    req.end(JSON.stringify({ text }));
  });
}
(async () => {
  const reads = (async () => {
    const pool = mysql.createPool({ host: a.replica, port: 3306, user: cfg.user, password, database: cfg.name,
      connectTimeout: 2000, ssl: { ca: fs.readFileSync(cfg.tls.ca, 'utf8') }, connectionLimit: 2 });
    while (!stopped()) {
      const ok = await new Promise((res) => pool.query({ sql: 'SELECT COUNT(*) AS n FROM kiln_items', timeout: 2000 }, (e) => res(!e)));
      log((ok ? 'read-ok ' : 'read-fail ') + Date.now());
      await sleep(100);
    }
    pool.end(() => {});
  })();
  let i = 0;
  while (!stopped()) {
    i++;
    const t0 = Date.now();
    const code = await post(a.tag + '-' + i);
    log((code === 201 ? 'ack ' : 'fail ') + i + ' ' + t0 + ' ' + Date.now() + ' ' + code);
    await sleep(50);
  }
  await reads;
  log('done');
  process.exit(0);
})();
`;

interface LoadFigures {
  acked: string[];
  failedWrites: number;
  /** [start, end] ms of each acknowledged write. */
  ackTimes: [number, number][];
  readsOk: number;
  readsFailed: number;
}

describe.skipIf(skip)('database switchover and failover on the suite’s own hosts (issue 19)', () => {
  const labDir = join(SHARED_LAB_CWD, '.lab');
  let work: string;
  let inv: string[];
  const figures: Record<string, string> = {};
  const ssh = (host: string, cmd: string, input?: string) =>
    execFileSync('ssh', ['-F', join(labDir, 'ssh_config'), host, cmd], { encoding: 'utf8', input, timeout: 120_000 }).trim();
  const sql = (host: string, statements: string) => ssh(host, 'sudo mariadb --batch --skip-column-names', statements);
  const slave = (host: string): Record<string, string> => {
    const out = ssh(host, "sudo mariadb --batch -e 'SHOW SLAVE STATUS'").split('\n');
    if (out.length < 2) return {};
    const h = out[0]!.split('\t');
    const v = out[1]!.split('\t');
    return Object.fromEntries(h.map((k, i) => [k, v[i] ?? '']));
  };
  const waitFor = async (what: string, cond: () => boolean, ms = 60_000) => {
    const t0 = Date.now();
    for (;;) {
      try {
        if (cond()) return Date.now() - t0;
      } catch {
        /* not yet */
      }
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const apply = async (name: string, playbook: string, extra: string[] = []) => {
    const json = join(work, `${name}.json`);
    const t0 = Date.now();
    const r = await kiln(['apply', playbook, ...inv, '--json', json, ...extra], REPO_ROOT, 900_000);
    const ms = Date.now() - t0;
    let rep: Report | undefined;
    try {
      rep = readReport(json);
    } catch {
      rep = undefined;
    }
    return { r, rep, ms, t0 };
  };
  /** The app account's driver on the web host against `host`: one statement, its error if any. */
  const appSql = (host: string, statement: string): { error?: { code: string; errno: number; message: string } } => {
    const js = `
const mysql = require('/usr/share/nodejs/mysql'); const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync('/etc/kiln-app/config.json', 'utf8')).db;
const c = mysql.createConnection({ host: ${JSON.stringify(host)}, port: 3306, user: cfg.user, database: cfg.name,
  password: Buffer.from(cfg.password_b64, 'base64').toString('utf8'), connectTimeout: 5000, ssl: { ca: fs.readFileSync(cfg.tls.ca, 'utf8') } });
c.query(${JSON.stringify(statement)}, (e) => { console.log(JSON.stringify(e ? { error: { code: e.code, errno: e.errno, message: e.sqlMessage || e.message } } : {})); c.destroy(); });`;
    return JSON.parse(ssh(WEB, 'sudo node', js)) as { error?: { code: string; errno: number; message: string } };
  };

  class Load {
    private readonly proc: ChildProcess;
    private out = '';
    readonly tag = `l${Date.now()}`;
    private readonly stopFile = `/run/kiln-dbload-${this.tag}`;
    constructor(replica: string) {
      const arg = Buffer.from(JSON.stringify({ tag: this.tag, stop: this.stopFile, replica })).toString('base64');
      ssh(WEB, `cat > /tmp/kiln-dbload.js`, LOAD_JS);
      // Bounded: the script stops at the stop file, and timeout(1) ends it after 20 minutes anyway.
      this.proc = spawn('ssh', ['-F', join(labDir, 'ssh_config'), WEB, `sudo timeout 1200 node /tmp/kiln-dbload.js ${arg}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    }
    acks(): number {
      return this.out.split('\n').filter((l) => l.startsWith('ack ')).length;
    }
    async stop(): Promise<LoadFigures> {
      ssh(WEB, `sudo touch ${this.stopFile}`);
      const exited = new Promise((r) => this.proc.on('exit', r));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (this.proc.exitCode === null) this.proc.kill();
      ssh(WEB, `sudo rm -f ${this.stopFile}`);
      const lines = this.out.split('\n');
      const acks = lines.filter((l) => l.startsWith('ack ')).map((l) => l.split(' '));
      return {
        acked: acks.map((f) => `${this.tag}-${f[1]}`),
        ackTimes: acks.map((f) => [Number(f[2]), Number(f[3])]),
        failedWrites: lines.filter((l) => l.startsWith('fail ')).length,
        readsOk: lines.filter((l) => l.startsWith('read-ok ')).length,
        readsFailed: lines.filter((l) => l.startsWith('read-fail ')).length,
      };
    }
    /** Acknowledged writes missing on `host`. */
    missingOn(host: string, f: LoadFigures): string[] {
      const have = new Set(sql(host, `SELECT text FROM kiln.kiln_items WHERE text LIKE '${this.tag}-%';`).split('\n'));
      return f.acked.filter((v) => !have.has(v));
    }
  }
  /** The longest time without an acknowledged write (from one ack's end to the next ack's end) after `from`. */
  const writeGap = (f: LoadFigures, from: number) => {
    let gap = 0;
    for (let i = 1; i < f.ackTimes.length; i++) {
      if (f.ackTimes[i]![1] < from) continue;
      gap = Math.max(gap, f.ackTimes[i]![1] - f.ackTimes[i - 1]![1]);
    }
    return gap;
  };
  const caughtUp = (replica: string, primary: string) => {
    const pos = sql(primary, 'SELECT @@GLOBAL.gtid_binlog_pos;');
    return sql(replica, `SELECT MASTER_GTID_WAIT('${pos}', 1);`) === '0';
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-dbfailover-'));
    const hosts = join(work, 'inventory.yml');
    // The groups live in their own file: `kiln lab add/remove` rewrite the hosts' inventory file.
    const groups = join(work, 'groups.yml');
    writeFileSync(
      groups,
      'all:\n  children:\n    db:\n      children:\n        db_primary:\n          hosts: { dbf1: {} }\n        db_replica:\n          hosts: { dbf2: {}, dbf3: {} }\n    web:\n      hosts: { dbfw: {} }\n',
    );
    inv = ['-i', hosts, '-i', groups];
    await kiln(['lab', 'remove', ...ALL], SHARED_LAB_CWD); // leftovers of an interrupted run
    const a = await kiln(['lab', 'add', 'dbf', '--count', '3', '--address', ADDR.dbf1!, '--inventory', hosts], SHARED_LAB_CWD);
    expect(a.code, a.stderr).toBe(0);
    const w = await kiln(['lab', 'add', WEB, '--address', ADDR.dbfw!, '--inventory', hosts], SHARED_LAB_CWD);
    expect(w.code, w.stderr).toBe(0);
    const fresh = await apply('fresh', TIERS);
    expect(fresh.r.code, fresh.r.stdout.slice(-3000) + fresh.r.stderr).toBe(0);
    figures['fresh data + web tiers (s)'] = (fresh.ms / 1000).toFixed(1);
    const again = await apply('fresh-again', TIERS);
    expect(again.r.code).toBe(0);
    for (const h of ALL) expect(again.rep!.hosts[h]!.changed, h).toBe(0);
  }, 1_200_000);

  afterAll(async () => {
    await kiln(['lab', 'remove', ...ALL], SHARED_LAB_CWD);
    console.log(`database failover figures: ${JSON.stringify(figures, null, 1)}`);
  });

  it('every server starts read-only; only the writer is writable; the app account cannot bypass read_only', async () => {
    // The app's first write creates its table (on the writer; the replicas get it by replication).
    expect(ssh(WEB, 'curl -s -XPOST -d first http://127.0.0.1:3000/items')).toContain('"written_to":"primary"');
    await waitFor('the table on dbf2', () => sql('dbf2', "SELECT COUNT(*) FROM kiln.kiln_items WHERE text = 'first';") === '1');
    expect(DB.map((h) => sql(h, 'SELECT @@GLOBAL.read_only;'))).toEqual(['0', '1', '1']);
    for (const h of DB) expect(ssh(h, 'grep ^read_only /etc/mysql/mariadb.conf.d/61-kiln-runtime.cnf'), h).toBe('read_only = ON');
    for (const h of DB) expect(ssh(h, 'sudo cat /var/lib/kiln/mysql-topology | grep -v ^#'), h).toBe('epoch=1\nprimary=dbf1');
    const grants = sql('dbf1', `SHOW GRANTS FOR 'kiln_app'@'${ADDR.dbfw}';`);
    expect(grants).not.toMatch(/SUPER|READ_ONLY ADMIN|ALL PRIVILEGES/);
    const refused = appSql(ADDR.dbf2!, "INSERT INTO kiln_items (text, written_by) VALUES ('to-a-replica', 'e2e')");
    expect(refused.error?.errno).toBe(1290);
    figures['app write to a replica'] = `${refused.error?.code}: ${refused.error?.message}`;
  });

  it('planned switchover under a write loop: no acknowledged write lost, a second run changes nothing, the next tiers run follows the record', async () => {
    const load = new Load(ADDR.dbf3!);
    await waitFor('the first acknowledged writes', () => load.acks() > 10);
    const run = await apply('switchover', SWITCHOVER, ['-e', 'db_new_primary=dbf2']);
    expect(run.r.code, run.r.stdout.slice(-4000) + run.r.stderr).toBe(0);
    const before = load.acks();
    await waitFor('writes acknowledged by the new writer', () => load.acks() > before + 20);
    const f = await load.stop();
    expect(changedLines(run.rep!).filter((l) => /fence the writer|promote the new writer/.test(l))).toEqual([
      expect.stringMatching(/^dbf1 fence the writer .*: fence: read_only OFF → ON, kill \d+ session\(s\) of kiln_app/),
      expect.stringMatching(/^dbf2 promote the new writer .*: promote to writer: wait until GTID 0-171-\d+ is applied/),
    ]);
    expect(load.missingOn('dbf2', f)).toEqual([]);
    expect(DB.map((h) => sql(h, 'SELECT @@GLOBAL.read_only;'))).toEqual(['1', '0', '1']);
    for (const r of ['dbf1', 'dbf3']) {
      expect(slave(r).Master_Host, r).toBe(ADDR.dbf2);
      await waitFor(`${r} caught up with dbf2`, () => caughtUp(r, 'dbf2'));
      expect(load.missingOn(r, f), r).toEqual([]);
    }
    expect(ssh(WEB, 'sudo grep -o \'"primary": { "host": "[0-9.]*"\' /etc/kiln-app/config.json')).toContain(ADDR.dbf2);
    figures['switchover: playbook run (s)'] = (run.ms / 1000).toFixed(1);
    figures['switchover: write downtime (longest gap between acknowledged writes, ms)'] = String(writeGap(f, run.t0));
    figures['switchover: writes acknowledged / refused'] = `${f.acked.length} / ${f.failedWrites}`;
    figures['switchover: reads from dbf3 ok / failed'] = `${f.readsOk} / ${f.readsFailed}`;

    const second = await apply('switchover-again', SWITCHOVER, ['-e', 'db_new_primary=dbf2']);
    expect(second.r.code).toBe(0);
    for (const h of ALL) expect(second.rep!.hosts[h]!.changed, h).toBe(0);
    // The inventory still says dbf1: the tiers' run follows the record, says so, changes nothing.
    const site = await apply('tiers-after-switchover', TIERS);
    expect(site.r.code).toBe(0);
    expect(site.r.stdout).toContain("WARNING: the servers' topology record (epoch 2) names dbf2 as the writer");
    for (const h of ALL) expect(site.rep!.hosts[h]!.changed, h).toBe(0);
  }, 900_000);

  it('unplanned failover with semi-sync: the writer powered off, the most advanced replica promoted, no acknowledged write lost; the old writer comes back read-only and is re-joined', async () => {
    const semi = await apply('semi-sync-on', TIERS, ['-e', 'mysql_semi_sync=true']);
    expect(semi.r.code, semi.r.stdout.slice(-3000)).toBe(0);
    for (const r of ['dbf1', 'dbf3']) await waitFor(`${r} replicating`, () => slave(r).Slave_IO_Running === 'Yes');
    await waitFor('both semi-sync replicas connected', () =>
      sql('dbf2', "SHOW STATUS LIKE 'Rpl_semi_sync_master_clients';").endsWith('\t2'),
    );
    const load = new Load(ADDR.dbf3!);
    await waitFor('the first acknowledged writes', () => load.acks() > 20);
    const kill = await kiln(['lab', 'stop', 'dbf2', '--kill'], SHARED_LAB_CWD);
    expect(kill.code, kill.stderr).toBe(0);
    const killedAt = Date.now();
    const run = await apply('failover', FAILOVER, ['-e', 'mysql_semi_sync=true']);
    expect(run.r.code, run.r.stdout.slice(-4000) + run.r.stderr).toBe(0);
    const before = load.acks();
    await waitFor('writes acknowledged by the new writer', () => load.acks() > before + 20);
    const f = await load.stop();
    expect(changedLines(run.rep!).filter((l) => /promote the new writer/.test(l))).toEqual([
      expect.stringMatching(/^dbf1 promote the new writer .*stop the IO thread and apply the relay log/),
    ]);
    expect(load.missingOn('dbf1', f)).toEqual([]);
    const firstAckAfter = f.ackTimes.find((t) => t[0] > killedAt);
    figures['failover: from power-off to the first acknowledged write on the new writer (s)'] = firstAckAfter
      ? ((firstAckAfter[1] - killedAt) / 1000).toFixed(1)
      : 'none';
    figures['failover: playbook run (s)'] = (run.ms / 1000).toFixed(1);
    figures['failover: writes acknowledged / refused'] = `${f.acked.length} / ${f.failedWrites}`;
    figures['failover: reads from dbf3 ok / failed'] = `${f.readsOk} / ${f.readsFailed}`;
    expect(slave('dbf3').Master_Host).toBe(ADDR.dbf1);
    await waitFor('dbf3 caught up with dbf1', () => caughtUp('dbf3', 'dbf1'));

    // The old writer powered on again: fenced at boot, it refuses the application's writes.
    const on = await kiln(['lab', 'start', 'dbf2'], SHARED_LAB_CWD);
    expect(on.code, on.stderr).toBe(0);
    await waitFor('MariaDB on dbf2', () => sql('dbf2', 'SELECT 1;') === '1');
    expect(sql('dbf2', 'SELECT @@GLOBAL.read_only;')).toBe('1');
    const refused = appSql(ADDR.dbf2!, "INSERT INTO kiln_items (text, written_by) VALUES ('to-the-old-writer', 'e2e')");
    expect(refused.error?.errno).toBe(1290);
    figures['app write to the returning old writer'] = `${refused.error?.code}: ${refused.error?.message}`;

    // The next run re-joins it as a replica of the new writer.
    const rejoin = await apply('rejoin', TIERS, ['-e', 'mysql_semi_sync=true']);
    expect(rejoin.r.code, rejoin.r.stdout.slice(-4000)).toBe(0);
    expect(changedLines(rejoin.rep!)).toContainEqual(
      expect.stringMatching(
        /^dbf2 mysql \| replicate from the primary: replicate from 10\.77\.0\.171:3306 .*from this server's own binary log position/,
      ),
    );
    await waitFor('dbf2 replicating from dbf1', () => {
      const st = slave('dbf2');
      return st.Master_Host === ADDR.dbf1 && st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes';
    });
    await waitFor('dbf2 caught up with dbf1', () => caughtUp('dbf2', 'dbf1'));
    expect(load.missingOn('dbf2', f)).toEqual([]);
    expect(ssh('dbf2', 'sudo cat /var/lib/kiln/mysql-topology | grep -v ^#')).toBe('epoch=3\nprimary=dbf1');
    const again = await apply('rejoin-again', TIERS, ['-e', 'mysql_semi_sync=true']);
    for (const h of ALL) expect(again.rep!.hosts[h]!.changed, h).toBe(0);
  }, 1_200_000);

  it('semi-sync cost per write: median latency of sequential inserts with and without (printed)', async () => {
    const bench = (label: string) => {
      const js = `
const mysql = require('/usr/share/nodejs/mysql'); const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync('/etc/kiln-app/config.json', 'utf8')).db;
const c = mysql.createConnection({ host: cfg.primary.host, port: 3306, user: cfg.user, database: cfg.name,
  password: Buffer.from(cfg.password_b64, 'base64').toString('utf8'), ssl: { ca: fs.readFileSync(cfg.tls.ca, 'utf8') } });
const q = (s) => new Promise((res, rej) => c.query(s, (e) => (e ? rej(e) : res())));
(async () => { const t = [];
  for (let i = 0; i < 200; i++) { const t0 = process.hrtime.bigint(); await q("INSERT INTO kiln_items (text, written_by) VALUES ('bench-${label}', 'e2e')"); t.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  t.sort((a, b) => a - b); console.log(JSON.stringify({ median: t[100], p90: t[180] })); c.end(); })();`;
      return JSON.parse(ssh(WEB, 'sudo node', js)) as { median: number; p90: number };
    };
    const withSemi = bench('semi');
    const off = await apply('semi-sync-off', TIERS);
    expect(off.r.code).toBe(0);
    await waitFor('replicas replicating', () => ['dbf2', 'dbf3'].every((r) => slave(r).Slave_IO_Running === 'Yes'));
    expect(sql('dbf1', "SHOW STATUS LIKE 'Rpl_semi_sync_master_status';")).toMatch(/\tOFF$/);
    const without = bench('async');
    expect(withSemi.median).toBeGreaterThan(0);
    figures['insert median / p90 ms, semi-sync (200 sequential inserts)'] = `${withSemi.median.toFixed(2)} / ${withSemi.p90.toFixed(2)}`;
    figures['insert median / p90 ms, asynchronous'] = `${without.median.toFixed(2)} / ${without.p90.toFixed(2)}`;
  }, 900_000);
});
