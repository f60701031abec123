import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import bif, { type BlockinfileParams, blockinfileCheck, blockinfileEdit } from '../../../../src/modules/files/blockinfile.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { probeOut } from './edit-helpers.ts';

const P = '/etc/ssh/sshd_config';
const st = (content: string | Buffer | undefined, p: BlockinfileParams = { path: P }) => bif.parse(probeOut(P, content), p, undefined);
const BLOCK = '# BEGIN ANSIBLE MANAGED BLOCK\nx=1\n# END ANSIBLE MANAGED BLOCK\n';

describe('blockinfile plan', () => {
  it('converged → [] (also with the same attributes)', () => {
    expect(bif.plan({ path: P, block: 'x=1' }, undefined, st(`a\n${BLOCK}`), ctx())).toEqual([]);
    expect(bif.plan({ path: P, block: 'x=1', mode: '0640', owner: 'root' }, undefined, st(BLOCK), ctx())).toEqual([]);
    expect(bif.plan({ path: P, state: 'absent' }, undefined, st('a\n'), ctx())).toEqual([]);
  });
  it('a changed block: one write op guarded by the probed checksum, with a unified diff; then the attributes', () => {
    const c = bif.plan({ path: P, block: 'x=2', mode: '0600' }, undefined, st(`a\n${BLOCK}`), ctx());
    expect(c.map((x) => x.summary)).toEqual([`${P}: Block inserted`, `mode of ${P}: 0640 → 0600`]);
    expect(c[0]!.op).toEqual({ kind: 'write', content: Buffer.from(`a\n${BLOCK.replace('x=1', 'x=2')}`), expect: { sha256: 'abc' } });
    expect(c[0]!.diff).toContain('-x=1\n+x=2');
    expect(bif.plan({ path: P, block: 'x=2' }, undefined, st(BLOCK), ctx({ diff: false }))[0]!.diff).toBeUndefined();
  });
  it('removes the block with state: absent', () => {
    const c = bif.plan({ path: P, state: 'absent' }, undefined, st(`a\n${BLOCK}b\n`), ctx());
    expect(c[0]!.summary).toBe(`${P}: Block removed`);
    expect(c[0]!.diff).toContain('-x=1');
  });
  it('a missing file: created with create, else a failure the apply reports (also for state: absent, as Ansible)', () => {
    const created = bif.plan({ path: P, block: 'x=1', create: true }, undefined, st(undefined), ctx());
    expect(created).toHaveLength(1);
    expect(created[0]!.summary).toBe(`create file ${P}: File created`);
    expect(created[0]!.op).toMatchObject({ kind: 'write', expect: 'absent' });
    for (const p of [
      { path: P, block: 'x' },
      { path: P, state: 'absent' as const },
    ]) {
      const c = bif.plan(p, undefined, st(undefined), ctx({ check: true }));
      expect(c[0]).toMatchObject({ unpredictable: true, op: { kind: 'fail-missing' } });
      expect(bif.apply(p, undefined, st(undefined), [c[0]!.op], ctx())).toContain('does not exist !');
    }
  });
  it('keeps every byte of a file that is not UTF-8, as Ansible (bytes)', () => {
    const latin = Buffer.from('caf\xe9\n', 'latin1');
    const r = blockinfileEdit(latin, { block: 'x' });
    expect(r.content.subarray(0, 5)).toEqual(latin);
  });
  it('refuses what it cannot mean exactly, before any host is contacted', () => {
    expect(() => blockinfileCheck({ insertafter: 'a', insertbefore: 'b' })).toThrow(/mutually exclusive/);
    expect(() => blockinfileCheck({ insertafter: '(?(1)a|b)' })).toThrow(
      /insertafter is not a valid Python regular expression Kiln can translate/,
    );
    expect(() => blockinfileCheck({ insertbefore: 'a(?m)b' })).toThrow(/only at the start/);
    expect(() =>
      bif.bind({ path: P, insertafter: '(' }, { ...ctx(), readFile: () => Buffer.alloc(0), renderTemplate: () => '', sensitive: false }),
    ).toThrow(/missing \)/);
  });
  it('refuses a directory and a file too big to read whole', () => {
    expect(() =>
      bif.plan({ path: P }, undefined, bif.parse(probeOut(P, undefined, 'exists=1\ntype=directory\n'), { path: P }, undefined), ctx()),
    ).toThrow(/is a directory/);
    expect(() => bif.plan({ path: P }, undefined, bif.parse(probeOut(P, '', 'too_big=1\n'), { path: P }, undefined), ctx())).toThrow(
      /larger than/,
    );
  });
});

describe('blockinfile apply on a temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bif-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('writes exactly the planned content, keeps the mode, makes a backup, validates; a stale plan is refused', () => {
    const path = join(dir, 'f.conf');
    writeFileSync(path, 'a\n', { mode: 0o600 });
    const p: BlockinfileParams = { path, block: 'x=1', backup: true, validate: 'grep -q x=1 %s' };
    const probe = bif.probe(p, undefined, ctx());
    expect(shSyntax(probe)).toBe('');
    const s = bif.parse(runProbe(probe), p, undefined);
    const ops = bif.plan(p, undefined, s, ctx()).map((c) => c.op);
    const script = bif.apply(p, undefined, s, ops, ctx());
    expect(shSyntax(script)).toBe('');
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(readFileSync(path, 'utf8')).toBe(`a\n${BLOCK}`);
    const backups = readdirSync(dir).filter((f) => /^f\.conf\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/.test(f));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe('a\n');
    expect(bif.interpret!(p, undefined, { stdout: r.stdout, stderr: '', code: 0 }, ctx())).toEqual({
      result: { backup_file: join(dir, backups[0]!) },
    });
    const s2 = bif.parse(runProbe(probe), p, undefined);
    expect(s2.stat.mode).toBe('0600');
    expect(bif.plan(p, undefined, s2, ctx())).toEqual([]);
    const again = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(again.status).toBe(3);
    expect(again.stderr).toMatch(/changed since it was read/);
  });
  it('creates a missing file and its directory with create', () => {
    const path = join(dir, 'sub', 'new.conf');
    const p: BlockinfileParams = { path, block: 'x=1', create: true };
    const s = bif.parse(runProbe(bif.probe(p, undefined, ctx())), p, undefined);
    const c = bif.plan(p, undefined, s, ctx());
    expect(c[0]!.summary).toContain('(its directory does not exist yet)');
    const r = spawnSync('sh', [], {
      input: `${PRELUDE}\n${bif.apply(
        p,
        undefined,
        s,
        c.map((x) => x.op),
        ctx(),
      )}\n`,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(readFileSync(path, 'utf8')).toBe(BLOCK);
  });
});
