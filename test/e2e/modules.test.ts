/**
 * The system modules (package, service, user, group, sysctl, lineinfile, command, copy with
 * validate) and sudo with a password, on real lab hosts: check → apply → re-apply.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, kiln, labSkipReason, REPO_ROOT } from './lab-setup.ts';
import { changedLines as changed, comparePrediction, type Report } from './reports.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab e2e modules suite: ${skip}`);

const PB = join(REPO_ROOT, 'test/fixtures/e2e-modules');
const OPS_PW = 'ops-sudo-pw-4c1f9e';

describe.skipIf(skip)('system modules on lab hosts', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let extra: string;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'StrictHostKeyChecking=yes', host, cmd], { encoding: 'utf8' });

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-mod-'));
    const hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'kilnsalt', OPS_PW], { encoding: 'utf8' }).trim();
    const pub = readFileSync(join(lab.dir, 'id_ed25519.pub'), 'utf8').trim();
    extra = join(work, 'extra.yml');
    writeFileSync(extra, `ops_password_hash: '${hash}'\nops_pubkey: '${pub}'\n`);
    // Start from hosts without these changes (idempotent clean-up of a previous run).
    for (const h of ['web1', 'web2']) ssh(h, 'sudo rm -f /var/tmp/kiln-marker /var/tmp/kiln-marker-size /root/kiln-become-proof');
  });

  it('--check predicts exactly what the real run changes; a re-run changes nothing', async () => {
    const run = async (name: string, args: string[] = []) => {
      const json = join(work, `${name}.json`);
      const r = await kiln(['apply', join(PB, 'modules.yml'), '-i', lab.inventory, '-e', `@${extra}`, '--json', json, ...args], REPO_ROOT);
      return { r, rep: JSON.parse(readFileSync(json, 'utf8')) as Report };
    };
    const check = await run('check', ['--check', '--diff']);
    expect(check.r.code, check.r.stdout + check.r.stderr).toBe(0);
    const real = await run('real', ['--diff']);
    expect(real.r.code, real.r.stdout + real.r.stderr).toBe(0);
    comparePrediction(check.rep, real.rep);
    expect(changed(real.rep).length).toBeGreaterThan(0);
    const again = await run('again', ['--stats']);
    expect(again.r.code).toBe(0);
    for (const h of ['web1', 'web2']) {
      expect(again.rep.hosts[h]!.changed).toBe(0);
      // One batched probe, plus the apply-free command whose output is registered (check_mode: false).
      expect(again.rep.hosts[h]!.round_trips).toBeLessThanOrEqual(3);
    }
    // Seen from the host:
    expect(ssh('web1', 'systemctl is-active nginx').trim()).toBe('active');
    expect(ssh('web1', 'systemctl is-enabled nginx').trim()).toBe('enabled');
    expect(ssh('web1', 'cat /proc/sys/net/core/somaxconn').trim()).toBe('1024');
    expect(ssh('web1', 'id ops')).toContain('uid=2500(ops)');
    expect(ssh('web2', 'sudo grep -c "server_tokens off" /etc/nginx/nginx.conf').trim()).toBe('1');
    expect(ssh('web2', 'cat /var/tmp/kiln-marker-size').trim()).toBe('host web2');
    expect(ssh('web1', 'command -v tree').trim()).toBe('/usr/bin/tree');
  });

  it('a hand-made drift in a system file is found by --check --diff and fixed', async () => {
    ssh('web1', "sudo sed -i 's/server_tokens off;/server_tokens on;/' /etc/nginx/nginx.conf");
    const json = join(work, 'drift.json');
    const r = await kiln(
      ['apply', join(PB, 'modules.yml'), '-i', lab.inventory, '-e', `@${extra}`, '--check', '--diff', '-l', 'web1', '--json', json],
      REPO_ROOT,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-\tserver_tokens on;');
    const rep = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(changed(rep)).toEqual(
      ['web1 handler reload nginx: reload nginx', 'web1 nginx server_tokens off: /etc/nginx/nginx.conf: line replaced'].sort(),
    );
    const fix = await kiln(['apply', join(PB, 'modules.yml'), '-i', lab.inventory, '-e', `@${extra}`, '-l', 'web1'], REPO_ROOT);
    expect(fix.code, fix.stdout).toBe(0);
    expect(ssh('web1', 'sudo grep -c "server_tokens off" /etc/nginx/nginx.conf').trim()).toBe('1');
  });

  it('becomes root through sudo with a password on stdin, never printed', async () => {
    const inv = join(work, 'ops-inventory.yml');
    const labInv = readFileSync(lab.inventory, 'utf8');
    const web1 = /web1:\s*\{\s*address:\s*([\d.]+)/.exec(labInv)?.[1] ?? '10.77.0.21';
    writeFileSync(
      inv,
      `all:
  vars:
    user: ops
    identity_file: ${join(lab.dir, 'id_ed25519')}
    known_hosts: ${join(lab.dir, 'known_hosts')}
    become_password: ${OPS_PW}
  hosts:
    web1: { address: ${web1} }
`,
    );
    const json = join(work, 'become.json');
    const r = await kiln(['apply', join(PB, 'become.yml'), '-i', inv, '--diff', '-v', '--json', json], REPO_ROOT);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(ssh('web1', 'sudo cat /root/kiln-become-proof').trim()).toBe('written as web1');
    for (const text of [r.stdout, r.stderr, readFileSync(json, 'utf8')]) expect(text).not.toContain(OPS_PW);
    // A wrong password fails the host cleanly (and is not echoed either).
    writeFileSync(inv, readFileSync(inv, 'utf8').replace(OPS_PW, 'wrong-pw-123'));
    const bad = await kiln(['apply', join(PB, 'become.yml'), '-i', inv], REPO_ROOT);
    expect(bad.code).toBe(4);
    expect(bad.stdout + bad.stderr).not.toContain('wrong-pw-123');
  });
});
