/** Runs the real `kiln` CLI (bin/kiln.js) as a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const KILN = join(ROOT, 'bin', 'kiln.js');

export interface KilnRun {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
}

export function kiln(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): KilnRun {
  const r = spawnSync(process.execPath, [KILN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...(opts.env ?? {}) },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120000,
    input: opts.input,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}
