import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fetchModule, { type FetchParams, localPath } from '../../../../src/modules/inspect/fetch.ts';
import type { ModuleContext, PrepareContext } from '../../../../src/modules/contract.ts';
import { validatorFor } from '../../../../src/plan/schema.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { oracle, oracleArgs, oracleResult, oracleTree } from './oracle.ts';

const pctx = (c: ModuleContext): PrepareContext => ({
  ...c,
  readFile: () => Buffer.alloc(0),
  renderTemplate: () => '',
  sensitive: false,
});

/** One fetch as the engine drives it (probe → parse → plan → controllerApply → verify), on host `localhost`. */
function run(p: FetchParams, check = false) {
  const c = ctx({ host: 'localhost', check });
  const prep = fetchModule.prepare!(p, pctx(c));
  const s = fetchModule.parse(runProbe(fetchModule.probe(p, prep, c)), p, prep);
  const planned = fetchModule.plan(p, prep, s, c);
  const registered = fetchModule.registerData!(p, prep, s);
  let problems: string[] = [];
  if (!check && planned.length) {
    fetchModule.controllerApply!(
      p,
      prep,
      s,
      planned.map((x) => x.op),
      c,
    );
    const again = fetchModule.parse(runProbe(fetchModule.probe(p, prep, c)), p, prep);
    problems = fetchModule.verify!(p, prep, again, c);
  }
  return { prep, s, planned, registered, problems, changed: planned.length > 0 };
}

const expectOracle = (name: string, dir: string) => {
  const c = oracle[name]!;
  const r = run(oracleArgs(c, dir) as FetchParams);
  const { changed, ...want } = oracleResult(c, dir);
  expect(r.changed, name).toBe(changed);
  expect(r.registered, name).toEqual(want);
  expect(r.problems, name).toEqual([]);
  return r;
};

describe('fetch', () => {
  let dir: string;
  beforeAll(() => {
    dir = oracleTree();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("saves dest/<host>/<src>, then changes nothing: Ansible's results", () => {
    const r = expectOracle('fetch new', dir);
    expect(r.planned[0]!.summary).toContain(`create ${dir}/fetched/localhost${dir}/f on the controller`);
    expect(readFileSync(join(dir, 'fetched/localhost', dir, 'f'), 'utf8')).toBe('hello\n');
    const again = expectOracle('fetch again', dir);
    expect(again.s).toEqual({ kind: 'file', sha1: 'f572d396fae9206628714fb2ce00f72e94f2258f', content: undefined });
  });

  it("flat with a trailing slash: dest/ + basename; Ansible's result", () => {
    expectOracle('fetch flat', dir);
    expect(readFileSync(join(dir, 'flat/one.txt'), 'utf8')).toBe('a\n');
    expect(readdirSync(join(dir, 'flat'))).toEqual(['one.txt']);
  });

  it('missing and directory sources: ignored with fail_on_missing: false, failures otherwise', () => {
    expectOracle('fetch missing fail_on_missing=false', dir);
    expectOracle('fetch dir fail_on_missing=false', dir);
    expect(() => run(oracleArgs(oracle['fetch missing']!, dir) as FetchParams)).toThrow(
      oracleResult(oracle['fetch missing']!, dir).msg as string,
    );
  });

  it('--check predicts the write with a diff of the local copy against the host, and writes nothing', () => {
    const src = join(dir, 'conf');
    writeFileSync(src, 'a=1\nb=2\n');
    const p = { src, dest: join(dir, 'out'), flat: true };
    run(p);
    writeFileSync(src, 'a=1\nb=3\n');
    const r = run(p, true);
    expect(r.planned.map((x) => x.summary)).toEqual([`update ${dir}/out on the controller from localhost:${src} (8 bytes)`]);
    expect(r.planned[0]!.diff).toContain('-b=2');
    expect(r.planned[0]!.diff).toContain('+b=3');
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('a=1\nb=2\n');
    expect(run(p).problems).toEqual([]);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('a=1\nb=3\n');
    expect(run(p).changed).toBe(false);
  });

  it('a checksum mismatch leaves the local copy alone and fails verification', () => {
    const src = join(dir, 'conf2');
    writeFileSync(src, 'x\n');
    const p = { src, dest: join(dir, 'out2'), flat: true };
    const c = ctx({ host: 'localhost' });
    const prep = fetchModule.prepare!(p, pctx(c));
    const s = fetchModule.parse(runProbe(fetchModule.probe(p, prep, c)), p, prep);
    fetchModule.controllerApply!(p, prep, s, [{ kind: 'write', content: Buffer.from('tampered\n'), sha1: 'f'.repeat(40) }], c);
    expect(existsSync(join(dir, 'out2'))).toBe(false);
    expect(fetchModule.verify!(p, prep, s, c)[0]).toContain('checksum mismatch');
  });

  it("local paths: Ansible's layout; a flat dest that is a directory and a src leaving dest/<host> are refused", () => {
    const isDir = (x: string) => x === '/backup';
    expect(localPath({ src: '/etc/hosts', dest: '/backup' }, 'web1', isDir)).toBe('/backup/web1/etc/hosts');
    expect(localPath({ src: 'rel/x', dest: '/backup/' }, 'web1', isDir)).toBe('/backup/web1/rel/x');
    expect(localPath({ src: '/etc/hosts', dest: '/backup/', flat: true }, 'web1', isDir)).toBe('/backup/hosts');
    expect(localPath({ src: '/etc/hosts', dest: '/b/h.txt', flat: true }, 'web1', isDir)).toBe('/b/h.txt');
    expect(() => localPath({ src: '/etc/hosts', dest: '/backup', flat: true }, 'web1', isDir)).toThrow('use a trailing slash');
    expect(() => localPath({ src: '../../../etc/passwd', dest: '/backup' }, 'web1', isDir)).toThrow('directory traversal');
  });

  it('schema: absolute dest, no ~ src; probe parses as sh', () => {
    const v = validatorFor(fetchModule.schema);
    expect(v({ src: '/etc/hosts', dest: '/tmp/x' })).toBe(true);
    expect(v({ src: '/etc/hosts', dest: 'fetched' })).toBe(false);
    expect(v({ src: '~/x', dest: '/tmp/x' })).toBe(false);
    mkdirSync(join(dir, 'syn'), { recursive: true });
    const p = { src: "/it's", dest: join(dir, 'syn') };
    expect(shSyntax(fetchModule.probe(p, fetchModule.prepare!(p, pctx(ctx())), ctx()))).toBe('');
  });
});
