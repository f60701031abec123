import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modprobeApply, modprobeParse, modprobePlan, modprobeProbe, type ModprobeParams } from '../../../../src/modules/system/modprobe.ts';
import { runProbe, shSyntax } from '../helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const st = (o: { proc?: boolean; loaded?: boolean; builtin?: boolean; load?: Record<string, string>; param?: Record<string, string> }) =>
  modprobeParse({
    stdout: [
      `proc=${o.proc === false ? 0 : 1}`,
      o.loaded ? 'loaded=1' : '',
      o.builtin ? 'builtin=1' : '',
      ...Object.entries(o.load ?? {}).map(([f, c]) => `load=${f} sha-${f} ${b64(c)}`),
      ...Object.entries(o.param ?? {}).map(([f, c]) => `param=${f} sha-${f} ${b64(c)}`),
    ].join('\n'),
    stderr: '',
    code: 0,
  });
const D = { diff: true };
const plan = (p: ModprobeParams, s: ReturnType<typeof st>) => modprobePlan(p, s, D);

describe('modprobe plan: loading (decided from /proc/modules and the built-in list; never run here)', () => {
  it('a loaded module is not loaded again; a missing one is', () => {
    expect(plan({ name: 'br_netfilter' }, st({ loaded: true }))).toEqual([]);
    const p = plan({ name: 'br_netfilter', params: 'a=1 b=2' }, st({}));
    expect(p.map((c) => c.op)).toEqual([{ kind: 'load', words: ['a=1', 'b=2'] }]);
    expect(
      modprobeApply(
        { name: 'br_netfilter' },
        p.map((c) => c.op),
      ),
    ).toContain("modprobe -- 'br_netfilter' 'a=1' 'b=2'");
  });
  it('absent unloads a loaded module; a built-in one cannot be', () => {
    expect(plan({ name: 'dummy', state: 'absent' }, st({ loaded: true })).map((c) => c.op)).toEqual([{ kind: 'unload' }]);
    expect(plan({ name: 'dummy', state: 'absent' }, st({}))).toEqual([]);
    expect(() => plan({ name: 'loop', state: 'absent' }, st({ builtin: true }))).toThrow(/built into the kernel/);
  });
  it('a built-in module is loaded; a kernel without module support refuses to load anything else', () => {
    expect(plan({ name: 'loop' }, st({ proc: false, builtin: true }))).toEqual([]);
    expect(() => plan({ name: 'dummy' }, st({ proc: false }))).toThrow(/no loadable-module support/);
  });
});

describe('modprobe plan: persistent files', () => {
  it('present writes modules-load.d/NAME.conf and modprobe.d/NAME.conf', () => {
    const p = plan({ name: 'loop', params: 'max_loop=8', persistent: 'present' }, st({ builtin: true }));
    expect(p.map((c) => c.summary)).toEqual(['create /etc/modules-load.d/loop.conf', 'create /etc/modprobe.d/loop.conf']);
    expect(p[1].op).toEqual({ kind: 'write', path: '/etc/modprobe.d/loop.conf', content: 'options loop max_loop=8\n', expect: 'absent' });
    expect(p[1].diff).toContain('+options loop max_loop=8');
    const sh = modprobeApply(
      { name: 'loop' },
      p.map((c) => c.op),
    );
    expect(sh).not.toMatch(/^modprobe/m);
    expect(shSyntax(sh)).toBe('');
  });
  it('converged when any modules-load.d file lists it and the options are exactly params', () => {
    const s = st({
      builtin: true,
      load: { '/etc/modules-load.d/modules.conf': '# x\nloop # boot\n' },
      param: { '/etc/modprobe.d/x.conf': 'options loop max_loop=8\n' },
    });
    expect(plan({ name: 'loop', params: 'max_loop=8', persistent: 'present' }, s)).toEqual([]);
  });
  it('other options lines for the module are commented out', () => {
    const s = st({
      builtin: true,
      load: { '/etc/modules-load.d/loop.conf': 'loop\n' },
      param: { '/etc/modprobe.d/old.conf': 'options loop max_loop=4\noptions other x=1\n' },
    });
    const p = plan({ name: 'loop', params: 'max_loop=8', persistent: 'present' }, s);
    expect(p.map((c) => c.op)).toEqual([
      {
        kind: 'write',
        path: '/etc/modprobe.d/old.conf',
        content: '#options loop max_loop=4\noptions other x=1\n',
        expect: { sha256: 'sha-/etc/modprobe.d/old.conf' },
      },
      { kind: 'write', path: '/etc/modprobe.d/loop.conf', content: 'options loop max_loop=8\n', expect: 'absent' },
    ]);
  });
  it('absent comments out its lines everywhere; disabled leaves files alone', () => {
    const s = st({
      builtin: true,
      load: { '/etc/modules-load.d/loop.conf': 'loop\n' },
      param: { '/etc/modprobe.d/loop.conf': 'options loop max_loop=8\n' },
    });
    expect(plan({ name: 'loop', persistent: 'absent' }, s).map((c) => (c.op.kind === 'write' ? c.op.content : ''))).toEqual([
      '#loop\n',
      '#options loop max_loop=8\n',
    ]);
    expect(plan({ name: 'loop' }, s)).toEqual([]);
  });
  it('the probe runs read-only here and reads this machine (no module is loaded or unloaded)', () => {
    expect(shSyntax(modprobeProbe({ name: 'loop' }))).toBe('');
    const r = runProbe(modprobeProbe({ name: 'loop' }));
    expect(r.code).toBe(0);
    const s = modprobeParse(r);
    // loop is in /sys/module when it is built in or loaded: then present plans nothing to load.
    expect(s.builtin || s.loaded).toBe(existsSync('/sys/module/loop'));
    expect(s.procModules).toBe(existsSync('/proc/modules'));
    const kinds = () => plan({ name: 'loop' }, s).map((c) => c.op.kind);
    if (existsSync('/sys/module/loop')) expect(kinds()).toEqual([]);
    else if (existsSync('/proc/modules')) expect(kinds()).toEqual(['load']);
    else expect(kinds).toThrow(/no loadable-module support/);
  });
});
