/**
 * roles/app + roles/nginx (and the release module) on the lab's web hosts, seen from outside:
 * fresh hosts (web1 and web2 are reset at the start) → `--check` predicts the real run exactly →
 * curl through nginx answers with each host's name → a re-run changes nothing → an invalid nginx
 * configuration fails validation while the old one keeps serving → a release that fails its
 * health check is rolled back and the previous one keeps serving → a config change whose restart
 * leaves the app unhealthy fails web1 and a rolling run stops there → a valid but wrong nginx
 * value fails web1's reload gate, its last good nginx.conf is restored and the rolling run stops
 * there → a good new release
 * deploys, and old releases are pruned → a deploy interrupted before its restart is finished →
 * with database variables, the app writes through the primary and reads from the replica (a
 * throwaway MariaDB on web1 stands in for the data tier).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, kiln, labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { changedLines, comparePrediction, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e web-tier suite: ${skip}`);

const PB = join(REPO_ROOT, 'test/fixtures/web-tier/web-tier.yml');
/** The same roles with serial: 1 and max_fail_percentage: 0 (a rolling deploy). */
const ROLLING = join(REPO_ROOT, 'test/fixtures/web-tier/web-tier-rolling.yml');
const BROKEN_APP = join(REPO_ROOT, 'test/fixtures/web-tier/broken-app');
const LOCAL_DB = join(REPO_ROOT, 'test/fixtures/web-tier/local-db.yml');
const WEB = { web1: '10.77.0.21', web2: '10.77.0.22' } as const;
/** The app's config task is `no_log` (it holds the database password): its result is censored, as in Ansible. */
const NOLOG_CONFIG_CHANGE =
  "web1 app configuration: the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/** GET through curl on the controller (status and body). */
function get(url: string): { status: number; body: string } {
  const out = execFileSync('curl', ['-s', '--max-time', '5', '-w', '\n%{http_code}', url], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}
const json = (url: string) => {
  const r = get(url);
  expect(r.status, `${url}: ${r.body}`).toBe(200);
  return JSON.parse(r.body) as Record<string, unknown>;
};

/** The JSON answer of a URL, or undefined when it does not answer 200 (for polling). */
function peek(url: string): Record<string, unknown> | undefined {
  const r = get(url);
  return r.status === 200 ? (JSON.parse(r.body) as Record<string, unknown>) : undefined;
}

/** Polls `cond` (errors count as false) until it holds; fails after 30 tries, 0.5 s apart. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 30; i++) {
    try {
      if (cond()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(cond()).toBe(true);
}

describe.skipIf(skip)('web tier (roles nginx + app) on web1 and web2', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  const times: Record<string, number> = {};
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', host, cmd], { encoding: 'utf8' });
  /** The report of an earlier run of this suite, by name. */
  const real = (name: string) => readReport(join(work, `${name}.json`));
  const apply = async (name: string, args: string[] = [], playbook = PB) => {
    const file = join(work, `${name}.json`);
    const t0 = Date.now();
    const r = await kiln(['apply', playbook, '-i', lab.inventory, '--json', file, ...args], REPO_ROOT);
    times[name] = Date.now() - t0;
    let rep: Report | undefined;
    try {
      rep = readReport(file);
    } catch {
      rep = undefined;
    }
    return { r, rep: rep!, out: r.stdout + r.stderr };
  };

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-web-'));
    for (const h of Object.keys(WEB)) {
      const r = await kiln(['lab', 'reset', h], REPO_ROOT);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 300_000);

  it('fresh hosts: --check predicts the real run, nginx serves the app, a re-run changes nothing', async () => {
    const check = await apply('check', ['--check']);
    expect(check.r.code, check.out).toBe(0);
    const real = await apply('apply');
    expect(real.r.code, real.out).toBe(0);
    comparePrediction(check.rep, real.rep);
    for (const h of Object.keys(WEB)) {
      expect(changedLines(real.rep)).toContain(
        `${h} app release (atomic switch, health check, rollback on failure): deploy release 1.0.2 (current none)`,
      );
    }
    const again = await apply('rerun', ['--stats']);
    expect(again.r.code, again.out).toBe(0);
    const checkAgain = await apply('check-converged', ['--check']);
    expect(checkAgain.r.code).toBe(0);
    for (const h of Object.keys(WEB)) {
      expect(again.rep.hosts[h]!.changed, again.out).toBe(0);
      expect(again.rep.hosts[h]!.round_trips).toBe(1);
      expect(checkAgain.rep.hosts[h]!.changed).toBe(0);
    }
    console.log(
      `web tier wall times (2 hosts): --check fresh ${times.check} ms, apply fresh ${times.apply} ms, converged re-run ${times.rerun} ms, --check converged ${times['check-converged']} ms`,
    );

    // Seen from outside, through nginx on the load balancers' port.
    for (const [h, addr] of Object.entries(WEB)) {
      const root = json(`http://${addr}:8080/`);
      expect(root).toMatchObject({ host: h, hostname: h, release: '1.0.2' });
      expect(json(`http://${addr}:8080/health`)).toMatchObject({
        status: 'ok',
        host: h,
        release: '1.0.2',
        db: { primary: 'not configured' },
      });
      expect(get(`http://${addr}:8080/items`).status).toBe(404); // no database configured
      // stub_status: allowed from localhost and the monitoring group, not from the controller.
      expect(get(`http://${addr}:8081/stub_status`).status).toBe(403);
      expect(ssh(h, 'curl -s http://127.0.0.1:8081/stub_status')).toMatch(/Active connections: \d+/);
    }
    // The service: own unprivileged user, restart on failure, only on localhost; the access log.
    expect(ssh('web1', 'ps -o user= -C node').trim()).toBe('kiln-app');
    expect(ssh('web1', 'systemctl show -p Restart --value kiln-app').trim()).toBe('on-failure');
    expect(ssh('web1', 'id -u kiln-app').trim()).toMatch(/^\d{3}$/); // a system uid (< 1000)
    expect(ssh('web1', 'ss -Hltn sport = :3000').trim()).toContain('127.0.0.1:3000');
    expect(ssh('web1', 'sudo stat -c "%a %U" /etc/kiln-app/config.json').trim()).toBe('600 kiln-app');
    expect(ssh('web1', 'readlink /opt/kiln-app/current').trim()).toBe('releases/1.0.2');
    expect(ssh('web1', 'sudo tail -n 20 /var/log/nginx/access.log')).toContain('"GET / HTTP/1.1" 200');
  }, 600_000);

  it('an invalid nginx configuration fails validation; the old config stays live and serves', async () => {
    const before = ssh('web1', 'sha256sum /etc/nginx/nginx.conf');
    // Quoted as Ansible's -e needs it: key=value words split at spaces (a bare word is refused).
    const bad = await apply('bad-nginx', ['-l', 'web1', '-e', "nginx_extra_http_config='kiln_no_such_directive on;'"]);
    expect(bad.r.code).toBe(4);
    const t = bad.rep.tasks.find((x) => x.task.startsWith('nginx configuration'))!;
    expect(t.status).toBe('failed');
    expect(t.message).toContain('validation failed: nginx -t');
    expect(t.message).toContain('unknown directive "kiln_no_such_directive"');
    expect(ssh('web1', 'sha256sum /etc/nginx/nginx.conf')).toBe(before);
    expect(ssh('web1', 'ls -a /etc/nginx')).not.toContain('.kiln.');
    expect(json(`http://${WEB.web1}:8080/`)).toMatchObject({ host: 'web1', release: '1.0.2' });
    // The good config still converges. The reload notification was written ahead of the failed
    // apply: Kiln cannot know that a failed apply left the host untouched, so the reload is owed
    // and runs now, announced (a handler may run once more than needed, never once less).
    const fix = await apply('after-bad-nginx', ['-l', 'web1']);
    expect(fix.r.code, fix.out).toBe(0);
    expect(fix.out).toContain('handlers pending from an earlier failed run will run: reload nginx');
    expect(changedLines(fix.rep)).toEqual(['web1 handler reload nginx: reload nginx']);
  }, 300_000);

  it('a release that fails its health check is rolled back; the previous release keeps serving; a rolling deploy stops there', async () => {
    const broken = ['-e', 'app_version=2.0.0-broken', '-e', `app_src=${BROKEN_APP}`];
    const check = await apply('broken-check', [...broken, '-l', 'web1', '--check']);
    expect(check.r.code).toBe(0);
    expect(changedLines(check.rep)).toEqual([
      'web1 app release (atomic switch, health check, rollback on failure): deploy release 2.0.0-broken (current 1.0.2)',
    ]);
    // Rolling (serial: 1, max_fail_percentage: 0) over both hosts: web1 first.
    const run = await apply('broken', [...broken, '-e', 'app_health_timeout=5'], ROLLING);
    expect(run.r.code).toBe(4);
    const t = run.rep.tasks.find((x) => x.host === 'web1' && x.task.startsWith('app release'))!;
    expect(t.status).toBe('failed');
    expect(t.message).toContain('release 2.0.0-broken failed its health check');
    expect(t.message).toContain('returned error: 500');
    expect(t.message).toContain('ROLLED BACK to release 1.0.2, which is healthy and serving');
    expect(ssh('web1', 'readlink /opt/kiln-app/current').trim()).toBe('releases/1.0.2');
    expect(json(`http://${WEB.web1}:8080/`)).toMatchObject({ host: 'web1', release: '1.0.2' });
    expect(json(`http://${WEB.web1}:8080/health`)).toMatchObject({ status: 'ok', release: '1.0.2' });
    // The play stopped after web1's batch: web2 was never touched and serves its release.
    expect(run.rep.tasks.filter((x) => x.host === 'web2')).toEqual([]);
    expect(ssh('web2', 'ls /opt/kiln-app/releases').trim()).toBe('1.0.2');
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.0.2' });
    // The role's own release is still converged on both.
    const again = await apply('after-rollback');
    expect(again.r.code, again.out).toBe(0);
    expect(again.rep.hosts.web1!.changed + again.rep.hosts.web2!.changed).toBe(0);
  }, 300_000);

  it('a restart that leaves the app unhealthy fails the host, and a rolling change stops there', async () => {
    // An app_bind address web1 does not have (TEST-NET-1: the app cannot bind it, nothing is sent).
    const run = await apply('bad-bind', ['-e', 'app_bind=192.0.2.10', '-e', 'app_health_timeout=5'], ROLLING);
    expect(run.r.code).toBe(4);
    expect(run.out).toMatch(/max_fail_percentage 0% exceeded after handler '[^']+' \(1\/1 hosts failed\)/);
    const h = run.rep.tasks.find((x) => x.host === 'web1' && x.task === 'restart app')!;
    expect(h.status).toBe('failed');
    expect(h.message).toContain('kiln-app is not healthy after the restart: no healthy answer from http://127.0.0.1:3000/health within 5s');
    expect(h.message).toContain("last lines of kiln-app's journal"); // what the operator needs to see why
    expect(h.message).toContain("code: 'EADDRNOTAVAIL'");
    console.log(`web1's failed restart, as reported:\n${h.message}`);
    // web2 kept its config and serves.
    expect(run.rep.tasks.filter((x) => x.host === 'web2')).toEqual([]);
    expect(ssh('web2', 'sudo grep -c 127.0.0.1 /etc/kiln-app/config.json').trim()).toBe('1');
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.0.2' });
    // Fixed: web1's config is restored and its restart passes the check; web2 has nothing to do.
    const fixed = await apply('bad-bind-fixed', [], ROLLING);
    expect(fixed.r.code, fixed.out).toBe(0);
    expect(changedLines(fixed.rep)).toEqual([NOLOG_CONFIG_CHANGE, 'web1 handler restart app: restart kiln-app']);
    expect(json(`http://${WEB.web1}:8080/health`)).toMatchObject({ status: 'ok', release: '1.0.2' });
  }, 300_000);

  it('a valid but wrong nginx value (upstream port 3999): web1 fails its reload gate and gets its last good nginx.conf back, the rolling run stops before web2; the next run converges', async () => {
    const conf = (h: string) => ssh(h, 'sha256sum /etc/nginx/nginx.conf');
    const before = { web1: conf('web1'), web2: conf('web2') };
    const reloads = real('apply').tasks.filter((t) => t.handler && t.task === 'reload nginx');
    console.log(
      `healthy nginx reload with its gate (fresh hosts): ${reloads.map((t) => `${t.host} ${(t as { duration_ms?: number }).duration_ms} ms`).join(', ')}`,
    );
    const badArgs = ['-e', 'nginx_upstream_port=3999', '-e', 'nginx_gate_timeout=5'];
    const run = await apply('bad-upstream', badArgs, ROLLING);
    expect(run.r.code, run.out).toBe(4);
    expect(run.out).toMatch(/max_fail_percentage 0% exceeded after handler '[^']+' \(1\/1 hosts failed\)/);
    const h = run.rep.tasks.find((x) => x.host === 'web1' && x.task === 'reload nginx')!;
    expect(h.status).toBe('failed');
    expect(h.message).toMatch(
      /^nginx is not healthy after the reload: no healthy answer from its health command and http:\/\/127\.0\.0\.1:8080\/health within 5s \(last: the health command exited 1: http:\/\/127\.0\.0\.1:8080\/health as the load balancers' health checks send it \(HTTP\/1\.0, no Host, no User-Agent\): HTTP 502\); restored the last good configuration \(\/etc\/nginx\/nginx\.conf, \/etc\/nginx\/conf\.d\/kiln-waf\.conf, \/etc\/nginx\/kiln-waf\/modsecurity\.conf\) and reloaded: healthy again/,
    );
    // web1 runs its last good nginx.conf again and serves; web2 was never touched.
    expect(conf('web1')).toBe(before.web1);
    expect(ssh('web1', 'grep -c "server 127.0.0.1:3000;" /etc/nginx/nginx.conf').trim()).toBe('1');
    expect(json(`http://${WEB.web1}:8080/health`)).toMatchObject({ status: 'ok', host: 'web1', release: '1.0.2' });
    expect(run.rep.tasks.filter((x) => x.host === 'web2')).toEqual([]);
    expect(conf('web2')).toBe(before.web2);
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.0.2' });
    // The same value again would do the same: --check says so.
    const check = await apply('bad-upstream-check', [...badArgs, '-l', 'web1', '--check'], ROLLING);
    expect(changedLines(check.rep)).toEqual([
      'web1 handler reload nginx: reload nginx',
      'web1 nginx configuration (validated with nginx -t before it replaces the live one): update content of /etc/nginx/nginx.conf',
    ]);
    // Without the bad value: web1's pending reload runs (healthy), web2 has nothing to do.
    const fixed = await apply('bad-upstream-fixed', [], ROLLING);
    expect(fixed.r.code, fixed.out).toBe(0);
    expect(changedLines(fixed.rep)).toEqual(['web1 handler reload nginx: reload nginx']);
    const again = await apply('bad-upstream-again', [], ROLLING);
    expect(again.rep.hosts.web1!.changed + again.rep.hosts.web2!.changed, again.out).toBe(0);
  }, 300_000);

  it('good new releases deploy through the atomic switch; old releases are pruned (keep 2)', async () => {
    const v2 = await apply('v2', ['-l', 'web2', '-e', 'app_version=1.1.0', '-e', 'app_keep_releases=2']);
    expect(v2.r.code, v2.out).toBe(0);
    expect(changedLines(v2.rep)).toEqual([
      'web2 app release (atomic switch, health check, rollback on failure): deploy release 1.1.0 (current 1.0.2)',
    ]);
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.1.0' });
    const check = await apply('v3-check', ['-l', 'web2', '-e', 'app_version=1.2.0', '-e', 'app_keep_releases=2', '--check']);
    expect(changedLines(check.rep)).toEqual([
      'web2 app release (atomic switch, health check, rollback on failure): deploy release 1.2.0 (current 1.1.0) | prune old releases 1.0.2 (keep 2)',
    ]);
    const v3 = await apply('v3', ['-l', 'web2', '-e', 'app_version=1.2.0', '-e', 'app_keep_releases=2']);
    expect(v3.r.code, v3.out).toBe(0);
    comparePrediction(check.rep, v3.rep);
    expect(ssh('web2', 'ls /opt/kiln-app/releases').trim().split('\n')).toEqual(['1.1.0', '1.2.0']);
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.2.0' });
    // web1 is unaffected.
    expect(json(`http://${WEB.web1}:8080/`)).toMatchObject({ host: 'web1', release: '1.0.2' });
  }, 300_000);

  it('a deploy interrupted between the switch and the restart is noticed and finished by the next run', async () => {
    // web2 runs 1.2.0 (kept: 1.1.0). A deploy back to 1.1.0 stopped right after the switch.
    ssh('web2', 'sudo ln -sfn releases/1.1.0 /opt/kiln-app/.current.e2e && sudo mv -T /opt/kiln-app/.current.e2e /opt/kiln-app/current');
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ release: '1.2.0' }); // still the old process
    const args = ['-l', 'web2', '-e', 'app_version=1.1.0', '-e', 'app_keep_releases=2'];
    const check = await apply('interrupted-check', [...args, '--check']);
    expect(check.r.code, check.out).toBe(0);
    const want =
      'web2 app release (atomic switch, health check, rollback on failure): restart kiln-app on release 1.1.0: it still runs release 1.2.0 (a deploy stopped before its restart)';
    expect(changedLines(check.rep)).toEqual([want]);
    const fin = await apply('interrupted', args);
    expect(fin.r.code, fin.out).toBe(0);
    comparePrediction(check.rep, fin.rep);
    expect(json(`http://${WEB.web2}:8080/`)).toMatchObject({ host: 'web2', release: '1.1.0' });
    expect(ssh('web2', 'ls /opt/kiln-app/releases').trim().split('\n')).toEqual(['1.1.0', '1.2.0']); // nothing pruned
    const again = await apply('interrupted-again', args);
    expect(again.rep.hosts.web2!.changed, again.out).toBe(0);
  }, 300_000);

  it('with a database: writes go to the primary, reads to the replica; /health stays 200 when only the replica is down', async () => {
    const db = await kiln(['apply', LOCAL_DB, '-i', lab.inventory, '-l', 'web1'], REPO_ROOT);
    expect(db.code, db.stdout + db.stderr).toBe(0);
    const vars = join(work, 'db-vars.yml');
    // MariaDB listens on 127.0.0.1 only: as the "replica", web1's own address is unreachable. It has
    // no TLS (a bare local server, not roles/mysql): the app connects without (app_db_tls false).
    writeFileSync(
      vars,
      'app_db_primary_host: 127.0.0.1\napp_db_replica_host: 10.77.0.21\napp_db_password: e2e-db-pw-5150\napp_db_tls: false\n',
    );
    const withDb = await apply('db', ['-l', 'web1', '-e', `@${vars}`, '--diff']);
    expect(withDb.r.code, withDb.out).toBe(0);
    expect(withDb.out).not.toContain('e2e-db-pw-5150');
    expect(changedLines(withDb.rep)).toEqual([NOLOG_CONFIG_CHANGE, 'web1 handler restart app: restart kiln-app']);
    expect(ssh('web1', 'ps -eo args').includes('e2e-db-pw-5150')).toBe(false);
    const base = `http://${WEB.web1}:8080`;
    // The background database check runs right after the start.
    await until(() => (peek(`${base}/health`)?.db as Record<string, string> | undefined)?.replica?.startsWith('error') === true);
    const health = json(`${base}/health`);
    expect(health).toMatchObject({ status: 'degraded', db: { primary: 'ok' } });
    expect(String((health.db as Record<string, string>).replica)).toMatch(/^error: /);
    expect(get(`${base}/health/db`).status).toBe(503);
    expect(get(`${base}/items`).status).toBe(503); // the read goes to the (unreachable) replica
    const post = execFileSync(
      'curl',
      ['-s', '-w', '\n%{http_code}', '-X', 'POST', '-d', '{"text":"written by the e2e"}', `${base}/items`],
      { encoding: 'utf8' },
    );
    expect(post.trim().split('\n').at(-1)).toBe('201'); // the write goes to the primary
    expect(post).toContain('"written_to":"primary"');
    // The replica back (here: the same server on 127.0.0.1): reads see the row.
    writeFileSync(
      vars,
      'app_db_primary_host: 127.0.0.1\napp_db_replica_host: 127.0.0.1\napp_db_password: e2e-db-pw-5150\napp_db_tls: false\n',
    );
    const fixed = await apply('db-replica', ['-l', 'web1', '-e', `@${vars}`]);
    expect(fixed.r.code, fixed.out).toBe(0);
    await until(() => peek(`${base}/health`)?.status === 'ok');
    expect(json(`${base}/health/db`)).toMatchObject({ status: 'ok', db: { primary: 'ok', replica: 'ok' } });
    const items = json(`${base}/items`);
    expect(items.read_from).toBe('replica');
    expect((items.items as { text: string; written_by: string }[]).map((i) => [i.text, i.written_by])).toContainEqual([
      'written by the e2e',
      'web1',
    ]);
  }, 300_000);
});
