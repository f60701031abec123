/**
 * authorized_key against the loopback OpenSSH server (which logs in as root): a keys file under
 * the test's own temp directory (`path`), through the converge cycle.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

const A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

describe('authorized_key over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-authorized-key-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds the keys (dir 0700, file 0600), then finds a removed key and a changed option', async () => {
    const target = join(dir, 'ssh', 'authorized_keys');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - ansible.posix.authorized_key:
        user: root
        path: ${target}
        key: "${A} alice@laptop\\n${B} bob@desk"
        key_options: no-port-forwarding
`,
    );
    const want = `no-port-forwarding ${A} alice@laptop\nno-port-forwarding ${B} bob@desk\n`;
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => {
        expect(readFileSync(target, 'utf8')).toBe(want);
        expect(statSync(target).mode & 0o777).toBe(0o600);
        expect(statSync(join(dir, 'ssh')).mode & 0o777).toBe(0o700);
      },
      tamper: () => writeFileSync(target, `no-port-forwarding ${A} alice@laptop\n`),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.diff).toContain(`+no-port-forwarding ${B} bob@desk`);
  });
});
