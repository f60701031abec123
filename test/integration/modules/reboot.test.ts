/**
 * reboot's engine side against the loopback OpenSSH server: the loopback rule forbids rebooting
 * this machine, so the "reboot" here is a command that changes a boot id file in the test's temp
 * dir a moment later (boot_time_command reads it). What is real: the apply's round trip, the
 * cached connection dropped, NEW SSH connections (same known_hosts and key) polled until the boot
 * id changed and test_command passed, the next task on a new connection, and the timeout when the
 * host never comes back. The real reboot of a lab host is in test/e2e/mod-boot.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportFactory } from '../../../src/transport/transport.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('reboot over ssh: the engine waits for the host and reconnects', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-reboot-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function counting() {
    const n = { open: 0, fresh: 0 };
    const wrap = (inner: TransportFactory): TransportFactory => ({
      open: (h) => {
        n.open++;
        return inner.open(h);
      },
      openFresh: (h) => {
        n.fresh++;
        return inner.openFresh(h);
      },
    });
    return { n, wrap };
  }

  it('a new boot id and a passing test_command: rebooted, then the next task runs on a new connection', async () => {
    writeFileSync(join(dir, 'boot_id'), 'boot-1\n');
    writeFileSync(join(dir, 'fake-reboot.sh'), `( sleep 2; echo boot-2 > ${dir}/boot_id ) </dev/null >/dev/null 2>&1 &\n`);
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - reboot:
        boot_time_command: cat ${dir}/boot_id
        reboot_command: sh ${dir}/fake-reboot.sh
        reboot_timeout: 60
        connect_timeout: 10
        test_command: test -f ${dir}/boot_id
      register: r
    - copy: {content: "{{ r.rebooted }} {{ r.elapsed }}", dest: ${dir}/after}
`,
    );
    const check = await runPlaybook(playbook, inventory, { check: true });
    expect(check.tasks[0].status).toBe('changed');
    expect(readFileSync(join(dir, 'boot_id'), 'utf8')).toBe('boot-1\n');

    const { n, wrap } = counting();
    const report = await runPlaybook(playbook, inventory, { wrapTransport: wrap });
    expect(report.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
    expect(readFileSync(join(dir, 'boot_id'), 'utf8')).toBe('boot-2\n');
    const [rebooted, elapsed] = readFileSync(join(dir, 'after'), 'utf8').split(' ');
    expect(rebooted).toBe('True');
    expect(Number(elapsed)).toBeGreaterThanOrEqual(2);
    // The cached connection was dropped: the copy task opened a new one; the wait used new ones.
    expect(n.open).toBe(2);
    expect(n.fresh).toBeGreaterThanOrEqual(1);
  });

  it('a host that never comes back (same boot id) fails the task after reboot_timeout', async () => {
    writeFileSync(join(dir, 'boot_id'), 'stuck\n');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb2.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - reboot: {boot_time_command: cat ${dir}/boot_id, reboot_command: /bin/true, reboot_timeout: 3}
`,
    );
    const report = await runPlaybook(playbook, inventory);
    expect(report.tasks[0].status).toBe('failed');
    expect(report.tasks[0].message).toContain('did not come back within 3 s: the boot id has not changed yet');
  });
});
