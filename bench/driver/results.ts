/**
 * The results: rows of the table (one per figure and size), problems seen (failed runs, changes
 * on converged runs), rendered as markdown: the table, figures 5 and 6 as sentences, the
 * problems, and the results file with its header (date, machine, versions, options).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR } from './paths.ts';
import type { AnsibleRun, KilnRun } from './runners.ts';
import { median, ratioSpread, sec, spread } from './stats.ts';

export interface Row {
  figure: number | 'site';
  what: string;
  hosts: number;
  kiln: string;
  ansible: string;
  ratio: string;
  runs: number;
  /** Ansible + Mitogen and pyinfra: `median (min–max), ×ratio to Kiln`; absent when not chosen. */
  mitogen?: string;
  pyinfra?: string;
}

/** What the benchmark has found so far. */
export interface Results {
  rows: Row[];
  /** Markdown, one list item each. */
  notes: string[];
  /** Figure 4's profile of Kiln's converged runs, one per size. */
  profile?: ProfileRow[];
  /** Figure 1: where each tool's first applies spent the machine's CPU. */
  firstCpu?: { n: number; cores: number; rows: CpuRow[] };
}

/** What a run's CPU is read from: its own (controller) CPU, the machine's busy CPU, the hosts' processes by name. */
export interface CpuSample {
  wall: number;
  cpu?: number;
  machineBusy?: number;
  hostCpu?: ReadonlyMap<string, number>;
}

/**
 * One tool's runs of a figure (medians): wall, its own CPU (the controller's process tree), the
 * machine's busy CPU, and what the bench hosts' processes used, in all and by process name.
 */
export interface CpuRow {
  tool: string;
  wall: number;
  cpu: number | undefined;
  busy: number | undefined;
  hosts: number | undefined;
  /** The hosts' CPU seconds by process name, summed over the hosts, largest first. */
  byProcess: [string, number][];
}

/** The median CPU row of one tool's runs. */
export function cpuRow(tool: string, runs: readonly CpuSample[]): CpuRow {
  const med = (xs: (number | undefined)[]): number | undefined => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length > 0 ? median(v) : undefined;
  };
  const measured = runs.map((r) => r.hostCpu).filter((m): m is ReadonlyMap<string, number> => m !== undefined && m.size > 0);
  const names = new Set(measured.flatMap((m) => [...m.keys()]));
  return {
    tool,
    wall: median(runs.map((r) => r.wall)),
    cpu: med(runs.map((r) => r.cpu)),
    busy: med(runs.map((r) => r.machineBusy)),
    hosts: measured.length > 0 ? median(measured.map((m) => [...m.values()].reduce((a, b) => a + b, 0))) : undefined,
    byProcess: [...names]
      .map((c): [string, number] => [c, median(measured.map((m) => m.get(c) ?? 0))])
      .filter(([, v]) => v >= 0.05)
      .sort((a, b) => b[1] - a[1]),
  };
}

/** Figure 1's CPU table: per tool, wall, own CPU, the machine's busy CPU and share, the hosts' CPU and its largest processes. */
export function renderCpuTable(rows: readonly CpuRow[], cores: number): string {
  const s = (x: number | undefined): string => (x === undefined ? '–' : sec(x));
  const head =
    "| tool | wall (s) | own CPU (s) | machine busy (s) | busy ÷ (wall × cores) | hosts' processes (s CPU) | largest on the hosts (s CPU) |\n|---|---|---|---|---|---|---|";
  const line = (r: CpuRow): string =>
    `| ${r.tool} | ${sec(r.wall)} | ${s(r.cpu)} | ${s(r.busy)} | ${r.busy === undefined ? '–' : `${((r.busy / (r.wall * cores)) * 100).toFixed(0)} %`} | ${s(r.hosts)} | ${
      r.byProcess
        .slice(0, 5)
        .map(([c, v]) => `${c} ${sec(v)}`)
        .join(', ') || '–'
    } |`;
  return [head, ...rows.map(line)].join('\n');
}

/**
 * Where a converged Kiln run's wall time goes at one size (medians of its runs): the controller's
 * own CPU, and the whole machine's busy CPU (the lab's hosts share the controller's cores).
 */
export interface ProfileRow {
  n: number;
  wall: number;
  /** Controller: user+sys of the kiln process tree. */
  cpu: number;
  /** All cores busy during the run; undefined without /proc/stat. */
  busy: number | undefined;
  cores: number;
  /** The hosts' processes (hostcpu.ts): CPU seconds per host, by process name, largest first. */
  hostCpu?: [string, number][];
}

/** Median profile of a size's Kiln runs. */
export function profileRow(
  n: number,
  runs: readonly { wall: number; cpu: number; machineBusy?: number; hostCpu?: ReadonlyMap<string, number> }[],
  cores: number,
): ProfileRow {
  const busy = runs.map((r) => r.machineBusy).filter((b): b is number => b !== undefined);
  const row: ProfileRow = {
    n,
    wall: median(runs.map((r) => r.wall)),
    cpu: median(runs.map((r) => r.cpu)),
    busy: busy.length > 0 ? median(busy) : undefined,
    cores,
  };
  const measured = runs.map((r) => r.hostCpu).filter((m): m is ReadonlyMap<string, number> => m !== undefined && m.size > 0);
  if (measured.length > 0) {
    const names = new Set(measured.flatMap((m) => [...m.keys()]));
    row.hostCpu = [...names]
      .map((c): [string, number] => [c, median(measured.map((m) => m.get(c) ?? 0)) / n])
      .filter(([, v]) => v >= 0.0005)
      .sort((a, b) => b[1] - a[1]);
  }
  return row;
}

/** Figure 4's profile table: wall, controller CPU, the machine's busy share, the hosts' side per host. */
export function renderProfile(rows: readonly ProfileRow[]): string {
  const head =
    "| hosts | wall (s) | controller CPU (s) | machine busy (s) | busy ÷ (wall × cores) | hosts' side per host (s CPU) | per host, by process (s CPU) |\n|---|---|---|---|---|---|---|";
  const procs = (r: ProfileRow): string =>
    r.hostCpu && r.hostCpu.length > 0
      ? r.hostCpu
          .slice(0, 5)
          .map(([c, v]) => `${c} ${v.toFixed(3)}`)
          .join(', ')
      : '–';
  const line = (r: ProfileRow): string => {
    if (r.busy === undefined) return `| ${r.n} | ${sec(r.wall)} | ${sec(r.cpu)} | – | – | – | ${procs(r)} |`;
    const share = r.busy / (r.wall * r.cores);
    return `| ${r.n} | ${sec(r.wall)} | ${sec(r.cpu)} | ${sec(r.busy)} | ${(share * 100).toFixed(0)} % | ${(Math.max(0, r.busy - r.cpu) / r.n).toFixed(3)} | ${procs(r)} |`;
  };
  return [head, ...rows.map(line)].join('\n');
}

/** One further tool's runs in a figure, and its ÷ Kiln wall time within each run. */
export interface ToolSeries {
  runs: CpuSample[];
  ratios: number[];
}

/** Timed rounds of one figure: each tool's runs, and tool ÷ Kiln wall time within each run. */
export interface PairResult {
  k: KilnRun[];
  a: AnsibleRun[];
  /** Ansible ÷ Kiln */
  ratios: number[];
  /** Ansible + Mitogen, pyinfra (when chosen). */
  others?: { mitogen?: ToolSeries; pyinfra?: ToolSeries };
  /** Tools whose tree differed from Kiln's on a first apply. */
  treeDiffers?: string[];
}

/** Figure 6: Kiln's controller cost at the largest size. */
export interface CpuFigure {
  n: number;
  wall: number;
  cpu: number;
  rss: number;
  firstCpu: number;
  firstRss: number;
  firstWall: number;
  ansibleCpu: number | undefined;
}

/** Notes a run that failed (any run) or changed something (a run expected to find converged hosts). */
export function checkRun(
  notes: string[],
  tool: string,
  what: string,
  r: { code: number | null; failed: number; changed: number },
  expectConverged: boolean,
): void {
  if (r.code !== 0 || r.failed > 0) notes.push(`**${tool} ${what}: exit ${r.code}, ${r.failed} failed/unreachable** (log in bench/.work)`);
  if (expectConverged && r.changed > 0) notes.push(`**${tool} ${what}: ${r.changed} task results changed on a converged run**`);
}

/** A further tool's cell: `median (min–max), ×ratio (min–max)`, marked when its tree differed from Kiln's. */
export function toolCell(s: ToolSeries | undefined, treeDiffers = false): string {
  if (!s || s.runs.length === 0) return 'not run';
  const mark = treeDiffers ? " **tree ≠ Kiln's**" : '';
  return `${spread(s.runs.map((r) => r.wall))}, ${ratioSpread(s.ratios)}${mark}`;
}

export function pairRow(
  figure: number,
  what: string,
  n: number,
  res: {
    k: readonly { wall: number }[];
    a: readonly { wall: number }[];
    ratios: readonly number[];
    others?: PairResult['others'];
    treeDiffers?: readonly string[];
  },
  /** Which further tools were chosen (their columns): absent ones are 'not run'. */
  tools: readonly ('mitogen' | 'pyinfra')[] = [],
): Row {
  const differs = (t: string): boolean => res.treeDiffers?.includes(t) ?? false;
  const row: Row = {
    figure,
    what,
    hosts: n,
    kiln: spread(res.k.map((r) => r.wall)),
    ansible: res.a.length > 0 ? spread(res.a.map((r) => r.wall)) + (differs('ansible') ? " **tree ≠ Kiln's**" : '') : 'not run',
    ratio: ratioSpread(res.ratios),
    runs: res.k.length,
  };
  for (const t of tools) row[t] = toolCell(res.others?.[t], differs(t));
  return row;
}

/** The table; the Ansible + Mitogen and pyinfra columns appear when a row has them. */
export function renderTable(rows: readonly Row[]): string {
  const extra = (['mitogen', 'pyinfra'] as const).filter((t) => rows.some((r) => r[t] !== undefined));
  const names = { mitogen: 'Ansible + Mitogen', pyinfra: 'pyinfra' };
  const head =
    '| # | what | hosts | Kiln: median (min–max) | Ansible: median (min–max) | Ansible ÷ Kiln, same runs |' +
    extra.map((t) => ` ${names[t]}: median (min–max), ÷ Kiln |`).join('') +
    ' runs |\n|---|---|---|---|---|---|' +
    extra.map(() => '---|').join('') +
    '---|';
  const line = (r: Row): string =>
    `| ${r.figure} | ${r.what} | ${r.hosts} | ${r.kiln} | ${r.ansible} | ${r.ratio} |` +
    extra.map((t) => ` ${r[t] ?? '—'} |`).join('') +
    ` ${r.runs} |`;
  return [head, ...rows.map(line)].join('\n');
}

/** The table, figure 5 (when chosen and measured), figure 6 (likewise) and the problems seen. */
export function renderBody(results: Results, fig: ReadonlySet<number>, rt: readonly number[], cpu: CpuFigure | undefined): string {
  const lines: string[] = [];
  lines.push(renderTable(results.rows), '');
  if (fig.has(5) && rt.length > 0) {
    lines.push(
      `**5. Kiln SSH round trips per converged host after connecting** (from Kiln's JSON report, \`hosts.*.round_trips\`, over ${rt.length} host-runs): median ${median(rt)}, min ${Math.min(...rt)}, max ${Math.max(...rt)} (target ≤ 2).`,
      '',
    );
  }
  if (fig.has(1) && results.firstCpu && results.firstCpu.rows.length > 0) {
    const { n, cores, rows } = results.firstCpu;
    lines.push(
      `**1. Where the first applies' CPU went** (${n} hosts, medians): the lab's hosts run on the controller's ${cores} cores. "Own CPU" is the tool's process tree on the controller (GNU time); "hosts' processes" is what every process of the bench hosts used meanwhile (apt and dpkg, systemd, sshd and the scripts run in the sessions: /proc/PID/stat of each host's network namespace; an ended process's CPU is counted under the living process that reaped it, so the names say where the CPU ended up, not always what used it). A share near 100 % means the run was bound by the machine's cores.`,
      '',
      renderCpuTable(rows, cores),
      '',
    );
  }
  if (fig.has(4) && results.profile && results.profile.length > 0) {
    const cores = results.profile[0]!.cores;
    lines.push(
      `**4. Profile of Kiln's converged runs** (medians): the lab's hosts run on the controller's ${cores} cores, so the machine's busy CPU (/proc/stat, every core) minus the controller's own is the hosts' side: sshd sessions and the remote probe scripts. A share near 100 % means the run is bound by the machine's cores, not by waiting.`,
      '',
      renderProfile(results.profile),
      '',
    );
  }
  if (fig.has(6) && cpu) {
    lines.push(
      `**6. Kiln controller cost at ${cpu.n} hosts** (GNU time over the kiln process tree): converged re-run ${sec(cpu.cpu)} s CPU (user+sys) for ${sec(cpu.wall)} s wall, peak RSS ${cpu.rss.toFixed(0)} MB; ` +
        `first apply of those hosts (untimed converge step) ${sec(cpu.firstCpu)} s CPU, ${sec(cpu.firstWall)} s wall, peak RSS ${cpu.firstRss.toFixed(0)} MB` +
        (cpu.ansibleCpu !== undefined ? `; Ansible's converged re-run: ${sec(cpu.ansibleCpu)} s CPU.` : '.'),
      '',
    );
  }
  if (results.notes.length > 0) lines.push('Problems seen:', ...results.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** The results file: title with the start date, the machine lines, the method note, the body. */
export function resultsFileText(started: Date, machine: readonly string[], body: string): string {
  return (
    `# Kiln vs ansible-playbook, Ansible + Mitogen and pyinfra, ${started.toISOString().slice(0, 10)}\n\n${machine.join('\n')}\n\n` +
    'Absolute times depend on the machine (and here on whatever else it was running); the ratios, measured in the same runs, are what count. ' +
    'Method, workload and Ansible settings: bench/README.md.\n\n' +
    `${body}\n`
  );
}

/** DIR/<date><tag>.md, or <date><tag>-2.md, -3, … when that exists (a results file is never overwritten). */
export function nextResultsFile(d: Date, dir: string = RESULTS_DIR, tag = ''): string {
  const base = path.join(dir, d.toISOString().slice(0, 10) + tag);
  for (let i = 1; ; i++) {
    const f = i === 1 ? `${base}.md` : `${base}-${i}.md`;
    if (!existsSync(f)) return f;
  }
}
