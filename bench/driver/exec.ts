/**
 * Running commands: `timed` runs one under GNU time (wall time on the controller's monotonic
 * clock, user+sys CPU and peak RSS of its process tree, output kept in a log file), `kilnCli`
 * runs a quick `kiln` command and returns its stdout.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KILN, REPO, WORK } from './paths.ts';

export interface Timed {
  /** Exit code; null when the command ended by a signal. */
  code: number | null;
  /** Seconds, process start to exit. */
  wall: number;
  /** Seconds of user+sys CPU of the process tree. */
  cpu: number;
  rssMB: number;
  /** stdout and stderr, interleaved as they came. */
  text: string;
}

export interface TimedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile?: string;
}

/** Runs a command under GNU time; returns wall (own clock), user+sys CPU and peak RSS of the process tree. */
export function timed(cmd: string, args: readonly string[], { cwd = REPO, env = process.env, logFile }: TimedOptions = {}): Promise<Timed> {
  mkdirSync(WORK, { recursive: true });
  const tf = path.join(WORK, `time-${process.pid}.txt`);
  rmSync(tf, { force: true });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const text = Buffer.concat(out).toString('utf8');
      if (logFile) writeFileSync(logFile, text);
      const [user, sys, rss] = (readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
      resolve({ code, wall, cpu: user + sys, rssMB: rss / 1024, text });
    });
  });
}

/** stdout of `kiln ARGS` run from the repository; throws with its stderr when it fails, unless allowFail (then ''). */
export function kilnCli(args: readonly string[], { allowFail = false } = {}): string {
  try {
    return execFileSync(process.execPath, [KILN, ...args], {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    if (allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`kiln ${args.join(' ')} failed:\n${e.stderr || e.message}`);
  }
}
