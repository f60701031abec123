import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pam, { type PamLimitsParams, pamLimitsCheck } from '../../../../src/modules/files/pam_limits.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { probeOut } from './edit-helpers.ts';

const P = '/etc/security/limits.conf';
const L: PamLimitsParams = { domain: 'app', limit_type: 'soft', limit_item: 'nofile', value: '4096' };
const st = (content: string | undefined) => pam.parse(probeOut(P, content), L, undefined);

describe('pam_limits plan', () => {
  it('converged → [] (the default dest is limits.conf)', () => {
    expect(pam.probe(L, undefined, ctx())).toContain("kiln_lif '/etc/security/limits.conf' ");
    expect(pam.plan(L, undefined, st('app\tsoft\tnofile\t4096\n'), ctx())).toEqual([]);
    expect(pam.plan({ ...L, use_max: true }, undefined, st('app soft nofile 8192\n'), ctx())).toEqual([]);
  });
  it('a changed value: the whole line rewritten as Ansible writes it, with a diff', () => {
    const c = pam.plan(L, undefined, st('# x\napp soft nofile 1024\n'), ctx());
    expect(c.map((x) => x.summary)).toEqual([`${P}: limit app\tsoft\tnofile\t4096`]);
    expect(c[0]!.op).toMatchObject({ kind: 'write', content: '# x\napp\tsoft\tnofile\t4096\n', expect: { sha256: 'abc' } });
    expect(c[0]!.diff).toContain('-app soft nofile 1024\n+app\tsoft\tnofile\t4096');
  });
  it('a missing dest is created with the limit', () => {
    const c = pam.plan(L, undefined, st(undefined), ctx());
    expect(c[0]!.op).toMatchObject({ content: 'app\tsoft\tnofile\t4096\n', expect: 'absent' });
  });
  it('a limit line with an invalid value fails the task, as in Ansible', () => {
    expect(() => pam.plan(L, undefined, st('x soft nofile many\n'), ctx())).toThrow(
      /Invalid configuration found in '\/etc\/security\/limits.conf'/,
    );
  });
  it("Ansible's parameter checks", () => {
    expect(() => pamLimitsCheck({ ...L, use_max: true, use_min: true })).toThrow(/Cannot use use_min and use_max/);
    expect(() => pamLimitsCheck({ ...L, value: 'lots' })).toThrow(/Value of 'lots' for item 'nofile' is invalid/);
    expect(() => pamLimitsCheck({ ...L, limit_item: 'nice', value: '20' })).toThrow(/range -20 to 19/);
    expect(() => pamLimitsCheck({ ...L, limit_item: 'nice', value: '-20' })).not.toThrow();
  });
});

describe('pam_limits apply on a temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-pam-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('creates dest in an existing directory, then plans nothing', () => {
    const p: PamLimitsParams = { ...L, dest: join(dir, 'app.conf'), comment: 'sockets' };
    const probe = pam.probe(p, undefined, ctx());
    const s = pam.parse(runProbe(probe), p, undefined);
    const script = pam.apply(
      p,
      undefined,
      s,
      pam.plan(p, undefined, s, ctx()).map((c) => c.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(readFileSync(p.dest!, 'utf8')).toBe('app\tsoft\tnofile\t4096\t#sockets\n');
    expect(pam.plan(p, undefined, pam.parse(runProbe(probe), p, undefined), ctx())).toEqual([]);
  });
});
