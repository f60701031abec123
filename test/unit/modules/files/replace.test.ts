import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import rep, { type ReplaceParams, replaceCheck, replaceEdit } from '../../../../src/modules/files/replace.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { probeOut } from './edit-helpers.ts';

const P = '/etc/app.conf';
const st = (content: string | Buffer | undefined) => rep.parse(probeOut(P, content), { path: P, regexp: 'x' }, undefined);

describe('replace plan', () => {
  it('converged → [] when nothing matches or the result is the same', () => {
    expect(rep.plan({ path: P, regexp: 'zz', replace: 'y' }, undefined, st('a\n'), ctx())).toEqual([]);
    expect(rep.plan({ path: P, regexp: 'a=1', replace: 'a=1' }, undefined, st('a=1\n'), ctx())).toEqual([]);
    expect(rep.plan({ path: P, regexp: 'x', replace: 'y', after: 'nothere' }, undefined, st('x\n'), ctx())).toEqual([]);
  });
  it('every match replaced, with a unified diff and the count as Ansible says it', () => {
    const c = rep.plan({ path: P, regexp: '^(\\w+)=1$', replace: '\\1=2', owner: 'app' }, undefined, st('a=1\nb=1\n'), ctx());
    expect(c.map((x) => x.summary)).toEqual([`${P}: 2 replacements made`, `owner of ${P}: root → app`]);
    expect(c[0]!.op).toEqual({ kind: 'write', content: Buffer.from('a=2\nb=2\n'), expect: { sha256: 'abc' } });
    expect(c[0]!.diff).toContain('-a=1\n-b=1\n+a=2\n+b=2');
  });
  it('a missing file fails at apply, as Ansible (never a plan error: an earlier task may create it)', () => {
    const p: ReplaceParams = { path: P, regexp: 'a' };
    const c = rep.plan(p, undefined, st(undefined), ctx({ check: true }));
    expect(c[0]).toMatchObject({ unpredictable: true, op: { kind: 'fail-missing' } });
    expect(rep.apply(p, undefined, st(undefined), [c[0]!.op], ctx())).toContain(`Path ${P} does not exist !`);
  });
  it('latin-1 files are decoded and written back as latin-1', () => {
    const c = rep.plan(
      { path: P, regexp: 'caf\u00e9', replace: 'caf\u00e8', encoding: 'latin-1' },
      undefined,
      st(Buffer.from('caf\xe9\n', 'latin1')),
      ctx(),
    );
    expect(c[0]!.op).toMatchObject({ content: Buffer.from('caf\xe8\n', 'latin1') });
    expect(() => rep.plan({ path: P, regexp: 'a' }, undefined, st(Buffer.from('caf\xe9\n', 'latin1')), ctx())).toThrow(
      /cannot be decoded as utf-8/,
    );
  });
  it('refuses what it cannot mean exactly, before any host is contacted', () => {
    expect(() => replaceCheck({ regexp: 'a', encoding: 'utf-16' })).toThrow(/encoding "utf-16" is not supported by Kiln/);
    expect(() => replaceCheck({ regexp: '(?>a)' })).toThrow(/regexp is not a valid Python regular expression Kiln can translate/);
    expect(() => replaceCheck({ regexp: '(a)', replace: '\\2' })).toThrow(/replace is not a valid replacement/);
    expect(() => replaceCheck({ regexp: 'a', after: '(' })).toThrow(/after\/before/);
  });
});

describe('replace apply on a temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-replace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes exactly the planned content, then plans nothing', () => {
    const path = join(dir, 'f.conf');
    writeFileSync(path, 'listen 80;\nlisten 443;\n');
    const p: ReplaceParams = { path, regexp: '^listen 80;$', replace: 'listen 8080;' };
    const probe = rep.probe(p, undefined, ctx());
    const s = rep.parse(runProbe(probe), p, undefined);
    const script = rep.apply(
      p,
      undefined,
      s,
      rep.plan(p, undefined, s, ctx()).map((c) => c.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(readFileSync(path, 'utf8')).toBe('listen 8080;\nlisten 443;\n');
    expect(rep.plan(p, undefined, rep.parse(runProbe(probe), p, undefined), ctx())).toEqual([]);
  });
});

describe('replace: after and before are one pattern, as Ansible builds it', () => {
  it('accepts halves that are only valid together, and refuses a combination that is not', () => {
    expect(replaceEdit('x <a> x </a> x\n', { regexp: 'x', replace: 'y', after: '(<a>', before: ')</a>' }).content).toBe('x <a> y </a> x\n');
    expect(() => replaceCheck({ regexp: 'x', after: '(' })).toThrow(/after\/before is not a valid Python regular expression/);
  });
});
