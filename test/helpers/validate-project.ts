/**
 * `kiln validate` (the CLI's main, in this process) on a throwaway project: each call writes
 * `files` (plus the inventory) into a fresh directory and returns the exit code and the
 * stderr/stdout lines, with the project's path cut from them. Call at a test file's top level:
 * the projects' root is removed after the file's tests.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

export interface ValidateResult {
  code: number;
  err: string[];
  out: string[];
}

export function projectValidator(
  name: string,
  inventoryText: string,
): (files: Record<string, string>, inventory?: string) => Promise<ValidateResult> {
  const root = mkdtempSync(join(tmpdir(), `kiln-${name}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return async (files, inventory = 'hosts.yml') => {
    const dir = join(root, String(n++));
    for (const [p, text] of Object.entries({ [inventory]: inventoryText, ...files })) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    const err: string[] = [];
    const out: string[] = [];
    const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(String(s).replaceAll(`${dir}/`, '')));
    const o = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(String(s)));
    process.exitCode = 0;
    try {
      await main(['node', 'kiln', 'validate', join(dir, 'pb.yml'), '-i', join(dir, inventory)]);
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { code, err, out };
  };
}
