/**
 * The controller-scaling figure (issue 20, "Scale from one controller"): a converged 5-task
 * playbook over N inventory aliases of ONE loopback sshd (127.0.0.1, its own host key and client
 * key, MaxStartups/MaxSessions raised), at several --forks. Per run: wall time, user+sys CPU and
 * peak RSS of the controller (GNU time), SSH round trips and failed/unreachable hosts (the --json
 * report), and the most TCP connections open to the sshd at once (sampled from /proc/net/tcp on
 * the server's port every 50 ms). pyinfra on the same aliases when its venv is given.
 *
 * It measures the controller, not the hosts: every alias is the same machine. Nothing asserts a
 * time. Standalone: `node --import tsx/esm bench/driver/scale.ts --hosts 100,300,1000 --forks 20`;
 * `npm run bench -- --figures scale` runs it with its defaults (main.ts).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestSshd, startSshd, writeSshdInventory } from '../../test/helpers/sshd.ts';
import { timed } from './exec.ts';
import { KILN, RESULTS_DIR, WORK } from './paths.ts';
import { nextResultsFile } from './results.ts';

/** sshd settings for many concurrent connections from one client (the defaults are 10:30:100 and 10). */
export const SCALE_SSHD_CONFIG = ['MaxStartups 2000', 'MaxSessions 64'];

export interface ScaleOptions {
  hosts: number[];
  forks: number[];
  /** Kiln's output: plain lines (`--progress plain`), or none on stdout (only the --json report). */
  outputs: ('plain' | 'quiet')[];
  /** A pyinfra virtualenv (bin/pyinfra in it); skipped when it does not exist. */
  pyinfraVenv?: string;
  runs: number;
  /** Which tools run (default both; pyinfra only when its venv exists). */
  tools?: ('kiln' | 'pyinfra')[];
}

export interface ScaleRow {
  tool: 'kiln' | 'pyinfra';
  hosts: number;
  forks: number;
  output: string;
  wall: number;
  cpu: number;
  rssMB: number;
  roundTrips?: number;
  failed: number;
  unreachable: number;
  changed: number;
  /** Most ESTABLISHED TCP connections to the sshd seen at once. */
  peakConnections: number;
  code: number | null;
}

/** The converged workload: 5 tasks, every one of them already in its state after the warm-up run. */
export const SCALE_PLAYBOOK = (root: string) => `- hosts: all
  gather_facts: false
  tasks:
    - name: directory
      file: { path: ${root}, state: directory, mode: "0755" }
    - name: file
      copy: { dest: ${root}/a.conf, content: "alpha=1\\nbeta=2\\n", mode: "0644" }
    - name: line
      lineinfile: { path: ${root}/b.conf, line: "gamma=3", create: true, mode: "0644" }
    - name: guarded command
      command: { cmd: "touch ${root}/done", creates: "${root}/done" }
    - name: mode
      file: { path: ${root}/a.conf, mode: "0644" }
`;

const PYINFRA_DEPLOY = (root: string) => `from pyinfra.operations import files, server
files.directory(name="directory", path="${root}", mode="755")
files.put(name="file", src="${root}-src/a.conf", dest="${root}/a.conf", mode="644")
files.line(name="line", path="${root}/b.conf", line="gamma=3")
server.shell(name="guarded command", commands=["test -e ${root}/done || touch ${root}/done"])
files.file(name="mode", path="${root}/a.conf", mode="644")
`;

/** The ESTABLISHED connections whose local port is `port` (the server's side), each counted once, in a /proc/net/tcp text. */
export function countEstablished(tcpTable: string, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const seen = new Set<string>();
  for (const line of tcpTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    if (f[1]!.endsWith(`:${hexPort}`) && f[3] === '01') seen.add(`${f[1]} ${f[2]}`);
  }
  return seen.size;
}

const TCP_BUF = Buffer.alloc(4 << 20);

/**
 * /proc/net/tcp in ONE read: the kernel builds the text as it is read, so a table read in
 * several chunks (readFileSync reads 8 KiB at a time from procfs) can list a connection closed
 * since the first chunk beside one opened since: more connections than ever existed at once.
 */
export function readTcpTable(): string {
  const fd = openSync('/proc/net/tcp', 'r');
  try {
    const n = readSync(fd, TCP_BUF, 0, TCP_BUF.length, null);
    return TCP_BUF.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

function sampler(port: number): { stop(): number } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, countEstablished(readTcpTable(), port));
    } catch {
      // /proc not readable: no figure
    }
  }, 50);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

function hostNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `alias${String(i + 1).padStart(4, '0')}`);
}

async function runKilnOnce(sshd: TestSshd, dir: string, n: number, forks: number, output: string): Promise<ScaleRow> {
  const inv = path.join(dir, `inv-${n}`);
  mkdirSync(inv, { recursive: true });
  const invFile = writeSshdInventory(sshd, inv, Object.fromEntries(hostNames(n).map((h) => [h, {}])));
  const report = path.join(dir, `report-${n}-${forks}-${output}.json`);
  const args = [
    KILN,
    'apply',
    path.join(dir, 'site.yml'),
    '-i',
    invFile,
    '--forks',
    String(forks),
    '--json',
    report,
    '--progress',
    'plain',
    '--no-color',
  ];
  const s = sampler(sshd.port);
  const t = await timed(process.execPath, args, { logFile: path.join(dir, `kiln-${n}-${forks}-${output}.log`) });
  const peakConnections = s.stop();
  const row: ScaleRow = {
    tool: 'kiln',
    hosts: n,
    forks,
    output,
    wall: t.wall,
    cpu: t.cpu,
    rssMB: t.rssMB,
    failed: 0,
    unreachable: 0,
    changed: 0,
    peakConnections,
    code: t.code,
  };
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8')) as {
      hosts: Record<string, { failed: number; changed: number; unreachable: boolean; round_trips: number }>;
    };
    const hs = Object.values(r.hosts);
    row.roundTrips = hs.reduce((a, h) => a + h.round_trips, 0);
    row.failed = hs.filter((h) => h.failed > 0).length;
    row.unreachable = hs.filter((h) => h.unreachable).length;
    row.changed = hs.reduce((a, h) => a + h.changed, 0);
  }
  return row;
}

async function runPyinfraOnce(sshd: TestSshd, dir: string, venv: string, n: number, forks: number): Promise<ScaleRow> {
  // The aliases' known_hosts (this sshd's key), as for Kiln.
  const invDir = path.join(dir, `inv-${n}`);
  mkdirSync(invDir, { recursive: true });
  writeSshdInventory(sshd, invDir, Object.fromEntries(hostNames(n).map((h) => [h, {}])));
  const inv = path.join(dir, `pyinfra-inventory-${n}.py`);
  const data = {
    ssh_port: sshd.port,
    ssh_user: sshd.user,
    ssh_key: sshd.identityFile,
    ssh_known_hosts_file: path.join(dir, `inv-${n}`, 'known_hosts'),
    ssh_strict_host_key_checking: 'yes',
  };
  // Each alias carries the connection data itself (pyinfra's (name, data) host tuples).
  writeFileSync(
    inv,
    `_data = ${JSON.stringify(data)}\nhosts = [(h, dict(_data, ssh_hostname="127.0.0.1")) for h in ${JSON.stringify(hostNames(n))}]\n`,
  );
  const s = sampler(sshd.port);
  const t = await timed(path.join(venv, 'bin/pyinfra'), [inv, path.join(dir, 'deploy.py'), '-y', '--parallel', String(forks)], {
    cwd: dir,
    logFile: path.join(dir, `pyinfra-${n}-${forks}.log`),
  });
  const peakConnections = s.stop();
  return {
    tool: 'pyinfra',
    hosts: n,
    forks,
    output: 'pyinfra',
    wall: t.wall,
    cpu: t.cpu,
    rssMB: t.rssMB,
    failed: t.code === 0 ? 0 : -1,
    unreachable: 0,
    changed: 0,
    peakConnections,
    code: t.code,
  };
}

/** Runs the figure; `log` gets one line per run. */
export async function runScale(o: ScaleOptions, log: (s: string) => void = console.log): Promise<ScaleRow[]> {
  const dir = path.join(WORK, 'scale');
  mkdirSync(dir, { recursive: true });
  const root = '/tmp/kiln-scale-target';
  writeFileSync(path.join(dir, 'site.yml'), SCALE_PLAYBOOK(root));
  writeFileSync(path.join(dir, 'deploy.py'), PYINFRA_DEPLOY(root));
  mkdirSync(`${root}-src`, { recursive: true });
  writeFileSync(`${root}-src/a.conf`, 'alpha=1\nbeta=2\n');
  const sshd = await startSshd({ config: SCALE_SSHD_CONFIG });
  const rows: ScaleRow[] = [];
  try {
    // Warm-up: one alias converges the target (every later run is a converged re-run).
    const warm = await runKilnOnce(sshd, dir, 1, 1, 'plain');
    log(`warm-up: exit ${warm.code}, ${warm.changed} changed`);
    const tools = o.tools ?? ['kiln', 'pyinfra'];
    for (let run = 0; run < o.runs && tools.includes('kiln'); run++)
      for (const n of o.hosts)
        for (const forks of o.forks)
          for (const output of o.outputs) {
            const r = await runKilnOnce(sshd, dir, n, forks, output);
            rows.push(r);
            log(rowLine(r));
          }
    const venv = o.pyinfraVenv;
    if (!tools.includes('pyinfra')) log('pyinfra: not asked for');
    else if (venv && existsSync(path.join(venv, 'bin/pyinfra')))
      for (let run = 0; run < o.runs; run++)
        for (const n of o.hosts)
          for (const forks of o.forks) {
            const r = await runPyinfraOnce(sshd, dir, venv, n, forks);
            rows.push(r);
            log(rowLine(r));
          }
    else log(`pyinfra: no venv at ${venv ?? '(none given)'}: skipped`);
  } finally {
    await sshd.stop();
  }
  return rows;
}

export function rowLine(r: ScaleRow): string {
  return `${r.tool} hosts=${r.hosts} forks=${r.forks} output=${r.output}: ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s cpu, ${r.rssMB.toFixed(0)} MiB, round trips ${r.roundTrips ?? '-'}, changed ${r.changed}, failed ${r.failed}, unreachable ${r.unreachable}, peak connections ${r.peakConnections}, exit ${r.code}`;
}

/** The markdown table of a figure's rows. */
export function scaleTable(rows: ScaleRow[]): string {
  const head =
    '| tool | hosts | --forks | wall (s) | CPU (s) | peak RSS (MiB) | round trips | failed / unreachable | peak connections |\n|---|---|---|---|---|---|---|---|---|';
  return [
    head,
    ...rows.map(
      (r) =>
        `| ${r.tool} | ${r.hosts} | ${r.forks} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.rssMB.toFixed(0)} | ${r.roundTrips ?? '–'} | ${r.failed} / ${r.unreachable} | ${r.peakConnections} |`,
    ),
  ].join('\n');
}

/** The default figure (`npm run bench -- --figures 8`): written to bench/results/<date>-scale.md (-scale-2.md, … when it exists). */
export async function runScaleFigure(log: (s: string) => void = console.log): Promise<string> {
  const started = new Date();
  const load0 = os.loadavg()[0]!;
  const rows = await runScale({ hosts: [100, 300, 1000], forks: [20], outputs: ['plain'], pyinfraVenv: PYINFRA_VENV, runs: 1 }, log);
  const file = nextResultsFile(started, RESULTS_DIR, '-scale');
  const text = [
    `# Controller scaling: a converged 5-task run over N aliases of one loopback sshd (${started.toISOString()})`,
    '',
    `- machine: ${os.cpus().length} cores, load average ${load0.toFixed(2)} at the start, ${os.loadavg()[0]!.toFixed(2)} at the end; sshd: ${SCALE_SSHD_CONFIG.join(', ')}`,
    '- wall, user+sys CPU and peak RSS of the controller (GNU time); round trips from the --json report; peak connections: ESTABLISHED on the sshd port, sampled every 50 ms',
    '',
    scaleTable(rows),
    '',
  ].join('\n');
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(file, text);
  log(`scale figure: ${file}`);
  return file;
}

/** Where the benchmark looks for pyinfra (bench/README.md says how to build it). */
export const PYINFRA_VENV = '/var/cache/kiln/bench/pyinfra-venv';

function list(v: string | undefined, d: number[]): number[] {
  return v ? v.split(',').map(Number) : d;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const arg = (k: string) => {
    const i = process.argv.indexOf(k);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const rows = await runScale({
    hosts: list(arg('--hosts'), [100, 300, 1000]),
    forks: list(arg('--forks'), [20]),
    outputs: ['plain'],
    pyinfraVenv: arg('--pyinfra') ?? PYINFRA_VENV,
    runs: Number(arg('--runs') ?? 1),
    tools: (arg('--tools') ?? 'kiln,pyinfra').split(',') as ('kiln' | 'pyinfra')[],
  });
  console.log(scaleTable(rows));
}
