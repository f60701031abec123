/**
 * Runs the real `kiln` CLI (bin/kiln.js) as a child process; with `faults` (KILN_FAULT_* variables)
 * through the fault-injecting entry (kiln-with-faults.ts) instead. `kiln` waits synchronously;
 * `kilnAsync` lets this process go on meanwhile (a TCP relay in the test must keep forwarding).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KILN_WITH_FAULTS } from './kiln-with-faults.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const KILN = join(ROOT, 'bin', 'kiln.js');

export interface KilnRun {
  /** The exit code (-1 when killed by a signal). */
  code: number;
  /** The signal that killed it, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  output: string;
}

export interface KilnOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string;
  /** KILN_FAULT_* variables: run through test/helpers/kiln-with-faults.ts. */
  faults?: Record<string, string>;
}

function invocation(args: string[], opts: KilnOptions) {
  return {
    argv: [...(opts.faults ? KILN_WITH_FAULTS : [KILN]), ...args],
    options: { cwd: opts.cwd ?? ROOT, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...(opts.env ?? {}), ...(opts.faults ?? {}) } },
  };
}

export function kiln(args: string[], opts: KilnOptions = {}): KilnRun {
  const { argv, options } = invocation(args, opts);
  const r = spawnSync(process.execPath, argv, { ...options, encoding: 'utf8', timeout: opts.timeoutMs ?? 120000, input: opts.input });
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}

export function kilnAsync(args: string[], opts: KilnOptions = {}): Promise<KilnRun> {
  const { argv, options } = invocation(args, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr, output: stdout + stderr });
    });
  });
}
