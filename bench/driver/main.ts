/**
 * The benchmark driver (`npm run bench`): Kiln against ansible-playbook on bench hosts it adds to
 * the running lab (bench1..bench50 = 10.77.0.100–.149, in .lab/bench-inventory.yml), never on the
 * lab's own hosts; removes them at the end unless --keep-hosts. Needs root (kiln lab) and a lab
 * that is up. Runs the chosen figures, writes the results file after each, prints the table at
 * the end. Method and workload: bench/README.md. Runs only when it is the entry script.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_HOSTS } from './addresses.ts';
import { timed } from './exec.ts';
import { closeAnsibleMasters, ensureHosts, freshHosts, removeAllBenchHosts } from './hosts.ts';
import { log } from './log.ts';
import { parseArgs, USAGE } from './options.ts';
import { pairs } from './pairs.ts';
import { processesFigure } from './processes.ts';
import { CP_DIR, KILN, LAB_DIR, REPO, WORK } from './paths.ts';
import { nextResultsFile, pairRow, renderBody, resultsFileText, type CpuFigure, type Results } from './results.ts';
import { ensureAnsible, runAnsible, runKiln } from './runners.ts';
import { median, spread } from './stats.ts';
import { runScaleFigure } from './scale.ts';

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
  const started = new Date();
  const load0 = os.loadavg()[0];
  const fig = new Set(o.figures);
  const maxSize = Math.max(7, ...(fig.has(4) || fig.has(6) ? o.sizes : []));
  const results: Results = { rows: [], notes: [] };
  const { rows, notes } = results;
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
      `- Node ${process.version}; ${ansibleVersion}; Kiln ${gitRev()}`,
      `- options: ${argv.join(' ') || '(defaults)'}`,
    ];
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, resultsFileText(started, machine, body));
  }
  try {
    if (fig.has(1) && o.firstRuns > 0) {
      log(`figure 1: first apply on fresh hosts, 7 hosts, ${o.firstRuns} run(s)`);
      rows.push(pairRow(1, 'first apply, fresh hosts', 7, await pairs(notes, 1, 7, o.firstRuns, { before: () => freshHosts(7) })));
      report(false);
    }
    if ([2, 3, 5].some((f) => fig.has(f))) {
      await ensureHosts(7);
      log('converging 7 hosts with both tools (untimed)');
      await runKiln(7, { label: 'converge-7' });
      await runAnsible(7, { label: 'converge-7' });
      if (fig.has(2) || fig.has(5)) {
        const res = await pairs(notes, 2, 7, o.runs);
        if (fig.has(2)) rows.push(pairRow(2, '**converged re-run**', 7, res));
        rt.push(...res.k.flatMap((r) => r.roundTrips));
        report(false);
      }
      if (fig.has(3)) rows.push(pairRow(3, '--check, converged hosts', 7, await pairs(notes, 3, 7, o.runs, { check: true })));
      report(false);
    }
    if (fig.has(7)) await runScaleFigure(log);
    if (fig.has(4) || fig.has(6)) {
      const sizes = fig.has(4) ? [...o.sizes].sort((a, b) => a - b) : [maxSize];
      for (const n of sizes) {
        await ensureHosts(n);
        const ansible = n <= o.ansibleMax;
        log(`converging ${n} hosts (untimed)${ansible ? '' : '; Ansible skipped at this size (--ansible-max-hosts)'}`);
        const first = await runKiln(n, { label: `converge-${n}` });
        if (ansible) await runAnsible(n, { label: `converge-${n}` });
        const res = await pairs(notes, 4, n, Math.max(1, o.scaleRuns), { ansible });
        if (fig.has(4)) rows.push(pairRow(4, 'converged re-run', n, res));
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

  report(true);
  log(`results written to ${path.relative(process.cwd(), out)}`);
}

function gitRev(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

/** Whether this module is the script node was started with (not imported by a test or another module). */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(path.resolve(entry)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`kiln-bench: ${err.message}\n`);
    process.exitCode = 1;
  });
}
