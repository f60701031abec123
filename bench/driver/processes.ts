/**
 * Processes per host of a converged run (issue 20, "probe with few processes"): how many processes
 * a converged `kiln apply` starts on each host, for the bench workload and per module type.
 *
 * Method: each lab host is a PID namespace of its own, and the kernel's `ns_last_pid` of that
 * namespace is the last PID it handed out; PIDs are handed out in order, so the difference read
 * before and after a run is the number of processes started on the host during it (everything:
 * sshd's session processes, sudo, the shell, every command of the probe scripts). The reads go
 * over SSH and cost processes of their own: that overhead is measured as the difference of two
 * reads in a row and taken off. A run that is not converged (changed ≠ 0) is an error.
 *
 * Per module type: two generated playbooks with n and 2n converged tasks of the type; the
 * marginal cost of one task instance is (processes(2n) − processes(n)) / n, which leaves out the
 * connection's and the script's fixed costs.
 *
 * Run on its own: `node --import tsx/esm bench/driver/processes.ts -i INVENTORY [--ssh-config F]
 * --hosts h1,h2 [--kiln bin/kiln.js] [--runs 3] [--bench] [--modules [--only NAME] [-n 4]]`;
 * `npm run bench -- --figures 7` runs it on bench1..5 (processesFigure).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostName, range } from './addresses.ts';
import { kilnInventory } from './inventories.ts';
import { isEntry, KILN, LAB_DIR, REPO, WORK } from './paths.ts';

/**
 * The shell line that prints a host's last PID (`cat`: dash's `read` reads a byte at a time, and
 * /proc/sys answers only the first; its own processes are part of the overhead taken off).
 */
export const READ_LAST_PID = 'echo "last_pid=$(cat /proc/sys/kernel/ns_last_pid)"';

/** The last PID from a host's answer to READ_LAST_PID. */
export function parseLastPid(out: string): number {
  const m = /^last_pid=(\d+)$/m.exec(out);
  if (!m) throw new Error(`no last_pid in ${JSON.stringify(out.slice(0, 200))}`);
  return Number(m[1]);
}

/**
 * Processes started between two reads `before` and `after` on one host, `overhead` being what a
 * read itself costs (the difference of two reads in a row). PIDs wrap at pid_max: `pidMax` undoes that.
 */
export function processesBetween(before: number, after: number, overhead: number, pidMax = 4194304): number {
  const d = after >= before ? after - before : after + pidMax - before;
  return d - overhead;
}

/** Marginal processes of one task instance from runs of `n` and `2n` instances (per host). */
export function marginal(pn: number, p2n: number, n: number): number {
  return (p2n - pn) / n;
}

/** Median of numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One module type's playbook of `n` converged tasks (files it needs next to it: `files`). */
export interface ModuleWorkload {
  module: string;
  playbook(n: number): string;
  files?: Record<string, string>;
}

const ROOT = '/opt/kprobe';
const play = (tasks: string[]) =>
  `- name: processes\n  hosts: all\n  become: true\n  gather_facts: false\n  tasks:\n${tasks.map((t) => `    - ${t}`).join('\n')}\n`;
const times = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i + 1));
/** Units running on a lab host that has the bench workload (its kbench-kiln-N services). */
const SERVICES = ['ssh', 'dbus', 'systemd-journald', 'systemd-logind', 'kbench-kiln-1', 'kbench-kiln-2', 'kbench-kiln-3', 'kbench-kiln-4'];

/** The module types of the bench workload (and of most roles), n ≤ 8 instances each (2n of n = 4). */
export const MODULE_WORKLOADS: readonly ModuleWorkload[] = [
  {
    module: 'file (directory)',
    playbook: (n) => play(times(n, (i) => `file: { path: ${ROOT}/d${i}, state: directory, owner: root, group: root, mode: "0755" }`)),
  },
  {
    module: 'copy (content)',
    playbook: (n) =>
      play([
        `file: { path: ${ROOT}, state: directory }`,
        ...times(n, (i) => `copy: { dest: ${ROOT}/c${i}.txt, content: "copy ${i}\\n", mode: "0644" }`),
      ]),
  },
  {
    module: 'template',
    files: { 't.j2': 'template {{ i }}\n' },
    playbook: (n) =>
      play([
        `file: { path: ${ROOT}, state: directory }`,
        ...times(n, (i) => `template: { src: t.j2, dest: ${ROOT}/t${i}.conf, mode: "0644" }\n      vars: { i: ${i} }`),
      ]),
  },
  {
    module: 'lineinfile (one file)',
    playbook: (n) => play(times(n, (i) => `lineinfile: { path: ${ROOT}/l.ini, regexp: "^k${i}=", line: "k${i}=v${i}", create: true }`)),
  },
  {
    module: 'lineinfile (a file each)',
    playbook: (n) => play(times(n, (i) => `lineinfile: { path: ${ROOT}/l${i}.ini, line: "k${i}=v${i}", create: true }`)),
  },
  {
    module: 'package (one name)',
    playbook: (n) =>
      play(
        times(
          n,
          (i) =>
            `package: { name: ${['tree', 'jq', 'rsync', 'curl', 'nftables', 'python3-apt', 'openssh-server', 'sudo', 'dash', 'bash'][i - 1]}, state: present }`,
        ),
      ),
  },
  {
    module: 'service (started)',
    playbook: (n) => play(times(n, (i) => `service: { name: ${SERVICES[i - 1]}, state: started }`)),
  },
  {
    module: 'command (creates)',
    playbook: (n) => play(times(n, (i) => `command: { cmd: "/usr/bin/touch ${ROOT}/done${i}", creates: "${ROOT}/done${i}" }`)),
  },
];

export interface ProcessOptions {
  inventory: string;
  hosts: readonly string[];
  sshConfig: string;
  kiln?: string;
  runs?: number;
  log?: (s: string) => void;
}

/** The last PID of every host (one SSH command each). */
function readAll(o: ProcessOptions): number[] {
  return o.hosts.map((h) => {
    const r = spawnSync('ssh', ['-F', o.sshConfig, h, READ_LAST_PID], { encoding: 'utf8', timeout: 30000 });
    if (r.status !== 0) throw new Error(`ssh ${h}: ${r.stderr}`);
    return parseLastPid(r.stdout);
  });
}

/** Runs `kiln apply` once; throws unless it succeeded. Returns the changed count. */
function apply(o: ProcessOptions, playbook: string, label: string): number {
  mkdirSync(WORK, { recursive: true });
  const json = path.join(WORK, `processes-${label}.json`);
  const r = spawnSync(
    process.execPath,
    [o.kiln ?? KILN, 'apply', playbook, '-i', o.inventory, '-f', String(o.hosts.length), '--json', json],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`kiln apply ${playbook} exited ${r.status}:\n${(r.stdout + r.stderr).slice(-3000)}`);
  const rep = JSON.parse(readFileSync(json, 'utf8')) as { hosts: Record<string, { changed: number }> };
  return Object.values(rep.hosts).reduce((s, h) => s + h.changed, 0);
}

/**
 * Processes per host of a converged run of `playbook`: converges it first (untimed, uncounted),
 * then `runs` counted converged runs; per host the minimum over the runs (a stray timer on a
 * host only ever adds), returned with the runs' raw values.
 */
export function convergedProcesses(o: ProcessOptions, playbook: string, label: string): { perHost: number[]; raw: number[][] } {
  apply(o, playbook, `${label}-converge`);
  const raw: number[][] = o.hosts.map(() => []);
  for (let run = 0; run < (o.runs ?? 3); run++) {
    const a = readAll(o);
    const b = readAll(o);
    const changed = apply(o, playbook, `${label}-${run}`);
    if (changed !== 0) throw new Error(`${label}: a converged re-run changed ${changed} task(s)`);
    const c = readAll(o);
    o.hosts.forEach((_, h) => raw[h]!.push(processesBetween(b[h]!, c[h]!, b[h]! - a[h]!)));
  }
  return { perHost: raw.map((xs) => Math.min(...xs)), raw };
}

export interface ModuleFigure {
  module: string;
  n: number;
  /** Processes per host of the converged runs of n and 2n instances (median over hosts). */
  pn: number;
  p2n: number;
  /** Marginal processes of one instance. */
  each: number;
}

/** Per module type: marginal processes of one converged instance. */
export function moduleFigures(o: ProcessOptions, n = 4, only?: (m: string) => boolean): ModuleFigure[] {
  const dir = path.join(WORK, 'processes');
  mkdirSync(dir, { recursive: true });
  const out: ModuleFigure[] = [];
  for (const w of MODULE_WORKLOADS) {
    if (only && !only(w.module)) continue;
    for (const [f, text] of Object.entries(w.files ?? {})) writeFileSync(path.join(dir, f), text);
    const slug = w.module.replace(/\W+/g, '-').replace(/-$/, '');
    const p = (k: number) => {
      const file = path.join(dir, `${slug}-${k}.yml`);
      writeFileSync(file, w.playbook(k));
      return median(convergedProcesses(o, file, `${slug}-${k}`).perHost);
    };
    const pn = p(n);
    const p2n = p(2 * n);
    out.push({ module: w.module, n, pn, p2n, each: marginal(pn, p2n, n) });
    o.log?.(`${w.module}: ${pn} → ${p2n} processes per host for ${n} → ${2 * n} tasks: ${marginal(pn, p2n, n)} per task`);
  }
  return out;
}

/** The results' Markdown table of module figures. */
export function moduleTable(rows: readonly ModuleFigure[]): string {
  const lines = ['| module | processes per host, n tasks | 2n tasks | per task |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.module} | ${r.pn} (n=${r.n}) | ${r.p2n} | ${r.each.toFixed(1)} |`);
  return lines.join('\n');
}

/**
 * Figure 7 of `npm run bench`: processes per host of the bench workload's converged run on
 * bench1..5, and per module type; the lines go into the results file's notes.
 */
export async function processesFigure(ensureHosts: (n: number) => Promise<void>, runs = 3): Promise<string[]> {
  await ensureHosts(5);
  const hosts = range(5).map(hostName);
  const o: ProcessOptions = { inventory: kilnInventory(range(5), 'processes'), hosts, sshConfig: path.join(LAB_DIR, 'ssh_config'), runs };
  const bench = convergedProcesses(o, path.join(REPO, 'bench/kiln/site.yml'), 'bench');
  return [
    `figure 7: processes per host of a converged run of the bench workload (41 tasks): ${bench.perHost.join(', ')} (min of ${runs} runs per host)`,
    `figure 7, per module type (marginal processes of one converged task):\n\n${moduleTable(moduleFigures(o))}`,
  ];
}

async function cli(argv: string[]): Promise<void> {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const inventory = arg('-i') ?? path.join(LAB_DIR, 'bench-inventory.yml');
  const o: ProcessOptions = {
    inventory,
    hosts: (arg('--hosts') ?? range(5).map(hostName).join(',')).split(','),
    sshConfig: arg('--ssh-config') ?? path.join(LAB_DIR, 'ssh_config'),
    kiln: arg('--kiln'),
    runs: Number(arg('--runs') ?? 3),
    log: (s) => process.stderr.write(`${s}\n`),
  };
  const lines: string[] = [];
  if (argv.includes('--bench')) {
    const r = convergedProcesses(o, path.join(REPO, 'bench/kiln/site.yml'), 'bench');
    lines.push(
      `bench workload (41 tasks), converged run: ${r.perHost.join(', ')} processes per host (min of ${o.runs} runs; raw ${JSON.stringify(r.raw)})`,
    );
  }
  if (argv.includes('--modules')) {
    const only = arg('--only');
    lines.push(moduleTable(moduleFigures(o, Number(arg('-n') ?? 4), only ? (m) => m.includes(only) : undefined)));
  }
  process.stdout.write(`${lines.join('\n\n')}\n`);
}

if (isEntry(import.meta.url)) {
  cli(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`processes: ${err.message}\n`);
    process.exitCode = 1;
  });
}
