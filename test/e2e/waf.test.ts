/**
 * The application firewall (roles/waf: ModSecurity v3 + OWASP CRS 3.3.4 in the web tier's nginx)
 * on the shared converged site, checked from outside as a client sees it:
 *   - every attack payload of test/fixtures/crs/attacks.json (the CRS's own regression tests,
 *     paranoia level 1) through BOTH load balancers over HTTPS → 403;
 *   - every request of the benign corpus (test/fixtures/crs/benign.json) → the app's own status;
 *   - each 403 logged on the web host with the payload's rule id and 949110 (one request, one
 *     unique_id), and the blocked counter rising in Prometheus (job waf, site:waf_blocked:rate1m);
 *   - a per-path exclusion lets the app's endpoint take a false positive, elsewhere still blocked;
 *   - detection_only lets an attack through (200) and still logs and counts it;
 *   - a WAF value valid to the schema that breaks the reload gate is rolled back and fails the host;
 *   - afterwards the site is converged again (--check: 0 changed).
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { changedLines } from './reports.ts';
import { applySite, ensureSite, type SiteRun } from './site-setup.ts';
import { ATTACKS, BENIGN, parseModsecLog, send, unloggedAttacks, type WafRequest } from './waf-http.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e waf suite: ${skip}`);

const run = promisify(execFile);
const LBS = ['10.77.0.11', '10.77.0.12'];
const WEBS = ['web1', 'web2'];
const CA = join(REPO_ROOT, '.kiln/pki/ca.crt');
const PROM = 'http://10.77.0.41:9090';
const WAF_LOG = '/var/log/nginx/modsecurity.log';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A payload of the fixture (942100-1: "var=1234 OR 1=1", SQL injection) sent as a query. */
const SQLI: WafRequest = { method: 'GET', uri: '/?var=1234%20OR%201%3D1' };
/** A false positive seen at paranoia level 1: 942320 on "; open" in ordinary English. */
const DINER = "Tom's diner; open 9-5";

async function promQuery(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '5', `${PROM}/api/v1/query?query=${encodeURIComponent(q)}`]);
  return (JSON.parse(stdout) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}
const promSum = async (q: string) => (await promQuery(q)).reduce((n, r) => n + Number(r.value[1]), 0);

describe.skipIf(skip)('the application firewall on the site (roles/waf)', () => {
  let site: SiteRun;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(site.lab.dir, 'ssh_config'), host, cmd], { encoding: 'utf8', timeout: 60000 });
  const logLines = (host: string) => Number(ssh(host, `sudo cat ${WAF_LOG} | wc -l`).trim());
  const logSince = (host: string, line: number) => ssh(host, `sudo tail -n +${line + 1} ${WAF_LOG}`);
  const varsFile = (name: string, vars: Record<string, unknown>) => {
    const f = join(site.siteDir, `waf-${name}.json`);
    writeFileSync(f, JSON.stringify(vars));
    return ['-e', `@${f}`];
  };

  beforeAll(async () => {
    site = await ensureSite();
  }, 3600000);

  it('ModSecurity with the CRS 3.3.4 is loaded in both web hosts’ nginx, blocking, checked by nginx -t', () => {
    for (const h of WEBS) {
      const conf = ssh(h, 'sudo nginx -T 2>/dev/null');
      expect(conf).toMatch(/^\s*modsecurity on;/m);
      expect(conf).toMatch(/modsecurity_rules_file \/etc\/nginx\/kiln-waf\/modsecurity\.conf;/);
      const rules = ssh(h, 'cat /etc/nginx/kiln-waf/modsecurity.conf');
      expect(rules).toMatch(/^SecRuleEngine On$/m);
      expect(rules).toMatch(/^Include \/usr\/share\/modsecurity-crs\/rules\/\*\.conf$/m);
      expect(ssh(h, "dpkg-query -W -f '${Version}' modsecurity-crs")).toMatch(/^3\.3\.4/);
    }
  });

  it('every CRS attack payload through both load balancers over HTTPS is answered 403, logged with its rule id, and counted in Prometheus', async () => {
    expect(ATTACKS.length).toBeGreaterThan(50);
    const families = new Set(ATTACKS.map((a) => a.family));
    for (const f of ['SQL injection', 'XSS', 'path traversal / LFI', 'command injection / RCE']) expect(families).toContain(f);
    const before = Object.fromEntries(WEBS.map((h) => [h, logLines(h)]));
    const promBefore = await promSum('waf_blocked_requests_total{job="waf"}');
    const wrong: string[] = [];
    for (const ip of LBS) {
      for (const a of ATTACKS) {
        const r = await send(ip, a, CA);
        if (r.status !== 403) wrong.push(`${ip} ${a.title} (${a.family}): ${r.status} ${r.body.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    const sent = LBS.length * ATTACKS.length;
    // Logged: one blocked request (949110 + the payload's own rule, same unique_id) per payload sent.
    await sleep(1000);
    const logged = WEBS.flatMap((h) => parseModsecLog(logSince(h, before[h]!)));
    const perWeb = WEBS.map((h) => parseModsecLog(logSince(h, before[h]!)).filter((l) => l.blocked).length);
    console.log(`blocked requests logged: ${WEBS.map((h, i) => `${h}=${perWeb[i]}`).join(' ')} for ${sent} sent`);
    expect(perWeb.every((n) => n > 0)).toBe(true);
    expect(
      unloggedAttacks(
        LBS.flatMap(() => ATTACKS),
        logged,
      ).map((a) => `${a.rule} ${a.title}`),
    ).toEqual([]);
    // Counted: mtail → Prometheus (scrape interval 5 s on the test site), and the recording rule.
    let now = promBefore;
    for (let i = 0; i < 30 && now - promBefore < sent; i++) {
      await sleep(2000);
      now = await promSum('waf_blocked_requests_total{job="waf"}');
    }
    expect(now - promBefore).toBeGreaterThanOrEqual(sent);
    const series = await promQuery('waf_blocked_requests_total{job="waf"}');
    expect(series.map((s) => `${s.metric.instance}/${s.metric.tier}`).sort()).toEqual(['web1/web', 'web2/web']);
    let rate = 0;
    for (let i = 0; i < 20 && rate <= 0; i++) {
      rate = await promSum('site:waf_blocked:rate1m');
      if (rate <= 0) await sleep(2000);
    }
    expect(rate).toBeGreaterThan(0);
    const byRule = await promQuery('sum by (rule_id) (waf_rule_matches_total{job="waf",rule_id="942100"})');
    expect(Number(byRule[0]?.value[1] ?? 0)).toBeGreaterThan(0);
  });

  it("benign traffic — apostrophes, ampersands, SQL-looking English, JSON bodies — gets the app's normal answer through both load balancers", async () => {
    const wrong: string[] = [];
    for (const ip of LBS) {
      for (const b of BENIGN) {
        const r = await send(ip, b, CA);
        if (r.status !== b.status) wrong.push(`${ip} ${b.name}: ${r.status} (expected ${b.status}) ${r.body.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("a per-path exclusion lets the app's own endpoint take a false positive; elsewhere it is still blocked", async () => {
    const post: WafRequest = {
      method: 'POST',
      uri: '/items',
      headers: { 'Content-Type': 'application/json' },
      data: JSON.stringify({ text: DINER }),
    };
    const query: WafRequest = { method: 'GET', uri: `/?q=${encodeURIComponent(DINER)}` };
    // Without the exclusion: a false positive (942320), on the endpoint and elsewhere.
    for (const ip of LBS) expect((await send(ip, post, CA)).status).toBe(403);
    // The default entry (the load balancers' bare health checks) stays: a list replaces the default.
    const vars = varsFile('exclusion', {
      waf_exclusions: [
        { path: '/health', rule_ids: [920280, 920320] },
        { path: '/items', rule_ids: [942320] },
      ],
    });
    const r = await applySite(site, 'waf-exclusion', [...vars, '-l', 'web']);
    expect(r.r.code, r.r.stdout.slice(-4000)).toBe(0);
    try {
      for (const ip of LBS) {
        expect((await send(ip, post, CA)).status).toBe(201);
        expect((await send(ip, query, CA)).status).toBe(403);
        expect((await send(ip, SQLI, CA)).status).toBe(403);
      }
    } finally {
      const back = await applySite(site, 'waf-exclusion-removed', ['-l', 'web']);
      expect(back.r.code, back.r.stdout.slice(-4000)).toBe(0);
    }
    for (const ip of LBS) expect((await send(ip, post, CA)).status).toBe(403);
  });

  it('detection_only lets an attack through to the app (200) and still logs and counts it', async () => {
    const before = logLines('web1');
    const r = await applySite(site, 'waf-detection-only', [...varsFile('detection', { waf_mode: 'detection_only' }), '-l', 'web1']);
    expect(r.r.code, r.r.stdout.slice(-4000)).toBe(0);
    try {
      expect(ssh('web1', 'cat /etc/nginx/kiln-waf/modsecurity.conf')).toMatch(/^SecRuleEngine DetectionOnly$/m);
      const detectedBefore = Number(
        /^waf_detected_requests_total\{[^}]*\} (\d+)/m.exec(ssh('web1', 'curl -s 127.0.0.1:3903/metrics'))?.[1] ?? 0,
      );
      // web1 passes it, web2 (blocking) does not: the load balancers alternate.
      const seen: { status: number; host: string }[] = [];
      for (let i = 0; i < 4; i++) {
        const a = await send(LBS[i % LBS.length]!, SQLI, CA);
        seen.push({ status: a.status, host: /"host"\s*:\s*"([^"]+)"/.exec(a.body)?.[1] ?? '' });
      }
      expect(seen.filter((s) => s.status === 200).every((s) => s.host === 'web1')).toBe(true);
      expect(seen.some((s) => s.status === 200 && s.host === 'web1')).toBe(true);
      expect(seen.filter((s) => s.status !== 200).every((s) => s.status === 403)).toBe(true);
      // Logged on web1 as detected (949110 as a Warning) with the SQLi rule, never as blocked.
      await sleep(1000);
      const logged = parseModsecLog(logSince('web1', before)).filter((l) => l.request.includes('1234%20OR%201%3D1'));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged.every((l) => l.detected && !l.blocked && l.rules.includes(942100))).toBe(true);
      const detectedAfter = Number(
        /^waf_detected_requests_total\{[^}]*\} (\d+)/m.exec(ssh('web1', 'curl -s 127.0.0.1:3903/metrics'))?.[1] ?? 0,
      );
      expect(detectedAfter - detectedBefore).toBe(logged.length);
    } finally {
      const back = await applySite(site, 'waf-blocking-again', ['-l', 'web1']);
      expect(back.r.code, back.r.stdout.slice(-4000)).toBe(0);
    }
    for (let i = 0; i < 4; i++) expect((await send(LBS[i % LBS.length]!, SQLI, CA)).status).toBe(403);
  });

  it('a WAF value valid to the schema but failing the reload gate is rolled back, web1 fails loudly, web2 is never touched', async () => {
    // Threshold 3: the gate's own GET /health (Host 127.0.0.1:8080, rule 920350, score 3) is a 403.
    const web2Before = ssh('web2', 'sha256sum /etc/nginx/kiln-waf/modsecurity.conf');
    const r = await applySite(site, 'waf-bad-threshold', varsFile('bad', { waf_inbound_anomaly_threshold: 3 }));
    expect(r.r.code, r.r.stdout.slice(-4000)).not.toBe(0);
    const failed = r.report.tasks.find((t) => t.host === 'web1' && t.status === 'failed');
    expect(failed?.message).toMatch(/403/);
    expect(failed?.message).toMatch(
      /restored the last good configuration \(.*\/etc\/nginx\/kiln-waf\/modsecurity\.conf.*\) and reloaded: healthy again/,
    );
    expect(r.report.tasks.some((t) => t.host === 'web2' && t.play === 'web tier')).toBe(false);
    expect(ssh('web1', 'grep -c "inbound_anomaly_score_threshold=5," /etc/nginx/kiln-waf/modsecurity.conf').trim()).toBe('1');
    expect(ssh('web2', 'sha256sum /etc/nginx/kiln-waf/modsecurity.conf')).toBe(web2Before);
    // The running nginx serves the restored configuration: the site answers, attacks are blocked.
    for (let i = 0; i < 4; i++) {
      expect((await send(LBS[i % LBS.length]!, { method: 'GET', uri: '/' }, CA)).status).toBe(200);
      expect((await send(LBS[i % LBS.length]!, SQLI, CA)).status).toBe(403);
    }
    // The failed handler's notification is kept: the next run (good values) reloads web1 again,
    // healthy, and records that configuration as the last good one.
    const fixed = await applySite(site, 'waf-bad-threshold-fixed', ['-l', 'web1']);
    expect(fixed.r.code, fixed.r.stdout.slice(-4000)).toBe(0);
    expect(fixed.report.tasks.some((t) => t.host === 'web1' && t.task.includes('reload nginx') && t.status === 'changed')).toBe(true);
  });

  it('the site is converged again: --check reports 0 changed on every host', async () => {
    const r = await applySite(site, 'waf-converged', ['--check']);
    expect(r.r.code, r.r.stdout.slice(-4000)).toBe(0);
    for (const [h, s] of Object.entries(r.report.hosts)) expect(s.changed, `${h}: ${changedLines(r.report).join('\n')}`).toBe(0);
  });
});
