import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import find, { type FindParams, normpath } from '../../../../src/modules/inspect/find.ts';
import { validatorFor } from '../../../../src/plan/schema.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { oracle, oracleResult, oracleTree, pyType } from './oracle.ts';

const VOLATILE = new Set(['atime', 'mtime', 'ctime', 'inode', 'dev']);
const IDENTITY = new Set(['uid', 'gid', 'pw_name', 'gr_name']);

/** An oracle case's args as find's params (lists split on commas, as Ansible's list type). */
function args(a: string, dir: string): FindParams {
  const out: Record<string, unknown> = {};
  for (const kv of a.split(' ')) {
    const i = kv.indexOf('=');
    const k = kv.slice(0, i);
    const v = kv.slice(i + 1).replaceAll('@DIR@', dir);
    out[k] = ['paths', 'patterns', 'excludes'].includes(k)
      ? v.split(',')
      : v === 'true'
        ? true
        : v === 'false'
          ? false
          : k === 'depth'
            ? Number(v)
            : v;
  }
  return out as FindParams;
}

function registered(p: FindParams) {
  const prep = find.prepare!(p, { ...ctx(), readFile: () => Buffer.alloc(0), renderTemplate: () => '', sensitive: false });
  const out = runProbe(find.probe(p, prep, ctx()));
  const s = find.parse(out, p, prep);
  expect(find.plan(p, prep, s, ctx())).toEqual([]);
  return find.registerData!(p, prep, s);
}

const byPath = (fs: Record<string, unknown>[]) => [...fs].sort((a, b) => String(a.path).localeCompare(String(b.path)));

describe('find', () => {
  let dir: string;
  beforeAll(() => {
    dir = oracleTree();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases = Object.entries(oracle).filter(([, c]) => c.module === 'find');
  it.each(cases)("%s: Ansible's result (files compared key by key, type by type)", (_name, c) => {
    const ours = registered(args(c.args, dir));
    const theirs = oracleResult(c, dir);
    for (const k of ['matched', 'examined', 'msg', 'skipped_paths']) expect(ours[k], k).toEqual(theirs[k]);
    const of = byPath(ours.files as Record<string, unknown>[]);
    const tf = byPath(theirs.files as Record<string, unknown>[]);
    expect(of.map((f) => f.path)).toEqual(tf.map((f) => f.path));
    const root = process.getuid?.() === 0;
    tf.forEach((t, i) => {
      const o = of[i]!;
      expect(Object.keys(o).sort(), String(t.path)).toEqual(Object.keys(t).sort());
      for (const [k, v] of Object.entries(t)) {
        expect(pyType(o[k]), `${t.path}: ${k}`).toBe(pyType(v));
        if (!VOLATILE.has(k) && (root || !IDENTITY.has(k))) expect(o[k], `${t.path}: ${k}`).toEqual(v);
      }
    });
  });

  it("lists in os.walk's order: a directory's files, then its subdirectories' entries", () => {
    const files = registered({ paths: [join(dir, 'd')], recurse: true, file_type: 'any' }).files as { path: string }[];
    const paths = files.map((f) => f.path);
    expect(paths.indexOf(join(dir, 'd/sub/three.txt'))).toBeGreaterThan(paths.indexOf(join(dir, 'd/sub')));
    expect(paths.indexOf(join(dir, 'd/sub'))).toBeGreaterThan(paths.indexOf(join(dir, 'd/one.txt')));
  });

  it('normpath is Python os.path.normpath', () => {
    expect(normpath('/a//b/./c/../d/')).toBe('/a/b/d');
    expect(normpath('//a')).toBe('//a');
    expect(normpath('a/../..')).toBe('..');
  });

  it('refuses bad age, size and regular expressions with a located reason; the probe parses as sh', () => {
    const v = validatorFor(find.schema);
    expect(v({ paths: ['/x'], age: '2d' })).toBe(true);
    expect(v({ paths: ['/x'], age: '2y' })).toBe(false);
    expect(v({ paths: ['/x'], size: '10q' })).toBe(false);
    expect(v({ paths: ['/x'], contains: '(' })).toBe(false);
    const pc = { ...ctx(), readFile: () => Buffer.alloc(0), renderTemplate: () => '', sensitive: false };
    expect(() => find.prepare!({ paths: ['/x'], use_regex: true, patterns: ['('] }, pc)).toThrow('not a Python regular expression');
    expect(
      shSyntax(
        find.probe(
          { paths: ["/it's", '~/x'], recurse: true, depth: 2, follow: true, contains: 'a' },
          find.prepare!({ paths: ['/x'] }, pc),
          ctx(),
        ),
      ),
    ).toBe('');
  });
});

describe('find: contains on a file too large to scan', () => {
  it('lists it in skipped_paths and says not all paths were examined', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-find-big-'));
    writeFileSync(join(dir, 'big.log'), Buffer.alloc(1024 * 1024 + 1, 'a'));
    writeFileSync(join(dir, 'small.log'), 'needle\n');
    const r = registered({ paths: [dir], contains: 'needle' });
    expect((r.files as { path: string }[]).map((f) => f.path)).toEqual([join(dir, 'small.log')]);
    expect(r.skipped_paths).toEqual({ [join(dir, 'big.log')]: expect.stringContaining('not scanned for contains') });
    expect(r.msg).toBe('Not all paths examined, check warnings for details');
    rmSync(dir, { recursive: true, force: true });
  });
});
