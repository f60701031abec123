/** reboot: the plan is one action; the commands as Ansible builds them; how the engine knows the host is back. */
import { describe, expect, it } from 'vitest';
import reboot, { rebootCommand, type RebootParams, rebootReconnect } from '../../../../src/modules/system/reboot.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });

describe('reboot', () => {
  it("builds Ansible's Linux command: shutdown -r <minutes, rounded down> msg", () => {
    expect(rebootCommand({})).toEqual({ cmd: 'shutdown', args: "-r 0 'Reboot initiated by Ansible'" });
    expect(rebootCommand({ pre_reboot_delay: 59, msg: 'kernel' })).toEqual({ cmd: 'shutdown', args: "-r 0 'kernel'" });
    expect(rebootCommand({ pre_reboot_delay: 130 }).args).toMatch(/^-r 2 /);
    expect(rebootCommand({ reboot_command: 'systemctl reboot --force' })).toEqual({ cmd: 'systemctl', args: 'reboot --force' });
  });
  it('plans one action (a check run reports it would reboot) and fails without a boot id or a command', () => {
    const s = reboot.parse(out(`boot_ok=1\nboot_b64=${b64('abc\n')}\nbin_b64=${b64('/sbin/shutdown')}\n`), {}, undefined);
    const planned = reboot.plan({}, undefined, s, ctx());
    expect(planned.map((c) => [c.op.kind, c.action])).toEqual([['reboot', true]]);
    expect(reboot.registerData!({}, undefined, s)).toEqual({ rebooted: true, elapsed: 0 });
    expect(reboot.apply({}, undefined, s, [{ kind: 'reboot' }], ctx())).toBe("'/sbin/shutdown' -r 0 'Reboot initiated by Ansible'");
    expect(() => reboot.plan({}, undefined, { ...s, bootOk: false, bootErr: 'nope' }, ctx())).toThrow(
      'Failed to determine system last boot time',
    );
    expect(() => reboot.plan({}, undefined, { ...s, bin: undefined }, ctx())).toThrow('Unable to find command "shutdown"');
  });
  it("a failing reboot command fails the task with Ansible's message", () => {
    expect(reboot.interpret!({}, undefined, { stdout: '', stderr: 'no permission', code: 1 }, ctx())).toEqual({
      failed: "Reboot command failed. Error was: ', no permission'",
      result: { rebooted: false },
    });
  });
  it('the host is back only with another boot id and test_command passing', () => {
    const p: RebootParams = { reboot_timeout: 30, connect_timeout: 5, post_reboot_delay: 2 };
    const r = rebootReconnect(p, { bootId: 'old', bootOk: true, bootErr: '', bin: '/sbin/shutdown' });
    expect([r.timeoutMs, r.connectTimeoutMs, r.postDelayMs]).toEqual([30000, 5000, 2000]);
    expect(r.back(out(`boot_ok=1\nboot_b64=${b64('old')}\ntest_ok=1\n`))?.why).toContain('has not changed');
    expect(r.back(out(`boot_ok=1\nboot_b64=${b64('new')}\ntest_ok=0\ntest_b64=${b64('boom')}\n`))).toEqual({
      stage: 2,
      why: 'test_command failed: boom',
    });
    expect(r.back(out(`boot_ok=1\nboot_b64=${b64('new')}\ntest_ok=1\n`))).toBeUndefined();
    expect(r.result(42)).toEqual({ rebooted: true, elapsed: 42 });
    expect(shSyntax(r.script)).toBe('');
  });
  it('the probe runs here (read-only): reads the boot id and finds the command in search_paths', () => {
    const p: RebootParams = { reboot_command: 'true', search_paths: ['/usr/bin', '/bin'] };
    const s = reboot.parse(runProbe(reboot.probe(p, undefined, ctx())), p, undefined);
    expect(s.bootOk).toBe(true);
    expect(s.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.bin).toMatch(/\/bin\/true$/);
  });
});
