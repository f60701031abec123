import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import getUrl, {
  checksumFromFile,
  checksumProblem,
  displayUrl,
  type GetUrlParams,
  type GetUrlState,
  urlFilename,
} from '../../../../src/modules/files/get_url.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, outsideHeredocs, runProbe, shSyntax } from '../helpers.ts';

const SUM = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const URL = 'https://example.org/node_exporter-1.5.0.linux-amd64.tar.gz';
const file = (sha?: string, extra: Partial<GetUrlState['stat']> = {}): GetUrlState => ({
  stat: { exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', size: 10, ...extra },
  digest: sha,
  curl: true,
});
const missing: GetUrlState = { stat: { exists: false }, curl: true };
const sums = (p: GetUrlParams, s: GetUrlState) => getUrl.plan(p, undefined, s, ctx()).map((c) => c.summary);
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs a script locally like the engine does (PRELUDE + script in a subshell). */
function run(script: string) {
  const r = spawnSync('sh', [], { input: `${PRELUDE}\n(\n${script}\n)\n`, encoding: 'utf8', timeout: 30_000 });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

describe('get_url plan', () => {
  const p: GetUrlParams = { url: URL, dest: '/opt/ne/ne.tar.gz', checksum: `sha256:${SUM}` };

  it('downloads a missing file', () => {
    expect(sums(p, missing)).toEqual([`download ${URL} → /opt/ne/ne.tar.gz, sha256 aaaaaaaaaaaa…`]);
    expect(sums({ ...p, mode: '0600', owner: 'root' }, missing)[0]).toContain('(0600 root)');
  });

  it('with a checksum, a present file with the right sum is converged (no download)', () => {
    expect(getUrl.plan(p, undefined, file(SUM), ctx())).toEqual([]);
    // Upper-case hex in the parameter is the same sum.
    expect(getUrl.plan({ ...p, checksum: `sha256:${SUM.toUpperCase()}` }, undefined, file(SUM), ctx())).toEqual([]);
  });

  it('with a checksum, a present file with another sum is downloaded again', () => {
    expect(sums(p, file(OTHER))).toEqual([`download ${URL} → /opt/ne/ne.tar.gz (sha256 on the host bbbbbbbbbbbb… ≠ wanted aaaaaaaaaaaa…)`]);
  });

  it('right sum but wrong attributes: only the attributes change', () => {
    expect(sums({ ...p, mode: '0600', owner: 'prometheus' }, file(SUM))).toEqual([
      'owner of /opt/ne/ne.tar.gz: root → prometheus',
      'mode of /opt/ne/ne.tar.gz: 0644 → 0600',
    ]);
  });

  it('without a checksum: a present file is kept; force downloads (unpredictable)', () => {
    const nc: GetUrlParams = { url: URL, dest: '/tmp/x' };
    expect(sums(nc, missing)).toEqual([`download ${URL} → /tmp/x`]);
    expect(getUrl.plan(nc, undefined, file(), ctx())).toEqual([]);
    const forced = getUrl.plan({ ...nc, force: true }, undefined, file(), ctx());
    expect(forced).toHaveLength(1);
    expect(forced[0]).toMatchObject({ action: true, unpredictable: true });
    // With a checksum, force changes nothing: the sum decides.
    expect(getUrl.plan({ ...p, force: true }, undefined, file(SUM), ctx())).toEqual([]);
  });

  it('refuses a directory as dest, and a bad mode', () => {
    expect(() => getUrl.plan(p, undefined, file(undefined, { type: 'directory' }), ctx())).toThrow(
      /is a directory: get_url's dest must be the path of a file/,
    );
    expect(() => getUrl.plan({ ...p, mode: 5000 as unknown as string }, undefined, missing, ctx())).toThrow(/invalid mode/);
  });

  it('never shows URL credentials in summaries', () => {
    expect(displayUrl('https://user:tok@h.example/x')).toBe('https://h.example/x');
    expect(sums({ url: 'https://user:tok@h.example/x', dest: '/tmp/x' }, missing)[0]).not.toContain('tok');
  });
});

describe('get_url probe and apply (run locally on file:// URLs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-get-url-'));
  const payload = Buffer.from('#!/bin/sh\necho node_exporter 1.5.0\n');
  const src = join(dir, 'payload.bin');
  writeFileSync(src, payload);
  const url = `file://${src}`;

  function converge(p: GetUrlParams) {
    const s = getUrl.parse(runProbe(getUrl.probe(p, undefined, ctx())), p, undefined);
    const changes = getUrl.plan(p, undefined, s, ctx());
    const script = getUrl.apply(
      p,
      undefined,
      s,
      changes.map((x) => x.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    return { s, changes, script, out: run(script) };
  }

  it('probe: stat, sha256 only with a checksum, curl presence', () => {
    const s = getUrl.parse(
      runProbe(getUrl.probe({ url, dest: src, checksum: `sha256:${SUM}` }, undefined, ctx())),
      { url, dest: src },
      undefined,
    );
    expect(s.stat).toMatchObject({ exists: true, type: 'file' });
    expect(s.digest).toBe(sha(payload));
    expect(
      getUrl.parse(runProbe(getUrl.probe({ url, dest: src }, undefined, ctx())), { url, dest: src }, undefined).digest,
    ).toBeUndefined();
  });

  it('right checksum: downloaded into place with its mode; then converged', () => {
    const dest = join(dir, 'ok.bin');
    const p: GetUrlParams = { url, dest, checksum: `sha256:${sha(payload)}`, mode: '0755' };
    const first = converge(p);
    expect(first.out.code, first.out.stderr).toBe(0);
    expect(getUrl.interpret!(p, undefined, first.out, ctx())).toEqual({ changed: true });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect((statSync(dest).mode & 0o777).toString(8)).toBe('755');
    // The URL is on curl's stdin, not in its argv (messages use only the shell's builtin echo).
    const curlLines = outsideHeredocs(first.script)
      .split('\n')
      .filter((l) => l.includes('curl -'));
    expect(curlLines).toHaveLength(1);
    expect(curlLines[0]).not.toContain(src);
    const again = getUrl.parse(runProbe(getUrl.probe(p, undefined, ctx())), p, undefined);
    expect(getUrl.plan(p, undefined, again, ctx())).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('.kiln.'))).toEqual([]);
  });

  it('wrong checksum: fails clearly, leaves the old file and no temp file', () => {
    const dest = join(dir, 'old.bin');
    writeFileSync(dest, 'old content\n');
    const p: GetUrlParams = { url, dest, checksum: `sha256:${OTHER}` };
    const r = converge(p);
    expect(r.changes).toHaveLength(1);
    expect(r.out.code).not.toBe(0);
    const res = getUrl.interpret!(p, undefined, r.out, ctx());
    expect(res.failed).toContain(
      `checksum mismatch for ${url}: expected sha256:${OTHER}, downloaded sha256:${sha(payload)}; ${dest} left unchanged`,
    );
    expect(readFileSync(dest, 'utf8')).toBe('old content\n');
    // A missing dest stays missing.
    const fresh = join(dir, 'never.bin');
    expect(converge({ ...p, dest: fresh }).out.code).not.toBe(0);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.kiln.'))).toEqual([]);
  });

  it("a failed download fails with curl's message and leaves nothing", () => {
    const dest = join(dir, 'nope.bin');
    const p: GetUrlParams = { url: `file://${dir}/does-not-exist`, dest, checksum: `sha256:${SUM}` };
    const r = converge(p);
    expect(getUrl.interpret!(p, undefined, r.out, ctx()).failed).toMatch(/download of file:\/\/.*does-not-exist failed/);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.kiln.'))).toEqual([]);
  });

  it('force without a checksum: identical content is no change, different content replaces', () => {
    const dest = join(dir, 'forced.bin');
    writeFileSync(dest, payload);
    const p: GetUrlParams = { url, dest, force: true };
    const same = converge(p);
    expect(getUrl.interpret!(p, undefined, same.out, ctx())).toEqual({ changed: false });
    writeFileSync(dest, 'stale\n');
    const diff = converge(p);
    expect(getUrl.interpret!(p, undefined, diff.out, ctx())).toEqual({ changed: true });
    expect(readFileSync(dest).equals(payload)).toBe(true);
  });

  it('a missing parent directory fails clearly', () => {
    const p: GetUrlParams = { url, dest: join(dir, 'no/such/dir/f'), checksum: `sha256:${SUM}` };
    expect(getUrl.interpret!(p, undefined, converge(p).out, ctx()).failed).toMatch(/parent directory .* does not exist/);
  });
});

/**
 * Checksum algorithms and checksum files, against ansible-core 2.14's get_url on the same files
 * (test/fixtures/ansible/get-url-checksums/: generate.sh ran Ansible on each case; expected.json
 * says whether it downloaded, or its failure message).
 */
describe('get_url checksums as Ansible reads them', () => {
  const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/ansible/get-url-checksums');
  const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Record<string, { ok: boolean; msg: string }>;
  const work = mkdtempSync(join(tmpdir(), 'kiln-get-url-sums-'));
  writeFileSync(join(work, 'pkg.tar.gz'), 'kiln get_url payload\n');
  const url = `file://${work}/pkg.tar.gz`;

  function run(script: string) {
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n(\n${script}\n)\n`, encoding: 'utf8', timeout: 30_000 });
    return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
  }

  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: ${want.ok ? 'downloaded and converged' : want.msg.slice(0, 50)}`, () => {
      const algorithm = readFileSync(join(fixtures, 'cases', name, 'algorithm'), 'utf8').trim();
      const dest = join(work, `dest-${name}`);
      const p: GetUrlParams = { url, dest, checksum: `${algorithm}:file://${fixtures}/cases/${name}/SUMS` };
      const probe = () => getUrl.parse(runProbe(getUrl.probe(p, undefined, ctx())), p, undefined);
      const norm = (m: string) => m.replaceAll(fixtures, 'HERE').replaceAll(work, 'WORK');
      let s: GetUrlState;
      try {
        s = probe();
      } catch (err) {
        // Ansible fails while reading the checksum file: the same message.
        expect(want.ok).toBe(false);
        expect(norm((err as Error).message)).toBe(want.msg);
        return;
      }
      const changes = getUrl.plan(p, undefined, s, ctx());
      expect(changes).toHaveLength(1);
      const out = run(
        getUrl.apply(
          p,
          undefined,
          s,
          changes.map((c) => c.op),
          ctx(),
        ),
      );
      const res = getUrl.interpret!(p, undefined, out, ctx());
      if (!want.ok) {
        // The downloaded file does not match: Ansible fails (and removes dest); Kiln fails and never puts it in place.
        expect(want.msg).toMatch(/^The checksum for WORK\/dest did not match/);
        expect(res.failed).toMatch(/checksum mismatch/);
        expect(existsSync(dest)).toBe(false);
        return;
      }
      expect(res).toEqual({ changed: true });
      expect(readFileSync(dest, 'utf8')).toBe('kiln get_url payload\n');
      expect(getUrl.plan(p, undefined, probe(), ctx())).toEqual([]);
    });
  }

  it('refuses before the run what Ansible would only meet on the host', () => {
    expect(checksumProblem(`sha256:${'a'.repeat(64)}`)).toBeUndefined();
    expect(checksumProblem(`sha256: ${'A'.repeat(64)}\u200b`)).toBeUndefined(); // cleaned as Ansible cleans it
    expect(checksumProblem('sha512:https://h.example/SHA512SUMS')).toBeUndefined();
    expect(checksumProblem('sha3_256:abc')).toMatch(/algorithm 'sha3_256' is not one Kiln checks with/);
    expect(checksumProblem('sha256:xyz')).toMatch(/The checksum format is invalid/);
    expect(checksumProblem(`sha1:${'a'.repeat(64)}`)).toBe(
      'checksum: a sha1 digest has 40 hex digits; this one has 64, so no file could match it',
    );
  });

  it('urlFilename and checksumFromFile follow url_filename and the module’s line parsing', () => {
    expect(urlFilename('https://h.example/a/b/node.tar.gz?x=1')).toBe('node.tar.gz');
    expect(urlFilename('https://h.example/')).toBe('index.html');
    expect(checksumFromFile('abc  ../x\n', 'x')).toBe('abc');
    expect(checksumFromFile('abc\n', 'anything')).toBe('abc');
    expect(checksumFromFile('abc def\n', 'def')).toBe('abc');
  });

  it('the probe of dest uses the algorithm’s own digest', () => {
    const dest = join(work, 'md5-dest');
    writeFileSync(dest, 'x\n');
    const p: GetUrlParams = { url, dest, checksum: `md5:${createHash('md5').update('x\n').digest('hex')}` };
    const s = getUrl.parse(runProbe(getUrl.probe(p, undefined, ctx())), p, undefined);
    expect(s.digest).toBe(createHash('md5').update('x\n').digest('hex'));
    expect(getUrl.plan(p, undefined, s, ctx())).toEqual([]);
  });
});
