/**
 * Child processes of the lab. Commands always run with an argument array, never through a shell
 * (`shQuote` is only for the scripts host.ts generates). `run` rejects with a LabError naming the
 * command and the last 15 lines of its output; `tryRun` never rejects (exit code instead, 127 when
 * there is none). A `timeout` is off unless given. `mapLimit` caps parallel host work and lets
 * every item settle before it reports an error, so no host operation is left unobserved.
 */
import { execFile, spawn } from 'node:child_process';
import { LabError } from './errors.ts';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Milliseconds; 0 = none. */
  timeout?: number;
  /** Stream the child's output to ours (long cache builds). */
  inherit?: boolean;
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs a command with an argument array (never through a shell). Rejects with a LabError on non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (opts.inherit) {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', (err) => reject(new LabError(`${describe(cmd, args)}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) resolve({ stdout: '', stderr: '' });
        else reject(new LabError(`${describe(cmd, args)} failed (${signal ?? `exit ${code}`})`));
      });
    });
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 0, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const tail = (stderr || stdout || '').trim().split('\n').slice(-15).join('\n');
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : err.message.split('\n')[0];
          reject(new LabError(`${describe(cmd, args)} failed: ${why}${tail ? `\n${tail}` : ''}`));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run() but resolves with the exit code instead of rejecting. */
export function tryRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult & { code: number }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 0, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127) : 0;
        resolve({ stdout, stderr, code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Single-quotes a value for a generated POSIX shell script. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    throw new LabError(errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'));
  }
  return results;
}
