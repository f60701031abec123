import { spawnSync } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import stat, { type StatParams } from '../../../../src/modules/inspect/stat.ts';
import { statResult } from '../../../../src/modules/inspect/statinfo.ts';
import { validatorFor } from '../../../../src/plan/schema.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { oracle, oracleArgs, oracleResult, oracleTree, pyType } from './oracle.ts';

/**
 * Keys whose values depend on when and where the tree was made (compared by type only): times,
 * inode numbers, and what the file system (lsattr's flags, block sizes) and the host's tools
 * (`file` missing: 'unknown') say. The oracle's values for those are checked below where this host
 * has the same tools and file system kind.
 */
const VOLATILE = new Set([
  'atime',
  'mtime',
  'ctime',
  'inode',
  'dev',
  'version',
  'attributes',
  'attr_flags',
  'blocks',
  'block_size',
  'mimetype',
  'charset',
]);
/** Keys that depend on who runs the test (the oracle ran as root). */
const IDENTITY = new Set(['uid', 'gid', 'pw_name', 'gr_name', 'readable', 'writeable', 'executable']);

const registered = (p: StatParams) => {
  const out = runProbe(stat.probe(p, undefined, ctx()));
  return stat.registerData!(p, undefined, stat.parse(out, p, undefined));
};

describe('stat', () => {
  let dir: string;
  beforeAll(() => {
    dir = oracleTree();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases = Object.entries(oracle).filter(([, c]) => c.module === 'stat');
  it.each(cases)("%s: Ansible's result, key by key and type by type", (_name, c) => {
    const p = oracleArgs(c, dir) as StatParams;
    const ours = registered(p).stat as Record<string, unknown>;
    const theirs = oracleResult(c, dir).stat as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    const root = process.getuid?.() === 0;
    for (const [k, v] of Object.entries(theirs)) {
      expect(pyType(ours[k]), k).toBe(pyType(v));
      if (!VOLATILE.has(k) && (root || !IDENTITY.has(k))) expect(ours[k], k).toEqual(v);
    }
  });

  it('mimetype and charset from file(1), attributes from lsattr, where this host has them', () => {
    const r = registered({ path: join(dir, 'f') }).stat as Record<string, unknown>;
    const hasFile = spawnSync('sh', ['-c', 'command -v file']).status === 0;
    expect(r.mimetype).toBe(hasFile ? 'text/plain' : 'unknown');
    expect(r.charset).toBe(hasFile ? 'us-ascii' : 'unknown');
    const lsattr = spawnSync('lsattr', ['-vd', join(dir, 'f')], { encoding: 'utf8' });
    if (lsattr.status === 0) expect(r.attr_flags).toBe(lsattr.stdout.split(/\s+/)[1]!.replace(/-/g, ''));
    else expect(r).toMatchObject({ version: null, attributes: [], attr_flags: '' });
  });

  it('plans nothing: it never changes the host', () => {
    const p = { path: join(dir, 'f') };
    const s = stat.parse(runProbe(stat.probe(p, undefined, ctx())), p, undefined);
    expect(stat.plan(p, undefined, s, ctx())).toEqual([]);
    expect(stat.plan(p, undefined, s, ctx({ check: true }))).toEqual([]);
    expect(stat.apply(p, undefined, s, [], ctx())).toBe('');
  });

  it('a dangling symlink: exists (lstat), missing when followed', () => {
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    const lnk = registered({ path: join(dir, 'dangling') }).stat as Record<string, unknown>;
    expect(lnk).toMatchObject({ exists: true, islnk: true, lnk_target: join(dir, 'nowhere'), lnk_source: join(dir, 'nowhere') });
    expect(lnk.checksum).toBeUndefined();
    expect(registered({ path: join(dir, 'dangling'), follow: true })).toEqual({ stat: { exists: false } });
  });

  it('~ is the home of the connecting user, reported expanded', () => {
    const s = registered({ path: '~', get_mime: false, get_attributes: false }).stat as Record<string, unknown>;
    expect(s.path).toBe(process.env.HOME);
    expect(s.isdir).toBe(true);
  });

  it('checksums with each algorithm, as Ansible (sha1 by default)', () => {
    const f = join(dir, 'f');
    expect((registered({ path: f }).stat as Record<string, unknown>).checksum).toBe('f572d396fae9206628714fb2ce00f72e94f2258f');
    expect((registered({ path: f, checksum_algorithm: 'md5' }).stat as Record<string, unknown>).checksum).toBe(
      'b1946ac92492d2347c6235b4d2611184',
    );
  });

  it('parses what the probe prints: device numbers, whole timestamps as floats, no name for an unknown id', () => {
    const s = statResult(
      {
        exists: '1',
        st: '21b6|4242|4242|0|5|6|1|0|4096|1|3|1700000000.000000000|1700000000.500000000|1700000000.000000000|UNKNOWN|UNKNOWN',
      },
      '/dev/x',
      { follow: false, mime: false, attributes: false },
    );
    expect(s).toMatchObject({ ischr: true, mode: '0666', device_type: 259, uid: 4242, mtime: 1700000000.5 });
    expect(pyType(s.atime)).toBe('float');
    expect(s.pw_name).toBeUndefined();
    expect(s.gr_name).toBeUndefined();
  });

  it('an error other than a missing path fails the task with the error', () => {
    expect(() =>
      statResult({ error_b64: Buffer.from("stat: cannot statx '/x': Permission denied").toString('base64') }, '/x', {
        follow: false,
        mime: false,
        attributes: false,
      }),
    ).toThrow('Permission denied');
  });

  it('probe parses as POSIX sh; schema refuses $VARS, ~user and bad algorithms', () => {
    expect(shSyntax(stat.probe({ path: "/a b/'c'" }, undefined, ctx()))).toBe('');
    const v = validatorFor(stat.schema);
    expect(v({ path: '/etc/hosts' })).toBe(true);
    expect(v({ path: '$HOME/x' })).toBe(false);
    expect(v({ path: '~bob/x' })).toBe(false);
    expect(v({ path: '/x', checksum_algorithm: 'crc32' })).toBe(false);
  });
});
