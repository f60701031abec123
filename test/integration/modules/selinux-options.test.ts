/**
 * SELinux file contexts (`setype`, `seuser`, …) against the loopback OpenSSH server. Ansible
 * applies them only where SELinux is enabled; on a host without it (this machine, as every Debian
 * host unless set up by hand) they are a no-op and the task converges on its other attributes.
 * Ansible's own run of the same file task on this machine changes the directory and reports no
 * secontext. The enabled-host branch (the task fails, saying so) is unit-tested in
 * test/unit/modules/files/selinux.test.ts: no host here can mount selinuxfs.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { loopbackSuite } from '../../helpers/loopback-suite.ts';

describe.skipIf(existsSync('/sys/fs/selinux/enforce'))('SELinux options on a host without SELinux: a no-op, as in Ansible', () => {
  const suite = loopbackSuite('mod-selinux');

  it('file and copy with setype/seuser converge, change nothing again, and find a drift', async () => {
    const { dir } = suite;
    const data = join(dir, 'datadir');
    const conf = join(dir, 'my.cnf');
    const inventory = suite.inventory();
    const playbook = suite.playbook([
      '- ansible.builtin.file:',
      `    path: ${data}`,
      '    state: directory',
      '    mode: "0750"',
      '    setype: mysqld_db_t',
      '- copy:',
      `    dest: ${conf}`,
      '    content: "[mysqld]\\n"',
      '    seuser: system_u',
      '    serole: object_r',
      '    selevel: s0',
    ]);
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => {
        expect((statSync(data).mode & 0o7777).toString(8)).toBe('750');
        expect(readFileSync(conf, 'utf8')).toBe('[mysqld]\n');
      },
      tamper: () => {
        chmodSync(data, 0o755);
        writeFileSync(conf, '[client]\n');
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').map((t) => t.task)).toHaveLength(2);
  });
});
