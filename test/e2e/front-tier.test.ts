/**
 * roles/tls + roles/haproxy on the lab's load balancers (lb1, lb2), seen from outside as a user
 * would: TLS with the exported internal CA, TLS 1.0/1.1 refused, HSTS, 301, the Prometheus
 * exporter only for the monitoring tier, health-check failover and drain, validate-before-swap,
 * reload without dropped requests, certificate renewal predicted by --check, and the reload gate:
 * a valid but wrong value fails lb1's reload, its last good haproxy.cfg comes back, and the
 * rolling play (serial: 1) never reaches lb2.
 *
 * The web tier is not needed: a throwaway responder (test/fixtures/front-tier/responder.py) runs
 * on lb1 and lb2 themselves on :8080 and is the backend group (`responders`).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue } from '../../src/modules/tls/pki.ts';
import { ensureLab, KILN_BIN, kiln, labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { changedLines, comparePrediction, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e front-tier suite: ${skip}`);

const FIX = join(REPO_ROOT, 'test/fixtures/front-tier');
const LBS = { lb1: '10.77.0.11', lb2: '10.77.0.12' } as const;
const run = promisify(execFile);
/** The first certificate is valid 10 days, outside a 5-day window; the renewal test then uses the default 30-day window. */
const SHORT = ['-e', 'tls_valid_days=10', '-e', 'tls_renew_before_days=5'];

describe.skipIf(skip)('front tier (tls + haproxy) on lb1, lb2', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let pki: string;
  const times: Record<string, number> = {};
  const outputs: string[] = [];
  /** Every private key the controller held during the suite (the first certificate's key is replaced by the renewal). */
  const keysSeen: string[] = [];
  const rememberKeys = () => keysSeen.push(...['ca.key', 'site.key'].map((f) => readFileSync(join(pki, f), 'utf8')));

  const ssh = (host: string, cmd: string, input?: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', host, cmd], { encoding: 'utf8', input });

  /** `kiln apply` of the dev playbook with the responders as backends; returns exit code, output and report. */
  async function apply(name: string, args: string[] = [], playbook = join(FIX, 'front-tier.yml')) {
    const json = join(work, `${name}.json`);
    const t0 = Date.now();
    const r = await kiln(
      [
        'apply',
        playbook,
        '-i',
        lab.inventory,
        '-i',
        join(FIX, 'responders.yml'),
        '-e',
        `tls_pki_dir=${pki}`,
        '-e',
        'haproxy_backend_group=responders',
        '--json',
        json,
        ...args,
      ],
      REPO_ROOT,
    );
    times[name] = Date.now() - t0;
    outputs.push(r.stdout, r.stderr, existsSync(json) ? readFileSync(json, 'utf8') : '');
    return { ...r, rep: existsSync(json) ? readReport(json) : (undefined as unknown as Report) };
  }

  /** GET through the load balancer, trusting only the exported CA. */
  async function get(ip: string, path = '/'): Promise<{ code: number; headers: string; body: string }> {
    const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '10', '--cacert', join(pki, 'ca.crt'), `https://${ip}${path}`]);
    const [head, ...rest] = stdout.split(/\r?\n\r?\n/);
    return { code: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head!)?.[1]), headers: head!, body: rest.join('\n\n').trim() };
  }

  const mainPid = (h: string) => ssh(h, 'systemctl show -p MainPID --value haproxy').trim();
  const adminSock = (h: string, cmd: string) =>
    ssh(
      h,
      `sudo python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect("/run/haproxy/admin.sock"); s.sendall(sys.stdin.read().encode()+b"\\n"); print(s.makefile().read())'`,
      cmd,
    );
  const serverStatus = (h: string, srv: string) => {
    const line = adminSock(h, 'show stat')
      .split('\n')
      .find((l) => l.startsWith(`web,${srv},`));
    return line?.split(',')[17]; // status column
  };

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-front-'));
    pki = join(work, 'pki');
    for (const h of Object.keys(LBS)) {
      const r = await kiln(['lab', 'reset', h], REPO_ROOT, 300000);
      if (r.code !== 0) throw new Error(`kiln lab reset ${h} failed:\n${r.stderr}${r.stdout}`);
      ssh(h, 'sudo tee /run/kiln-ft-responder.py >/dev/null', readFileSync(join(FIX, 'responder.py'), 'utf8'));
      ssh(h, 'sudo systemd-run --unit=kiln-ft-responder --collect python3 /run/kiln-ft-responder.py');
    }
  }, 600000);

  afterAll(() => {
    // The throwaway responders go; HAProxy stays (the next site run resets lb1/lb2 anyway).
    for (const h of Object.keys(LBS)) if (lab) ssh(h, 'sudo systemctl stop kiln-ft-responder || true');
  });

  it('fresh hosts: --check predicts exactly what the real run changes; re-run and --check then change nothing', async () => {
    const check = await apply('check-fresh', ['--check', '--diff', ...SHORT]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(existsSync(pki)).toBe(false); // the dry run wrote nothing on the controller either
    const real = await apply('apply-fresh', SHORT);
    expect(real.code, real.stdout + real.stderr).toBe(0);
    comparePrediction(check.rep, real.rep);
    rememberKeys();
    for (const h of Object.keys(LBS)) {
      expect(changedLines(real.rep)).toContain(
        `${h} certificate bundle from the internal CA: create internal CA "Kiln internal CA" in ${pki} (exported as ${pki}/ca.crt) | issue certificate for site.lab: no certificate yet | install certificate bundle /etc/haproxy/certs/site.pem (0600 root:root)`,
      );
    }
    const again = await apply('rerun', SHORT);
    expect(again.code).toBe(0);
    for (const h of Object.keys(LBS)) expect(again.rep.hosts[h]!.changed, again.stdout).toBe(0);
    const checkAgain = await apply('check-converged', ['--check', ...SHORT]);
    for (const h of Object.keys(LBS)) expect(checkAgain.rep.hosts[h]!.changed, checkAgain.stdout).toBe(0);
    // Controller PKI: CA key 0600, exported CA readable; host bundle 0600 root.
    expect(statSync(join(pki, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(new X509Certificate(readFileSync(join(pki, 'ca.crt'))).ca).toBe(true);
    for (const h of Object.keys(LBS)) expect(ssh(h, 'sudo stat -c "%a %U %G" /etc/haproxy/certs/site.pem').trim()).toBe('600 root root');
    console.log(
      `front tier: --check fresh ${times['check-fresh']} ms, apply fresh ${times['apply-fresh']} ms, re-run ${times.rerun} ms, --check converged ${times['check-converged']} ms`,
    );
  }, 600000);

  it('serves TLS with the exported CA on both LBs, round robin over the backends, HSTS, and 301 from http', async () => {
    for (const ip of Object.values(LBS)) {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await get(ip);
        expect(r.code).toBe(200);
        expect(r.headers).toMatch(/^strict-transport-security: max-age=63072000$/im);
        seen.push(r.body);
      }
      expect(new Set(seen)).toEqual(new Set(['lb1', 'lb2']));
      expect(seen[0]).not.toBe(seen[1]);
      const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '10', `http://${ip}/a/b?c=1`]);
      expect(stdout).toMatch(/^HTTP\/1\.1 301/);
      expect(stdout).toMatch(new RegExp(`^location: https://${ip.replace(/\./g, '\\.')}/a/b\\?c=1\\r?$`, 'im'));
    }
  }, 120000);

  it('refuses TLS 1.0 and 1.1, accepts TLS 1.2 with a verified certificate', () => {
    const sclient = (ver: string) => {
      const args = ['s_client', '-connect', `${LBS.lb1}:443`, `-${ver}`, '-cipher', 'DEFAULT@SECLEVEL=0', '-CAfile', join(pki, 'ca.crt')];
      const r = spawnSync('openssl', args, { input: '', encoding: 'utf8', timeout: 15000 });
      return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
    };
    for (const v of ['tls1', 'tls1_1']) {
      const r = sclient(v);
      expect(r.ok, r.out).toBe(false);
      expect(r.out).toContain('alert protocol version'); // the server refused, not the client
    }
    const ok = sclient('tls1_2');
    expect(ok.ok, ok.out).toBe(true);
    expect(ok.out).toMatch(/Protocol\s*: TLSv1\.2/);
    expect(ok.out).toContain('Verify return code: 0 (ok)');
    expect(ok.out).toMatch(/Cipher is ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/);
  }, 60000);

  it('the Prometheus exporter answers the monitoring tier only, with the request counters', async () => {
    const fromMon = ssh(
      'mon1',
      `timeout 10 bash -c 'exec 3<>/dev/tcp/${LBS.lb1}/8405; printf "GET /metrics HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3'`,
    );
    expect(fromMon).toMatch(/^HTTP\/1\.[01] 200/);
    expect(fromMon).toMatch(/^haproxy_frontend_http_requests_total\{proxy="https"\} [1-9]\d*$/m);
    const { stdout } = await run('curl', ['-sS', '-i', '--max-time', '10', `http://${LBS.lb1}:8405/metrics`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 403/);
  }, 60000);

  it('a backend whose app stops: no failed request, and all requests go to the other once the health check marks it down', async () => {
    ssh('lb1', 'sudo systemctl stop kiln-ft-responder');
    try {
      const bodies: string[] = [];
      // Requests right after the stop are retried on the other server (retry-on + redispatch).
      for (let i = 0; i < 10; i++) {
        const r = await get(LBS.lb2);
        expect(r.code).toBe(200);
        bodies.push(r.body);
      }
      expect(bodies.every((b) => b === 'lb2')).toBe(true);
      // The health check (inter 2s, fall 2) marks it DOWN; poll the runtime API, not the clock.
      for (let i = 0; i < 60 && serverStatus('lb2', 'lb1') !== 'DOWN'; i++) await new Promise((r) => setTimeout(r, 500));
      expect(serverStatus('lb2', 'lb1')).toBe('DOWN');
      for (let i = 0; i < 6; i++) expect((await get(LBS.lb2)).body).toBe('lb2');
    } finally {
      ssh('lb1', 'sudo systemd-run --unit=kiln-ft-responder --collect python3 /run/kiln-ft-responder.py');
    }
    // Both load balancers check lb1 on their own: the next test needs lb1's own view UP too.
    for (const lb of ['lb2', 'lb1']) {
      for (let i = 0; i < 60 && serverStatus(lb, 'lb1') !== 'UP'; i++) await new Promise((r) => setTimeout(r, 500));
      expect(serverStatus(lb, 'lb1')).toBe('UP');
    }
  }, 120000);

  it('graceful drain through the stats socket: a drained server gets no new requests', async () => {
    adminSock('lb1', 'set server web/lb2 state drain');
    try {
      expect(serverStatus('lb1', 'lb2')).toBe('DRAIN');
      for (let i = 0; i < 4; i++) expect((await get(LBS.lb1)).body).toBe('lb1');
    } finally {
      adminSock('lb1', 'set server web/lb2 state ready');
    }
    expect(serverStatus('lb1', 'lb2')).toBe('UP');
  }, 60000);

  it('an invalid template edit fails validation; the old config stays live and traffic keeps flowing', async () => {
    const copy = join(work, 'broken');
    cpSync(join(REPO_ROOT, 'roles'), join(copy, 'roles'), { recursive: true, filter: (s) => !s.includes('/.') });
    cpSync(join(FIX, 'front-tier.yml'), join(copy, 'front-tier.yml'));
    const tpl = join(copy, 'roles/haproxy/templates/haproxy.cfg.j2');
    writeFileSync(
      tpl,
      readFileSync(tpl, 'utf8').replace('    balance roundrobin', '    balance roundrobin\n    this-is-not-a-haproxy-keyword on'),
    );
    const before = ssh('lb1', 'sha256sum /etc/haproxy/haproxy.cfg');
    const pid = mainPid('lb1');
    const r = await apply('broken', ['-l', 'lb1', ...SHORT], join(copy, 'front-tier.yml'));
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('validation failed: haproxy -c -f');
    expect(r.stdout).toContain('this-is-not-a-haproxy-keyword');
    expect(ssh('lb1', 'sha256sum /etc/haproxy/haproxy.cfg')).toBe(before);
    expect(ssh('lb1', 'ls -a /etc/haproxy')).not.toContain('.kiln.');
    expect(mainPid('lb1')).toBe(pid);
    expect(ssh('lb1', 'systemctl is-active haproxy').trim()).toBe('active');
    expect((await get(LBS.lb1)).code).toBe(200);
  }, 300000);

  it('a certificate expiring in 10 days: --check shows the renewal, the real run renews with a reload and no failed request', async () => {
    const caBefore = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const crtBefore = readFileSync(join(pki, 'site.crt'), 'utf8');
    const check = await apply('check-renew', ['--check']); // default window: 30 days
    expect(check.code, check.stdout).toBe(0);
    expect(readFileSync(join(pki, 'site.crt'), 'utf8')).toBe(crtBefore); // nothing written in check mode
    for (const h of Object.keys(LBS)) {
      expect(changedLines(check.rep)).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${h} certificate bundle from the internal CA: renew certificate for site\\.lab: expires in (9|10) days \\| update certificate bundle /etc/haproxy/certs/site\\.pem$`,
          ),
        ),
      );
      expect(changedLines(check.rep)).toContain(`${h} handler reload haproxy: reload haproxy`);
    }
    const pids = { lb1: mainPid('lb1'), lb2: mainPid('lb2') };
    // Traffic during the run: every request must succeed across the reload.
    let stop = false;
    let failures = 0;
    let count = 0;
    const load = (async () => {
      while (!stop) {
        for (const ip of Object.values(LBS)) {
          const r = await get(ip).catch(() => ({ code: 0 }));
          count++;
          if (r.code !== 200) failures++;
        }
      }
    })();
    const real = await apply('apply-renew');
    stop = true;
    await load;
    expect(real.code, real.stdout).toBe(0);
    comparePrediction(check.rep, real.rep);
    rememberKeys();
    expect(failures, `${failures} of ${count} requests failed during the renewal run`).toBe(0);
    expect(count).toBeGreaterThan(0);
    expect(mainPid('lb1')).toBe(pids.lb1); // reloaded, not restarted
    expect(mainPid('lb2')).toBe(pids.lb2);
    expect(readFileSync(join(pki, 'ca.crt'), 'utf8')).toBe(caBefore);
    // What clients see now: the renewed certificate, still trusted through the same exported CA.
    for (const ip of Object.values(LBS)) {
      const { stdout } = await run('sh', [
        '-c',
        `openssl s_client -connect ${ip}:443 -CAfile ${join(pki, 'ca.crt')} </dev/null 2>/dev/null | openssl x509 -noout -enddate`,
      ]);
      const end = new Date(stdout.trim().replace('notAfter=', ''));
      expect((end.getTime() - Date.now()) / 86400000).toBeGreaterThan(300);
    }
    const again = await apply('rerun-renewed');
    for (const h of Object.keys(LBS)) expect(again.rep.hosts[h]!.changed, again.stdout).toBe(0);
  }, 600000);

  it('a provided certificate from vault variables is installed (0600) and served; the internal one comes back after', async () => {
    // A "corporate" CA and certificate, made apart from Kiln's PKI.
    const corp = join(work, 'corp');
    issue({
      dir: corp,
      name: 'www',
      commonName: 'www.example.test',
      dns: ['www.example.test'],
      ips: [LBS.lb1],
      caCommonName: 'Corp CA',
      validDays: 90,
      caValidDays: 365,
      renewBeforeDays: 0,
      keyType: 'rsa',
    });
    const key = readFileSync(join(corp, 'www.key'), 'utf8');
    keysSeen.push(key);
    const pw = join(work, 'vault-pass');
    writeFileSync(pw, 'front-tier-vault-pw\n', { mode: 0o600 });
    const enc = execFileSync(process.execPath, [KILN_BIN, 'vault', 'encrypt-string', 'tls_key_pem', '--vault-password-file', pw], {
      input: key,
      encoding: 'utf8',
    });
    const inv = join(work, 'provided');
    mkdirSync(join(inv, 'group_vars'), { recursive: true });
    cpSync(join(FIX, 'responders.yml'), join(inv, 'inventory.yml'));
    const indent = (t: string) =>
      t
        .trim()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n');
    writeFileSync(
      join(inv, 'group_vars/lb.yml'),
      `tls_cert_source: provided\ntls_cert_pem: |\n${indent(readFileSync(join(corp, 'www.crt'), 'utf8'))}\ntls_chain_pem: |\n${indent(readFileSync(join(corp, 'ca.crt'), 'utf8'))}\n${enc}`,
    );
    const served = (caFile: string) =>
      spawnSync(
        'sh',
        [
          '-c',
          `openssl s_client -connect ${LBS.lb1}:443 -CAfile ${caFile} </dev/null 2>&1; echo; openssl s_client -connect ${LBS.lb1}:443 </dev/null 2>/dev/null | openssl x509 -noout -subject`,
        ],
        {
          encoding: 'utf8',
          timeout: 20000,
        },
      ).stdout;
    const r = await apply('provided', ['-l', 'lb1', '-i', join(inv, 'inventory.yml'), '--vault-password-file', pw, '--diff', ...SHORT]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(changedLines(r.rep)).toEqual([
      'lb1 handler reload haproxy: reload haproxy',
      'lb1 provided certificate bundle (vault variables): update certificate bundle /etc/haproxy/certs/site.pem',
    ]);
    expect(ssh('lb1', 'sudo stat -c "%a %U %G" /etc/haproxy/certs/site.pem').trim()).toBe('600 root root');
    const out = served(join(corp, 'ca.crt'));
    expect(out).toContain('Verify return code: 0 (ok)');
    expect(out).toMatch(/subject=CN ?= ?www\.example\.test/);
    // Back to the internal CA's certificate (the rest of the suite's state).
    const back = await apply('provided-back', ['-l', 'lb1', ...SHORT]);
    expect(changedLines(back.rep)).toEqual([
      'lb1 certificate bundle from the internal CA: update certificate bundle /etc/haproxy/certs/site.pem',
      'lb1 handler reload haproxy: reload haproxy',
    ]);
    expect(served(join(pki, 'ca.crt'))).toContain('Verify return code: 0 (ok)');
  }, 300000);

  it('a valid but wrong value (health check path /nonexistent): lb1 fails its reload gate and gets its last good haproxy.cfg back, lb2 is never touched; the next run converges', async () => {
    const cfg = (h: string) => ssh(h, 'sha256sum /etc/haproxy/haproxy.cfg');
    // A healthy change first: both reloads pass their gate (and record the last good config).
    const good = await apply('gate-healthy', ['-e', 'haproxy_maxconn=4000', ...SHORT]);
    expect(good.code, good.stdout).toBe(0);
    const reloads = good.rep.tasks.filter((t) => t.handler && t.task === 'reload haproxy');
    expect(reloads.map((t) => `${t.host} ${t.status}`)).toEqual(['lb1 changed', 'lb2 changed']);
    console.log(
      `healthy HAProxy reload with its gate: ${reloads.map((t) => `${t.host} ${(t as { duration_ms?: number }).duration_ms} ms`).join(', ')}`,
    );
    const before = { lb1: cfg('lb1'), lb2: cfg('lb2') };
    // Requests through both load balancers while lb1 gets the bad value.
    let stop = false;
    const failed = { lb1: 0, lb2: 0 };
    const sent = { lb1: 0, lb2: 0 };
    const load = (async () => {
      while (!stop) {
        for (const [h, ip] of Object.entries(LBS)) {
          const r = await get(ip).catch(() => ({ code: 0 }));
          sent[h as keyof typeof LBS]++;
          if (r.code !== 200) failed[h as keyof typeof LBS]++;
        }
      }
    })();
    const bad = await apply('gate-bad-path', [
      '-e',
      'haproxy_maxconn=4000',
      '-e',
      'haproxy_health_check_path=/nonexistent',
      '-e',
      'haproxy_gate_timeout=8',
      ...SHORT,
    ]);
    stop = true;
    await load;
    console.log(
      `requests during lb1's failed reload (gate up to 8 s, then restore): lb1 ${failed.lb1} of ${sent.lb1} failed, lb2 ${failed.lb2} of ${sent.lb2} failed`,
    );
    expect(bad.code, bad.stdout).toBe(4);
    expect(bad.stdout).toMatch(/max_fail_percentage 0% exceeded after handler '[^']+' \(1\/1 hosts failed\): stopping play 'front tier'/);
    const t = bad.rep.tasks.find((x) => x.host === 'lb1' && x.task === 'reload haproxy')!;
    expect(t.status).toBe('failed');
    expect(t.message).toMatch(
      // The gate gives up at once (exit 100) when every server failed its check in the new process.
      /^haproxy is not healthy after the reload: no healthy answer from its health command within 8s \(last: the health command found it unhealthy for good \(exit 100\), not waiting: backend web: every server failed its check in the new process: lb1 [A-Z0-9 /]+ \(L7STS\) lb2 [A-Z0-9 /]+ \(L7STS\)\); restored the last good configuration \(\/etc\/haproxy\/haproxy\.cfg\) and reloaded: healthy again\n/,
    );
    expect(t.message).toContain("last lines of haproxy's journal:");
    // The rolling play stopped: lb2 was not touched, and served throughout.
    expect(bad.rep.tasks.filter((x) => x.host === 'lb2')).toEqual([]);
    expect(failed.lb2).toBe(0);
    expect(cfg('lb2')).toBe(before.lb2);
    // lb1 runs its last good configuration again, and serves.
    expect(cfg('lb1')).toBe(before.lb1);
    expect(ssh('lb1', 'grep httpchk /etc/haproxy/haproxy.cfg').trim()).toBe('option httpchk GET /health');
    expect(ssh('lb1', 'ls -a /etc/haproxy')).not.toContain('.kiln.');
    for (let i = 0; i < 60 && serverStatus('lb1', 'lb1') !== 'UP'; i++) await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 4; i++) expect((await get(LBS.lb1)).code).toBe(200);
    // The next run with the same value would do it again, and --check says so.
    const check = await apply('gate-bad-path-check', [
      '--check',
      '-e',
      'haproxy_maxconn=4000',
      '-e',
      'haproxy_health_check_path=/nonexistent',
      ...SHORT,
    ]);
    expect(check.code, check.stdout).toBe(0);
    expect(changedLines(check.rep)).toEqual(
      expect.arrayContaining([
        'lb1 handler reload haproxy: reload haproxy',
        'lb1 haproxy configuration (validated before it replaces the live one): update content of /etc/haproxy/haproxy.cfg',
      ]),
    );
    // Fixed (back to the suite's values): lb1's pending reload and both config changes converge.
    const fixed = await apply('gate-fixed', SHORT);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(changedLines(fixed.rep)).toEqual([
      'lb1 handler reload haproxy: reload haproxy',
      'lb1 haproxy configuration (validated before it replaces the live one): update content of /etc/haproxy/haproxy.cfg',
      'lb2 handler reload haproxy: reload haproxy',
      'lb2 haproxy configuration (validated before it replaces the live one): update content of /etc/haproxy/haproxy.cfg',
    ]);
    const again = await apply('gate-fixed-again', SHORT);
    for (const h of Object.keys(LBS)) expect(again.rep.hosts[h]!.changed, again.stdout).toBe(0);
  }, 300000);

  it('never prints a private key (outputs and JSON reports of every run)', () => {
    const lines = keysSeen.flatMap((k) => k.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
    expect(lines.length).toBeGreaterThan(0);
    expect(outputs.length).toBeGreaterThan(10);
    for (const text of outputs) for (const l of lines) expect(text).not.toContain(l);
    for (const text of outputs) expect(text).not.toContain('PRIVATE KEY');
  });
});
