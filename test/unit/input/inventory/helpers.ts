import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../../../src/core/diagnostic.ts';

export const FIXTURES = fileURLToPath(new URL('../../../fixtures/inventory/', import.meta.url));
export const fixture = (...p: string[]) => join(FIXTURES, ...p);

/** Writes files (path → content) into a fresh temp dir and returns it. */
export function tmpTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-inv-'));
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

/** Runs fn, expects an InputError, returns its diagnostics as `line:col message` (file basename dropped). */
export function inputErrors(fn: () => unknown): { line?: number; col?: number; message: string; file: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics;
    throw err;
  }
  throw new Error('expected an InputError');
}
