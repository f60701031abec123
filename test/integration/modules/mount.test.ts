/**
 * mount against the loopback OpenSSH server: only `state: present` on an fstab under the test's own
 * temp directory (the loopback rule: nothing is mounted here; mounting is tested on a lab host in
 * test/e2e/mod-boot.test.ts), through the converge cycle.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('mount over ssh: the converge cycle (fstab only)', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-mount-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the entries as Ansible does, then finds and fixes a hand edit', async () => {
    const fstab = join(dir, 'fstab');
    writeFileSync(fstab, '# fstab\nUUID=abc / ext4 errors=remount-ro 0 1\n');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - ansible.posix.mount: {path: /srv/cache, src: tmpfs, fstype: tmpfs, opts: "size=64m,mode=0755", state: present, fstab: ${fstab}}
    - mount: {name: /srv/data, src: /data, fstype: none, opts: bind, state: present, fstab: ${fstab}, boot: false}
`,
    );
    const want =
      '# fstab\nUUID=abc / ext4 errors=remount-ro 0 1\ntmpfs /srv/cache tmpfs size=64m,mode=0755 0 0\n/data /srv/data none bind,noauto 0 0\n';
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(readFileSync(fstab, 'utf8')).toBe(want),
      tamper: () => writeFileSync(fstab, want.replace('size=64m', 'size=32m')),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.diff).toContain('-tmpfs /srv/cache tmpfs size=32m,mode=0755 0 0');
    expect(drift.diff).toContain('+tmpfs /srv/cache tmpfs size=64m,mode=0755 0 0');
  });
});
