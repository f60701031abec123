/**
 * Public Ansible roles of the compatibility corpus (test/fixtures/role-corpus/, kept unmodified),
 * applied by Kiln to lab hosts exactly as their READMEs apply them: `--check --diff` first, whose
 * prediction the real run must match; then a second run that changes nothing; then the running
 * state seen from the host (services active, ports listening, firewall rules loaded). Each role
 * gets its own fresh host added to the running lab (`kiln lab add`, 10.77.0.211–.214 only), so the
 * shared site is never touched; the hosts are removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';
import { comparePrediction, readReport, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e corpus suite: ${skip}`);

const CORPUS = join(REPO_ROOT, 'test/fixtures/role-corpus');
/** Role playbook → the added host it runs on and the inventory group its README targets. */
const HOSTS = [
  { name: 'corpus1', address: '10.77.0.211', playbook: 'firewall.yml', group: 'server' },
  { name: 'corpus2', address: '10.77.0.212', playbook: 'haproxy.yml', group: 'balancer' },
  { name: 'corpus3', address: '10.77.0.213', playbook: 'memcached.yml', group: 'cache' },
  { name: 'corpus4', address: '10.77.0.214', playbook: 'redis.yml', group: 'redis' },
] as const;
const NAMES = HOSTS.map((h) => h.name);

describe.skipIf(skip)('corpus roles applied unmodified to lab hosts', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inventory: string;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', host, cmd], { encoding: 'utf8' });

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-corpus-'));
    await kiln(['lab', 'remove', ...NAMES], SHARED_LAB_CWD); // leftovers of an interrupted run
    const added = join(work, 'added.yml');
    for (const h of HOSTS) {
      const r = await kiln(['lab', 'add', h.name, '--address', h.address, '--inventory', added], SHARED_LAB_CWD);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    }
    // The hosts, in the groups the roles' README playbooks target (as in the corpus's hosts.yml).
    const vars = (parse(readFileSync(added, 'utf8')) as { all: { vars: Record<string, unknown> } }).all.vars;
    const children = Object.fromEntries(HOSTS.map((h) => [h.group, { hosts: { [h.name]: { address: h.address } } }]));
    inventory = join(work, 'inventory.yml');
    writeFileSync(inventory, stringify({ all: { vars, children } }));
  }, 600000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', ...NAMES], SHARED_LAB_CWD);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const apply = async (h: (typeof HOSTS)[number], tag: string, args: string[] = []) => {
    const json = join(work, `${h.name}-${tag}.json`);
    const r = await kiln(['apply', join(CORPUS, h.playbook), '-i', inventory, '--limit', h.name, '--json', json, ...args], CORPUS);
    return { r, rep: readReport(json) };
  };

  /** "host task" of every changed task, sorted. */
  const changedTasks = (r: Report) =>
    r.tasks
      .filter((t) => t.status === 'changed')
      .map((t) => `${t.host} ${t.handler ? 'handler ' : ''}${t.task}`)
      .sort();

  /**
   * --check --diff, the real run, then a second run with 0 changed. On a fresh host the dry run
   * predicts which tasks change; the wording may differ where a package the run installs creates
   * a file a later task then edits ("create file" predicted, "update content" done): the tasks
   * match (a task flagged unpredictable may turn out ok), and every task the real run changed must
   * have been predicted.
   */
  const converge = async (h: (typeof HOSTS)[number], args: string[] = []): Promise<{ check: Report; real: Report; again: Report }> => {
    const check = await apply(h, 'check', ['--check', '--diff', ...args]);
    expect(check.r.code, check.r.stdout.slice(-4000) + check.r.stderr).toBe(0);
    const real = await apply(h, 'real', ['--diff', ...args]);
    expect(real.r.code, real.r.stdout.slice(-4000) + real.r.stderr).toBe(0);
    const predicted = changedTasks(check.rep);
    const done = changedTasks(real.rep);
    // A task the dry run flagged as unpredictable (a service whose unit the package install of the
    // same run brings, and Debian's package scripts start and enable) may turn out ok.
    const unsure = new Set(check.rep.tasks.filter((t) => t.unpredictable).map((t) => `${t.host} ${t.handler ? 'handler ' : ''}${t.task}`));
    expect(
      done.filter((t) => !predicted.includes(t)),
      'nothing changed that the dry run did not predict',
    ).toEqual([]);
    expect(
      predicted.filter((t) => !done.includes(t) && !unsure.has(t)),
      'every predicted change happened',
    ).toEqual([]);
    expect(real.rep.hosts[h.name]!.changed).toBeGreaterThan(0);
    const again = await apply(h, 'again', args);
    expect(again.r.code, again.r.stdout.slice(-4000)).toBe(0);
    expect(changedTasks(again.rep), 'a second run changes nothing').toEqual([]);
    return { check: check.rep, real: real.rep, again: again.rep };
  };

  it('geerlingguy.firewall: iptables rules from its script are loaded, ports 22/25/80 open, the rest dropped', async () => {
    await converge(HOSTS[0]);
    expect(ssh('corpus1', 'systemctl is-active firewall').trim()).toBe('active');
    expect(ssh('corpus1', 'systemctl is-enabled firewall').trim()).toBe('enabled');
    const rules = ssh('corpus1', 'sudo iptables -S INPUT');
    for (const port of ['22', '25', '80']) expect(rules).toMatch(new RegExp(`--dport ${port} -j ACCEPT`));
    expect(rules).toMatch(/-A INPUT -j DROP|-P INPUT DROP/);
  });

  it("geerlingguy.haproxy: a fresh host's dry run stops where Ansible's does; a change of its variables is predicted exactly", async () => {
    const h = HOSTS[1];
    // The role runs `haproxy -v` for real in check mode (check_mode: false) to read the version:
    // on a host without haproxy, Ansible's dry run fails there too, after predicting the install.
    const fresh = await apply(h, 'fresh-check', ['--check']);
    expect(fresh.r.code).toBe(4);
    expect(fresh.rep.tasks.find((t) => t.status === 'failed')?.task).toBe('Get HAProxy version.');
    expect(changedTasks(fresh.rep)).toContain('corpus2 Ensure HAProxy is installed.');

    const real = await apply(h, 'real', ['--diff']);
    expect(real.r.code, real.r.stdout.slice(-4000) + real.r.stderr).toBe(0);
    const again = await apply(h, 'again');
    expect(changedTasks(again.rep), 'a second run changes nothing').toEqual([]);
    expect(ssh('corpus2', 'systemctl is-active haproxy').trim()).toBe('active');
    expect(ssh('corpus2', 'sudo ss -ltnH')).toMatch(/:80\s/);

    // On the converged host, a new frontend port: the dry run predicts the exact change (and the
    // restart it notifies), the real run makes it, the next run changes nothing.
    const vars = join(work, 'haproxy-port.yml');
    writeFileSync(vars, 'haproxy_frontend_port: 8080\n');
    const check = await apply(h, 'port-check', ['--check', '--diff', '-e', `@${vars}`]);
    expect(check.r.code, check.r.stdout.slice(-4000)).toBe(0);
    const change = await apply(h, 'port', ['--diff', '-e', `@${vars}`]);
    expect(change.r.code, change.r.stdout.slice(-4000)).toBe(0);
    comparePrediction(check.rep, change.rep);
    expect(changedTasks(change.rep)).toEqual(['corpus2 Copy HAProxy configuration in place.', 'corpus2 handler restart haproxy']);
    const settled = await apply(h, 'port-again', ['-e', `@${vars}`]);
    expect(changedTasks(settled.rep)).toEqual([]);
    expect(ssh('corpus2', 'sudo ss -ltnH')).toMatch(/:8080\s/);
  });

  it('geerlingguy.memcached: memcached listens with the role configuration', async () => {
    await converge(HOSTS[2]);
    expect(ssh('corpus3', 'systemctl is-active memcached').trim()).toBe('active');
    expect(ssh('corpus3', 'cat /etc/memcached.conf')).toMatch(/^-p 11211$/m);
    expect(ssh('corpus3', 'sudo ss -ltnH')).toMatch(/:11211\s/);
  });

  it('geerlingguy.redis: redis-server runs and answers PING', async () => {
    await converge(HOSTS[3]);
    expect(ssh('corpus4', 'systemctl is-active redis-server').trim()).toBe('active');
    expect(ssh('corpus4', 'redis-cli -h 127.0.0.1 -p 6379 ping').trim()).toBe('PONG');
  });
});
