/**
 * file's seuser/serole/setype/selevel (geerlingguy.mysql's datadir task sets setype): Ansible's
 * file module ignores them where SELinux is disabled (selinuxfs not mounted: Debian's default;
 * checked with ansible 2.14 on this machine: `file: path=… state=directory setype=mysqld_db_t`
 * changes only the directory). Kiln accepts them there and fails the task where SELinux is
 * enabled, as it does not manage contexts. The question rides in the probe only when a context is given.
 */
import { describe, expect, it } from 'vitest';
import { type FileParams, fileParse, filePlan, fileProbe } from '../../../../src/modules/files/file.ts';
import { shSyntax } from '../helpers.ts';

const dirStat = 'exists=1\ntype=directory\nmode=0755\nowner=mysql\ngroup=mysql\nuid=107\ngid=114\n';

describe('file with an SELinux context', () => {
  const p: FileParams = { path: '/var/lib/mysql', state: 'directory', owner: 'mysql', group: 'mysql', mode: '0755', setype: 'mysqld_db_t' };
  it('SELinux disabled: the context is ignored, the plan is that of the same task without it', () => {
    const { setype: _t, ...plain } = p;
    const s = fileParse({ stdout: dirStat });
    expect(s.selinux).toBeUndefined();
    expect(filePlan(p, s)).toEqual(filePlan(plain, s));
  });
  it('SELinux enabled: the task fails, naming why', () => {
    const s = fileParse({ stdout: `${dirStat}selinux=1\n` });
    expect(() => filePlan(p, s)).toThrow(/SELinux is enabled on this host and Kiln does not manage SELinux contexts/);
  });
  it('the probe asks only when a context is given', () => {
    expect(fileProbe(p)).toContain("grep -qs ' selinuxfs ' /proc/mounts && echo selinux=1");
    expect(fileProbe({ path: '/x', state: 'directory' })).not.toContain('selinuxfs');
    expect(shSyntax(fileProbe(p))).toBe('');
  });
});
