/**
 * End-to-end test of `kiln lab` with the real CLI (root + Linux only): a 3-host lab in a temp dir,
 * SSH with the written files, apt from the offline mirror, a host firewall checked with real TCP
 * connects from the other namespaces, restart/reset, and a `down` that leaves nothing behind.
 *
 * There is one lab per machine. This suite must run before (or without) suites that share the
 * default lab via ensureLab() (test/e2e/lab-setup.ts): it leaves no lab behind, and if the shared
 * lab is already up it skips itself (with a message) rather than tear down a lab others use.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, labSkipReason, labStatus } from './lab-setup.ts';

function sh(cmd: string, args: readonly string[], timeoutMs = 120000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const HOSTS = [
  { name: 'e2e1', address: '10.77.0.61' },
  { name: 'e2e2', address: '10.77.0.62' },
  { name: 'e2e3', address: '10.77.0.63' },
];

let skip = labSkipReason();
if (!skip) {
  const s = await labStatus(os.tmpdir()).catch(() => undefined);
  if (s && s.labDir !== null && s.hosts.some((h) => h.state !== 'stopped')) {
    skip = `a lab is already up from ${s.labDir} (shared with other suites?); run test/e2e/lab.test.ts first or \`kiln lab down\` there`;
  }
}
if (skip) console.warn(`\n[skip] test/e2e/lab.test.ts: ${skip}\n`);
const suite = skip ? describe.skip : describe;

suite('kiln lab (real hosts)', () => {
  let cwd = '';
  let lab = '';
  const pids: number[] = [];

  const ssh = (host: string, command: string, extra: string[] = []) =>
    sh('ssh', ['-F', path.join(lab, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', ...extra, host, command]);
  /** A real TCP connect from inside a host's network namespace. */
  const canConnect = async (fromHost: string, address: string, port: number): Promise<boolean> => {
    const r = await sh(
      'ip',
      ['netns', 'exec', `kiln-${fromHost}`, 'timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`],
      10000,
    );
    return r.code === 0;
  };

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'kiln-lab-e2e-'));
    lab = path.join(cwd, '.lab');
    await writeFile(
      path.join(cwd, 'topology.yml'),
      `hosts:\n${HOSTS.map((h, i) => `  ${h.name}: { address: ${h.address}, groups: [${['web', 'db_primary', 'db_replica'][i]}] }`).join('\n')}\ngroups:\n  db: [db_primary, db_replica]\n` +
        // an extra package for the offline mirror (not in MIRROR_PACKAGES): its own cached mirror
        'mirror_packages: [hello]\n',
    );
  });

  afterAll(async () => {
    // Whatever happened, leave no lab behind.
    if (existsSync('/run/kiln-lab/lab.json') && readFileSync('/run/kiln-lab/lab.json', 'utf8').includes(cwd)) {
      await kiln(['lab', 'down'], cwd, 120000);
    }
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('up: boots 3 hosts and writes inventory, ssh_config, known_hosts and a key', async () => {
    const r = await kiln(['lab', 'up', '--topology', 'topology.yml'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('started e2e1, e2e2, e2e3');
    const known = (await readFile(path.join(lab, 'known_hosts'), 'utf8')).trim().split('\n');
    expect(known).toHaveLength(3);
    for (const [i, h] of HOSTS.entries()) expect(known[i]).toMatch(new RegExp(`^${h.address.replace(/\./g, '\\.')} ssh-ed25519 AAAA\\S+$`));
    const inv = await readFile(path.join(lab, 'inventory.yml'), 'utf8');
    expect(inv).toContain('known_hosts: known_hosts');
    expect(inv).toMatch(/db:\n\s+children:\n\s+db_primary:/);
    const { statSync } = await import('node:fs');
    expect(statSync(path.join(lab, 'id_ed25519')).mode & 0o777).toBe(0o600);
    const lab1 = JSON.parse(readFileSync('/run/kiln-lab/lab.json', 'utf8')) as { labDir: string };
    expect(lab1.labDir).toBe(lab);
    for (const h of HOSTS) pids.push((JSON.parse(readFileSync(`/run/kiln-lab/hosts/${h.name}/host.json`, 'utf8')) as { pid: number }).pid);
  }, 600000);

  it('ssh with the written files (strict host key checking) as deploy with passwordless sudo, and as root', async () => {
    for (const h of HOSTS) {
      const r = await ssh(h.name, 'hostname; systemctl is-system-running; sudo -n id -u; ip -4 -br addr show eth0');
      expect(r.code, r.stderr).toBe(0);
      const [name, state, uid, addr] = r.stdout.trim().split('\n');
      expect(name).toBe(h.name);
      expect(['running', 'degraded']).toContain(state);
      expect(uid).toBe('0');
      expect(addr).toContain(`${h.address}/24`);
      const root = await ssh(h.name, 'id -un', ['-l', 'root']);
      expect(root.stdout.trim()).toBe('root');
    }
    const viaCli = await kiln(['lab', 'ssh', 'e2e2', 'cat', '/etc/hostname'], cwd, 60000);
    expect(viaCli.stdout.trim()).toBe('e2e2');
  }, 120000);

  it('status lists the hosts as running', async () => {
    const s = await labStatus(cwd);
    expect(s.labDir).toBe(lab);
    expect(s.hosts.map((h) => [h.host, h.address])).toEqual(HOSTS.map((h) => [h.name, h.address]));
    for (const h of s.hosts) expect(['running', 'degraded']).toContain(h.state);
  }, 60000);

  it('installs a package from the offline mirror', async () => {
    const r = await ssh('e2e1', 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y jq >/dev/null && jq -n 1+1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('2');
  }, 180000);

  it("installs a package the topology's mirror_packages added to the offline mirror", async () => {
    const r = await ssh('e2e2', 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y hello >/dev/null && hello');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('Hello, world!');
    const state = JSON.parse(readFileSync('/run/kiln-lab/lab.json', 'utf8')) as { mirror: { repo: string } };
    expect(
      readFileSync(path.join(path.dirname(state.mirror.repo), 'packages.txt'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
    ).toBe('hello');
  }, 180000);

  it("a host's nftables rule blocks one peer from a port while others still connect", async () => {
    const setup = await ssh(
      'e2e3',
      [
        'set -e',
        'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y nftables >/dev/null',
        'sudo systemd-run --unit=kiln-probe --quiet python3 -m http.server 8080',
        'for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done',
      ].join('\n'),
    );
    expect(setup.code, setup.stderr).toBe(0);
    expect(await canConnect('e2e1', '10.77.0.63', 8080)).toBe(true);
    expect(await canConnect('e2e2', '10.77.0.63', 8080)).toBe(true);
    const rule = await ssh(
      'e2e3',
      "sudo nft add table inet kiln_test && sudo nft add chain inet kiln_test input '{ type filter hook input priority 0; policy accept; }' && sudo nft add rule inet kiln_test input ip saddr 10.77.0.61 tcp dport 8080 drop",
    );
    expect(rule.code, rule.stderr).toBe(0);
    expect(await canConnect('e2e1', '10.77.0.63', 8080)).toBe(false); // blocked peer
    expect(await canConnect('e2e2', '10.77.0.63', 8080)).toBe(true); // other peer
    expect(await canConnect('e2e1', '10.77.0.63', 22)).toBe(true); // other port
    // the machine's own ruleset is untouched
    const machine = await sh('nft', ['list', 'tables']);
    expect(machine.stdout).not.toContain('kiln_test');
  }, 180000);

  it('up again restarts a stopped host and keeps its disk', async () => {
    await ssh('e2e1', 'sudo systemctl poweroff');
    for (let i = 0; i < 100; i++) {
      const s = await labStatus(cwd);
      if (s.hosts.find((h) => h.host === 'e2e1')?.state === 'stopped') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await labStatus(cwd)).hosts.find((h) => h.host === 'e2e1')?.state).toBe('stopped');
    const r = await kiln(['lab', 'up', '--topology', 'topology.yml'], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('started e2e1');
    expect(r.stdout).toContain('already running e2e2, e2e3');
    const jq = await ssh('e2e1', 'jq --version');
    expect(jq.code, jq.stderr).toBe(0);
  }, 180000);

  it('reset gives a host a fresh disk and a new host key', async () => {
    const before = await readFile(path.join(lab, 'known_hosts'), 'utf8');
    const r = await kiln(['lab', 'reset', 'e2e1'], cwd);
    expect(r.code, r.stderr).toBe(0);
    const after = await readFile(path.join(lab, 'known_hosts'), 'utf8');
    expect(after.split('\n')[0]).not.toBe(before.split('\n')[0]);
    expect(after.split('\n')[1]).toBe(before.split('\n')[1]);
    const jq = await ssh('e2e1', 'command -v jq || echo none');
    expect(jq.code, jq.stderr).toBe(0);
    expect(jq.stdout.trim()).toBe('none');
  }, 180000);

  it('down leaves no namespace, bridge, veth, mount, cgroup or process behind', async () => {
    const r = await kiln(['lab', 'down'], cwd, 120000);
    expect(r.code, r.stderr).toBe(0);
    const ns = await sh('ip', ['netns', 'list']);
    expect(ns.stdout).not.toMatch(/kiln-/);
    const links = await sh('ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/kiln-br0|kvh\d+/);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(cwd);
    expect(existsSync('/run/kiln-lab')).toBe(false);
    expect(existsSync(lab)).toBe(false);
    const ps = await sh('ps', ['-eo', 'args']);
    expect(ps.stdout).not.toContain('/run/kiln-lab/');
    // the recorded unshare processes are gone (zombies are reaped by the machine's PID 1)
    for (let i = 0; i < 50 && pids.some((p) => existsSync(`/proc/${p}`)); i++) await new Promise((res) => setTimeout(res, 200));
    for (const p of pids) {
      const stat = existsSync(`/proc/${p}/stat`) ? readFileSync(`/proc/${p}/stat`, 'utf8') : '';
      expect(stat.includes('(unshare)') && !/\) Z /.test(stat), `pid ${p}: ${stat}`).toBe(false);
    }
    const cg = await sh('find', ['/sys/fs/cgroup', '-maxdepth', '4', '-type', 'd', '-name', 'kiln-lab']);
    expect(cg.stdout.trim()).toBe('');
  }, 180000);
});
