/**
 * cron against the loopback OpenSSH server: a cron_file under the test's own temp directory (the
 * loopback rule: no real crontab is touched here; user crontabs are tested on a lab host in
 * test/e2e/mod-boot.test.ts), through the converge cycle.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('cron over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-cron-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the jobs and variable as Ansible does, then finds and fixes a hand edit', async () => {
    const target = join(dir, 'kiln-jobs');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - cron: {name: backup, cron_file: ${target}, user: root, minute: "0", hour: "3", job: /usr/local/bin/backup.sh}
    - ansible.builtin.cron: {name: rotate, cron_file: ${target}, user: www-data, special_time: daily, value: logrotate /etc/x.conf}
    - cron: {name: MAILTO, env: true, cron_file: ${target}, user: root, job: ops@example.com}
`,
    );
    const want =
      'MAILTO="ops@example.com"\n#Ansible: backup\n0 3 * * * root /usr/local/bin/backup.sh\n#Ansible: rotate\n@daily www-data logrotate /etc/x.conf\n';
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(readFileSync(target, 'utf8')).toBe(want),
      tamper: () => writeFileSync(target, want.replace('0 3 * * *', '0 4 * * *')),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.diff).toContain('-0 4 * * * root /usr/local/bin/backup.sh');
    expect(drift.diff).toContain('+0 3 * * * root /usr/local/bin/backup.sh');
  });
});
