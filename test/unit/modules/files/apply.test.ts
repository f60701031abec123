/**
 * file and copy/template apply scripts, run for real with sh in a temp directory: probe, plan,
 * apply, probe again → converged (the same loop the engine runs), and the atomic write's
 * guarantees (attributes kept, validation, backup, no temp file left).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModuleDef } from '../../../../src/modules/contract.ts';
import copy from '../../../../src/modules/files/copy.ts';
import file from '../../../../src/modules/files/file.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

function run(script: string) {
  const r = spawnSync('sh', [], { input: `${PRELUDE}\n(\n${script}\n)\n`, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

/** probe → plan → apply → probe → plan: returns the summaries planned and the apply's result. */
function converge<P, S, Op extends { kind: string }, Prep>(m: ModuleDef<P, S, Op, Prep>, p: P, prep: Prep) {
  const c = ctx();
  const state = () => m.parse(runProbe(m.probe(p, prep, c)), p, prep);
  const s = state();
  const planned = m.plan(p, prep, s, c);
  const script = m.apply(
    p,
    prep,
    s,
    planned.map((x) => x.op),
    c,
  );
  expect(shSyntax(script)).toBe('');
  const r = run(script);
  return { summaries: planned.map((x) => x.summary), ...r, after: () => m.plan(p, prep, state(), c).map((x) => x.summary) };
}

const mode = (f: string) => (statSync(f).mode & 0o7777).toString(8).padStart(4, '0');
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.kiln.'));

describe('file apply, run for real', () => {
  it('directory, touch, link (create, retarget, replace a directory), absent: each converges', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-file-'));
    const d = join(dir, 'a/b');
    const mk = converge(file, { path: d, state: 'directory', mode: '0750' }, undefined);
    expect([mk.code, mk.summaries, mk.after()]).toEqual([0, [`create directory ${d} (0750)`], []]);
    expect(mode(d)).toBe('0750');
    const t = join(dir, 't');
    expect(converge(file, { path: t, state: 'touch', mode: '0600' }, undefined).code).toBe(0);
    expect([readFileSync(t, 'utf8'), mode(t)]).toEqual(['', '0600']);
    const chmod = converge(file, { path: t, state: 'file', mode: '0640' }, undefined);
    expect([chmod.summaries, mode(t), chmod.after()]).toEqual([[`mode of ${t}: 0600 → 0640`], '0640', []]);
    const l = join(dir, 'l');
    expect(converge(file, { path: l, state: 'link', src: d }, undefined).code).toBe(0);
    const re = converge(file, { path: l, state: 'link', src: t }, undefined);
    expect([re.code, re.summaries, readlinkSync(l), re.after()]).toEqual([0, [`retarget link ${l}: ${d} → ${t}`], t, []]);
    const over = join(dir, 'over');
    mkdirSync(join(over, 'x'), { recursive: true });
    const rep = converge(file, { path: over, state: 'link', src: t, force: true }, undefined);
    expect([rep.code, lstatSync(over).isSymbolicLink(), rep.after()]).toEqual([0, true, []]);
    const rm = converge(file, { path: join(dir, 'a'), state: 'absent' }, undefined);
    expect([rm.code, existsSync(join(dir, 'a')), rm.after()]).toEqual([0, false, []]);
  });
});

describe('copy apply, run for real', () => {
  const prep = (content: string) => ({ content, sensitive: false });

  it('creates 0644 by default, keeps an existing mode on update, sets only attributes when content matches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-copy-'));
    const dest = join(dir, 'a.conf');
    const p = { dest, content: 'x' };
    const created = converge(copy, p, prep('one\n'));
    expect([created.code, created.summaries, readFileSync(dest, 'utf8'), mode(dest), created.after()]).toEqual([
      0,
      [`create file ${dest}, 4 bytes`],
      'one\n',
      '0644',
      [],
    ]);
    spawnSync('chmod', ['0600', dest]);
    const updated = converge(copy, p, prep('two\n'));
    expect([updated.code, updated.summaries, readFileSync(dest, 'utf8'), mode(dest)]).toEqual([
      0,
      [`update content of ${dest}`],
      'two\n',
      '0600',
    ]);
    const attrs = converge(copy, { ...p, mode: '0640' }, prep('two\n'));
    expect([attrs.code, attrs.summaries, mode(dest), attrs.after()]).toEqual([0, [`mode of ${dest}: 0600 → 0640`], '0640', []]);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a failed validation leaves the file; backup keeps the old one; a directory is never replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-copy-'));
    const dest = join(dir, 'v.conf');
    writeFileSync(dest, 'good\n');
    const bad = converge(copy, { dest, content: 'x', validate: 'grep -q good %s' }, prep('bad\n'));
    expect([bad.code, readFileSync(dest, 'utf8')]).toEqual([3, 'good\n']);
    expect(bad.stderr).toContain('validation failed: grep -q good %s');
    const ok = converge(copy, { dest, content: 'x', validate: 'grep -q good %s', backup: true }, prep('good too\n'));
    expect([ok.code, readFileSync(dest, 'utf8')]).toEqual([0, 'good too\n']);
    expect(readdirSync(dir).filter((f) => /^v\.conf\.\d{14}~$/.test(f)).length).toBe(1);
    mkdirSync(join(dir, 'd'));
    const d = converge(copy, { dest: join(dir, 'd'), content: 'x' }, prep('x\n'));
    expect([d.code, d.summaries]).toEqual([3, [`replace directory ${join(dir, 'd')} with a file`]]);
    expect(d.stderr).toContain('is a directory; refusing to replace it');
    expect(leftovers(dir)).toEqual([]);
  });
});
