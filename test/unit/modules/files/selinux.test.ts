/**
 * The SELinux options' guard (src/modules/files/selinux.ts): taken out of the parameters, probed
 * with the module's own probe, a no-op where selinuxfs is not mounted, a failed task where it is.
 */
import { describe, expect, it } from 'vitest';
import { guardSelinux, SELINUX_PROBE, splitSelinux, takeSelinux } from '../../../../src/modules/files/selinux.ts';
import file from '../../../../src/modules/files/file.ts';
import type { ModuleContext } from '../../../../src/modules/contract.ts';
import { ansibleArgsSpec } from '../../../../src/modules/ansible/mapping.ts';

const ctx: ModuleContext = { run: {} as ModuleContext['run'], host: 'h1', check: false, diff: true, become: false, taskFile: 'pb.yml' };

describe('SELinux options', () => {
  it('are renamed by the loader for every module with file attributes, aliases included', () => {
    for (const fqcn of ['ansible.builtin.file', 'ansible.builtin.copy', 'ansible.builtin.template', 'ansible.builtin.lineinfile']) {
      const spec = ansibleArgsSpec(fqcn)!;
      expect(spec.rename.setype).toBe('selinux:setype');
      expect(spec.rename.seuser).toBe('selinux:seuser');
      expect(spec.refused.setype).toBeUndefined();
    }
  });

  it('takeSelinux removes them; null is not given', () => {
    const p: Record<string, unknown> = { path: '/x', 'selinux:setype': 'mysqld_db_t', 'selinux:seuser': null };
    expect(takeSelinux(p)).toEqual({ setype: 'mysqld_db_t' });
    expect(p).toEqual({ path: '/x' });
  });

  it('splitSelinux removes the marker line only', () => {
    expect(splitSelinux({ stdout: 'a=1\nb=2\n', stderr: '', code: 0 })).toEqual({
      enabled: false,
      out: { stdout: 'a=1\nb=2\n', stderr: '', code: 0 },
    });
    expect(splitSelinux({ stdout: '__kiln_selinux_enabled=1\na=1\n', stderr: '', code: 0 })).toEqual({
      enabled: true,
      out: { stdout: 'a=1\n', stderr: '', code: 0 },
    });
  });

  it('wraps the probe; without SELinux the plan is the module’s own, with it the task fails', () => {
    const bound = file.bind({ path: '/srv/data', state: 'directory' }, {} as never);
    const guarded = guardSelinux(bound, { setype: 'mysqld_db_t' });
    expect(guarded.probe(ctx)).toBe(`${SELINUX_PROBE}\n${bound.probe(ctx)}`);
    expect(guardSelinux(bound, {})).toBe(bound);
    // The module's probe output of a missing path, with and without the marker.
    const out = { stdout: 'exists=0\n', stderr: '', code: 0 };
    const plain = bound.plan(out, ctx).changes.map((c) => c.summary);
    expect(guarded.plan(out, ctx).changes.map((c) => c.summary)).toEqual(plain);
    const enabled = { ...out, stdout: `__kiln_selinux_enabled=1\n${out.stdout}` };
    expect(() => guarded.plan(enabled, ctx)).toThrow(
      /SELinux is enabled on this host and Kiln does not manage SELinux file contexts \(setype\)/,
    );
    expect(() => guarded.verify(enabled, ctx)).toThrow(/SELinux is enabled/);
  });
});
