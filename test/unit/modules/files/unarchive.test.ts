import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import unarchive, { stripComponents, type UnarchiveParams, unarchivePlan } from '../../../../src/modules/files/unarchive.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/ansible/unarchive');

describe('unarchive plan', () => {
  const p: UnarchiveParams = { src: 'app.tar.gz', dest: '/opt/app' };

  it('nothing differs: nothing to do; creates: nothing to do', () => {
    expect(unarchivePlan(p, { differences: [], result: {} })).toEqual([]);
    expect(unarchivePlan(p, { skip: 'skipped, since /x exists', differences: ['a: missing'], result: {} })).toEqual([]);
  });

  it('members that differ: one unpack, listing them', () => {
    const [c, ...rest] = unarchivePlan(p, { differences: ['app/: missing', 'app/README: contents differ'], result: {} });
    expect(rest).toEqual([]);
    expect(c!.summary).toBe('unpack app.tar.gz into /opt/app: 2 members differ (app/: missing; app/README: contents differ)');
    expect(c!.diff).toContain('~ app/README: contents differ');
    expect(c!.op).toEqual({ kind: 'extract' });
  });

  it('extra_opts: only --strip-components', () => {
    expect(stripComponents(undefined)).toBe(0);
    expect(stripComponents(['--strip-components=2'])).toBe(2);
    expect(stripComponents(['--strip-components', '1'])).toBe(1);
    expect(() => stripComponents(['--no-same-owner'])).toThrow('only --strip-components=N is supported');
  });

  it("registers Ansible's skip when creates exists", () => {
    expect(unarchive.registerData!(p, { strip: 0 }, { skip: 'skipped, since /x exists', differences: [], result: {} })).toEqual({
      skipped: true,
      msg: 'skipped, since /x exists',
    });
  });

  it('the probe compares members with dest (read-only), then the apply makes them equal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-unarchive-unit-'));
    try {
      execFileSync('sh', [join(FIXTURES, 'make-archives.sh'), dir]);
      const dest = join(dir, 'd');
      mkdirSync(dest);
      for (const src of ['app.tar.gz', 'app.zip']) {
        const q: UnarchiveParams = { src: join(dir, src), dest, remote_src: true, exclude: ['app/bin/*'] };
        const prep = { strip: 0 };
        const probe = unarchive.probe(q, prep, ctx());
        expect(shSyntax(probe)).toBe('');
        const s = unarchive.parse(runProbe(probe), q, prep);
        const planned = unarchivePlan(q, s);
        if (src === 'app.tar.gz') {
          expect(s.differences).toEqual([
            'app/: missing',
            'app/conf/: missing',
            'app/conf/app.conf: missing',
            'app/README: missing',
            'app/link: missing',
          ]);
          expect(planned).toHaveLength(1);
          const out = runProbe(unarchive.apply(q, prep, s, [{ kind: 'extract' }], ctx()));
          expect(unarchive.interpret!(q, prep, out, ctx())).toMatchObject({ changed: true });
        }
        // the zip holds the same members (no link): nothing differs but the link the tar made stays
        const again = unarchive.parse(runProbe(unarchive.probe(q, prep, ctx())), q, prep);
        expect(again.differences).toEqual([]);
        expect(again.result).toMatchObject({ dest, handler: src === 'app.zip' ? 'ZipArchive' : 'TgzArchive', state: 'directory' });
      }
      expect(readFileSync(join(dest, 'app/README'), 'utf8')).toBe('hello\n');
      writeFileSync(join(dest, 'app/README'), 'HELLO\n');
      const q: UnarchiveParams = { src: join(dir, 'app.tar.gz'), dest, remote_src: true, exclude: ['app/bin/*'] };
      const s = unarchive.parse(runProbe(unarchive.probe(q, { strip: 0 }, ctx())), q, { strip: 0 });
      expect(s.differences).toEqual(['app/README: contents differ']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
