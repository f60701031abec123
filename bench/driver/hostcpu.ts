/**
 * Where the lab hosts' CPU goes during a run (figure 4's profile). Each lab host is a network
 * namespace (/run/netns/kiln-HOST) holding its own systemd, sshd, logind…; every process of a host
 * shares that namespace. A process's CPU is its user+sys time plus that of the children it has
 * reaped (/proc/PID/stat utime, stime, cutime, cstime): summed over a host's living processes it is
 * all the CPU the host has used (a session's scripts are reaped by their sshd, a stopped user
 * manager by PID 1). The difference of two snapshots, by process name, is what a run cost the
 * hosts: sshd (the SSH sessions and everything run in them: the probe scripts), systemd (PID 1 and
 * what it reaped, e.g. the user manager a login starts), systemd-logind, dbus-daemon…
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const HZ = 100;

/** A process's name and CPU ticks (own and reaped children's) from the text of /proc/PID/stat. */
export function parseProcStat(text: string): { comm: string; ticks: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After ") ": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17), 1-based fields of the line.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (i: number) => Number(f[i - 3]);
  const ticks = n(14) + n(15) + n(16) + n(17);
  return Number.isFinite(ticks) ? { comm: text.slice(open + 1, close), ticks } : undefined;
}

/** Per host (namespace name), per process name: CPU seconds so far. */
export type HostCpu = Map<string, Map<string, number>>;

/** The CPU of every process in the namespaces /run/netns/NAME, by namespace and process name. */
export function hostCpuSnapshot(namespaces: readonly string[]): HostCpu {
  const byInode = new Map<string, string>();
  for (const ns of namespaces) {
    try {
      byInode.set(`net:[${statSync(`/run/netns/${ns}`).ino}]`, ns);
    } catch {
      // not there (the host is down): it has no processes
    }
  }
  const out: HostCpu = new Map(namespaces.map((ns) => [ns, new Map<string, number>()]));
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const ns = byInode.get(readlinkSync(`/proc/${pid}/ns/net`));
      if (ns === undefined) continue;
      const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (!s) continue;
      const m = out.get(ns)!;
      m.set(s.comm, (m.get(s.comm) ?? 0) + s.ticks / HZ);
    } catch {
      // the process ended while being read
    }
  }
  return out;
}

/** What the hosts used between two snapshots, by process name, summed over the hosts. */
export function hostCpuUsed(before: HostCpu, after: HostCpu): Map<string, number> {
  const used = new Map<string, number>();
  for (const [ns, procs] of after) {
    const was = before.get(ns) ?? new Map<string, number>();
    for (const comm of new Set([...procs.keys(), ...was.keys()])) {
      const d = (procs.get(comm) ?? 0) - (was.get(comm) ?? 0);
      used.set(comm, (used.get(comm) ?? 0) + d);
    }
  }
  return used;
}
