/**
 * The data tier on the lab: roles/mysql on db1 (primary) and db2 (replica), then db3 added.
 *
 * Runs on the converged site (test/e2e/site-setup.ts: load balancers, the app on the web hosts).
 * db1 and db2 are then reset to fresh disks and the data tier's playbook
 * test/fixtures/data-tier/data.yml is applied to them, so the fresh-host dry run, the seeding and
 * the replica checks run on real empty servers. db3 is added with `kiln lab add` and removed at
 * the end, and the site is applied to the db hosts again, so later suites find it converged.
 * A restart-worthy setting restarts the replicas before the primary (systemd's timestamps prove
 * the order), and a setting that breaks replication on a replica fails its restart gate and gets
 * the last good configuration back.
 *
 * Timings and the replication lag seen are printed (console.log) for the closing note.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHostsInventory, kiln, labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { applySite, ensureSite, type SiteRun } from './site-setup.ts';
import { changedLines, comparePrediction, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e data-tier suite: ${skip}`);

const PLAYBOOK = join(REPO_ROOT, 'test/fixtures/data-tier/data.yml');
const LAB_VARS = join(REPO_ROOT, 'test/fixtures/data-tier/lab-vars.yml');
/** The role's lab defaults (roles/mysql/defaults/main.yml): what must never show up anywhere. */
const SECRETS = ['kiln-lab-app-password', 'kiln-lab-repl-password'];
const NATIVE_HASH = /\*[0-9A-F]{40}/;

describe.skipIf(skip)('data tier: MariaDB primary → replicas on the lab', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  /** -i arguments: the default hosts, and db3's inventory once it exists. */
  const inventories: string[] = [];
  const timings: Record<string, string> = {};
  const ssh = (host: string, cmd: string, input?: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), host, cmd], { encoding: 'utf8', input, timeout: 120_000 });
  /** SQL as root on a db host, on stdin; tab-separated rows without headers. */
  const sql = (host: string, statements: string) => ssh(host, 'sudo mariadb --batch --skip-column-names', statements).trim();
  const apply = async (name: string, args: string[] = []) => {
    const json = join(work, `${name}.json`);
    const t0 = Date.now();
    const r = await kiln(
      ['apply', PLAYBOOK, ...inventories, '-e', `@${LAB_VARS}`, '--json', json, '--progress', 'plain', ...args],
      REPO_ROOT,
    );
    timings[name] = `${((Date.now() - t0) / 1000).toFixed(1)}s`;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const s of SECRETS) {
      expect(r.stdout + r.stderr).not.toContain(s);
      expect(readFileSync(json, 'utf8')).not.toContain(s);
    }
    expect(r.stdout + readFileSync(json, 'utf8')).not.toMatch(NATIVE_HASH);
    return { r, rep: JSON.parse(readFileSync(json, 'utf8')) as Report };
  };
  /** Samples `ps` on hosts while `during` runs; returns every command line seen. */
  const samplePs = async <T>(hosts: string[], during: () => Promise<T>): Promise<{ result: T; seen: string }> => {
    const procs: ChildProcess[] = [];
    let seen = '';
    for (const h of hosts) {
      const p = spawn('ssh', ['-F', join(lab.dir, 'ssh_config'), h, 'while :; do ps -eo args; sleep 0.1; done']);
      p.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
      procs.push(p);
    }
    try {
      return { result: await during(), seen };
    } finally {
      for (const p of procs) p.kill();
    }
  };
  /** SHOW SLAVE STATUS by column name. */
  const slaveStatus = (host: string): Record<string, string> => {
    const [head, row] = ssh(host, 'sudo mariadb --batch', 'SHOW SLAVE STATUS;').split('\n');
    const values = (row ?? '').split('\t');
    return Object.fromEntries((head ?? '').split('\t').map((n, i) => [n, values[i] ?? '']));
  };
  /** Ids of MariaDB's replication threads (system user), relay log and uptime: equal = not restarted. */
  const replicaThreads = (host: string) => ({
    threads: sql(host, "SELECT GROUP_CONCAT(ID ORDER BY ID) FROM information_schema.PROCESSLIST WHERE USER = 'system user';"),
    status: slaveStatus(host),
    uptime: Number(sql(host, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME';")),
  });
  const waitFor = async (what: string, fn: () => boolean, timeoutMs = 30_000) => {
    const t0 = Date.now();
    while (!fn()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - t0;
  };

  let site: SiteRun;

  beforeAll(async () => {
    site = await ensureSite();
    lab = site.lab;
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-data-'));
    // Own inventories: the default hosts (others add hosts to the shared one mid-run), later db3's.
    defaultHostsInventory(lab.inventory, join(work, 'inventory.yml'));
    inventories.push('-i', join(work, 'inventory.yml'));
    // A leftover db3 from an interrupted run, then fresh db1/db2.
    await kiln(['lab', 'remove', 'db3'], REPO_ROOT);
    for (const h of ['db1', 'db2']) {
      const r = await kiln(['lab', 'reset', h], REPO_ROOT);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await kiln(['lab', 'remove', 'db3'], REPO_ROOT);
    // The db hosts back to the whole site (node_exporter, firewall) for the suites after this one.
    if (site) {
      const back = await applySite(site, 'data-restore-site', ['-l', 'db']);
      timings['site re-applied to db1/db2'] = `${(back.ms / 1000).toFixed(1)}s (exit ${back.r.code})`;
    }
    console.log(`data tier timings: ${JSON.stringify(timings)}`);
  });

  it('--check --diff on a fresh data tier lists exactly what the real run does; ps never shows a password', async () => {
    const check = await apply('fresh-check', ['--check', '--diff']);
    const { result: real, seen } = await samplePs(['db1', 'db2'], () => apply('fresh-apply', ['--diff']));
    comparePrediction(check.rep, real.rep);
    // The data-tier tasks themselves are exact predictions, not "unpredictable" guesses.
    const mysqlTasks = check.rep.tasks.filter((t) => /mysql_(db|user|replication)/.test((t as { module?: string }).module ?? ''));
    expect(mysqlTasks.length).toBeGreaterThan(0);
    expect(mysqlTasks.filter((t) => t.unpredictable)).toEqual([]);
    expect(changedLines(real.rep).some((l) => l.startsWith('db2 mysql | replicate from the primary: seed kiln from 10.77.0.31'))).toBe(
      true,
    );
    expect(seen.split('\n').length).toBeGreaterThan(50);
    for (const s of SECRETS) expect(seen).not.toContain(s);
    expect(seen).not.toMatch(NATIVE_HASH);
    // Seen from the hosts.
    expect(sql('db1', 'SELECT @@server_id, @@read_only, @@log_bin, @@binlog_format, @@gtid_strict_mode;')).toBe('31\t0\t1\tROW\t1');
    expect(sql('db2', 'SELECT @@server_id, @@read_only;')).toBe('32\t1');
    expect(ssh('db1', 'ss -ltn').includes('10.77.0.31:3306')).toBe(true);
    expect(sql('db1', "SELECT Host FROM mysql.user WHERE User = 'repl' ORDER BY Host;")).toBe('10.77.0.32');
    expect(sql('db1', "SELECT Host FROM mysql.user WHERE User = 'kiln_app' ORDER BY Host;")).toBe('10.77.0.21\n10.77.0.22');
  });

  it('a row written on the primary is read from the replica within seconds; lag is reported', async () => {
    sql(
      'db1',
      'CREATE TABLE IF NOT EXISTS kiln.kiln_e2e (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6));',
    );
    const lags: number[] = [];
    for (let i = 0; i < 5; i++) {
      const marker = `row-${Date.now()}-${i}`;
      // A poller on db2 (started first) prints, once the row is there, the microseconds between
      // the row's commit time on the primary (`at`, replicated as a value) and now on the replica:
      // the lab hosts share one kernel clock, so this is the replication delay (±10 ms polling).
      const poll = `echo ready; until r=$(sudo mariadb -N -B -e "SELECT TIMESTAMPDIFF(MICROSECOND, at, NOW(6)) FROM kiln.kiln_e2e WHERE v = '${marker}'") && [ -n "$r" ]; do sleep 0.01; done; echo "lag_us=$r"`;
      const poller = spawn('ssh', ['-F', join(lab.dir, 'ssh_config'), 'db2', poll]);
      let out = '';
      const done = new Promise<void>((r) => poller.on('exit', () => r()));
      poller.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      await waitFor('the poller on db2', () => out.includes('ready'), 10_000);
      sql('db1', `INSERT INTO kiln.kiln_e2e (v) VALUES ('${marker}');`);
      const timer = setTimeout(() => poller.kill(), 10_000);
      await done;
      clearTimeout(timer);
      const m = /lag_us=(\d+)/.exec(out);
      expect(m, `${marker} did not reach db2 within 10 s`).not.toBeNull();
      lags.push(Number(m![1]) / 1000);
    }
    const facts = JSON.parse((await kiln(['facts', 'db2', ...inventories], REPO_ROOT)).stdout) as {
      mysql: { replica: { seconds_behind_master: number; io_running: string } };
    };
    expect(facts.mysql.replica.io_running).toBe('Yes');
    expect(facts.mysql.replica.seconds_behind_master).toBeGreaterThanOrEqual(0);
    timings['replication delay primary commit → visible on db2 (ms, 5 rows)'] = lags.map((x) => x.toFixed(1)).join(',');
    timings['Seconds_Behind_Master (kiln facts)'] = String(facts.mysql.replica.seconds_behind_master);
    console.log(
      `replication delay (ms): ${lags.map((x) => x.toFixed(1)).join(', ')}; kiln facts seconds_behind_master=${facts.mysql.replica.seconds_behind_master}`,
    );
  });

  it('the app writes through HTTPS via a load balancer to the primary and reads the row back from the replica', async () => {
    const ca = join(REPO_ROOT, '.kiln/pki/ca.crt');
    const curl = (args: string) => execFileSync('sh', ['-c', `curl -sS --cacert '${ca}' --max-time 10 ${args}`], { encoding: 'utf8' });
    // The app checks its connections every few seconds: the db hosts were just rebuilt.
    await waitFor(
      'both database connections ok in /health',
      () => {
        const health = JSON.parse(curl('https://10.77.0.11/health')) as { db?: { primary: string; replica: string } };
        return health.db?.primary === 'ok' && health.db?.replica === 'ok';
      },
      30_000,
    );
    const text = `via-lb-${Date.now()}`;
    const written = JSON.parse(
      curl(`-X POST -H 'Content-Type: application/json' --data '{"text":"${text}"}' https://10.77.0.11/items`),
    ) as { id: number; written_to: string };
    expect(written.written_to).toBe('primary');
    await waitFor(
      `${text} read back through the LB`,
      () => {
        const r = JSON.parse(curl('https://10.77.0.11/items?limit=200')) as { read_from: string; items: { text: string }[] };
        return r.read_from === 'replica' && r.items.some((i) => i.text === text);
      },
      10_000,
    );
    expect(sql('db2', `SELECT COUNT(*) FROM kiln.kiln_items WHERE text = '${text}';`)).toBe('1');
  });

  it('a second apply changes nothing on the db hosts and leaves replication alone, while rows keep arriving', async () => {
    const before = replicaThreads('db2');
    expect(before.threads).toMatch(/^\d+(,\d+)+$/);
    expect([before.status.Slave_IO_Running, before.status.Slave_SQL_Running]).toEqual(['Yes', 'Yes']);
    const base = Number(sql('db1', 'SELECT COUNT(*) FROM kiln.kiln_e2e;'));
    // A writer on the primary: 300 autocommitted inserts, one every ~20 ms, during the re-run.
    const writer = spawn('ssh', [
      '-F',
      join(lab.dir, 'ssh_config'),
      'db1',
      'for i in $(seq 1 300); do echo "INSERT INTO kiln.kiln_e2e (v) VALUES (\'during-$i\');"; sleep 0.02; done | sudo mariadb',
    ]);
    const writerDone = new Promise<number>((r) => writer.on('exit', (code) => r(code ?? 1)));
    // Seconds_Behind_Master on the replica, sampled every 250 ms while the writer runs.
    const sbm = spawn('ssh', [
      '-F',
      join(lab.dir, 'ssh_config'),
      'db2',
      'for i in $(seq 1 40); do sudo mariadb -e "SHOW SLAVE STATUS\\G" | awk \'/Seconds_Behind_Master/ {print $2}\'; sleep 0.25; done',
    ]);
    let sbmOut = '';
    sbm.stdout!.on('data', (b: Buffer) => (sbmOut += b.toString()));
    const again = await apply('re-apply');
    expect(await writerDone).toBe(0);
    sbm.kill();
    const samples = sbmOut.split('\n').filter(Boolean);
    timings['Seconds_Behind_Master during the writes (samples)'] =
      `${samples.length} samples, max ${Math.max(...samples.map(Number))} s, values ${[...new Set(samples)].join('/')}`;
    console.log(`Seconds_Behind_Master during the writes: ${samples.join(' ')}`);
    // The run output shows the replica's state and lag on the ok replication task.
    expect(again.r.stdout).toMatch(/replicating from 10\.77\.0\.31:3306: IO Yes, SQL Yes, \d+s behind the primary/);
    for (const h of ['db1', 'db2']) expect(again.rep.hosts[h]!.changed, h).toBe(0);
    // Same replication threads (no STOP/START, no restart of the server) and the same connection.
    const after = replicaThreads('db2');
    expect(after.threads).toBe(before.threads);
    expect(after.status.Master_Host).toBe('10.77.0.31');
    expect(after.status.Relay_Log_File).toBe(before.status.Relay_Log_File);
    expect([after.status.Slave_IO_Running, after.status.Slave_SQL_Running]).toEqual(['Yes', 'Yes']);
    expect(after.uptime).toBeGreaterThanOrEqual(before.uptime);
    // Every row written during the run is on the replica.
    const total = base + 300;
    expect(Number(sql('db1', 'SELECT COUNT(*) FROM kiln.kiln_e2e;'))).toBe(total);
    const ms = await waitFor('all rows on db2', () => Number(sql('db2', 'SELECT COUNT(*) FROM kiln.kiln_e2e;')) === total);
    expect(sql('db2', "SELECT COUNT(DISTINCT v) FROM kiln.kiln_e2e WHERE v LIKE 'during-%';")).toBe('300');
    expect(sql('db2', 'SELECT SUM(CRC32(v)) FROM kiln.kiln_e2e;')).toBe(sql('db1', 'SELECT SUM(CRC32(v)) FROM kiln.kiln_e2e;'));
    timings['replica caught up after the writer (ms)'] = String(ms);
  });

  it('adding db3 seeds it from the primary with every row, then it replicates', async () => {
    const db3Inventory = join(work, 'db3.yml');
    const add = await kiln(
      ['lab', 'add', 'db3', '--address', '10.77.0.33', '--groups', 'db_replica', '--inventory', db3Inventory],
      REPO_ROOT,
      300_000,
    );
    expect(add.code, add.stderr + add.stdout).toBe(0);
    inventories.push('-i', db3Inventory);
    const db2Before = replicaThreads('db2');
    const { result: run, seen } = await samplePs(['db1', 'db3'], () => apply('add-db3'));
    for (const s of SECRETS) expect(seen).not.toContain(s);
    expect(changedLines(run.rep).some((l) => l.startsWith('db3 mysql | replicate from the primary: seed kiln from 10.77.0.31'))).toBe(true);
    expect(
      changedLines(run.rep)
        .filter((l) => l.startsWith('db1 '))
        .every((l) => l.includes("'repl'@'10.77.0.33'")),
    ).toBe(true);
    expect(replicaThreads('db2').threads).toBe(db2Before.threads);
    const want = sql('db1', 'SELECT COUNT(*), SUM(CRC32(v)) FROM kiln.kiln_e2e;');
    expect(sql('db3', 'SELECT COUNT(*), SUM(CRC32(v)) FROM kiln.kiln_e2e;')).toBe(want);
    expect(sql('db3', 'SELECT @@server_id, @@read_only;')).toBe('33\t1');
    sql('db1', "INSERT INTO kiln.kiln_e2e (v) VALUES ('after-db3');");
    await waitFor('after-db3 on db3', () => sql('db3', "SELECT COUNT(*) FROM kiln.kiln_e2e WHERE v = 'after-db3';") === '1', 10_000);
    const again = await apply('add-db3-again');
    for (const h of ['db1', 'db2', 'db3']) expect(again.rep.hosts[h]!.changed, h).toBe(0);
  });

  it('read_only drift is fixed at runtime (SET GLOBAL), without a restart', async () => {
    sql('db2', 'SET GLOBAL read_only = OFF;');
    const before = replicaThreads('db2');
    const fix = await apply('read-only-drift', ['-l', 'db2']);
    expect(changedLines(fix.rep)).toEqual([
      'db2 mysql | read_only at runtime (ON on replicas), no restart: set global read_only: OFF → ON (at runtime, no restart)',
    ]);
    expect(sql('db2', 'SELECT @@read_only;')).toBe('1');
    const after = replicaThreads('db2');
    expect(after.threads).toBe(before.threads);
    expect(after.uptime).toBeGreaterThanOrEqual(before.uptime);
  });

  it('a broken replica fails the task with the SQL error text', async () => {
    // A row only on db2 (outside the binary log), then the same key written on the primary.
    sql('db2', "SET SESSION sql_log_bin = 0; INSERT INTO kiln.kiln_e2e (id, v) VALUES (1000000, 'local-only');");
    sql('db1', "INSERT INTO kiln.kiln_e2e (id, v) VALUES (1000000, 'from-primary');");
    await waitFor('the SQL thread to stop', () => slaveStatus('db2').Slave_SQL_Running === 'No', 10_000);
    const json = join(work, 'broken.json');
    const r = await kiln(['apply', PLAYBOOK, ...inventories, '-e', `@${LAB_VARS}`, '--json', json, '-l', 'db2'], REPO_ROOT);
    expect(r.code).toBe(4);
    const failed = (JSON.parse(readFileSync(json, 'utf8')) as Report).tasks.find((t) => t.status === 'failed')!;
    expect(failed.task).toBe('mysql | replicate from the primary');
    expect(failed.message).toMatch(/SQL thread stopped: Last_SQL_Error: .*Duplicate entry '1000000'/);
    // An operator repairs it (drops the local row, starts the thread): the next run is ok again.
    sql('db2', 'SET SESSION sql_log_bin = 0; DELETE FROM kiln.kiln_e2e WHERE id = 1000000; START SLAVE SQL_THREAD;');
    await waitFor(
      'the row from the primary on db2',
      () => sql('db2', 'SELECT v FROM kiln.kiln_e2e WHERE id = 1000000;') === 'from-primary',
      10_000,
    );
    const ok = await apply('repaired', ['-l', 'db2']);
    expect(ok.rep.hosts.db2!.changed).toBe(0);
  });

  it('a server setting that needs a restart restarts the replicas first, each health-gated, and the primary after them', async () => {
    const hosts = ['db1', 'db2', 'db3'];
    const unit = (h: string) =>
      Object.fromEntries(
        ssh(h, 'systemctl show -p ActiveEnterTimestampMonotonic -p ActiveExitTimestampMonotonic mariadb')
          .trim()
          .split('\n')
          .map((l) => [l.split('=')[0]!, Number(l.split('=')[1])]),
      ) as { ActiveEnterTimestampMonotonic: number; ActiveExitTimestampMonotonic: number };
    const before = Object.fromEntries(hosts.map((h) => [h, unit(h)]));
    const run = await apply('restart-order', ['-e', 'mysql_binlog_expire_days=6']);
    expect(changedLines(run.rep).filter((l) => l.includes(' handler '))).toEqual([
      'db1 handler restart mariadb on the primary (after the replicas): restart mariadb',
      'db2 handler restart mariadb on the replicas (first): restart mariadb',
      'db3 handler restart mariadb on the replicas (first): restart mariadb',
    ]);
    const after = Object.fromEntries(hosts.map((h) => [h, unit(h)]));
    // The hosts share one kernel, so their monotonic clocks compare: each replica was up again
    // (and had passed its gate) before the primary began to stop.
    for (const r of ['db2', 'db3']) {
      expect(after[r]!.ActiveEnterTimestampMonotonic, r).toBeGreaterThan(before[r]!.ActiveEnterTimestampMonotonic);
      expect(after[r]!.ActiveEnterTimestampMonotonic, r).toBeLessThan(after.db1!.ActiveExitTimestampMonotonic);
    }
    expect(after.db1!.ActiveExitTimestampMonotonic).toBeGreaterThan(before.db1!.ActiveEnterTimestampMonotonic);
    const gap =
      (after.db1!.ActiveExitTimestampMonotonic -
        Math.max(after.db2!.ActiveEnterTimestampMonotonic, after.db3!.ActiveEnterTimestampMonotonic)) /
      1000;
    timings['primary began its restart after the last replica was up (ms)'] = gap.toFixed(0);
    const gated = run.rep.tasks.filter((t) => t.handler && t.status === 'changed') as { host: string; duration_ms?: number }[];
    timings['MariaDB restart handlers with their gate (ms)'] = gated.map((t) => `${t.host} ${t.duration_ms}`).join(', ');
    for (const h of hosts) expect(Number(sql(h, 'SELECT @@expire_logs_days;')), h).toBe(6);
    // The replicas' IO threads lost the primary during its restart: they reconnect within
    // connect_retry (10 s). A run started before that finds them "connecting" with an error.
    const replicating = () =>
      ['db2', 'db3'].every((r) => {
        const st = slaveStatus(r);
        return st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes';
      });
    timings['replicas reconnected after the primary restart (ms)'] = String(await waitFor('the replicas to reconnect', replicating));
    // Back to the role's value: the same order again.
    const back = await apply('restart-order-back');
    expect(changedLines(back.rep).filter((l) => l.includes(' handler ')).length).toBe(3);
    for (const h of hosts) expect(Number(sql(h, 'SELECT @@expire_logs_days;')), h).toBe(7);
    await waitFor('the replicas to reconnect', replicating);
  });

  it("a replica setting that breaks replication (server_id equal to the primary's): its restart fails the gate, the last good configuration comes back and it replicates again; the next run converges", async () => {
    const bad = ['-e', 'mysql_server_id=31', '-e', 'mysql_gate_timeout=10', '-l', 'db2'];
    const json = join(work, 'bad-server-id.json');
    const r = await kiln(['apply', PLAYBOOK, ...inventories, '-e', `@${LAB_VARS}`, '--json', json, ...bad], REPO_ROOT);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const failed = rep.tasks.filter((t) => t.status === 'failed');
    expect(failed.map((t) => `${t.host} ${t.task}`)).toEqual(['db2 restart mariadb on the replicas (first)']);
    expect(failed[0]!.message).toMatch(
      /^mariadb is not healthy after the restart: no healthy answer from its health command within 10s \(last: the health command exited 1: replication: IO thread No, SQL thread Yes \/ Last_IO_Error: .*equal MariaDB server ids.*\); restored the last good configuration \(\/etc\/mysql\/mariadb\.conf\.d\/60-kiln-server\.cnf, \/etc\/mysql\/mariadb\.conf\.d\/61-kiln-runtime\.cnf\) and restarted: healthy again/,
    );
    for (const s of SECRETS) expect(r.stdout + readFileSync(json, 'utf8')).not.toContain(s);
    // db2 runs its last good configuration again and replicates.
    expect(ssh('db2', 'grep "^server_id" /etc/mysql/mariadb.conf.d/60-kiln-server.cnf').trim()).toBe('server_id = 32');
    expect(sql('db2', 'SELECT @@server_id;')).toBe('32');
    await waitFor('both replication threads on db2', () => {
      const st = slaveStatus('db2');
      return st.Slave_IO_Running === 'Yes' && st.Slave_SQL_Running === 'Yes';
    });
    const marker = `after-restore-${Date.now()}`;
    sql('db1', `INSERT INTO kiln.kiln_e2e (v) VALUES ('${marker}');`);
    await waitFor(`${marker} on db2`, () => sql('db2', `SELECT COUNT(*) FROM kiln.kiln_e2e WHERE v = '${marker}';`) === '1', 10_000);
    // --check predicts the same change again; without the value, the pending restart converges.
    const check = await apply('bad-server-id-check', [...bad, '--check']);
    expect(changedLines(check.rep)).toEqual([
      'db2 handler restart mariadb on the replicas (first): restart mariadb',
      'db2 mysql | server settings (server_id, binary log, GTID, bind address): update content of /etc/mysql/mariadb.conf.d/60-kiln-server.cnf',
    ]);
    const fixed = await apply('bad-server-id-fixed', ['-l', 'db2']);
    expect(changedLines(fixed.rep)).toEqual(['db2 handler restart mariadb on the replicas (first): restart mariadb']);
    const again = await apply('bad-server-id-again', ['-l', 'db2']);
    expect(again.rep.hosts.db2!.changed).toBe(0);
  });
});
