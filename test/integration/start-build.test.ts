/**
 * bin/kiln.js runs the compiled build (dist/, scripts/build.mjs) only while dist/manifest.json
 * proves it was built from the sources on disk, and the TypeScript sources otherwise: an edited
 * source runs at once, without a rebuild. On a copy of the repository (src, bin, scripts, tsconfig.json,
 * package.json; node_modules linked), the build's main.js is marked so that its output can be told
 * from the sources' output, then sources are edited.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kiln.ts';

const DESCRIPTION = 'Typed, check-before-act provisioning for bare-metal Debian servers over SSH.';

describe('bin/kiln.js never runs a stale build', () => {
  let dir: string;
  const kiln = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(dir, 'bin/kiln.js'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, KILN_FROM_SOURCES: '' },
      timeout: 60000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };
  const mainTs = () => join(dir, 'src/cli/main.ts');
  const description = () => kiln('--help').match(/^Usage: kiln .*\n\n(.*)$/m)?.[1];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-start-'));
    for (const p of ['src', 'bin', 'scripts', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120000 });
    expect(b.status, b.stderr).toBe(0);
    // Mark the compiled output (the manifest covers the inputs, not dist/ itself).
    const mainJs = join(dir, 'dist/cli/main.js');
    const js = readFileSync(mainJs, 'utf8');
    expect(js).toContain(DESCRIPTION);
    writeFileSync(mainJs, js.replace(DESCRIPTION, 'FROM THE BUILD'));
  }, 180000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the build while the sources are the ones it was built from', () => {
    expect(description()).toBe('FROM THE BUILD');
  });

  it('runs an edited source at once (sources through tsx), also when the edit keeps the size', () => {
    const original = readFileSync(mainTs(), 'utf8');
    const sameSize = DESCRIPTION.replace('Typed', 'TYPED');
    try {
      writeFileSync(mainTs(), original.replace(DESCRIPTION, sameSize));
      expect(readFileSync(mainTs()).length).toBe(Buffer.byteLength(original));
      expect(description()).toBe(sameSize);
      writeFileSync(mainTs(), original.replace(DESCRIPTION, 'An edited description.'));
      expect(description()).toBe('An edited description.');
    } finally {
      // The same text saved again (a new ctime): the content hash says the build is still current.
      writeFileSync(mainTs(), original);
    }
    expect(description()).toBe('FROM THE BUILD');
  });

  it('an edit of the same size with the old mtime put back is still seen (ctime, then the content hash)', () => {
    const original = readFileSync(mainTs(), 'utf8');
    const before = statSync(mainTs(), { bigint: true });
    const sameSize = DESCRIPTION.replace('Debian', 'DEBIAN');
    writeFileSync(mainTs(), original.replace(DESCRIPTION, sameSize));
    try {
      // Put the old mtime back to the nanosecond (what cp -p or tar x would do).
      const ns = before.mtimeNs;
      const t = spawnSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, mainTs()]);
      expect(t.status).toBe(0);
      const after = statSync(mainTs(), { bigint: true });
      expect(after.mtimeNs).toBe(before.mtimeNs);
      expect(after.size).toBe(before.size);
      expect(description()).toBe(sameSize);
    } finally {
      writeFileSync(mainTs(), original);
    }
  });

  it('a source deeper in the import graph counts too', () => {
    const file = join(dir, 'src/core/diagnostic.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\n// edited\n`);
    try {
      expect(description()).toBe(DESCRIPTION);
    } finally {
      writeFileSync(file, original);
    }
    expect(description()).toBe('FROM THE BUILD');
  });

  it('without a manifest (no build, or a build interrupted) it runs the sources', () => {
    const manifest = join(dir, 'dist/manifest.json');
    const text = readFileSync(manifest, 'utf8');
    unlinkSync(manifest);
    try {
      expect(description()).toBe(DESCRIPTION);
    } finally {
      writeFileSync(manifest, text);
    }
    expect(description()).toBe('FROM THE BUILD');
  });
});
