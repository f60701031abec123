import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import unarchive, { stripComponents, type UnarchiveParams, unarchivePlan } from '../../../../src/modules/files/unarchive.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
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

  it('remote_src with a URL: the host downloads the archive (also for the comparison)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-unarchive-url-'));
    execFileSync('sh', [join(FIXTURES, 'make-archives.sh'), dir]);
    const archive = readFileSync(join(dir, 'app.tar.gz'));
    const server = createServer((req, res) => {
      if (req.url === '/app.tar.gz') res.end(archive);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const dest = join(dir, 'd');
      mkdirSync(dest);
      const q: UnarchiveParams = { src: `http://127.0.0.1:${port}/app.tar.gz`, dest, remote_src: true, list_files: true };
      const prep = { strip: 0 };
      // The local HTTP server answers while the probe runs: run it without blocking this process.
      const run = (script: string) =>
        new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
          const c = spawn('sh', [], { stdio: ['pipe', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          c.stdout.on('data', (d: Buffer) => {
            stdout += d;
          });
          c.stderr.on('data', (d: Buffer) => {
            stderr += d;
          });
          c.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
          c.stdin.end(`${PRELUDE}\n(\n${script}\n)\n`);
        });
      const s = unarchive.parse(await run(unarchive.probe(q, prep, ctx())), q, prep);
      expect(s.result.files).toEqual(['app/', 'app/bin/', 'app/conf/', 'app/bin/run', 'app/conf/app.conf', 'app/README', 'app/link']);
      expect(s.differences).toHaveLength(7);
      const out = await run(unarchive.apply(q, prep, s, [{ kind: 'extract' }], ctx()));
      expect(unarchive.interpret!(q, prep, out, ctx())).toMatchObject({ changed: true });
      expect(readFileSync(join(dest, 'app/conf/app.conf'), 'utf8')).toBe('port=8080\n');
      const missing = { ...q, src: `http://127.0.0.1:${port}/nope.tar.gz` };
      const res = await run(unarchive.probe(missing, prep, ctx()));
      expect(() => unarchive.parse(res, missing, prep)).toThrow(/Failure downloading/);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
