/**
 * The load balancers' floating address (issue 19, first part) on the shared converged site.
 *
 * playbooks/site.yml puts keepalived on lb1 and lb2 with the VIP 10.77.0.10 (roles/keepalived).
 * With a request loop running against https://<VIP>/health (the site CA trusted: the certificate
 * carries the VIP as a subjectAltName), the drills fail the VIP holder for real:
 *   1. HAProxy stopped on the holder → the VIP moves to the peer within 3 s; no request started
 *      more than 3 s after the stop fails;
 *   2. HAProxy started again → with preemption off (the default) the VIP stays where it is: zero
 *      failed requests during the return, the returning host is BACKUP;
 *   3. the new holder powered off without a word (the lab host SIGKILLed: a pulled power cord) →
 *      the peer takes the VIP when VRRP's master-down interval (3 × advert_int + skew ≈ 3.02 s)
 *      has passed since the last advert it heard;
 *   4. powered on again → it boots, rejoins as BACKUP and does not take the VIP: zero failed
 *      requests during the return;
 *   5. Prometheus (scraping node_exporter's textfile metric) shows exactly one holder, the right
 *      one, and no VIP alert fires.
 * Who holds the VIP is watched on the hosts themselves (a loop on each load balancer printing the
 * moment the VIP appears on or leaves its interface; lab hosts share the machine's clock). The
 * figures are printed for the README. At the end the site is checked (and re-applied if needed) so
 * that the converged re-run of site.test.ts still changes nothing.
 *
 * KILN_E2E_VIP_TARGET (JSON: {lbs, vip, ca, prometheus, inventory, playbook, extraArgs}) points
 * the same drills at other hosts (a mini site made with `kiln lab add`) instead of the shared site.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';
import { readReport } from './reports.ts';
import { ensureSite, SITE_PLAYBOOK } from './site-setup.ts';
import { labSsh, type LoopFigures, RequestLoop } from './traffic.ts';
import { start, stop } from '../../src/lab/lab.ts';
import { DEFAULT_TOPOLOGY } from '../../src/lab/topology.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e VIP suite: ${skip}`);

const ADDR: Record<string, string> = Object.fromEntries(DEFAULT_TOPOLOGY.hosts.map((h) => [h.name, h.address]));

interface Target {
  lbs: string[];
  vip: string;
  ca: string;
  prometheus: string;
  inventory?: string;
  playbook?: string;
  extraArgs?: string[];
}

const OVERRIDE = process.env.KILN_E2E_VIP_TARGET ? (JSON.parse(process.env.KILN_E2E_VIP_TARGET) as Target) : undefined;

/** Prints `<epoch ms> 1|0` on the host each time the VIP appears on or leaves its interface. */
class VipWatch {
  readonly events: { host: string; t: number; has: boolean }[] = [];
  private readonly procs = new Map<string, ChildProcess>();
  constructor(
    private readonly labDir: string,
    private readonly vip: string,
  ) {}
  watch(host: string): void {
    const loop = `p=; while :; do if ip -o -4 addr show | grep -q ' ${this.vip}/'; then s=1; else s=0; fi; [ "$s" != "$p" ] && echo "$(date +%s%3N) $s"; p=$s; sleep 0.05; done`;
    const child = spawn(
      'ssh',
      ['-F', join(this.labDir, 'ssh_config'), '-o', 'ServerAliveInterval=1', '-o', 'ServerAliveCountMax=3', host, loop],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const [t, s] = buf.slice(0, i).trim().split(' ');
        buf = buf.slice(i + 1);
        if (t && s) this.events.push({ host, t: Number(t), has: s === '1' });
      }
    });
    this.procs.set(host, child);
  }
  /** The first time after `since` that `host` got the VIP. */
  gotAt(host: string, since: number): number | undefined {
    return this.events.find((e) => e.host === host && e.has && e.t >= since)?.t;
  }
  unwatch(host: string): void {
    const c = this.procs.get(host);
    if (c?.pid !== undefined && c.exitCode === null) c.kill('SIGTERM');
    this.procs.delete(host);
  }
  stopAll(): void {
    for (const h of [...this.procs.keys()]) this.unwatch(h);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, f: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(skip)('the load balancers floating address (keepalived) under failures', () => {
  let target: Target;
  let labDir: string;
  let restore: () => Promise<void>;
  let watch: VipWatch;
  const figures: Record<string, unknown> = {};

  const ssh = (host: string, cmd: string) => labSsh(labDir, host, cmd).trim();
  const holdsVip = (host: string) => ssh(host, `ip -o -4 addr show | grep -c ' ${target.vip}/' || true`) === '1';
  const vrrpState = (host: string) => ssh(host, 'sudo cat /run/kiln-keepalived/site');
  const holder = () => {
    const h = target.lbs.filter(holdsVip);
    expect(h, `exactly one load balancer holds ${target.vip}`).toHaveLength(1);
    return h[0]!;
  };
  /** Failed requests of a loop started at `loopStart` (epoch ms), with epoch start times. */
  const failedAfter = (f: LoopFigures, loopStart: number, t: number) => f.failures.filter((x) => loopStart + x.t > t);

  beforeAll(async () => {
    if (OVERRIDE) {
      target = OVERRIDE;
      labDir = join(SHARED_LAB_CWD, '.lab');
      restore = async () => {
        const r = await kiln(['apply', target.playbook!, '-i', target.inventory!, ...(target.extraArgs ?? [])], REPO_ROOT, 1800000);
        expect(r.code, r.stdout.slice(-3000)).toBe(0);
      };
    } else {
      const site = await ensureSite();
      labDir = site.lab.dir;
      target = { lbs: ['lb1', 'lb2'], vip: '10.77.0.10', ca: join(REPO_ROOT, '.kiln/pki/ca.crt'), prometheus: `http://${ADDR.mon1}:9090` };
      restore = async () => {
        const json = join(site.siteDir, 'vip-restore.json');
        let r = await kiln(
          ['apply', SITE_PLAYBOOK, '-i', site.lab.inventory, ...site.extraArgs, '--check', '--json', json],
          REPO_ROOT,
          1800000,
        );
        const changed = Object.values(readReport(json).hosts).some((h) => h.changed > 0 || h.failed > 0 || h.unreachable);
        if (r.code !== 0 || changed) {
          r = await kiln(['apply', SITE_PLAYBOOK, '-i', site.lab.inventory, ...site.extraArgs], REPO_ROOT, 1800000);
          expect(r.code, r.stdout.slice(-3000)).toBe(0);
        }
        r = await kiln(
          ['apply', SITE_PLAYBOOK, '-i', site.lab.inventory, ...site.extraArgs, '--check', '--json', json],
          REPO_ROOT,
          1800000,
        );
        expect(r.code).toBe(0);
        expect(Object.values(readReport(json).hosts).every((h) => h.changed === 0 && h.failed === 0 && !h.unreachable)).toBe(true);
      };
    }
    watch = new VipWatch(labDir, target.vip);
    for (const h of target.lbs) watch.watch(h);
    await sleep(1500);
  }, 3_600_000);

  afterAll(async () => {
    if (skip) return;
    watch?.stopAll();
    // Leave every load balancer running and serving, whatever happened above.
    for (const h of target.lbs) {
      try {
        ssh(h, 'sudo systemctl start haproxy');
      } catch {
        await start(h, () => {}).catch(() => {});
      }
    }
    console.log(`VIP figures: ${JSON.stringify(figures)}`);
    await restore();
  }, 3_600_000);

  it('HAProxy stopped on the holder: the VIP moves within 3 s; HAProxy back: no second outage', async () => {
    const a = holder();
    const b = target.lbs.find((h) => h !== a)!;
    expect(vrrpState(a)).toBe('MASTER');
    expect(vrrpState(b)).toBe('BACKUP');
    const loopStart = Date.now();
    const loop = new RequestLoop([target.vip], { ca: target.ca, intervalMs: 50 });
    await sleep(3000);
    const t0 = Date.now();
    ssh(a, 'sudo systemctl stop haproxy');
    const moved = await until(`${target.vip} on ${b}`, 15000, () => watch.gotAt(b, t0));
    await sleep(4000);
    const down = await loop.stop();
    const moveMs = moved - t0;
    figures.haproxyStop = {
      moveMs,
      requests: down.total,
      failed: down.total - down.ok,
      lastFailureMs: Math.max(0, ...down.failures.map((f) => loopStart + f.t - t0)),
    };
    console.log(
      `HAProxy stopped on ${a}: ${target.vip} on ${b} after ${moveMs} ms; ${down.total - down.ok} of ${down.total} requests failed`,
    );
    expect(moveMs).toBeLessThan(3000);
    expect(holdsVip(a)).toBe(false);
    expect(vrrpState(a)).toBe('FAULT');
    // No request started more than 3 s after the stop failed (the VIP answers again from the peer).
    expect(failedAfter(down, loopStart, t0 + 3000)).toEqual([]);
    expect(down.ok).toBeGreaterThan(0);

    // HAProxy back on a: its check passes (rise 2), it becomes BACKUP and leaves the VIP on b.
    const back = new RequestLoop([target.vip], { ca: target.ca, intervalMs: 50 });
    const t1 = Date.now();
    ssh(a, 'sudo systemctl start haproxy');
    await until(`${a} BACKUP again`, 15000, () => (vrrpState(a) === 'BACKUP' ? true : undefined));
    await sleep(5000);
    const ret = await back.stop();
    figures.haproxyReturn = { requests: ret.total, failed: ret.total - ret.ok };
    console.log(`HAProxy started again on ${a}: ${ret.total - ret.ok} of ${ret.total} requests failed; ${b} keeps the VIP`);
    expect(ret.failures).toEqual([]);
    expect(watch.gotAt(a, t1)).toBeUndefined();
    expect(holder()).toBe(b);
  }, 120_000);

  it('the holder powered off (killed): the peer takes the VIP; powered on: it rejoins as BACKUP, no second outage', async () => {
    const b = holder();
    const a = target.lbs.find((h) => h !== b)!;
    const loopStart = Date.now();
    const loop = new RequestLoop([target.vip], { ca: target.ca, intervalMs: 50 });
    await sleep(3000);
    watch.unwatch(b);
    const t0 = Date.now();
    await stop(b, true, () => {});
    const killed = Date.now();
    const moved = await until(`${target.vip} on ${a}`, 15000, () => watch.gotAt(a, t0));
    await sleep(6000); // requests sent to the dead host before the move time out after 5 s
    const down = await loop.stop();
    const moveMs = moved - t0;
    figures.powerOff = {
      moveMs,
      killMs: killed - t0,
      requests: down.total,
      failed: down.total - down.ok,
      lastFailureMs: Math.max(0, ...down.failures.map((f) => loopStart + f.t - t0)),
    };
    console.log(`${b} killed: ${target.vip} on ${a} after ${moveMs} ms; ${down.total - down.ok} of ${down.total} requests failed`);
    // VRRPv2 (whole-second adverts, needed for authentication): the peer declares the holder dead
    // 3 × advert_int + skew (3.02 s) after the last advert it heard, i.e. 2 to 3.02 s after the
    // death; 0.4 s of slack for the lab's scheduling.
    expect(moveMs).toBeLessThan(3400);
    expect(failedAfter(down, loopStart, t0 + 3400)).toEqual([]);
    expect(vrrpState(a)).toBe('MASTER');

    // Power on: systemd starts nftables, haproxy and keepalived; keepalived comes up BACKUP
    // (nopreempt) and hears a's adverts through the firewall, so it never takes the VIP.
    const back = new RequestLoop([target.vip], { ca: target.ca, intervalMs: 50 });
    const t1 = Date.now();
    await start(b, () => {});
    watch.watch(b);
    await until(`${b} BACKUP after its boot`, 60000, () => {
      try {
        return vrrpState(b) === 'BACKUP' ? true : undefined;
      } catch {
        return undefined;
      }
    });
    await sleep(6000);
    const ret = await back.stop();
    figures.powerOn = { bootMs: Date.now() - t1, requests: ret.total, failed: ret.total - ret.ok };
    console.log(`${b} powered on: BACKUP; ${ret.total - ret.ok} of ${ret.total} requests failed`);
    expect(ret.failures).toEqual([]);
    expect(watch.gotAt(b, t1)).toBeUndefined();
    expect(holder()).toBe(a);
  }, 300_000);

  it('Prometheus shows exactly one holder (kiln_vip_master) and no VIP alert fires', async () => {
    const h = holder();
    const query = async (q: string) => {
      const r = await fetch(`${target.prometheus}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
    };
    // Every load balancer scraped again since its last change (the powered-on one restarted).
    const series = await until('kiln_vip_master from every load balancer, one of them 1', 90000, async () => {
      const r = await query(`kiln_vip_master{vip="${target.vip}"}`);
      return r.length === target.lbs.length && r.filter((s) => s.value[1] === '1').length === 1 ? r : undefined;
    });
    expect(series.find((s) => s.value[1] === '1')!.metric.instance).toBe(h);
    const sum = await query(`sum(kiln_vip_master{vip="${target.vip}"})`);
    expect(sum[0]!.value[1]).toBe('1');
    const alerts = await query('ALERTS{alertname=~"KilnVip.*",alertstate="firing"}');
    expect(alerts).toEqual([]);
  }, 120_000);
});
