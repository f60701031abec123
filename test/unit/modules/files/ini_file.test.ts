import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ini, { type IniFileParams, iniCheck, iniEdit } from '../../../../src/modules/files/ini_file.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { probeOut } from './edit-helpers.ts';

const P = '/etc/app.ini';
const st = (content: string | Buffer | undefined) => ini.parse(probeOut(P, content), { path: P }, undefined);

describe('ini_file plan', () => {
  it('converged → []', () => {
    expect(ini.plan({ path: P, section: 's', option: 'a', value: '1' }, undefined, st('[s]\na = 1\n'), ctx())).toEqual([]);
    expect(ini.plan({ path: P, section: 's', option: 'a', state: 'absent' }, undefined, st('[s]\nb = 1\n'), ctx())).toEqual([]);
    // A CRLF file that needs no change is left alone (Ansible reads it with universal newlines).
    expect(ini.plan({ path: P, section: 's', option: 'a', value: '1' }, undefined, st('[s]\r\na = 1\r\n'), ctx())).toEqual([]);
  });
  it("an option changed to Ansible's format, with a diff", () => {
    const c = ini.plan({ path: P, section: 's', option: 'a', value: '2' }, undefined, st('[s]\na=1\n'), ctx());
    expect(c.map((x) => x.summary)).toEqual([`${P}: option changed`]);
    expect(c[0]!.op).toMatchObject({ kind: 'write', content: '[s]\na = 2\n' });
    expect(c[0]!.diff).toContain('-a=1\n+a = 2');
  });
  it('a missing file is created (create defaults to true), or fails at apply with create: false', () => {
    const c = ini.plan({ path: P, section: 's', option: 'a', value: '1', mode: '0600' }, undefined, st(undefined), ctx());
    expect(c[0]!.summary).toBe(`create file ${P} (0600): section and option added`);
    expect(c[0]!.op).toMatchObject({ content: '\n[s]\na = 1\n', expect: 'absent' });
    const f = ini.plan({ path: P, section: 's', option: 'a', value: '1', create: false }, undefined, st(undefined), ctx());
    expect(f[0]).toMatchObject({ unpredictable: true, op: { kind: 'fail-missing' } });
  });
  it('section: null is the part before the first section', () => {
    expect(iniEdit('x = 0\n[s]\nx = 1\n', { section: null, option: 'x', value: '5' }).content).toBe('x = 5\n[s]\nx = 1\n');
  });
  it("Ansible's parameter checks", () => {
    expect(() => iniCheck({ option: 'a', value: '1', values: ['2'] })).toThrow(/mutually exclusive: value\|values/);
    expect(() => iniCheck({ option: 'a' })).toThrow(/value\(s\)' must be defined/);
    expect(() => iniCheck({ option: 'a', allow_no_value: true })).not.toThrow();
  });
});

describe('ini_file apply on a temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ini-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('creates the file and its directory, then plans nothing', () => {
    const path = join(dir, 'sub', 'app.ini');
    const p: IniFileParams = { path, section: 'main', option: 'k', values: ['1', '2'] };
    const probe = ini.probe(p, undefined, ctx());
    const s = ini.parse(runProbe(probe), p, undefined);
    const script = ini.apply(
      p,
      undefined,
      s,
      ini.plan(p, undefined, s, ctx()).map((c) => c.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(readFileSync(path, 'utf8')).toBe('\n[main]\nk = 1\nk = 2\n');
    expect(ini.plan(p, undefined, ini.parse(runProbe(probe), p, undefined), ctx())).toEqual([]);
  });
});

describe('ini_file on a symlink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ini-link-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('is refused: Ansible would replace the link by a regular file', () => {
    writeFileSync(join(dir, 'real.ini'), '[s]\n');
    symlinkSync(join(dir, 'real.ini'), join(dir, 'link.ini'));
    const p: IniFileParams = { path: join(dir, 'link.ini'), section: 's', option: 'a', value: '1' };
    const s = ini.parse(runProbe(ini.probe(p, undefined, ctx())), p, undefined);
    expect(() => ini.plan(p, undefined, s, ctx())).toThrow(/is a symlink .*would replace the link by a regular file/);
    // The same file through its real path is edited.
    const q: IniFileParams = { ...p, path: join(dir, 'real.ini') };
    expect(ini.plan(q, undefined, ini.parse(runProbe(ini.probe(q, undefined, ctx())), q, undefined), ctx())).toHaveLength(1);
  });
});
