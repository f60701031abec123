/**
 * roles/node_exporter, roles/monitoring and roles/nginx_exporter on the lab, through the real CLI
 * (test/fixtures/monitoring/*.yml): node_exporter on the 7 default hosts, Prometheus on mon1.
 *
 * Seen as a user would: every host's :9100 serves its own metrics — read from inside the lab, on
 * mon1, as Prometheus reads them: the site's firewall (playbooks/site.yml, e.g. after the README's
 * first commands) rightly opens the exporters to the monitoring group only, and this suite must
 * pass whatever state an earlier command left the hosts in — the Prometheus API (open to the
 * controller) lists every node target up under its inventory name, the recording rules are
 * loaded, a config change is a reload (same PID), an invalid config never reaches the server, a
 * reload or restart is health-gated and a bad one gets the last good configuration back.
 * The upstream install is tested for real: the node_exporter binary of Debian's own package is
 * packed like an upstream release and served over HTTP by a throwaway server on 10.77.0.1; a wrong
 * checksum fails and changes nothing. Last, mon1 (only mon1) is reset to a fresh disk and
 * `--check` must predict the real run exactly.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CACHE_DIR } from '../../src/lab/paths.ts';
import { DEFAULT_LAB_HOSTS, ensureLab, kiln, labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { changedLines, comparePrediction, readReport, type Report } from './reports.ts';
import { SITE_TEST_VARS } from './site-setup.ts';
import { DEFAULT_TOPOLOGY } from '../../src/lab/topology.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e monitoring suite: ${skip}`);

const FIX = join(REPO_ROOT, 'test/fixtures/monitoring');
const PLAYBOOK = join(FIX, 'monitoring.yml');
/** The default lab's hosts and addresses (src/lab/topology.ts). */
const ADDR: Record<string, string> = Object.fromEntries(DEFAULT_TOPOLOGY.hosts.map((h) => [h.name, h.address]));
const MON = `http://${ADDR.mon1}:9090`;
const CONTROLLER = '10.77.0.1';
const RULES = [
  'instance_proxy:haproxy_frontend_http_requests:rate1m',
  'job:haproxy_frontend_http_requests:rate1m',
  'site:haproxy_frontend_http_requests:rate1m',
  'instance:nginx_http_requests:rate1m',
  'site:nginx_http_requests:rate1m',
  'instance:waf_blocked:rate1m',
  'tier:waf_blocked:rate1m',
  'site:waf_blocked:rate1m',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value (not undefined), at most `tries` times `everyMs` apart. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, tries = 60, everyMs = 1000): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`gave up waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function getText(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}
async function api<T>(path: string): Promise<T> {
  const body = JSON.parse(await getText(`${MON}${path}`)) as { status: string; data: T };
  if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

interface Target {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: string;
  lastError: string;
}
const targets = async () => (await api<{ activeTargets: Target[] }>('/api/v1/targets')).activeTargets;

/** `python3 -m http.server` on the lab bridge, serving `dir`; stopped by its PID. */
class FileServer {
  private proc?: ChildProcess;
  port = 0;
  constructor(private readonly dir: string) {}
  async start(): Promise<void> {
    const proc = spawn('python3', ['-u', '-m', 'http.server', String(this.port), '--bind', CONTROLLER, '--directory', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // "Serving HTTP on 10.77.0.1 port 43125 (http://10.77.0.1:43125/) ..."
    const port = await waitFor(
      'the HTTP server',
      async () => {
        if (proc.exitCode !== null) throw new Error(`http.server exited: ${out}`);
        const m = /port (\d+)/.exec(out);
        return m ? Number(m[1]) : undefined;
      },
      100,
      100,
    );
    this.port = port;
  }
  stop(): void {
    if (this.proc?.pid && this.proc.exitCode === null) process.kill(this.proc.pid, 'SIGTERM');
    this.proc = undefined;
  }
  url(file: string): string {
    return `http://${CONTROLLER}:${this.port}/${file}`;
  }
}

/** A release tarball laid out like upstream's, holding the node_exporter binary of Debian's package. */
function buildRelease(work: string): { version: string; file: string } {
  const debs = existsSync(CACHE_DIR)
    ? readdirSync(CACHE_DIR)
        .filter((d) => d.startsWith('mirror-') && existsSync(join(CACHE_DIR, d, 'repo')))
        .flatMap((d) =>
          readdirSync(join(CACHE_DIR, d, 'repo'))
            .filter((f) => /^prometheus-node-exporter_.*_amd64\.deb$/.test(f))
            .map((f) => join(CACHE_DIR, d, 'repo', f)),
        )
    : [];
  let deb = debs[0];
  if (!deb) {
    // Not in the lab's mirror cache: fetch the package file itself (downloaded, never installed).
    execFileSync('apt-get', ['download', 'prometheus-node-exporter'], { cwd: work, stdio: 'pipe' });
    deb = readdirSync(work)
      .filter((f) => f.startsWith('prometheus-node-exporter_'))
      .map((f) => join(work, f))[0];
  }
  if (!deb) throw new Error('no prometheus-node-exporter .deb found (lab mirror cache or apt-get download)');
  const version = execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim().split('-')[0]!;
  const x = join(work, 'deb');
  execFileSync('dpkg-deb', ['-x', deb, x]);
  const top = `node_exporter-${version}.linux-amd64`;
  mkdirSync(join(work, 'stage', top), { recursive: true });
  copyFileSync(join(x, 'usr/bin/prometheus-node-exporter'), join(work, 'stage', top, 'node_exporter'));
  writeFileSync(join(work, 'stage', top, 'LICENSE'), "Apache License 2.0 (the binary is Debian's prometheus-node-exporter)\n");
  const file = `${top}.tar.gz`;
  // Reproducible: the same binary always gives the same tarball (and checksum).
  execFileSync('sh', [
    '-c',
    'tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$2" | gzip -n > "$3"',
    'sh',
    join(work, 'stage'),
    top,
    join(work, 'srv', file),
  ]);
  return { version, file };
}

/**
 * The lab's inventory reduced to the 7 default hosts (paths made absolute): other suites may add
 * hosts to the shared lab's inventory while this one runs, and Prometheus scrapes the inventory.
 */
function defaultHostsInventory(labInventory: string, out: string): void {
  const inv = parse(readFileSync(labInventory, 'utf8')) as { all: Group };
  type Group = { vars?: Record<string, unknown>; hosts?: Record<string, unknown>; children?: Record<string, Group> };
  const prune = (g: Group) => {
    for (const h of Object.keys(g.hosts ?? {})) if (!DEFAULT_LAB_HOSTS.includes(h)) delete g.hosts![h];
    for (const c of Object.values(g.children ?? {})) prune(c);
  };
  prune(inv.all);
  const vars = inv.all.vars ?? {};
  for (const k of ['identity_file', 'known_hosts'])
    if (typeof vars[k] === 'string') vars[k] = join(dirname(labInventory), vars[k] as string);
  writeFileSync(out, stringify(inv));
}

describe.skipIf(skip)('monitoring roles on the lab', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let vars: string;
  let server: FileServer;
  let release: { version: string; file: string; sha256: string };
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', host, cmd], { encoding: 'utf8' });
  /**
   * GET `url` from inside the lab, on mon1 (Python's urllib; python3 is on every host): the site's
   * firewall opens node_exporter and the nginx exporter to the monitoring group only, not to the
   * controller, and a host reaches its own address through loopback.
   */
  const fromMon1 = (url: string) =>
    new Promise<string>((resolve, reject) => {
      const py = 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())';
      const cmd = `python3 -c '${py}' '${url}'`;
      execFile(
        'ssh',
        ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', 'mon1', cmd],
        { encoding: 'utf8', timeout: 30000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => (err ? reject(new Error(`GET ${url} on mon1: ${stderr.trim() || err.message}`)) : resolve(stdout)),
      );
    });
  let n = 0;
  // Only the default hosts (the shared lab may hold more hosts while other suites run).
  const apply = async (playbook: string, args: string[] = []) => {
    const json = join(work, `run-${++n}.json`);
    const t0 = Date.now();
    const limit = args.includes('-l') ? [] : ['-l', DEFAULT_LAB_HOSTS.join(',')];
    const r = await kiln(['apply', playbook, '-i', lab.inventory, '-e', `@${vars}`, '--json', json, ...limit, ...args], REPO_ROOT);
    const ms = Date.now() - t0;
    if (!existsSync(json)) throw new Error(`kiln apply wrote no report (exit ${r.code}):\n${r.stderr}\n${r.stdout.slice(-4000)}`);
    return { r, rep: readReport(json), ms, out: r.stdout + r.stderr };
  };
  const upstreamVars = (file: string, sha256: string) => [
    '-e',
    `{node_exporter_install: upstream, node_exporter_url: "${server.url(file)}", node_exporter_sha256: "${sha256}"}`,
  ];
  const allConverged = (rep: Report) => Object.fromEntries(DEFAULT_LAB_HOSTS.map((h) => [h, rep.hosts[h]?.changed]));
  /** The node targets of the default hosts (the inventory may list more while other suites run). */
  const nodeTargets = (t: Target[]) => t.filter((x) => x.labels.job === 'node' && DEFAULT_LAB_HOSTS.includes(x.labels.instance!));

  beforeAll(async () => {
    const shared = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-mon-'));
    lab = { dir: shared.dir, inventory: join(work, 'inventory.yml') };
    defaultHostsInventory(shared.inventory, lab.inventory);
    mkdirSync(join(work, 'srv'));
    vars = join(work, 'vars.json');
    // The same short intervals as the site's e2e runs: rates within a test, same config as the site.
    writeFileSync(vars, JSON.stringify(SITE_TEST_VARS));
    const rel = buildRelease(work);
    release = { ...rel, sha256: execFileSync('sha256sum', [join(work, 'srv', rel.file)], { encoding: 'utf8' }).split(' ')[0]! };
    server = new FileServer(join(work, 'srv'));
    await server.start();
  });

  afterAll(() => server?.stop());

  it('node_exporter on every host and Prometheus on mon1; a re-run changes nothing in one round trip', async () => {
    const first = await apply(PLAYBOOK);
    expect(first.r.code, first.out).toBe(0);
    const again = await apply(PLAYBOOK, ['--stats']);
    expect(again.r.code, again.out).toBe(0);
    expect(allConverged(again.rep)).toEqual(Object.fromEntries(DEFAULT_LAB_HOSTS.map((h) => [h, 0])));
    for (const h of DEFAULT_LAB_HOSTS) expect(again.rep.hosts[h]!.round_trips, h).toBeLessThanOrEqual(2);
    console.log(
      `monitoring playbook: apply ${(first.ms / 1000).toFixed(1)} s (changed: ${changedLines(first.rep).length} tasks), converged re-run ${(again.ms / 1000).toFixed(1)} s`,
    );
  });

  it('every host serves its own node_exporter metrics on :9100 (read from mon1, which the firewall lets in)', async () => {
    for (const h of DEFAULT_LAB_HOSTS) {
      const m = await fromMon1(`http://${ADDR[h]}:9100/metrics`);
      expect(m, h).toMatch(/^node_exporter_build_info\{.*version="\d+\.\d+\.\d+"/m);
      expect(m, h).toContain(`nodename="${h}"`);
      expect(m, h).toMatch(/^node_cpu_seconds_total\{/m);
    }
  });

  it('Prometheus shows every node target up under its inventory name; HAProxy and nginx are configured', async () => {
    const ts = await waitFor('all node targets up', async () => {
      const t = await targets();
      const node = nodeTargets(t);
      return node.length === DEFAULT_LAB_HOSTS.length && node.every((x) => x.health === 'up') ? t : undefined;
    });
    const byJob = (job: string) =>
      ts
        .filter((x) => x.labels.job === job)
        .map((x) => `${x.labels.instance} ${x.scrapeUrl}`)
        .sort();
    expect(
      nodeTargets(ts)
        .map((x) => `${x.labels.instance} ${x.scrapeUrl}`)
        .sort(),
    ).toEqual(DEFAULT_LAB_HOSTS.map((h) => `${h} http://${ADDR[h]}:9100/metrics`).sort());
    expect(byJob('haproxy')).toEqual(['lb1 http://10.77.0.11:8405/metrics', 'lb2 http://10.77.0.12:8405/metrics']);
    expect(byJob('nginx')).toEqual(['web1 http://10.77.0.21:9113/metrics', 'web2 http://10.77.0.22:9113/metrics']);
    expect(byJob('prometheus')).toEqual(['mon1 http://localhost:9090/metrics']);
    // The data is there too: one `up` series per node target, queried by inventory name.
    const query = `up{job="node",instance=~"${DEFAULT_LAB_HOSTS.join('|')}"}`;
    const up = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(query)}`,
    );
    expect(up.result.map((r) => `${r.metric.instance}=${r.value[1]}`).sort()).toEqual(DEFAULT_LAB_HOSTS.map((h) => `${h}=1`).sort());
  });

  it('the frontend QPS recording rules are loaded and evaluated', async () => {
    const rules = await waitFor('rules evaluated', async () => {
      const g = await api<{ groups: { name: string; rules: { name: string; type: string; health: string; lastEvaluation: string }[] }[] }>(
        '/api/v1/rules',
      );
      const rs = g.groups.flatMap((x) => x.rules);
      return rs.length && rs.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001')) ? rs : undefined;
    });
    expect(rules.map((r) => `${r.type} ${r.name}`)).toEqual(RULES.map((r) => `recording ${r}`));
    const cfg = await api<{ yaml: string }>('/api/v1/status/config');
    expect(cfg.yaml).toContain('scrape_interval: 5s');
  });

  it('a config change reloads Prometheus (same PID); an invalid config is refused and the old one stays', async () => {
    const pid = ssh('mon1', 'systemctl show -p MainPID --value prometheus').trim();
    const labelled = await apply(PLAYBOOK, ['-l', 'mon1', '-e', '{prometheus_external_labels: {site: kiln-lab}}']);
    expect(labelled.r.code, labelled.out).toBe(0);
    expect(changedLines(labelled.rep)).toEqual([
      'mon1 handler reload prometheus: reload prometheus',
      'mon1 monitoring | prometheus.yml (scrape targets from the inventory): update content of /etc/prometheus/prometheus.yml',
    ]);
    await waitFor(
      'the reloaded config',
      async () => ((await api<{ yaml: string }>('/api/v1/status/config')).yaml.includes('site: kiln-lab') ? true : undefined),
      30,
      500,
    );
    expect(ssh('mon1', 'systemctl show -p MainPID --value prometheus').trim()).toBe(pid);

    // A second job named "node" is valid YAML but not a valid Prometheus config: promtool says no.
    const before = ssh('mon1', 'sha256sum /etc/prometheus/prometheus.yml');
    const bad = await apply(PLAYBOOK, [
      '-l',
      'mon1',
      '-e',
      '{prometheus_extra_scrape_configs: [{job_name: node, static_configs: [{targets: ["127.0.0.1:1"]}]}]}',
    ]);
    expect(bad.r.code).toBe(4);
    const failed = bad.rep.tasks.filter((t) => t.status === 'failed');
    expect(failed.map((t) => t.task)).toEqual(['monitoring | prometheus.yml (scrape targets from the inventory)']);
    expect(bad.out).toMatch(/validation failed: .*promtool check config/);
    expect(bad.out).toMatch(/found multiple scrape configs with job name "node"/);
    expect(ssh('mon1', 'sha256sum /etc/prometheus/prometheus.yml')).toBe(before);
    expect(ssh('mon1', 'ls -a /etc/prometheus')).not.toContain('.kiln.');
    expect(ssh('mon1', 'systemctl is-active prometheus').trim()).toBe('active');
    expect(ssh('mon1', 'systemctl show -p MainPID --value prometheus').trim()).toBe(pid);

    const back = await apply(PLAYBOOK, ['-l', 'mon1']);
    expect(back.r.code, back.out).toBe(0);
    expect(changedLines(back.rep)).toEqual([
      'mon1 handler reload prometheus: reload prometheus',
      'mon1 monitoring | prometheus.yml (scrape targets from the inventory): update content of /etc/prometheus/prometheus.yml',
    ]);
  });

  it('reloads and restarts are health-gated: a reload passes once Prometheus loaded it; flags it does not start with get the last good configuration back', async () => {
    const extra = ['-e', '{prometheus_extra_scrape_configs: [{job_name: kiln-gate, static_configs: [{targets: ["127.0.0.1:9100"]}]}]}'];
    const t0 = Date.now() / 1000;
    const good = await apply(PLAYBOOK, ['-l', 'mon1', ...extra]);
    expect(good.r.code, good.out).toBe(0);
    const reload = good.rep.tasks.find((t) => t.handler && t.task === 'reload prometheus')!;
    expect(reload.status).toBe('changed');
    console.log(`healthy Prometheus reload with its gate: ${(reload as { duration_ms?: number }).duration_ms} ms`);
    // The gate passed only once Prometheus had loaded this configuration.
    const metrics = await getText(`${MON}/metrics`);
    expect(Number(/^prometheus_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(metrics)![1])).toBeGreaterThan(t0);
    expect((await api<{ yaml: string }>('/api/v1/status/config')).yaml).toContain('job_name: kiln-gate');
    const flagsBefore = ssh('mon1', 'sha256sum /etc/default/prometheus');

    // A flag Prometheus does not know: the restart's process exits at once, /-/ready never answers.
    const badArgs = [...extra, '-e', '{prometheus_extra_args: ["--kiln-no-such-flag"]}', '-e', 'prometheus_gate_timeout=10'];
    const bad = await apply(PLAYBOOK, ['-l', 'mon1', ...badArgs]);
    expect(bad.r.code, bad.out).toBe(4);
    const restart = bad.rep.tasks.find((t) => t.task === 'restart prometheus')!;
    expect(restart.status).toBe('failed');
    expect(restart.message).toMatch(
      /^prometheus is not healthy after the restart: no healthy answer from its health command within 10s \(last: the health command exited 1: GET http:\/\/127\.0\.0\.1:9090\/-\/ready: .*\); restored the last good configuration \(\/etc\/prometheus\/prometheus\.yml, \/etc\/prometheus\/rules\.d\/frontend\.rules\.yml, \/etc\/prometheus\/rules\.d\/vip\.rules\.yml, \/etc\/default\/prometheus\) and restarted: healthy again\n/,
    );
    expect(restart.message).toContain("unknown long flag '--kiln-no-such-flag'"); // from Prometheus' journal
    // The last good flags are back, and Prometheus serves with them.
    expect(ssh('mon1', 'sha256sum /etc/default/prometheus')).toBe(flagsBefore);
    expect(ssh('mon1', 'systemctl is-active prometheus').trim()).toBe('active');
    expect(ssh('mon1', 'ps -o args= -C prometheus')).not.toContain('kiln-no-such-flag');
    await waitFor('Prometheus ready', async () => ((await getText(`${MON}/-/ready`)).length ? true : undefined), 30, 500);
    // The same value again would do the same: --check says so.
    const check = await apply(PLAYBOOK, ['-l', 'mon1', '--check', ...badArgs]);
    expect(changedLines(check.rep)).toEqual([
      'mon1 handler restart prometheus: restart prometheus',
      'mon1 monitoring | server flags (/etc/default/prometheus): update content of /etc/default/prometheus',
    ]);
    // Back to the suite's values: the pending restart, the reload of prometheus.yml; then converged.
    const back = await apply(PLAYBOOK, ['-l', 'mon1']);
    expect(back.r.code, back.out).toBe(0);
    expect(changedLines(back.rep)).toEqual([
      'mon1 handler reload prometheus: reload prometheus',
      'mon1 handler restart prometheus: restart prometheus',
      'mon1 monitoring | prometheus.yml (scrape targets from the inventory): update content of /etc/prometheus/prometheus.yml',
    ]);
    const again = await apply(PLAYBOOK, ['-l', 'mon1']);
    expect(again.rep.hosts.mon1!.changed, again.out).toBe(0);
  });

  it('nginx_exporter turns a stub_status page into Prometheus metrics', async () => {
    // No nginx on mon1: the controller serves a stub_status page as nginx would.
    writeFileSync(
      join(work, 'srv', 'nginx_status'),
      'Active connections: 3 \nserver accepts handled requests\n 17 17 4242 \nReading: 0 Writing: 1 Waiting: 2 \n',
    );
    const pb = join(FIX, 'nginx_exporter.yml');
    const uri = ['-e', `nginx_exporter_scrape_uri=${server.url('nginx_status')}`];
    const r = await apply(pb, uri);
    expect(r.r.code, r.out).toBe(0);
    const m = await waitFor(
      'nginx exporter metrics',
      async () => {
        const t = await fromMon1(`http://${ADDR.mon1}:9113/metrics`);
        return t.includes('nginx_up 1') ? t : undefined;
      },
      30,
      500,
    );
    expect(m).toMatch(/^nginx_http_requests_total 4242$/m);
    expect(m).toMatch(/^nginx_connections_active 3$/m);
    expect(ssh('mon1', 'ps -o user= -C prometheus-nginx-exporter').trim()).toBe('prometheus');
    const again = await apply(pb, uri);
    expect(again.rep.hosts.mon1!.changed).toBe(0);
  });

  it('upstream node_exporter: a sha256-checked release over HTTP replaces the Debian package; converged without the network; a wrong checksum changes nothing', async () => {
    const up = upstreamVars(release.file, release.sha256);
    const check = await apply(PLAYBOOK, ['-l', 'mon1', '--check', ...up]);
    expect(check.r.code, check.out).toBe(0);
    const real = await apply(PLAYBOOK, ['-l', 'mon1', ...up]);
    expect(real.r.code, real.out).toBe(0);
    comparePrediction(check.rep, real.rep);
    const download = `mon1 node_exporter | download the release tarball (sha256-checked): download ${server.url(release.file)} → /opt/node_exporter/${release.file} (0644 root:root)`;
    expect(changedLines(real.rep).filter((l) => l.startsWith(download))).toHaveLength(1);
    expect(changedLines(real.rep).filter((l) => l.includes('remove the Debian package'))).toEqual([
      expect.stringMatching(
        /^mon1 node_exporter \| remove the Debian package \(the upstream binary replaces it\): remove prometheus-node-exporter \d/,
      ),
    ]);
    const current = `/opt/node_exporter/releases/${release.sha256}/node_exporter`;
    expect(ssh('mon1', 'readlink /usr/local/bin/node_exporter').trim()).toBe(current);
    expect(ssh('mon1', 'ps -o user:20=,args= -C node_exporter').trim().replace(/\s+/g, ' ')).toBe(
      'node_exporter /usr/local/bin/node_exporter --web.listen-address=:9100',
    );
    expect(ssh('mon1', 'systemctl is-active prometheus-node-exporter || true').trim()).toBe('inactive');
    expect(ssh('mon1', 'systemctl is-enabled node_exporter').trim()).toBe('enabled');
    const m = await waitFor(
      'upstream node_exporter metrics',
      async () => fromMon1(`http://${ADDR.mon1}:9100/metrics`).catch(() => undefined),
      30,
      500,
    );
    expect(m).toContain(`version="${release.version}"`);
    expect(m).toContain('nodename="mon1"');

    // Converged: the tarball on the host has the checksum, so the URL is not even contacted.
    server.stop();
    const offline = await apply(PLAYBOOK, ['-l', 'mon1', ...up]);
    expect(offline.r.code, offline.out).toBe(0);
    const neTasks = offline.rep.tasks.filter((t) => t.task.startsWith('node_exporter |') && t.status !== 'skipped');
    expect(neTasks.find((t) => t.task.includes('download the release'))?.status).toBe('ok');
    expect(neTasks.filter((t) => t.status !== 'ok').map((t) => `${t.task}: ${t.status}`)).toEqual([]);
    await server.start();

    // A tampered "new release" whose checksum does not match: fails, and nothing on the host moves.
    const top = `node_exporter-${release.version}.9.linux-amd64`;
    mkdirSync(join(work, 'bad', top), { recursive: true });
    writeFileSync(join(work, 'bad', top, 'node_exporter'), '#!/bin/sh\necho tampered\n', { mode: 0o755 });
    execFileSync('tar', ['-C', join(work, 'bad'), '-czf', join(work, 'srv', `${top}.tar.gz`), top]);
    const bad = await apply(PLAYBOOK, ['-l', 'mon1', ...upstreamVars(`${top}.tar.gz`, release.sha256)]);
    expect(bad.r.code).toBe(4);
    expect(bad.rep.tasks.filter((t) => t.status === 'failed').map((t) => t.task)).toEqual([
      'node_exporter | download the release tarball (sha256-checked)',
    ]);
    expect(bad.out).toContain(
      `checksum mismatch for ${server.url(`${top}.tar.gz`)}: expected sha256:${release.sha256}, downloaded sha256:`,
    );
    expect(ssh('mon1', 'ls -a /opt/node_exporter').split('\n').filter(Boolean).sort()).toEqual(
      ['.', '..', release.file, 'releases', 'unpack-release.sh'].sort(),
    );
    expect(ssh('mon1', 'readlink /usr/local/bin/node_exporter').trim()).toBe(current);
    expect(ssh('mon1', 'systemctl is-active node_exporter').trim()).toBe('active');
    expect(await fromMon1(`http://${ADDR.mon1}:9100/metrics`)).toContain(`version="${release.version}"`);
  });

  it('--check on a fresh mon1 predicts exactly what the real run changes', async () => {
    const reset = await kiln(['lab', 'reset', 'mon1'], REPO_ROOT, 300000);
    expect(reset.code, reset.stderr + reset.stdout).toBe(0);
    const check = await apply(PLAYBOOK, ['-l', 'mon1', '--check', '--diff']);
    expect(check.r.code, check.out).toBe(0);
    const real = await apply(PLAYBOOK, ['-l', 'mon1']);
    expect(real.r.code, real.out).toBe(0);
    comparePrediction(check.rep, real.rep);
    expect(changedLines(real.rep).length).toBeGreaterThan(8);
    const again = await apply(PLAYBOOK, ['-l', 'mon1', '--stats']);
    expect(again.rep.hosts.mon1!.changed).toBe(0);
    console.log(
      `fresh mon1: --check ${(check.ms / 1000).toFixed(1)} s, apply ${(real.ms / 1000).toFixed(1)} s, re-run ${(again.ms / 1000).toFixed(1)} s`,
    );
    // Back in Debian mode, and the fresh Prometheus scrapes every host again (mon1 itself up).
    expect(ssh('mon1', 'systemctl is-active prometheus-node-exporter prometheus').trim().split('\n')).toEqual(['active', 'active']);
    const node = await waitFor('mon1 scraping its own node_exporter after the reset', async () => {
      const t = nodeTargets(await targets());
      return t.find((x) => x.labels.instance === 'mon1')?.health === 'up' ? t : undefined;
    });
    expect(node.map((x) => x.labels.instance).sort()).toEqual([...DEFAULT_LAB_HOSTS].sort());
  });
});
