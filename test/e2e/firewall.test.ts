/**
 * Firewall end-to-end, on real lab hosts through the real CLI:
 * - the role converges with both backends (nftables by default, iptables on the web tier) and a
 *   second run changes nothing;
 * - a full connectivity matrix (every host and the controller → every host, ports 22 80 443 8080
 *   3306 9100 9090, plus the exporters' 8405, 9113 and 3903; real TCP connects) matches the policy with
 *   zero mismatches;
 * - a rule added by hand to Kiln's table/chains is reported by --check --diff and removed;
 * - a policy that would block the controller's SSH is refused by the preflight, before apply;
 * - with the preflight lied to (the host misreports $SSH_CONNECTION, injected through kiln's
 *   transport), the new connection fails and the host rolls itself back and is reachable again;
 * - kiln killed after the load and before the confirm (a transport fault): the host rolls itself back.
 * Faults run the real CLI through test/helpers/kiln-with-faults.ts; production code has no switches.
 *
 * Hosts: by default the shared 7-host lab after the converged site (test/e2e/site-setup.ts), with
 * playbooks/site.yml. With KILN_E2E_FIREWALL_SITE=0, four hosts of its own instead, added to the
 * running lab with `kiln lab add` into a separate inventory (fw-lb .51, fw-web .52, fw-db .53,
 * fw-mon .54), removed afterwards (keep them with KILN_E2E_FIREWALL_KEEP=1). Either way the
 * web tier runs the iptables backend (a derived inventory beside the lab's sets it), the others
 * nftables.
 *
 * Matrix classification: a TCP connect that completes (open) or is answered with RST (closed: no
 * listener) means the packet got through the firewall = "reachable"; a connect that times out
 * means it was dropped = "filtered". The firewall only drops, never rejects, so the two cannot be
 * confused; the expected value comes from the policy through a small evaluator written here,
 * independent of src/firewall. A host connecting to its own address goes through loopback,
 * always accepted: expected reachable.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { hostVarsOf, loadInventory, magicVars } from '../../src/input/inventory/index.ts';
import { ensureLab, KILN_BIN, kiln, labSkipReason, labStatus, REPO_ROOT } from './lab-setup.ts';
import { readReport, type Report } from './reports.ts';
import { KILN_WITH_FAULTS } from '../helpers/kiln-with-faults.ts';

/**
 * site (default, what CI runs; KILN_E2E_FIREWALL_SITE=1): the shared lab, converged with
 * playbooks/site.yml; own (KILN_E2E_FIREWALL_SITE=0): fw-* hosts of its own; shared (KILN_E2E_FIREWALL_SITE=shared): the shared lab, the firewall
 * role alone (also what `site` falls back to while playbooks/site.yml does not exist).
 */
const MODE: 'own' | 'site' | 'shared' = (() => {
  const v = process.env.KILN_E2E_FIREWALL_SITE ?? '1';
  if (v === 'shared' || (v === '1' && !existsSync(join(REPO_ROOT, 'playbooks/site.yml')))) return 'shared';
  return v === '1' ? 'site' : 'own';
})();
const SITE_MODE = MODE === 'site';
// The issue's seven ports, and the site's three exporter ports (haproxy 8405 on lb, nginx 9113
// and the application firewall's mtail 3903 on web, all open to the monitoring tier only).
const PORTS = [22, 80, 443, 8080, 3306, 9100, 9090, 8405, 9113, 3903];
const OWN_HOSTS = [
  { name: 'fw-lb', address: '10.77.0.51', groups: 'lb' },
  { name: 'fw-web', address: '10.77.0.52', groups: 'web' },
  { name: 'fw-db', address: '10.77.0.53', groups: 'db' },
  { name: 'fw-mon', address: '10.77.0.54', groups: 'monitoring' },
];
/** The tier put on the iptables backend (the others stay on nftables, the default). */
const IPTABLES_GROUP = 'web';

const skip = labSkipReason();

interface Setup {
  labDir: string;
  inventory: string;
  playbook: string;
  extraArgs: string[];
  hosts: { name: string; address: string; backend: 'nftables' | 'iptables' }[];
  groups: Record<string, string[]>;
  policy: Record<string, { allow?: { port: number | string | (number | string)[]; proto?: string; from: string | string[] }[] }>;
  admin: string[];
  controller: string;
}

let S: Setup;
const timings: Record<string, number> = {};

/**
 * Runs the CLI; with `faults` (KILN_FAULT_* variables, see test/helpers/fault-transport.ts) the same
 * CLI through the fault-injecting entry. Reports a death by signal.
 */
function kilnEnv(
  args: string[],
  faults?: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const argv = faults ? [...KILN_WITH_FAULTS, ...args] : [KILN_BIN, ...args];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { cwd: REPO_ROOT, env: { ...process.env, ...faults }, timeout: 600000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number; signal?: string }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/** Runs a script on a lab host (system ssh with the lab's ssh_config), or locally for 'controller'. */
function runOn(host: string, script: string, timeoutMs = 60000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const argv =
      host === 'controller' ? ['bash', ['-s']] : ['ssh', ['-F', join(S.labDir, 'ssh_config'), '-o', 'ConnectTimeout=5', host, 'bash -s']];
    const p = spawn(argv[0] as string, argv[1] as string[], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (err += b));
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
    p.stdin.end(script);
  });
}

/** Runs a command as root on a host (the command travels in a heredoc: no quoting issues). */
const sudo = (host: string, cmd: string) => runOn(host, `sudo -n sh -s <<'KILN_FW_EOF'\n${cmd}\nKILN_FW_EOF\n`);

/** What Kiln manages live on a host: its nft table and its iptables chains. */
async function liveRules(host: string): Promise<string> {
  const r = await runOn(
    host,
    "sudo -n nft list table inet kiln 2>/dev/null; echo '--'; sudo -n iptables-save -t filter 2>/dev/null | grep -E '^(:KILN|-A KILN|-A (INPUT|OUTPUT) .*KILN)' | sed 's/\\[[0-9:]*\\]//'; echo '--'; sudo -n ip6tables-save -t filter 2>/dev/null | grep -E '^(:KILN|-A KILN)' | sed 's/\\[[0-9:]*\\]//'",
  );
  if (r.code !== 0) throw new Error(`cannot read the rules of ${host} (${r.code}): ${r.err}`);
  return r.out;
}

async function apply(
  name: string,
  args: string[],
  faults?: Record<string, string>,
): Promise<{ r: Awaited<ReturnType<typeof kilnEnv>>; report?: Report; ms: number }> {
  mkdirSync(join(S.labDir, 'firewall'), { recursive: true });
  const json = join(S.labDir, 'firewall', `${name}.json`);
  rmSync(json, { force: true });
  const t0 = Date.now();
  const r = await kilnEnv(['apply', S.playbook, '-i', S.inventory, ...S.extraArgs, '--json', json, ...args], faults);
  const ms = Date.now() - t0;
  timings[name] = ms;
  const report = existsSync(json) ? readReport(json) : undefined;
  return { r, report, ms };
}

/** A minimal IPv4 CIDR test for the expected matrix (the lab is IPv4). */
function inCidr(cidr: string, ip: string): boolean {
  const [net, bits = '32'] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const b = Number(bits);
  if (b === 0) return true;
  const mask = 2 ** 32 - 2 ** (32 - b);
  return Math.floor(n(net!) / 2 ** (32 - b)) === Math.floor(n(ip) / 2 ** (32 - b)) && mask > 0;
}

/** Should a TCP connect from `source` (host or 'controller') to `target`:`port` get through? */
function expected(source: string, target: string, port: number): boolean {
  if (source === target) return true; // own address: loopback, always accepted
  const srcIp = source === 'controller' ? S.controller : S.hosts.find((h) => h.name === source)!.address;
  for (const [section, spec] of Object.entries(S.policy)) {
    if (!(section === 'all' || section === target || (S.groups[section] ?? []).includes(target))) continue;
    for (const rule of spec.allow ?? []) {
      if ((rule.proto ?? 'tcp') !== 'tcp') continue;
      const ports = [rule.port].flat().map(String);
      if (!ports.some((p) => (p.includes('-') ? port >= Number(p.split('-')[0]) && port <= Number(p.split('-')[1]) : Number(p) === port)))
        continue;
      const froms = [rule.from].flat().map(String);
      const ok = froms.some(
        (f) =>
          f === 'any' ||
          (f === 'admin' && S.admin.some((c) => inCidr(c, srcIp))) ||
          (S.groups[f] ?? []).includes(source) ||
          f === source ||
          (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(f) && inCidr(f, srcIp)),
      );
      if (ok) return true;
    }
  }
  return false;
}

type Verdict = 'open' | 'closed' | 'filtered';

/** Real TCP connects from one source to every host and port, in parallel. */
async function probeFrom(source: string): Promise<Map<string, Verdict>> {
  const targets = S.hosts.map((h) => h.address).join(' ');
  const script = [
    `for t in ${targets}; do for p in ${PORTS.join(' ')}; do`,
    '  ( if timeout 3 bash -c "exec 3<>/dev/tcp/$t/$p" 2>/dev/null; then v=open; else rc=$?; if [ $rc = 124 ]; then v=filtered; else v=closed; fi; fi; echo "$t $p $v" ) &',
    'done; done; wait',
  ].join('\n');
  const r = await runOn(source, script);
  if (r.code !== 0) throw new Error(`matrix probe from ${source} failed (${r.code}): ${r.err}`);
  const m = new Map<string, Verdict>();
  for (const line of r.out.trim().split('\n')) {
    const [ip, port, v] = line.split(' ');
    const host = S.hosts.find((h) => h.address === ip)!.name;
    m.set(`${host}:${port}`, v as Verdict);
  }
  return m;
}

/** The full matrix, printed; returns the mismatches. */
async function matrix(label: string): Promise<string[]> {
  const sources = ['controller', ...S.hosts.map((h) => h.name)];
  const t0 = Date.now();
  const results = await Promise.all(sources.map((s) => probeFrom(s)));
  timings[`matrix ${label}`] = Date.now() - t0;
  const mismatches: string[] = [];
  const sym = { open: 'O', closed: 'c', filtered: '.' } as const;
  const lines = [
    `connectivity matrix (${label}): O = open, c = closed (RST, reachable), . = filtered (timeout); * = mismatch with the policy`,
  ];
  lines.push(`each cell lists the ports ${PORTS.join(' ')} in this order`);
  lines.push(
    `${'from \\ to'.padEnd(12)}${S.hosts.map((h) => `${h.name} (${h.backend === 'iptables' ? 'ipt' : 'nft'})`.padEnd(22)).join('')}`,
  );
  sources.forEach((src, i) => {
    const cells = S.hosts.map((h) =>
      PORTS.map((p) => {
        const v = results[i]!.get(`${h.name}:${p}`);
        const want = expected(src, h.name, p);
        const got = v === 'open' || v === 'closed';
        if (v === undefined || got !== want)
          mismatches.push(`${src} → ${h.name}:${p}: expected ${want ? 'reachable' : 'filtered'}, got ${v ?? 'no result'}`);
        return `${v ? sym[v] : '?'}${v === undefined || got !== want ? '*' : ' '}`;
      }).join(''),
    );
    lines.push(`${src.padEnd(12)}${cells.map((c) => c.padEnd(22)).join('')}`);
  });
  console.log(lines.join('\n'));
  return mismatches;
}

/** Waits (bounded) until the host accepts a new SSH connection. */
async function waitReachable(host: string, maxMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const r = await runOn(host, 'true', 10000);
    if (r.code === 0) return Date.now() - t0;
    if (Date.now() - t0 > maxMs) throw new Error(`${host} not reachable over SSH after ${maxMs} ms: ${r.err}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Waits (bounded) until a condition on a host's live rules holds. */
async function waitRules(host: string, ok: (rules: string) => boolean, maxMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const rules = await liveRules(host).catch(() => '');
    if (rules && ok(rules)) return Date.now() - t0;
    if (Date.now() - t0 > maxMs) throw new Error(`${host}: rules did not reach the expected state within ${maxMs} ms:\n${rules}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function setup(): Promise<Setup> {
  const lab = await ensureLab();
  let base: string;
  let playbook: string;
  let extraArgs: string[] = [];
  if (MODE === 'shared') {
    // The shared 7-host lab before the site playbook exists: the firewall role alone.
    base = lab.inventory;
    playbook = join(REPO_ROOT, 'test/fixtures/firewall/site.yml');
  } else if (SITE_MODE) {
    const { ensureSite } = await import('./site-setup.ts');
    const site = await ensureSite();
    base = site.lab.inventory;
    playbook = join(REPO_ROOT, 'playbooks/site.yml');
    extraArgs = site.extraArgs;
  } else {
    base = join(lab.dir, 'fw-inventory.yml');
    const status = await labStatus(REPO_ROOT);
    for (const h of OWN_HOSTS) {
      if (status.hosts.some((x) => x.host === h.name) && existsSync(base)) continue;
      const r = await kiln(['lab', 'add', h.name, '--address', h.address, '--groups', h.groups, '--inventory', base], REPO_ROOT);
      if (r.code !== 0) throw new Error(`kiln lab add ${h.name} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    }
    playbook = join(REPO_ROOT, 'test/fixtures/firewall/site.yml');
  }
  // A derived inventory beside the base one (same relative paths): the iptables tier.
  const inv = parseYaml(readFileSync(base, 'utf8')) as { all: { children: Record<string, { vars?: Record<string, unknown> }> } };
  const tier = inv.all.children[IPTABLES_GROUP];
  if (!tier) throw new Error(`the inventory ${base} has no group ${IPTABLES_GROUP}`);
  tier.vars = { ...(tier.vars ?? {}), firewall_backend: 'iptables' };
  const inventory = join(lab.dir, 'fw-e2e-inventory.yml');
  writeFileSync(inventory, `# Written by test/e2e/firewall.test.ts from ${base}\n${stringifyYaml(inv)}`);

  const { inventory: loaded } = loadInventory(inventory);
  const names = [...loaded.hosts.keys()];
  const groups = magicVars(loaded, names[0]!).groups as Record<string, string[]>;
  const hv = (h: string) => hostVarsOf(loaded, h) as Record<string, unknown>;
  const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'roles/firewall/defaults/main.yml'), 'utf8')) as Record<string, unknown>;
  const v0 = hv(names[0]!);
  const controller = String(v0.controller_address ?? '10.77.0.1');
  return {
    labDir: lab.dir,
    inventory,
    playbook,
    extraArgs,
    hosts: names.map((n) => ({
      name: n,
      address: String(hv(n).address),
      backend: hv(n).firewall_backend === 'iptables' ? 'iptables' : 'nftables',
    })),
    groups,
    policy: (v0.firewall_policy ?? defaults.firewall_policy) as Setup['policy'],
    admin: (v0.firewall_admin_cidrs as string[] | undefined) ?? [`${controller}/32`],
    controller,
  };
}

const byBackend = (b: 'nftables' | 'iptables') => S.hosts.find((h) => h.backend === b)!.name;
const fwTasks = (rep: Report | undefined, host: string) =>
  (rep?.tasks ?? []).filter((t) => t.host === host && t.task.startsWith('firewall rules'));

describe.skipIf(skip)('firewall role on the lab', () => {
  beforeAll(async () => {
    S = await setup();
  });

  afterAll(async () => {
    console.log(`firewall e2e timings (ms): ${JSON.stringify(timings)}`);
    if (MODE === 'own' && process.env.KILN_E2E_FIREWALL_KEEP !== '1') {
      const r = await kiln(['lab', 'remove', '--inventory', join(S.labDir, 'fw-inventory.yml')], REPO_ROOT);
      if (r.code !== 0) console.log(`kiln lab remove failed (${r.code}): ${r.stderr}`);
      rmSync(S.inventory, { force: true });
    }
  });

  it('converges with nftables and iptables (web tier); a second run and --check change nothing', async () => {
    const first = await apply('apply', []);
    expect(first.r.code, first.r.stdout.slice(-4000)).toBe(0);
    const again = await apply('rerun', []);
    expect(again.r.code, again.r.stdout.slice(-4000)).toBe(0);
    for (const [h, s] of Object.entries(again.report!.hosts))
      expect({ h, changed: s.changed, failed: s.failed }).toEqual({ h, changed: 0, failed: 0 });
    const check = await apply('check-converged', ['--check']);
    expect(Object.values(check.report!.hosts).every((s) => s.changed === 0)).toBe(true);
    // Each host runs exactly the backend it was given, and nothing of the other one.
    for (const h of S.hosts) {
      const live = await liveRules(h.name);
      const [nft, ipt4, ipt6] = live.split('--\n');
      if (h.backend === 'nftables') {
        expect(nft, h.name).toContain('table inet kiln');
        expect(ipt4!.trim(), h.name).toBe('');
      } else {
        expect(nft!.trim(), h.name).toBe('');
        expect(ipt4, h.name).toContain('-A INPUT -j KILN-INPUT');
        expect(ipt6, h.name).toContain('-A KILN-INPUT -j DROP');
      }
    }
  });

  it('connectivity matrix: every source → every host and port matches the policy', async () => {
    expect(await matrix('converged')).toEqual([]);
  });

  // Site mode: the whole site still works through the firewalls.
  it.runIf(SITE_MODE)(
    'the site works through the firewalls: HTTPS through each load balancer, Prometheus scrapes every target',
    async () => {
      const since = Date.now() / 1000;
      for (const lb of S.hosts.filter((h) => (S.groups.lb ?? []).includes(h.name))) {
        const r = await runOn('controller', `curl -sk -o /dev/null -w '%{http_code}' --max-time 10 https://${lb.address}/`);
        // haproxy answers 503 when no web backend is reachable: the firewall would be to blame.
        expect(r.out, `https://${lb.address}/`).toMatch(/^[23]\d\d$/);
      }
      const mon = S.hosts.find((h) => (S.groups.monitoring ?? []).includes(h.name))!;
      const t0 = Date.now();
      for (;;) {
        const r = await runOn('controller', `curl -s --max-time 10 http://${mon.address}:9090/api/v1/targets`);
        const targets = (
          JSON.parse(r.out || '{"data":{"activeTargets":[]}}') as {
            data: { activeTargets: { health: string; lastScrape: string; scrapeUrl: string }[] };
          }
        ).data.activeTargets;
        const fresh = targets.filter((t) => Date.parse(t.lastScrape) / 1000 > since);
        if (targets.length && fresh.length === targets.length && targets.every((t) => t.health === 'up')) break;
        if (Date.now() - t0 > 120000) {
          throw new Error(
            `Prometheus targets not all up and freshly scraped:\n${targets.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastScrape}`).join('\n')}`,
          );
        }
        await new Promise((res) => setTimeout(res, 2000));
      }
    },
  );

  it('a rule added by hand is reported by --check --diff and removed by the next run', async () => {
    const nftHost = byBackend('nftables');
    const iptHost = byBackend('iptables');
    expect((await sudo(nftHost, 'nft add rule inet kiln input tcp dport 5555 accept')).code).toBe(0);
    expect((await sudo(iptHost, 'iptables -I KILN-INPUT 1 -p tcp --dport 5555 -j ACCEPT')).code).toBe(0);
    const check = await apply('drift-check', ['--check', '--diff']);
    expect(check.r.code).toBe(0);
    for (const h of [nftHost, iptHost]) {
      const t = fwTasks(check.report, h);
      expect(
        t.map((x) => x.status),
        h,
      ).toEqual(['changed']);
      expect(t[0]!.changes[0]!.summary).toMatch(/differs from what Kiln loaded \(changed by hand\?\): reload it/);
    }
    expect(check.r.stdout).toMatch(/-\s+tcp dport 5555 accept/);
    expect(check.r.stdout).toMatch(/-\s*-A KILN-INPUT -p tcp -m tcp --dport 5555 -j ACCEPT/);
    // Nothing else is predicted.
    expect(Object.entries(check.report!.hosts).filter(([h, s]) => s.changed !== 0 && h !== nftHost && h !== iptHost)).toEqual([]);
    const fix = await apply('drift-fix', []);
    expect(fix.r.code, fix.r.stdout.slice(-3000)).toBe(0);
    expect(fwTasks(fix.report, nftHost)[0]!.status).toBe('changed');
    expect(await liveRules(nftHost)).not.toContain('5555');
    expect(await liveRules(iptHost)).not.toContain('5555');
    const after = await apply('drift-after', ['--check']);
    expect(Object.values(after.report!.hosts).every((s) => s.changed === 0)).toBe(true);
  });

  it('persisted: with the live rules gone, the boot-time services (nftables, netfilter-persistent) load exactly the same rules', async () => {
    const nftHost = byBackend('nftables');
    const iptHost = byBackend('iptables');
    const before = await Promise.all([liveRules(nftHost), liveRules(iptHost)]);
    // What a reboot does: start from no Kiln rules, then the enabled unit loads the persisted files.
    expect((await sudo(nftHost, 'nft delete table inet kiln && systemctl restart nftables')).code).toBe(0);
    expect(
      (await sudo(iptHost, 'iptables -F && iptables -X && ip6tables -F && ip6tables -X && systemctl restart netfilter-persistent')).code,
    ).toBe(0);
    expect(await Promise.all([liveRules(nftHost), liveRules(iptHost)])).toEqual(before);
    const enabled = await Promise.all([
      sudo(nftHost, 'systemctl is-enabled nftables'),
      sudo(iptHost, 'systemctl is-enabled netfilter-persistent'),
    ]);
    expect(enabled.map((e) => e.out.trim())).toEqual(['enabled', 'enabled']);
    const c = await apply('after-boot-load', ['--check']);
    expect(Object.values(c.report!.hosts).every((h) => h.changed === 0)).toBe(true);
  });

  it('outbound drop: only established, loopback, ICMP and allow_out leave the host (both backends)', async () => {
    const hosts = [byBackend('nftables'), byBackend('iptables')];
    const restricted = JSON.stringify({
      firewall_outbound_policy: 'drop',
      firewall_policy: { ...S.policy, all: { ...(S.policy.all ?? {}), allow_out: [{ port: 22, to: 'admin' }] } },
    });
    const r = await apply('outbound-drop', ['-l', hosts.join(','), '-e', restricted]);
    expect(r.r.code, r.r.stdout.slice(-3000)).toBe(0);
    // The controller is not firewalled: any port answers (open or RST) when the packet gets out.
    const probe = (port: number) =>
      `if timeout 3 bash -c "exec 3<>/dev/tcp/${S.controller}/${port}" 2>/dev/null; then echo reachable; elif [ $? = 124 ]; then echo filtered; else echo reachable; fi`;
    for (const h of hosts) {
      expect((await runOn(h, probe(22))).out.trim(), `${h} → controller:22 (allow_out)`).toBe('reachable');
      expect((await runOn(h, probe(9))).out.trim(), `${h} → controller:9 (not allowed out)`).toBe('filtered');
    }
    // Back to the site's policy (outbound open).
    const back = await apply('outbound-back', ['-l', hosts.join(',')]);
    expect(back.r.code).toBe(0);
    for (const h of hosts) expect((await runOn(h, probe(9))).out.trim(), `${h} → controller:9 (outbound open)`).toBe('reachable');
  });

  const noSsh = JSON.stringify({ firewall_policy: { all: { allow: [{ port: 9100, from: 'monitoring' }] } } });

  it('a policy that would block the controller’s SSH is refused by the preflight, before anything is loaded', async () => {
    const host = byBackend('nftables');
    const before = await liveRules(host);
    const r = await apply('preflight', ['-l', host, '-e', noSsh]);
    expect(r.r.code).toBe(4);
    const t = fwTasks(r.report, host);
    expect(t.map((x) => x.status)).toEqual(['failed']);
    expect(t[0]!.message).toMatch(
      /refusing to apply: the firewall for \S+ would not accept SSH \(port 22\/tcp\) from 10\.77\.0\.1, .*lock Kiln out/,
    );
    expect(await liveRules(host)).toBe(before);
    // --check predicts the refusal too.
    const c = await apply('preflight-check', ['--check', '-l', host, '-e', noSsh]);
    expect(c.r.code).toBe(4);
  });

  for (const backend of ['nftables', 'iptables'] as const) {
    it(`preflight lied to (the host misreports $SSH_CONNECTION) on ${backend}: the new connection fails, the host rolls back by itself`, async () => {
      const host = byBackend(backend);
      const before = await liveRules(host);
      // The host claims kiln connects from the monitoring host to port 9100, which noSsh allows:
      // the preflight passes, and the new rules cut the controller's real SSH (port 22).
      const mon = S.hosts.find((h) => (S.groups.monitoring ?? []).includes(h.name))!;
      const address = S.hosts.find((h) => h.name === host)!.address;
      const t0 = Date.now();
      const r = await apply(`bypass-${backend}`, ['-l', host, '-e', noSsh], {
        KILN_FAULT_SSH_CONNECTION: `${mon.address} 50000 ${address} 9100`,
      });
      expect(r.r.code, r.r.stdout.slice(-3000)).toBe(4);
      const t = fwTasks(r.report, host);
      expect(t.map((x) => x.status)).toEqual(['failed']);
      expect(t[0]!.message).toMatch(
        /commit-confirm failed: a NEW SSH connection to the host could not be opened after apply .*rolls itself back/s,
      );
      const back = await waitReachable(host, 90000);
      timings[`bypass-${backend} reachable again after kiln exited`] = back;
      timings[`bypass-${backend} total until reachable`] = Date.now() - t0;
      expect(await liveRules(host)).toBe(before);
      const state = await sudo(
        host,
        'ls /var/lib/kiln/firewall; cat /var/lib/kiln/firewall/decided.*/outcome; journalctl -t kiln-firewall --no-pager -q | tail -1',
      );
      expect(state.out).not.toMatch(/^pending$/m);
      expect(state.out).toContain('rolled-back');
      expect(state.out).toMatch(/rolled back unconfirmed firewall change/);
      // Converged as before: nothing to do.
      const c = await apply(`bypass-${backend}-after`, ['--check', '-l', host]);
      expect(c.report!.hosts[host]!.changed).toBe(0);
    });
  }

  it('kiln killed after the load, before the confirm: the hosts roll back by themselves', async () => {
    const hosts = [byBackend('nftables'), byBackend('iptables')];
    const before = await Promise.all(hosts.map(liveRules));
    const extra = JSON.stringify({
      firewall_policy: { ...S.policy, all: { allow: [...(S.policy.all?.allow ?? []), { port: 7777, from: 'admin' }] } },
    });
    const r = await apply('killed', ['-l', hosts.join(','), '-e', extra], { KILN_FAULT_KILL_BEFORE_CONFIRM: '1' });
    expect(r.r.signal).toBe('SIGKILL');
    // The new rules were loaded on at least one host (the kill came at the first confirm).
    const loaded = await Promise.all(hosts.map(liveRules));
    expect(loaded.some((l) => l.includes('7777'))).toBe(true);
    // Another tool adds its own rules inside the window (Docker would): the rollback keeps them.
    const [nftHost, iptHost] = hosts;
    const foreign = {
      [nftHost!]: {
        add: 'nft add table inet kiln_e2e_foreign',
        check: 'nft list tables',
        want: 'table inet kiln_e2e_foreign',
        del: 'nft delete table inet kiln_e2e_foreign',
      },
      [iptHost!]: {
        add: 'iptables -A INPUT -s 192.0.2.99/32 -m comment --comment kiln-e2e-foreign -j DROP',
        check: 'iptables-save -t filter',
        want: 'kiln-e2e-foreign',
        del: 'iptables -D INPUT -s 192.0.2.99/32 -m comment --comment kiln-e2e-foreign -j DROP',
      },
    };
    for (const h of hosts) expect((await sudo(h, foreign[h]!.add)).code, h).toBe(0);
    const waits = await Promise.all(hosts.map((h, i) => waitRules(h, (l) => l === before[i], 90000)));
    timings['killed: rolled back within'] = Math.max(...waits);
    for (const h of hosts) {
      expect((await sudo(h, foreign[h]!.check)).out, `${h}: the other tool's rules survived the rollback`).toContain(foreign[h]!.want);
      expect((await sudo(h, foreign[h]!.del)).code, h).toBe(0);
    }
    const pend = await Promise.all(hosts.map((h) => sudo(h, 'test -e /var/lib/kiln/firewall/pending && echo pending || echo none')));
    expect(pend.map((p) => p.out.trim())).toEqual(['none', 'none']);
    // The site is whole again: converged, and the matrix still matches.
    const c = await apply('after-kill', ['--check']);
    expect(Object.values(c.report!.hosts).every((s) => s.changed === 0)).toBe(true);
    expect(await matrix('after the rollbacks')).toEqual([]);
  });

  it('firewall_state absent removes Kiln’s rules, files and record on every host; present brings them back', async () => {
    const before = await Promise.all(S.hosts.map((h) => liveRules(h.name)));
    const gone = await apply('absent', ['-e', 'firewall_state=absent']);
    expect(gone.r.code, gone.r.stdout.slice(-3000)).toBe(0);
    for (const h of S.hosts) {
      expect((await liveRules(h.name)).replace(/\s/g, ''), h.name).toBe('----');
      const files = await sudo(
        h.name,
        'ls /etc/kiln/firewall.nft /var/lib/kiln/firewall 2>&1; grep -c "Managed by Kiln" /etc/iptables/rules.v4 2>/dev/null || true',
      );
      expect(files.out, h.name).not.toMatch(/^\/etc\/kiln\/firewall\.nft$|^[1-9]/m);
    }
    const again = await apply('absent-again', ['--check', '-e', 'firewall_state=absent']);
    expect(Object.values(again.report!.hosts).every((x) => x.changed === 0)).toBe(true);
    const back = await apply('present-again', []);
    expect(back.r.code, back.r.stdout.slice(-3000)).toBe(0);
    expect(await Promise.all(S.hosts.map((h) => liveRules(h.name)))).toEqual(before);
  });

  it('an unconfirmed change found by the next run is rolled back first, then the policy is applied and confirmed', async () => {
    const host = byBackend('nftables');
    const before = await liveRules(host);
    const extra = JSON.stringify({
      firewall_rollback_seconds: 600,
      firewall_policy: { ...S.policy, all: { allow: [...(S.policy.all?.allow ?? []), { port: 7778, from: 'admin' }] } },
    });
    const killed = await apply('killed-long', ['-l', host, '-e', extra], { KILN_FAULT_KILL_BEFORE_CONFIRM: '1' });
    expect(killed.r.signal).toBe('SIGKILL');
    expect(await liveRules(host)).toContain('7778');
    // Within the (long) window: the next run sees the armed rollback.
    const check = await apply('pending-check', ['--check', '-l', host]);
    const t = fwTasks(check.report, host);
    expect(t.map((x) => x.status)).toEqual(['changed']);
    expect(t[0]!.changes.map((c) => c.summary)).toEqual([
      expect.stringMatching(/^an earlier firewall change \(\w+\) was never confirmed: its rollback is armed; restore it and apply again$/),
      expect.stringMatching(/^load nftables ruleset \(table inet kiln, \d+ policy rules\) atomically, with a 20s commit-confirm$/),
    ]);
    const fix = await apply('pending-fix', ['-l', host]);
    expect(fix.r.code, fix.r.stdout.slice(-3000)).toBe(0);
    expect(await liveRules(host)).toBe(before);
    // The old transaction's timer was stopped (it will not fire later), nothing is pending.
    const units = await sudo(
      host,
      "systemctl list-units 'kiln-fw-rollback-*' --state=active --no-legend --plain; ls /var/lib/kiln/firewall",
    );
    expect(units.out).not.toMatch(/kiln-fw-rollback-\S+\.timer/);
    expect(units.out).not.toMatch(/^pending$/m);
    const after = await apply('pending-after', ['--check', '-l', host]);
    expect(after.report!.hosts[host]!.changed).toBe(0);
  });
  it('a host rebooted inside the commit-confirm window boots with its previous rules (the boot guard rolls back)', async () => {
    const hosts = [byBackend('nftables'), byBackend('iptables')];
    const before = await Promise.all(hosts.map(liveRules));
    const guard = await Promise.all(hosts.map((h) => sudo(h, 'systemctl is-enabled kiln-firewall-guard.service')));
    expect(guard.map((g) => g.out.trim())).toEqual(['enabled', 'enabled']);
    // A change loaded and never confirmed, with a window long enough that only a reboot can end it here.
    const extra = JSON.stringify({
      firewall_rollback_seconds: 600,
      firewall_policy: { ...S.policy, all: { allow: [...(S.policy.all?.allow ?? []), { port: 7779, from: 'admin' }] } },
    });
    const killed = await apply('killed-reboot', ['-l', hosts.join(','), '-e', extra], { KILN_FAULT_KILL_BEFORE_CONFIRM: '1' });
    expect(killed.r.signal).toBe('SIGKILL');
    // The kill came at the first confirm: load the other host too, the same way, if it was not reached.
    for (const h of hosts) {
      if ((await liveRules(h)).includes('7779')) continue;
      const again = await apply(`killed-reboot-${h}`, ['-l', h, '-e', extra], { KILN_FAULT_KILL_BEFORE_CONFIRM: '1' });
      expect(again.r.signal).toBe('SIGKILL');
    }
    for (const h of hosts) {
      expect(await liveRules(h)).toContain('7779');
      // The unconfirmed rules are persisted too: without the guard, the boot would load them.
      const persisted = await sudo(h, 'cat /etc/kiln/firewall.nft /etc/iptables/rules.v4 2>/dev/null | grep -c 7779');
      expect(Number(persisted.out.trim())).toBeGreaterThan(0);
    }
    // Power the hosts off (the transient rollback timers die with them) and boot them again.
    await Promise.all(hosts.map((h) => runOn(h, 'sudo -n systemctl poweroff', 15000)));
    for (let i = 0; i < 150; i++) {
      const st = await labStatus(REPO_ROOT);
      if (hosts.every((h) => st.hosts.find((x) => x.host === h)?.state === 'stopped')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await labStatus(REPO_ROOT)).hosts.filter((x) => hosts.includes(x.host)).map((x) => x.state)).toEqual(['stopped', 'stopped']);
    const t0 = Date.now();
    const up = await kiln(['lab', 'up'], REPO_ROOT);
    expect(up.code, up.stderr).toBe(0);
    for (const h of hosts) await waitReachable(h, 120000);
    timings['reboot: reachable after lab up'] = Date.now() - t0;
    // Booted with the rules from before the change: the guard rolled the pending change back.
    expect(await Promise.all(hosts.map(liveRules))).toEqual(before);
    for (const h of hosts) {
      const st = await sudo(
        h,
        'test -e /var/lib/kiln/firewall/pending && echo pending || echo none; journalctl -b -u kiln-firewall-guard --no-pager -q -o cat | tail -3; journalctl -b -t kiln-firewall --no-pager -q -o cat | tail -1',
      );
      expect(st.out, h).toMatch(/^none$/m);
      expect(st.out, h).toMatch(/rolled back unconfirmed firewall change/);
      const persisted = await sudo(h, 'cat /etc/kiln/firewall.nft /etc/iptables/rules.v4 2>/dev/null | grep -c 7779 || true');
      expect(persisted.out.trim(), h).toBe('0');
    }
    // The whole site is converged again, and the matrix holds.
    const c = await apply('after-reboot', ['--check']);
    expect(
      Object.values(c.report!.hosts).every((x) => x.changed === 0),
      JSON.stringify(c.report?.hosts),
    ).toBe(true);
    expect(await matrix('after the reboot')).toEqual([]);
  }, 600_000);
});
