/** atomicWrite, run for real with sh in a temp directory: what lands, what is refused, what is left. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AtomicWrite, atomicWrite } from '../../../src/sh/atomic.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (w: AtomicWrite) => {
  const r = spawnSync('sh', [], { input: ['set -e', ...atomicWrite(w)].join('\n') + '\n', encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
};
const mode = (f: string) => (statSync(f).mode & 0o7777).toString(8).padStart(4, '0');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const leftovers = () => readdirSync(dir).filter((f) => f.startsWith('.kiln.'));

describe('atomicWrite', () => {
  it('writes any bytes (binary included) with the mode asked for, and leaves no temp file', () => {
    const bytes = Buffer.from([0, 255, 10, 13, 39, 34, 36, 96, 92, 0x80]);
    const dest = join(dir, "it's $x.bin");
    expect(run({ dest, bytes, attrs: { mode: '0640' } })).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    expect(mode(dest)).toBe('0640');
    expect(leftovers()).toEqual([]);
  });

  it('keeps the existing file mode with keepAttrs; a new file without a mode is 0600 (mktemp)', () => {
    const dest = join(dir, 'conf');
    writeFileSync(dest, 'old\n');
    chmodSync(dest, 0o604);
    expect(run({ dest, bytes: 'new\n', keepAttrs: true }).code).toBe(0);
    expect([readFileSync(dest, 'utf8'), mode(dest)]).toEqual(['new\n', '0604']);
    const fresh = join(dir, 'fresh');
    expect(run({ dest: fresh, bytes: 'x' }).code).toBe(0);
    expect(mode(fresh)).toBe('0600');
  });

  it('a failing validation leaves the destination unchanged and says why', () => {
    const dest = join(dir, 'conf');
    writeFileSync(dest, 'good\n');
    const r = run({ dest, bytes: 'bad\n', validate: 'grep -q good %s' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('validation failed: grep -q good %s');
    expect(readFileSync(dest, 'utf8')).toBe('good\n');
    expect(leftovers()).toEqual([]);
    expect(run({ dest, bytes: 'good too\n', validate: 'grep -q good %s' }).code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('good too\n');
  });

  it('refuses when the file changed since it was planned (or appeared)', () => {
    const dest = join(dir, 'conf');
    writeFileSync(dest, 'theirs\n');
    const r = run({ dest, bytes: 'mine\n', expect: { sha256: sha('what I read\n') } });
    expect([r.code, r.stderr.trim()]).toEqual([3, `${dest} changed since it was read; run again`]);
    expect(run({ dest, bytes: 'mine\n', expect: { sha256: sha('theirs\n') } }).code).toBe(0);
    const other = join(dir, 'other');
    writeFileSync(other, 'x');
    expect(run({ dest: other, bytes: 'y', expect: 'absent' }).stderr).toContain('appeared since it was read');
    expect(readFileSync(other, 'utf8')).toBe('x');
  });

  it('needs the parent directory unless told to create it; never replaces a directory', () => {
    const dest = join(dir, 'sub/deeper/f');
    expect(run({ dest, bytes: 'x' }).stderr).toContain('parent directory');
    expect(existsSync(dest)).toBe(false);
    expect(run({ dest, bytes: 'x', parent: 'create' }).code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('x');
    mkdirSync(join(dir, 'adir'));
    expect(run({ dest: join(dir, 'adir'), bytes: 'x' }).stderr).toContain('is a directory; refusing to replace it');
  });

  it('keeps a timestamped backup of the file it replaces', () => {
    const dest = join(dir, 'conf');
    writeFileSync(dest, 'v1\n');
    expect(run({ dest, bytes: 'v2\n', backup: true }).code).toBe(0);
    const backups = readdirSync(dir).filter((f) => /^conf\.\d{14}~$/.test(f));
    expect(backups.length).toBe(1);
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe('v1\n');
  });

  it('fills the temp file from shell (a download), which may stop early leaving nothing behind', () => {
    const dest = join(dir, 'dl');
    expect(run({ dest, fill: 'printf fetched > "$tmp"' }).code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('fetched');
    expect(run({ dest, fill: 'echo gone > "$tmp"; exit 0' }).code).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('fetched');
    expect(leftovers()).toEqual([]);
    expect(() => atomicWrite({ dest })).toThrow(/exactly one of bytes and fill/);
  });
});
