/**
 * Issue 17 (F) on a lab host of its own (x17f1, 10.77.0.205, added with `kiln lab add` from this
 * checkout, so it runs this checkout's lab code): cron (a file of /etc/cron.d: the running lab's
 * mirror has no cron package, so user crontabs are covered by the unit tests' Ansible oracle),
 * authorized_key (a real user's ~/.ssh), mount (tmpfs and a bind mount in /etc/fstab, mounted)
 * through the converge cycle; then reboot: the host reboots like a machine (the lab boots it again
 * with the same disk and a new boot id), Kiln waits for it on new connections with the same
 * strict host key checking, and what was converged before is still converged after the boot.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED mod-boot suite: ${skip}`);

const HOST = 'x17f1';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE17fE17fE17fE17fE17fE17fE17fE17fE17fE17fE17f';

describe.skipIf(skip)('cron, authorized_key, mount and reboot on a lab host', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), HOST, `sudo sh -c '${cmd.replace(/'/g, "'\\''")}'`], { encoding: 'utf8' });

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-x17f-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', HOST], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', HOST, '--address', '10.77.0.205', '--inventory', inv], SHARED_LAB_CWD);
    expect(r.code, r.stderr).toBe(0); // stderr may say it waited for another helper's kiln lab command
    expect(r.stdout).toContain('added x17f1 (10.77.0.205)');
    const pb = join(work, 'prep.yml');
    writeFileSync(
      pb,
      `- hosts: all
  gather_facts: false
  tasks:
    - user: {name: k17, shell: /bin/sh}
    - file: {path: /srv/k17src, state: directory}
`,
    );
    const prep = await runPlaybook(pb, inv);
    expect(prep.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
  }, 600000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', HOST], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('converges a crontab, a key and two mounts, and finds and fixes their drift', async () => {
    const pb = join(work, 'site.yml');
    writeFileSync(
      pb,
      `- hosts: all
  gather_facts: false
  tasks:
    - cron: {name: sync, user: k17, cron_file: k17, minute: "*/5", job: /bin/true}
    - cron: {name: MAILTO, env: true, user: k17, cron_file: k17, job: ops@example.com}
    - ansible.posix.authorized_key: {user: k17, key: "${KEY} k17@lab", key_options: no-pty}
    - ansible.posix.mount: {path: /srv/k17tmp, src: tmpfs, fstype: tmpfs, opts: "size=8m,mode=0755", state: mounted}
    - ansible.posix.mount: {path: /srv/k17bind, src: /srv/k17src, fstype: none, opts: bind, state: mounted}
`,
    );
    const verify = () => {
      expect(ssh('cat /etc/cron.d/k17')).toBe('MAILTO="ops@example.com"\n#Ansible: sync\n*/5 * * * * k17 /bin/true\n');
      expect(ssh('cat /home/k17/.ssh/authorized_keys')).toBe(`no-pty ${KEY} k17@lab\n`);
      expect(ssh('stat -c "%a %U" /home/k17/.ssh /home/k17/.ssh/authorized_keys')).toBe('700 k17\n600 k17\n');
      expect(ssh('findmnt -rn -o FSTYPE,OPTIONS /srv/k17tmp')).toMatch(/^tmpfs .*size=8192k,mode=755/);
      expect(ssh('findmnt -rn -o TARGET /srv/k17bind').trim()).toBe('/srv/k17bind');
      expect(ssh('grep k17 /etc/fstab')).toBe('tmpfs /srv/k17tmp tmpfs size=8m,mode=0755 0 0\n/srv/k17src /srv/k17bind none bind 0 0\n');
    };
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify,
      tamper: () => {
        ssh('sed -i "s|\\*/5|*/7|" /etc/cron.d/k17');
        ssh(': > /home/k17/.ssh/authorized_keys');
        ssh('umount /srv/k17tmp');
      },
    });
    const drift = r.check.tasks.filter((t) => t.status === 'changed');
    expect(drift.map((t) => t.task)).toHaveLength(3);
    expect(drift.find((t) => t.diff?.includes('-*/7 * * * * k17 /bin/true'))?.diff).toContain('+*/5 * * * * k17 /bin/true');
    expect(drift.some((t) => t.changes.some((c) => c.summary.startsWith('mount tmpfs on /srv/k17tmp')))).toBe(true);
  }, 600000);

  it('reboots: a new boot id, the same host key, and the host converged after the boot', async () => {
    const before = ssh('cat /proc/sys/kernel/random/boot_id').trim();
    const pidBefore = JSON.parse((await kiln(['lab', 'status', '--json'], SHARED_LAB_CWD)).stdout).hosts.find(
      (h: { host: string }) => h.host === HOST,
    ).pid;
    const pb = join(work, 'reboot.yml');
    writeFileSync(
      pb,
      `- hosts: all
  gather_facts: false
  tasks:
    - reboot: {reboot_timeout: 180, connect_timeout: 10, msg: kiln e2e}
      register: r
    - copy: {content: "{{ r.rebooted }}", dest: /root/rebooted}
`,
    );
    const check = await kiln(['apply', pb, '-i', inv, '--check'], SHARED_LAB_CWD);
    expect(check.code).toBe(0);
    expect(ssh('cat /proc/sys/kernel/random/boot_id').trim()).toBe(before);

    const run = await kiln(['apply', pb, '-i', inv], SHARED_LAB_CWD);
    expect(run.code, run.stderr).toBe(0);
    const after = ssh('cat /proc/sys/kernel/random/boot_id').trim();
    expect(after).toMatch(/^[0-9a-f-]{36}$/);
    expect(after).not.toBe(before);
    expect(ssh('cat /root/rebooted')).toBe('True');
    expect(ssh('systemctl is-system-running --wait || true').trim()).toMatch(/^(running|degraded)$/);
    const st = JSON.parse((await kiln(['lab', 'status', '--json'], SHARED_LAB_CWD)).stdout).hosts.find(
      (h: { host: string }) => h.host === HOST,
    );
    expect(st.state).toMatch(/^(running|degraded)$/);
    expect(st.pid).toBe(pidBefore); // the lab's boot loop is the same process: the host booted again

    // The disk was kept: the crontab, the key and the fstab entries; systemd mounted the fstab.
    const again = await runPlaybook(join(work, 'site.yml'), inv);
    expect(again.tasks.filter((t) => t.status !== 'ok').map((t) => `${t.task}: ${t.status} ${t.message ?? ''}`)).toEqual([]);
  }, 600000);
});
