import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import getent, { type GetentParams, getentFacts } from '../../../../src/modules/inspect/getent.ts';
import slurp, { type SlurpParams } from '../../../../src/modules/inspect/slurp.ts';
import { validatorFor } from '../../../../src/plan/schema.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { oracle, oracleArgs, oracleResult, oracleTree } from './oracle.ts';

const slurped = (p: SlurpParams) =>
  slurp.registerData!(p, undefined, slurp.parse(runProbe(slurp.probe(p, undefined, ctx())), p, undefined));
const looked = (p: GetentParams) =>
  getent.registerData!(p, undefined, getent.parse(runProbe(getent.probe(p, undefined, ctx())), p, undefined));
const withoutChanged = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'changed'));

describe('slurp', () => {
  let dir: string;
  beforeAll(() => {
    dir = oracleTree();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("Ansible's result (content base64, source, encoding)", () => {
    const c = oracle['slurp file']!;
    expect(slurped(oracleArgs(c, dir) as SlurpParams)).toEqual(withoutChanged(oracleResult(c, dir)));
  });
  it("fails with Ansible's messages", () => {
    expect(() => slurped({ src: join(dir, 'missing') })).toThrow(`file not found: ${join(dir, 'missing')}`);
    expect(() => slurped({ src: join(dir, 'd') })).toThrow(`source is a directory and must be a file: ${join(dir, 'd')}`);
    if (process.getuid?.() !== 0) {
      chmodSync(join(dir, 'x'), 0o000);
      expect(() => slurped({ src: join(dir, 'x') })).toThrow('file is not readable');
    }
  });
  it('binary content round-trips; plans nothing', () => {
    const p = { src: '/bin/sh' };
    const s = slurp.parse(runProbe(slurp.probe(p, undefined, ctx())), p, undefined);
    expect(Buffer.from(s.content, 'base64').subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(slurp.plan(p, undefined, s, ctx())).toEqual([]);
    expect(shSyntax(slurp.probe({ src: "~/it's" }, undefined, ctx()))).toBe('');
  });
});

describe('getent', () => {
  const cases = Object.entries(oracle).filter(([, c]) => c.module === 'getent');
  // The oracle ran on a Debian host whose root shell is /bin/bash and whose /etc/hosts maps
  // localhost to 127.0.0.1: where the test host differs (a container), those values are compared by type.
  const local = (name: string) => name.includes('hosts') || name.startsWith('getent passwd root');
  it.each(cases)("%s: Ansible's ansible_facts", (name, c) => {
    const ours = looked(oracleArgs(c, '') as GetentParams);
    const theirs = withoutChanged(oracleResult(c, ''));
    if (!local(name)) return expect(ours).toEqual(theirs);
    const db = Object.keys(theirs.ansible_facts as object)[0]!;
    const tree = (r: Record<string, unknown>) => (r.ansible_facts as Record<string, Record<string, unknown>>)[db]!;
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect(Object.keys(tree(ours))).toHaveLength(Object.keys(tree(theirs)).length);
    for (const v of Object.values(tree(ours))) expect(v).toEqual(expect.arrayContaining([expect.any(String)]));
    if (name === 'getent passwd root') {
      const row = (r: Record<string, unknown>) =>
        ((r.ansible_facts as Record<string, Record<string, string[]>>).getent_passwd!.root ?? []).slice(0, 5);
      expect(row(ours)).toEqual(row(theirs));
    }
  });
  it("a missing key fails (Ansible's message) unless fail_key: false", () => {
    expect(() => looked({ database: 'passwd', key: 'kiln-no-such-user' })).toThrow(
      'One or more supplied key could not be found in the database.',
    );
    expect(() => looked({ database: 'kiln-no-such-db' })).toThrow('Missing arguments, or database unknown.');
  });
  it('enumerates a whole database; a key seen twice holds a list of records', () => {
    const all = looked({ database: 'passwd' }).ansible_facts as Record<string, Record<string, unknown>>;
    expect(all.getent_passwd!.root).toEqual(expect.arrayContaining(['0', '/root']));
    expect(getentFacts('a b\na c\na d\nb\n', 'hosts', undefined)).toEqual({ a: [['b'], ['c'], ['d']], b: [] });
    expect(getentFacts('x::1:\n', 'group', undefined)).toEqual({ x: ['', '1', ''] });
    expect(getentFacts('x;1\n', 'group', ';')).toEqual({ x: ['1'] });
  });
  it('the service option is passed as -s; plans nothing; schema', () => {
    expect(looked({ database: 'passwd', key: 'root', service: 'files' })).toMatchObject({
      ansible_facts: { getent_passwd: { root: expect.any(Array) } },
    });
    const p = { database: 'passwd', key: 'root' };
    expect(getent.plan(p, undefined, getent.parse(runProbe(getent.probe(p, undefined, ctx())), p, undefined), ctx())).toEqual([]);
    const v = validatorFor(getent.schema);
    expect(v({ database: 'passwd; rm -rf /' })).toBe(false);
    expect(v({ database: 'passwd', split: '' })).toBe(false);
    expect(shSyntax(getent.probe({ database: 'passwd', key: "it's", service: 'files' }, undefined, ctx()))).toBe('');
  });
});

describe('secrets never reach a remote argv', () => {
  it('a secret path, key or database is refused before any probe is built', async () => {
    const { Secret } = await import('../../../../src/core/secret/secret.ts');
    const { default: stat } = await import('../../../../src/modules/inspect/stat.ts');
    const pc = { ...ctx(), readFile: () => Buffer.alloc(0), renderTemplate: () => '', sensitive: false };
    const s = new Secret('hunter2', 'test', false) as unknown as string;
    expect(() => stat.prepare!({ path: s }, pc)).toThrow('path');
    expect(() => slurp.prepare!({ src: s }, pc)).toThrow('src');
    expect(() => getent.prepare!({ database: 'passwd', key: s }, pc)).toThrow('key');
  });
});
