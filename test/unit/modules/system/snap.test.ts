/**
 * snap: prepare's refusals, the probe's parse on real `snap list` / `snap get -d` output (captured on
 * a lab host with snapd 2.57.6), the pure plan for each state, the apply script, and the registered
 * result against what community.general.snap (ansible 7.7) returned on the same host
 * (test/fixtures/ansible/snap/results-x27s1.json, made by oracle-playbook.yml there).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ansibleCmd,
  installCommands,
  schema,
  parseSnapOption,
  type SnapParams,
  snapApply,
  snapInterpret,
  snapParse,
  snapPlan,
  snapPrepare,
  snapProbe,
  snapRegisterData,
  snapSetValue,
} from '../../../../src/modules/system/snap.ts';
import { shSyntax } from '../helpers.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/ansible/snap/results-x27s1.json');
const ORACLE = JSON.parse(readFileSync(FIX, 'utf8')) as Record<string, Record<string, unknown>>;

const HEADER = 'Name        Version  Rev  Tracking  Publisher  Notes\n';
/** Real `snap list NAME` output (snapd 2.57.6 on the lab host). */
const LIST = {
  enabled: `${HEADER}kiln-plain  1.0      x1   -         -          -\n`,
  disabled: `${HEADER}kiln-plain  1.0      x1   -         -          disabled\n`,
  base: 'Name       Version  Rev  Tracking  Publisher  Notes\nkiln-base  1        x1   -         -          base\n',
  store: 'Name     Version  Rev    Tracking       Publisher   Notes\ncertbot  2.7.4    3566   latest/stable  certbot-eff✓  classic\n',
};
const MISSING = 'error: no matching snaps installed\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Probed {
  list: { rc: number; out?: string; err?: string };
  get?: { rc: number; out?: string; err?: string };
}
/** The probe's output for these snaps, in the probe's own format. */
function probeOut(snaps: Probed[], bin = '/usr/bin/snap'): string {
  const lines = [`snap_bin=${bin}`];
  snaps.forEach((s, i) => {
    lines.push(`l${i}_rc=${s.list.rc}`, `l${i}_out=${b64(s.list.out ?? '')}`, `l${i}_err=${b64(s.list.err ?? '')}`);
    if (s.get) lines.push(`g${i}_rc=${s.get.rc}`, `g${i}_out=${b64(s.get.out ?? '')}`, `g${i}_err=${b64(s.get.err ?? '')}`);
  });
  return `${lines.join('\n')}\n`;
}
const state = (p: SnapParams, snaps: Probed[]) => {
  const prep = snapPrepare(p);
  return { prep, s: snapParse({ stdout: probeOut(snaps), stderr: '', code: 0 }, prep) };
};
const plan = (p: SnapParams, snaps: Probed[]) => {
  const { prep, s } = state(p, snaps);
  return snapPlan(prep, s);
};
const installed = (out = LIST.enabled): Probed => ({ list: { rc: 0, out } });
const missing: Probed = { list: { rc: 1, err: MISSING } };

describe('snap prepare: what Ansible refuses at run time is refused before any host is contacted', () => {
  it('splits a string of names on commas as Ansible splits a list option', () => {
    expect(snapPrepare({ name: 'a,b' }).names).toEqual(['a', 'b']);
    expect(snapPrepare({ name: ['certbot'] })).toEqual({
      names: ['certbot'],
      state: 'present',
      classic: false,
      channel: 'stable',
      options: undefined,
    });
  });
  it('refuses options, classic and channel with a state other than present', () => {
    expect(() => snapPrepare({ name: 'x', state: 'absent', options: ['a=1'] })).toThrow(/options apply only with state present/);
    expect(() => snapPrepare({ name: 'x', state: 'disabled', classic: true })).toThrow(/classic applies only with state present/);
    expect(() => snapPrepare({ name: 'x', state: 'enabled', channel: 'edge' })).toThrow(/channel applies only with state present/);
    expect(snapPrepare({ name: 'x', state: 'absent', channel: 'stable', classic: false }).state).toBe('absent');
  });
  it('refuses an option that does not parse, names another snap, or has a key snap set would read differently', () => {
    expect(() => snapPrepare({ name: 'x', options: ['nokey'] })).toThrow("cannot parse set option 'nokey'");
    expect(() => snapPrepare({ name: ['x'], options: ['y:a=1'] })).toThrow(/refers to snap "y", which is not in the list/);
    expect(() => snapPrepare({ name: 'x', options: ['a=b=c'] })).toThrow(/"a=b" is not a snap configuration key/);
  });
  it("parses options with Ansible's regular expression (greedy prefix and key, value stripped)", () => {
    expect(parseSnapOption('foo:bar=1')).toEqual({ snap: 'foo', key: 'bar', value: '1' });
    expect(parseSnapOption('k = v ')).toEqual({ snap: undefined, key: 'k', value: 'v' });
    expect(parseSnapOption('a.b-c=x y')).toEqual({ snap: undefined, key: 'a.b-c', value: 'x y' });
    expect(parseSnapOption('=x')).toBeUndefined();
  });
  it('the schema takes store names only (a path to a .snap file is refused)', () => {
    const name = schema.properties.name;
    expect(new RegExp(name.pattern).test('certbot')).toBe(true);
    expect(new RegExp(name.pattern).test('kiln-plain,kiln-base')).toBe(true);
    expect(new RegExp(name.pattern).test('/tmp/x_1.0_all.snap')).toBe(false);
    expect(new RegExp(name.items.pattern).test('Foo')).toBe(false);
  });
});

describe('snap probe and parse', () => {
  it('is valid sh, lists each snap and reads the configuration only when options are given', () => {
    const sh = snapProbe(snapPrepare({ name: ['a', 'b'], options: ['x=1'] }));
    expect(shSyntax(sh)).toBe('');
    expect(sh).toContain("'list' 'a'");
    expect(sh).toContain("'get' 'b' '-d'");
    expect(snapProbe(snapPrepare({ name: 'a' }))).not.toContain("'get'");
  });
  it('reads installed, disabled and missing snaps from real snap list output', () => {
    const { s } = state({ name: ['kiln-plain', 'kiln-base', 'certbot', 'nope'] }, [
      installed(LIST.disabled),
      installed(LIST.base),
      installed(LIST.store),
      missing,
    ]);
    expect(s.snaps).toEqual({
      'kiln-plain': { installed: true, disabled: true },
      'kiln-base': { installed: true, disabled: false },
      certbot: { installed: true, disabled: false },
      nope: { installed: false, disabled: false },
    });
  });
  it('fails loudly when snap list fails for another reason (snapd not running) instead of counting the snap missing', () => {
    const err =
      'error: cannot communicate with server: Get "http://localhost/v2/snaps?snaps=x": dial unix /run/snapd.socket: connect: no such file or directory\n';
    expect(() => state({ name: 'x' }, [{ list: { rc: 1, err } }])).toThrow(/"snap list x" failed \(rc 1\): error: cannot communicate/);
  });
  it('fails when snap list prints something it cannot read, as Ansible does', () => {
    expect(() => state({ name: 'x' }, [installed('Name\nx 1\n')])).toThrow("unable to parse 'snap list x' output");
  });
  it('without the snap command the plan says to install snapd', () => {
    const prep = snapPrepare({ name: 'x' });
    expect(() => snapPlan(prep, snapParse({ stdout: 'snap_bin=\n', stderr: '', code: 0 }, prep))).toThrow(
      /install the snapd package first/,
    );
  });
});

describe('snap plan', () => {
  it('present: installs only the missing ones, in one command', () => {
    expect(plan({ name: ['a', 'b'] }, [installed(), missing])).toEqual([
      { summary: 'install snap b', op: { kind: 'install', names: ['b'] } },
    ]);
    expect(plan({ name: ['a'] }, [installed()])).toEqual([]);
  });
  it('present: an installed snap is left alone whatever channel or confinement is asked (Ansible never refreshes)', () => {
    expect(plan({ name: 'certbot', classic: true, channel: 'latest/edge' }, [installed(LIST.store)])).toEqual([]);
  });
  it('classic or a channel with several snaps: one install command per snap, as Ansible', () => {
    const prep = snapPrepare({ name: ['a', 'b'], classic: true, channel: 'edge' });
    expect(installCommands(prep, ['a', 'b'])).toEqual([
      ['install', '--classic', '--channel', 'edge', 'a'],
      ['install', '--classic', '--channel', 'edge', 'b'],
    ]);
    expect(installCommands(snapPrepare({ name: ['a', 'b'] }), ['a', 'b'])).toEqual([['install', 'a', 'b']]);
    expect(ansibleCmd(prep, { kind: 'install', names: ['a', 'b'] })).toBe(
      "['state', 'classic', 'channel', {'actionable_snaps': ['a']}]; ['state', 'classic', 'channel', {'actionable_snaps': ['b']}]",
    );
  });
  it('absent removes the installed ones; disabled disables enabled ones and leaves a missing snap alone', () => {
    expect(plan({ name: ['a', 'b'], state: 'absent' }, [installed(), missing]).map((c) => c.op)).toEqual([
      { kind: 'remove', names: ['a'] },
    ]);
    expect(plan({ name: ['a', 'b'], state: 'absent' }, [missing, missing])).toEqual([]);
    expect(plan({ name: ['a', 'b', 'c'], state: 'disabled' }, [installed(), installed(LIST.disabled), missing]).map((c) => c.op)).toEqual([
      { kind: 'disable', names: ['a'] },
    ]);
  });
  it('enabled enables disabled ones and refuses a snap that is not installed (snap enable would fail)', () => {
    expect(plan({ name: ['a', 'b'], state: 'enabled' }, [installed(), installed(LIST.disabled)]).map((c) => c.op)).toEqual([
      { kind: 'enable', names: ['b'] },
    ]);
    expect(() => plan({ name: ['a'], state: 'enabled' }, [missing])).toThrow(/cannot enable a: not installed/);
  });
  it('options: sets only what differs from snap get -d, per snap, with prefixed options for that snap only', () => {
    const get = { rc: 0, out: '{\n\t"color": "blue",\n\t"port": 80,\n\t"tls": {\n\t\t"enabled": true\n\t}\n}\n' };
    const p = { name: ['a', 'b'], options: ['color=blue', 'port=81', 'tls.enabled=true', 'b:extra=x y'] };
    const out = plan(p, [
      { list: { rc: 0, out: LIST.enabled }, get },
      { list: { rc: 0, out: LIST.enabled }, get: { rc: 1, err: 'error: snap "b" has no "x" configuration option\n' } },
    ]);
    expect(out).toEqual([
      { summary: 'snap set a: port: 80 → 81', op: { kind: 'set', snap: 'a', options: ['port=81'] } },
      {
        summary: 'snap set b: color: unset → blue, port: unset → 81, tls.enabled: unset → true, extra: unset → x y',
        op: { kind: 'set', snap: 'b', options: ['color=blue', 'port=81', 'tls.enabled=true', 'extra=x y'] },
      },
    ]);
  });
  it('options: a value is compared as snap set stores it (JSON when it is JSON), so true stays converged', () => {
    expect(snapSetValue('true')).toBe(true);
    expect(snapSetValue('80')).toBe(80);
    expect(snapSetValue('x y')).toBe('x y');
    expect(snapSetValue('{"a": [1]}')).toEqual({ a: [1] });
    const get = { rc: 0, out: '{"flag": true, "list": [1, 2], "name": "01"}' };
    expect(plan({ name: 'a', options: ['flag=true', 'list=[1,2]', 'name=01'] }, [{ list: { rc: 0, out: LIST.enabled }, get }])).toEqual([]);
    expect(plan({ name: 'a', options: ['name=1'] }, [{ list: { rc: 0, out: LIST.enabled }, get }]).map((c) => c.op)).toEqual([
      { kind: 'set', snap: 'a', options: ['name=1'] },
    ]);
  });
  it('options of a snap the task installs are set right after its install', () => {
    expect(plan({ name: ['a'], options: ['k=v'] }, [missing]).map((c) => c.op)).toEqual([
      { kind: 'install', names: ['a'] },
      { kind: 'set', snap: 'a', options: ['k=v'] },
    ]);
  });
});

describe('snap apply', () => {
  it('runs exactly the planned snap commands, each argument quoted, stopping at the first failure', () => {
    const prep = snapPrepare({ name: ['a', 'b'], channel: 'latest/edge', options: ['k=v w'] });
    const sh = snapApply(prep, [
      { kind: 'install', names: ['a', 'b'] },
      { kind: 'set', snap: 'a', options: ['k=v w'] },
    ]);
    expect(shSyntax(sh)).toBe('');
    expect(sh).toContain(`"$snap_bin" 'install' '--channel' 'latest/edge' 'a' >`);
    expect(sh).toContain(`"$snap_bin" 'install' '--channel' 'latest/edge' 'b' >`);
    expect(sh).toContain(`"$snap_bin" 'set' 'a' 'k=v w' >`);
    expect(sh.match(/exit 3/g)).toHaveLength(3);
  });
  it('interprets the last command as Ansible reports it (rc, stdout, stderr, cmd_args) and its cmd', () => {
    const out = [
      'snap_path=/usr/bin/snap',
      'c_rc=0',
      `c_out=${b64('kiln-plain disabled\n')}`,
      `c_err=${b64('')}`,
      `c_args=${b64(JSON.stringify(['disable', 'kiln-plain']))}`,
      `ansible_cmd=${b64("['classic', 'channel', 'state', {'actionable_snaps': ['kiln-plain']}]")}`,
    ].join('\n');
    expect(snapInterpret({ stdout: out, stderr: '', code: 0 })).toEqual({
      result: {
        rc: 0,
        stdout: 'kiln-plain disabled\n',
        stderr: '',
        cmd_args: ['/usr/bin/snap', 'disable', 'kiln-plain'],
        stdout_lines: ['kiln-plain disabled'],
        stderr_lines: [],
        cmd: ORACLE.disabled!.cmd,
      },
    });
    expect(
      snapInterpret({ stdout: '', stderr: "Snap operation failed while executing 'snap disable x':\nerror: boom", code: 3 }).failed,
    ).toMatch(/Snap operation failed.*\nerror: boom/);
  });
});

/** Keys and value types of a result, without Ansible's *_lines (the engine adds those) and changed/failed. */
const shape = (r: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(r)
      .filter(([k]) => !['changed', 'failed', 'invocation'].includes(k))
      .map(([k, v]) => [k, Array.isArray(v) ? 'list' : typeof v])
      .sort(),
  );

describe("snap's registered result against community.general.snap on the same host", () => {
  it('disabled, already disabled: the last snap list, as Ansible', () => {
    const { prep, s } = state({ name: 'kiln-plain', state: 'disabled' }, [installed(LIST.disabled)]);
    const got = snapRegisterData(prep, s);
    const want = ORACLE.disabled_again!;
    expect(shape(got)).toEqual(shape(want));
    expect(got).toEqual({
      force_lang: 'C',
      rc: want.rc,
      stdout: want.stdout,
      stderr: want.stderr,
      cmd_args: want.cmd_args,
      stdout_lines: want.stdout_lines,
      stderr_lines: want.stderr_lines,
    });
  });
  it('disabled on a snap that is not installed: unchanged, rc 1 of its snap list', () => {
    const { prep, s } = state({ name: 'kiln-nope', state: 'disabled' }, [missing]);
    expect(snapPlan(prep, s)).toEqual([]);
    const got = snapRegisterData(prep, s);
    const want = ORACLE.disabled_missing!;
    expect(got).toEqual({
      force_lang: 'C',
      rc: 1,
      stdout: '',
      stderr: want.stderr,
      cmd_args: want.cmd_args,
      stdout_lines: [],
      stderr_lines: want.stderr_lines,
    });
  });
  it('present and installed: classic and channel as given', () => {
    const { prep, s } = state({ name: 'kiln-plain' }, [installed()]);
    const got = snapRegisterData(prep, s);
    const want = ORACLE.present_installed!;
    expect(shape(got)).toEqual(shape(want));
    expect(got).toMatchObject({ classic: false, channel: 'stable', stdout: want.stdout, rc: 0 });
  });
  it('a change: the snaps_* list of the plan, then what the apply reports (same keys as Ansible)', () => {
    const { prep, s } = state({ name: 'kiln-plain', state: 'disabled' }, [installed()]);
    const want = ORACLE.disabled!;
    const applied = snapInterpret({
      stdout: [
        'snap_path=/usr/bin/snap',
        'c_rc=0',
        `c_out=${b64(String(want.stdout))}`,
        `c_err=${b64('')}`,
        `c_args=${b64(JSON.stringify(['disable', 'kiln-plain']))}`,
        `ansible_cmd=${b64(ansibleCmd(prep, { kind: 'disable', names: ['kiln-plain'] })!)}`,
      ].join('\n'),
      stderr: '',
      code: 0,
    });
    const got = { ...snapRegisterData(prep, s), ...applied.result };
    expect(shape(got)).toEqual(shape(want));
    expect(got).toEqual({ ...want, changed: undefined, failed: undefined, ...got });
    expect(got.stdout_lines).toEqual(want.stdout_lines);
    expect(got.snaps_disabled).toEqual(want.snaps_disabled);
    expect(got.cmd).toBe(want.cmd);
    expect(got.cmd_args).toEqual(want.cmd_args);
  });
  it('enabled with two snaps, one of them disabled: only that one, as Ansible', () => {
    const { prep, s } = state({ name: ['kiln-plain', 'kiln-base'], state: 'enabled' }, [installed(LIST.disabled), installed(LIST.base)]);
    const want = ORACLE.enabled!;
    expect(snapRegisterData(prep, s).snaps_enabled).toEqual(want.snaps_enabled);
    expect(ansibleCmd(prep, snapPlan(prep, s)[0]!.op)).toBe(want.cmd);
  });
  it('options_changed lists snap:key=value, the option as written when it names its snap', () => {
    const get = { rc: 0, out: '{"a": "1"}' };
    const { prep, s } = state({ name: ['x', 'y'], options: ['a=2', 'y:b=3'] }, [
      { list: { rc: 0, out: LIST.enabled.replace(/kiln-plain/g, 'x         ') }, get },
      { list: { rc: 0, out: LIST.enabled.replace(/kiln-plain/g, 'y         ') }, get },
    ]);
    expect(snapRegisterData(prep, s)).toMatchObject({
      options_changed: ['x:a=2', 'y:a=2', 'y:b=3'],
      cmd_args: ['/usr/bin/snap', 'get', 'y', '-d'],
    });
  });
});
