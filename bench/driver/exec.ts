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
  /**
   * Seconds of CPU the whole machine was busy during the run (all cores: user, nice, system, irq,
   * softirq, steal from /proc/stat), out of wall × cores. On the lab the hosts run on the same
   * cores as the controller: busy minus the controller's own CPU is the hosts' side (sshd, the
   * remote scripts) plus whatever else ran; undefined where /proc/stat cannot be read.
   */
  machineBusy?: number;
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
    const busy0 = machineBusySeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const busy1 = machineBusySeconds();
      const text = Buffer.concat(out).toString('utf8');
      if (logFile) writeFileSync(logFile, text);
      const [user, sys, rss] = (readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
      const machineBusy = busy0 !== undefined && busy1 !== undefined ? busy1 - busy0 : undefined;
      resolve({ code, wall, cpu: user + sys, rssMB: rss / 1024, machineBusy, text });
    });
  });
}

/** The machine's busy CPU seconds since boot, all cores (first line of /proc/stat, in USER_HZ = 1/100 s). */
export function machineBusySeconds(stat?: string): number | undefined {
  let text = stat;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/stat', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return undefined;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const [user, nice, system, , , irq, softirq, steal] = m[1]!.trim().split(/\s+/).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return Number.isFinite(busy) ? busy / 100 : undefined;
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
