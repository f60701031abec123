/**
 * The benchmark driver (`npm run bench`): Kiln against ansible-playbook, Ansible + Mitogen and
 * pyinfra on bench hosts it adds to
 * the running lab (bench1..bench50 = 10.77.0.100–.149, in .lab/bench-inventory.yml), never on the
 * lab's own hosts; removes them at the end unless --keep-hosts. Needs root (kiln lab) and a lab
 * that is up. Runs the chosen figures, writes the results file after each, prints the table at
 * the end. Method and workload: bench/README.md. Runs only when it is the entry script.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_HOSTS } from './addresses.ts';
import { timed } from './exec.ts';
import { readTree, type TreeEntry } from './trees.ts';
import { closeAnsibleMasters, ensureHosts, freshHosts, removeAllBenchHosts } from './hosts.ts';
import { log } from './log.ts';
import { parseArgs, USAGE } from './options.ts';
import { compareTrees, pairs, runTool, TOOL_LABEL, type Tool } from './pairs.ts';
import { pyinfraMissing } from './pyinfra.ts';
import { processesFigure } from './processes.ts';
import { CP_DIR, isEntry, KILN, LAB_DIR, REPO, WORK } from './paths.ts';
import { cpuRow, nextResultsFile, pairRow, profileRow, renderBody, resultsFileText, type CpuFigure, type Results } from './results.ts';
import { ensureAnsible, mitogenMissing, runKiln } from './runners.ts';
import { median, spread } from './stats.ts';
import { runScaleFigure } from './scale.ts';

/**
 * Kiln runs from its compiled build, as after `npm ci` (bin/kiln.js falls back to the TypeScript
 * sources through tsx when dist/ is older than a source: slower start, more memory, not what a
 * user runs). Builds it now; says which one the figures are from.
 */
function buildKiln(): string {
  execFileSync(process.execPath, [path.join(REPO, 'scripts/build.mjs')], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const v = execFileSync(process.execPath, [KILN, '--version'], { cwd: REPO, encoding: 'utf8' });
  return `compiled build (scripts/build.mjs), ${v.trim()}`;
}

export async function main(argv: readonly string[]): Promise<void> {
  const o = parseArgs(argv);
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0); // at once, as before: a reader that closed the pipe early (| head) gets no EPIPE crash
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new Error('the benchmark needs root (it adds hosts to the lab)');
  mkdirSync(WORK, { recursive: true });
  mkdirSync(CP_DIR, { recursive: true, mode: 0o700 });
  const ansibleVersion = ensureAnsible();
  const kilnBuild = buildKiln();
  const started = new Date();
  const load0 = os.loadavg()[0];
  const fig = new Set(o.figures);
  const maxSize = Math.max(o.hosts, ...(fig.has(4) || fig.has(6) ? o.sizes : []));
  const results: Results = { rows: [], notes: [] };
  const { rows, notes } = results;
  // The tools beside Kiln that can run here; a missing one is left out and the results say how to get it.
  const tools: Tool[] = [];
  for (const t of o.tools) {
    const why = t === 'mitogen' ? mitogenMissing() : t === 'pyinfra' ? pyinfraMissing(o.pyinfraVenv) : undefined;
    if (why) {
      log(why);
      notes.push(`**${why}**`);
    } else tools.push(t);
  }
  const extra = tools.filter((t): t is 'mitogen' | 'pyinfra' => t === 'mitogen' || t === 'pyinfra');
  const toolVersions = versions(tools, o.pyinfraVenv);
  const pv = o.pyinfraVenv;
  /** Converges bench1..benchN with Kiln and every tool (untimed), then compares the trees on bench1. */
  async function converge(n: number, withAnsible: boolean): Promise<{ kilnFirst: Awaited<ReturnType<typeof runKiln>>; differs: string[] }> {
    const kilnFirst = await runKiln(n, { label: `converge-${n}` });
    const trees = new Map<Tool, TreeEntry[]>();
    const used = tools.filter((t) => withAnsible || t === 'pyinfra');
    for (const t of used) await runTool(t, n, { check: false, label: `converge-${n}`, pyinfraVenv: pv });
    for (const t of ['kiln', ...used] as Tool[]) {
      try {
        trees.set(t, await readTree(1, t));
      } catch (err) {
        notes.push(`**converge-${n}: ${(err as Error).message}**`);
      }
    }
    return { kilnFirst, differs: compareTrees(notes, `converged ${n} hosts`, trees) };
  }
  const rt: number[] = [];
  let cpu: CpuFigure | undefined;
  const out = o.out ?? nextResultsFile(started);
  /** Writes the results file (after every figure, so an interrupted run keeps what it measured). */
  function report(final: boolean): void {
    const body = renderBody(results, fig, rt, cpu);
    if (final) process.stdout.write(`\n${body}\n`);
    const machine = [
      `- date: ${started.toISOString()} – ${new Date().toISOString()}`,
      `- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; load average ${load0.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end`,
      `- Node ${process.version}; ${ansibleVersion}; ${toolVersions}; Kiln ${gitRev()} (${kilnBuild})`,
      `- options: ${argv.join(' ') || '(defaults)'}`,
    ];
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, resultsFileText(started, machine, body));
  }
  try {
    const h = o.hosts;
    if (fig.has(1) && o.firstRuns > 0) {
      log(`figure 1: first apply on fresh hosts, ${h} hosts, ${o.firstRuns} run(s)`);
      const res = await pairs(notes, 1, h, o.firstRuns, { before: () => freshHosts(h), tools, pyinfraVenv: pv });
      rows.push(pairRow(1, 'first apply, fresh hosts', h, res, extra));
      results.firstCpu = {
        n: h,
        cores: os.cpus().length,
        rows: [
          cpuRow('Kiln', res.k),
          ...(res.a.length > 0 ? [cpuRow('Ansible', res.a)] : []),
          ...extra.flatMap((t) => (res.others?.[t] ? [cpuRow(TOOL_LABEL[t], res.others[t].runs)] : [])),
        ],
      };
      report(false);
    }
    if ([2, 3, 5].some((f) => fig.has(f))) {
      await ensureHosts(h);
      log(`converging ${h} hosts with every tool (untimed)`);
      const { differs } = await converge(h, true);
      if (fig.has(2) || fig.has(5)) {
        const res = await pairs(notes, 2, h, o.runs, { tools, pyinfraVenv: pv });
        if (fig.has(2)) rows.push(pairRow(2, '**converged re-run**', h, { ...res, treeDiffers: differs }, extra));
        rt.push(...res.k.flatMap((r) => r.roundTrips));
        report(false);
      }
      if (fig.has(3)) {
        const res = await pairs(notes, 3, h, o.runs, { check: true, tools, pyinfraVenv: pv });
        rows.push(pairRow(3, '--check, converged hosts', h, { ...res, treeDiffers: differs }, extra));
      }
      report(false);
    }
    if (fig.has(8)) await runScaleFigure(log);
    if (fig.has(4) || fig.has(6)) {
      const sizes = fig.has(4) ? [...o.sizes].sort((a, b) => a - b) : [maxSize];
      for (const n of sizes) {
        await ensureHosts(n);
        const ansible = n <= o.ansibleMax;
        log(`converging ${n} hosts (untimed)${ansible ? '' : '; Ansible skipped at this size (--ansible-max-hosts)'}`);
        const { kilnFirst: first, differs } = await converge(n, ansible);
        const sized = tools.filter((t) => ansible || t === 'pyinfra');
        const res = await pairs(notes, 4, n, Math.max(1, o.scaleRuns), { tools: sized, pyinfraVenv: pv });
        if (fig.has(4)) {
          rows.push(pairRow(4, 'converged re-run', n, { ...res, treeDiffers: differs }, extra));
          (results.profile ??= []).push(profileRow(n, res.k, os.cpus().length));
        }
        rt.push(...res.k.flatMap((r) => r.roundTrips));
        if (n === maxSize) {
          cpu = {
            n,
            wall: median(res.k.map((r) => r.wall)),
            cpu: median(res.k.map((r) => r.cpu)),
            rss: Math.max(...res.k.map((r) => r.rssMB)),
            firstCpu: first.cpu,
            firstRss: first.rssMB,
            firstWall: first.wall,
            ansibleCpu: res.a.length > 0 ? median(res.a.map((r) => r.cpu)) : undefined,
          };
        }
        report(false);
      }
    }
    if (fig.has(7)) notes.push(...(await processesFigure(ensureHosts, o.runs)));
    if (o.site) {
      const pb = path.join(REPO, 'playbooks/site.yml');
      if (!existsSync(pb)) notes.push('playbooks/site.yml does not exist yet: no site figure');
      else {
        const w: number[] = [];
        for (let i = 0; i < o.runs; i++) {
          const r = await timed(process.execPath, [KILN, 'apply', pb, '-i', path.join(LAB_DIR, 'inventory.yml'), '--progress', 'plain'], {
            logFile: path.join(WORK, `site-${i + 1}.log`),
          });
          if (r.code !== 0) notes.push(`site.yml re-run ${i + 1}: exit ${r.code}`);
          w.push(r.wall);
        }
        rows.push({
          figure: 'site',
          what: 'playbooks/site.yml converged re-run (lab hosts)',
          hosts: 7,
          kiln: spread(w),
          ansible: '—',
          ratio: '—',
          runs: w.length,
        });
      }
    }
  } finally {
    closeAnsibleMasters(MAX_HOSTS);
    if (!o.keepHosts) removeAllBenchHosts();
  }

  // Figures 7 and 8 write files of their own: no table file when only they ran.
  if ([...fig].some((f) => f !== 7 && f !== 8) || notes.length > 0) {
    report(true);
    log(`results written to ${path.relative(process.cwd(), out)}`);
  }
}

/** The versions of the further tools, for the results' header. */
function versions(tools: readonly Tool[], venv: string): string {
  const out: string[] = [];
  if (tools.includes('mitogen')) {
    try {
      out.push(
        `ansible-mitogen ${execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ansible-mitogen'], { encoding: 'utf8' }).trim()} (Debian)`,
      );
    } catch {
      out.push('ansible-mitogen (version unknown)');
    }
  }
  if (tools.includes('pyinfra')) {
    try {
      const v = execFileSync(path.join(venv, 'bin/pyinfra'), ['--version'], { encoding: 'utf8' }).trim();
      out.push(`${v.replace(/^pyinfra:\s*/, 'pyinfra ')} (from source, ${venv})`);
    } catch {
      out.push('pyinfra (version unknown)');
    }
  }
  return out.join('; ') || 'Kiln and Ansible only';
}

function gitRev(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

if (isEntry(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`kiln-bench: ${err.message}\n`);
    process.exitCode = 1;
  });
}
