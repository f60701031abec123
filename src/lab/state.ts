/**
 * What the lab records about itself in RUN_DIR (under /run: it does not survive a reboot): lab.json
 * for the one running lab and `hosts/<name>/host.json` for each started host, both written
 * atomically (temp file, then rename). Also the /proc readers every PID decision goes through: a
 * recorded PID is the lab's only while its start time (field 22 of /proc/PID/stat) matches the
 * record and it is not a zombie, so a recycled PID is never taken for a host.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LabError } from './errors.ts';
import { RUN_DIR, hostRunFiles } from './paths.ts';
import type { Additions } from './added.ts';
import type { RaisedLimit } from './limits.ts';
import type { Topology } from './topology.ts';

/** Machine-global record of the running lab (there is one lab per machine: one bridge, one subnet). */
export interface LabState {
  version: 1;
  /** Absolute path of the lab's `.lab` directory. */
  labDir: string;
  topology: Topology;
  rootfs: { key: string; root: string };
  mirror: { key: string; repo: string; lists: string };
  createdAt: string;
  /** A machine limit `up` raised (restored by `down`). */
  raisedInotify?: RaisedLimit;
  /** Hosts added to the running lab with `kiln lab add` (removed by `kiln lab remove` or `down`). */
  additions?: Additions;
}

/** A host the lab started: PIDs are only ever signalled after checking their recorded start time. */
export interface HostState {
  name: string;
  address: string;
  netns: string;
  veth: string;
  /** PID of the `unshare` process the lab spawned (parent of the host's systemd). */
  pid: number;
  /** Its start time (field 22 of /proc/PID/stat, clock ticks since boot). */
  pidStart: number;
  startedAt: number;
  /** Cgroup directories the lab created for this host (removed on stop). */
  cgroups: string[];
}

const labStateFile = join(RUN_DIR, 'lab.json');

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

export async function readLabState(): Promise<LabState | undefined> {
  if (!existsSync(labStateFile)) return undefined;
  try {
    return JSON.parse(await readFile(labStateFile, 'utf8')) as LabState;
  } catch (err) {
    throw new LabError(`cannot read ${labStateFile}: ${(err as Error).message}`);
  }
}

export const writeLabState = (s: LabState): Promise<void> => writeJson(labStateFile, s);

export async function removeRunDir(): Promise<void> {
  await rm(RUN_DIR, { recursive: true, force: true });
}

export async function readHostState(name: string): Promise<HostState | undefined> {
  const f = hostRunFiles(name).state;
  if (!existsSync(f)) return undefined;
  return JSON.parse(await readFile(f, 'utf8')) as HostState;
}

export const writeHostState = (h: HostState): Promise<void> => writeJson(hostRunFiles(h.name).state, h);

export function recordedHosts(): string[] {
  const dir = join(RUN_DIR, 'hosts');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may contain spaces and parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** True only when `pid` is still the very process the lab started (same start time) and not a zombie. */
export function isLabProcess(pid: number, pidStart: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.startTime === pidStart && st.state !== 'Z' && st.state !== 'X';
}

/** Direct children of a process. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}
