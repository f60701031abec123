import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sysctl, { editSysctlFile, procPath, type SysctlParams } from '../../../../src/modules/files/sysctl.ts';
import { validatorFor } from '../../../../src/plan/schema.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const state = (live: string | undefined, file: string | undefined, extra = '') =>
  sysctl.parse(
    {
      stdout: `key=1\n${live !== undefined ? `live=${live}\n` : ''}writable=1\n${file === undefined ? 'file=0\n' : `file=1\nsha256=abc\ncontent_b64=${b64(file)}\n`}${extra}`,
      stderr: '',
      code: 0,
    },
    { name: 'x' },
    undefined,
  );
const sums = (p: SysctlParams, s: ReturnType<typeof state>) => sysctl.plan(p, undefined, s, ctx()).map((c) => c.summary);

describe('sysctl', () => {
  it('proc paths, including the "/" ↔ "." swap for interface names with dots', () => {
    expect(procPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(procPath('net.ipv4.conf.eth0/1.rp_filter')).toBe('/proc/sys/net/ipv4/conf/eth0.1/rp_filter');
  });
  it('refuses names that would leave /proc/sys (procps: separators are never repeated, none trails)', () => {
    for (const name of [
      'x.//.//.//etc.passwd',
      'net.ipv4..ip_forward',
      'net/../../etc/passwd',
      'a/./b',
      'net.ipv4.',
      '/etc/passwd',
      '.net',
    ]) {
      expect(() => procPath(name), name).toThrow('separators');
      expect(validatorFor(sysctl.schema)({ name, value: 1 }), name).toBe(false);
    }
    expect(procPath('net.ipv4.conf.lo/0.x')).toBe('/proc/sys/net/ipv4/conf/lo.0/x');
    expect(procPath('kernel/sysrq')).toBe('/proc/sys/kernel/sysrq');
    for (const name of ['net.ipv4.ip_forward', 'net.ipv4.conf.eth0/1.rp_filter', 'kernel/sysrq', 'net.ipv6.conf.all.disable_ipv6'])
      expect(validatorFor(sysctl.schema)({ name, value: 1 }), name).toBe(true);
  });
  it('refuses to rewrite a persisted file that is not UTF-8', () => {
    const s = sysctl.parse(
      {
        stdout: `key=1\nlive=0\nwritable=1\nfile=1\nsha256=abc\ncontent_b64=${Buffer.from('# caf\xe9\n', 'latin1').toString('base64')}\n`,
        stderr: '',
        code: 0,
      },
      { name: 'x' },
      undefined,
    );
    expect(() => sysctl.plan({ name: 'net.ipv4.ip_forward', value: 1 }, undefined, s, ctx())).toThrow('is not UTF-8 text');
  });
  it('converged: live and persisted agree (whitespace normalised)', () => {
    const p: SysctlParams = { name: 'net.ipv4.ip_local_port_range', value: '1024   65000' };
    expect(sysctl.plan(p, undefined, state('1024 65000', '# kiln\nnet.ipv4.ip_local_port_range = 1024 65000\n'), ctx())).toEqual([]);
    expect(sysctl.plan({ name: 'net.ipv4.ip_forward', value: 1 }, undefined, state('1', 'net.ipv4.ip_forward=1\n'), ctx())).toEqual([]);
  });
  it('says which of live / persisted differs', () => {
    const p: SysctlParams = { name: 'net.ipv4.ip_forward', value: 1 };
    expect(sums(p, state('0', 'net.ipv4.ip_forward = 1\n'))).toEqual(['net.ipv4.ip_forward (live): 0 → 1']);
    expect(sums(p, state('1', 'net.ipv4.ip_forward = 0\n'))).toEqual(['net.ipv4.ip_forward in /etc/sysctl.d/99-kiln.conf: 0 → 1']);
    expect(sums(p, state('1', 'other = 2\n'))).toEqual(['add net.ipv4.ip_forward = 1 to /etc/sysctl.d/99-kiln.conf']);
    expect(sums(p, state('0', undefined))).toEqual([
      'net.ipv4.ip_forward (live): 0 → 1',
      'create /etc/sysctl.d/99-kiln.conf with net.ipv4.ip_forward = 1',
    ]);
    expect(sums({ ...p, reload: false }, state('0', 'net.ipv4.ip_forward = 1\n'))).toEqual([]);
    expect(sums({ name: 'net.ipv4.ip_forward', state: 'absent' }, state('1', 'a = 1\nnet.ipv4.ip_forward = 1\n'))).toEqual([
      'remove net.ipv4.ip_forward from /etc/sysctl.d/99-kiln.conf',
    ]);
    expect(sums({ name: 'net.ipv4.ip_forward', state: 'absent' }, state('1', undefined))).toEqual([]);
  });
  it('edits the file: replaces the last setting, drops duplicates, keeps the rest', () => {
    expect(editSysctlFile('# c\nnet.a=1\nx = 2\n-net.a = 3\n', 'net.a', '4')).toBe('# c\nx = 2\nnet.a = 4\n');
    expect(editSysctlFile('', 'net.a', '1')).toBe('net.a = 1\n');
    expect(editSysctlFile('x = 2\nnet.a = 1\n', 'net.a', undefined)).toBe('x = 2\n');
    expect(editSysctlFile('# net.a = 1\n', 'net.a', '2')).toBe('# net.a = 1\nnet.a = 2\n');
  });
  it('fails clearly: unknown key, read-only /proc/sys, missing value', () => {
    const missing = sysctl.parse({ stdout: 'key=0\nfile=0\n', stderr: '', code: 0 }, { name: 'x' }, undefined);
    expect(() => sysctl.plan({ name: 'net.bridge.bridge-nf-call-iptables', value: 1 }, undefined, missing, ctx())).toThrow(
      /does not exist on this host.*kernel module/,
    );
    const ro = sysctl.parse({ stdout: 'key=1\nlive=60\nwritable=0\nfile=0\n', stderr: '', code: 0 }, { name: 'x' }, undefined);
    expect(() => sysctl.plan({ name: 'vm.swappiness', value: 10 }, undefined, ro, ctx())).toThrow(
      /cannot set vm.swappiness: \/proc\/sys\/vm\/swappiness is read-only/,
    );
    expect(sysctl.plan({ name: 'vm.swappiness', value: 60 }, undefined, ro, ctx())[0].summary).toMatch(/create/); // equal live value: only the file
    expect(() => sysctl.plan({ name: 'vm.swappiness' }, undefined, ro, ctx())).toThrow(/needs value/);
  });
  it('apply: writes /proc/sys only when the live value differs; valid sh', () => {
    const p: SysctlParams = { name: 'net.ipv4.ip_forward', value: 1 };
    const s = state('0', 'net.ipv4.ip_forward = 1\n');
    const script = sysctl.apply(
      p,
      undefined,
      s,
      sysctl.plan(p, undefined, s, ctx()).map((x) => x.op),
      ctx(),
    );
    expect(script).toBe("set -e\nprintf '%s\\n' '1' > '/proc/sys/net/ipv4/ip_forward'");
    const s2 = state('1', undefined);
    const script2 = sysctl.apply(
      p,
      undefined,
      s2,
      sysctl.plan(p, undefined, s2, ctx()).map((x) => x.op),
      ctx(),
    );
    expect(script2).not.toContain('/proc/sys');
    expect(shSyntax(script2)).toBe('');
  });
  it('probe runs for real (read-only) and the file part of apply works on a temp file (reload: false)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-sysctl-'));
    const file = join(dir, '99-test.conf');
    writeFileSync(file, '# mine\nnet.ipv4.ip_local_port_range=1 2\n');
    const p: SysctlParams = { name: 'net.ipv4.ip_local_port_range', value: '32768 60999', sysctl_file: file, reload: false };
    const probe = sysctl.probe(p, undefined, ctx());
    expect(shSyntax(probe)).toBe('');
    const s = sysctl.parse(runProbe(probe), p, undefined);
    expect(s.keyExists).toBe(true);
    expect(s.live).toMatch(/^\d+ \d+$/); // tab in /proc normalised to one space
    expect(s.fileContent).toBe('# mine\nnet.ipv4.ip_local_port_range=1 2\n');
    const changes = sysctl.plan(p, undefined, s, ctx());
    expect(changes.map((c) => c.summary)).toEqual([`net.ipv4.ip_local_port_range in ${file}: 1 2 → 32768 60999`]);
    expect(changes[0].diff).toContain('+net.ipv4.ip_local_port_range = 32768 60999');
    const script = sysctl.apply(
      p,
      undefined,
      s,
      changes.map((x) => x.op),
      ctx(),
    );
    expect(script).not.toContain('/proc/sys'); // reload: false — safe to run here
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('# mine\nnet.ipv4.ip_local_port_range = 32768 60999\n');
    expect(sysctl.plan(p, undefined, sysctl.parse(runProbe(probe), p, undefined), ctx())).toEqual([]);
  });
});

describe('sysctl file formatting', () => {
  it('an equal value in another spelling is not a change; duplicates are', () => {
    expect(editSysctlFile('net.a=1\n', 'net.a', '1')).toBe('net.a=1\n');
    expect(editSysctlFile('net.a = 0\nnet.a=1\n', 'net.a', '1')).toBe('net.a=1\n');
    expect(sums({ name: 'net.a', value: 1 }, state('1', 'net.a = 0\nnet.a=1\n'))).toEqual([
      'net.a in /etc/sysctl.d/99-kiln.conf: remove duplicate lines',
    ]);
  });
});
