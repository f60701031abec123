import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import copy, { type CopyParams } from '../../../../src/modules/files/copy.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const pctx = { ...ctx(), readFile: () => Buffer.from('controller'), renderTemplate: () => '', sensitive: false };
const prep = { remote: true as const };
const out = (kv: string) => ({ stdout: kv, stderr: '', code: 0 });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('copy remote_src plan', () => {
  const p: CopyParams = { src: '/tmp/x/bin', dest: '/usr/local/bin/app', remote_src: true, mode: '0755' };
  const parse = (kv: string) => copy.parse(out(`dest_b64=${b64('/usr/local/bin/app')}\n${kv}parent=1\n`), p, prep);
  it('the same checksum (and attributes) → []', () => {
    const s = parse('src_type=file\nsrc_sha256=aa\nexists=1\ntype=file\nmode=0755\nowner=root\ngroup=root\nsha256=aa\n');
    expect(copy.plan(p, prep, s, ctx())).toEqual([]);
  });
  it('a different checksum: a copy checked against the planned checksum, with a diff of small text files', () => {
    const s = parse(
      `src_type=file\nsrc_sha256=bb\nsrc_b64=${b64('new\n')}\nexists=1\ntype=file\nmode=0700\nowner=root\ngroup=root\nsha256=aa\ncontent_b64=${b64('old\n')}\n`,
    );
    const c = copy.plan(p, prep, s, ctx());
    expect(c.map((x) => x.summary)).toEqual([
      'update content of /usr/local/bin/app from /tmp/x/bin (on the host)',
      'mode of /usr/local/bin/app: 0700 → 0755',
    ]);
    expect(c[0]!.op).toEqual({ kind: 'copy', sha256: 'bb', over: 'file' });
    expect(c[0]!.diff).toContain('-old\n+new');
  });
  it('a source missing when probed: an unpredictable copy (an earlier task creates it); a directory source is refused', () => {
    const c = copy.plan(p, prep, parse('src_type=none\nexists=0\n'), ctx({ check: true }));
    expect(c[0]).toMatchObject({ unpredictable: true, op: { kind: 'copy', over: 'nothing' } });
    expect(c[0]!.summary).toContain('does not exist yet');
    expect(() => copy.plan(p, prep, parse('src_type=directory\nexists=0\n'), ctx())).toThrow(/is a directory/);
  });
  it('force: false leaves an existing dest alone', () => {
    const s = parse('src_type=file\nsrc_sha256=bb\nexists=1\ntype=file\nmode=0755\nowner=root\ngroup=root\nsha256=aa\n');
    expect(copy.plan({ ...p, force: false }, prep, s, ctx())).toEqual([]);
  });
  it('prepare: src must be an absolute path on the host; the controller file is never read', () => {
    expect(() => copy.bind({ dest: '/x', src: 'rel', remote_src: true }, pctx)).toThrow(/absolute path on the host/);
    expect(copy.bind({ dest: '/x', src: '/abs', remote_src: true }, pctx).probe(ctx())).toContain("src='/abs'");
  });
});

describe('copy remote_src apply on temp files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-remote-src-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (script: string) => spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
  it('copies into a directory dest under the basename, keeps the source times, then plans nothing; a changed source is refused', () => {
    const src = join(dir, 'src.bin');
    writeFileSync(src, 'v1\n');
    mkdirSync(join(dir, 'bin'));
    const p: CopyParams = { src, dest: join(dir, 'bin'), remote_src: true };
    const probe = copy.probe(p, prep, ctx());
    expect(shSyntax(probe)).toBe('');
    const s = copy.parse(runProbe(probe), p, prep);
    const c = copy.plan(p, prep, s, ctx());
    expect(c.map((x) => x.summary)).toEqual([`create file ${join(dir, 'bin', 'src.bin')} as a copy of ${src} (on the host)`]);
    const script = copy.apply(
      p,
      prep,
      s,
      c.map((x) => x.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    const r = run(script);
    expect(r.stderr).toBe('');
    const dest = join(dir, 'bin', 'src.bin');
    expect(readFileSync(dest, 'utf8')).toBe('v1\n');
    expect((statSync(dest).mode & 0o777).toString(8)).toBe('644');
    expect(statSync(dest).mtimeMs).toBe(statSync(src).mtimeMs);
    expect(copy.plan(p, prep, copy.parse(runProbe(probe), p, prep), ctx())).toEqual([]);
    // Planned from v1; the source changed since: refused, dest untouched.
    writeFileSync(src, 'v2\n');
    writeFileSync(dest, 'old\n');
    const s2 = copy.parse(runProbe(probe), p, prep);
    writeFileSync(src, 'v3\n');
    const r2 = run(
      copy.apply(
        p,
        prep,
        s2,
        copy.plan(p, prep, s2, ctx()).map((x) => x.op),
        ctx(),
      ),
    );
    expect(r2.status).toBe(3);
    expect(r2.stderr).toMatch(/changed since it was read/);
    expect(readFileSync(dest, 'utf8')).toBe('old\n');
  });
  it("a source still missing at apply fails with Ansible's message", () => {
    const p: CopyParams = { src: join(dir, 'nope'), dest: join(dir, 'out'), remote_src: true };
    const s = copy.parse(runProbe(copy.probe(p, prep, ctx())), p, prep);
    const r = run(
      copy.apply(
        p,
        prep,
        s,
        copy.plan(p, prep, s, ctx()).map((x) => x.op),
        ctx(),
      ),
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`Source ${join(dir, 'nope')} not found`);
  });
});
