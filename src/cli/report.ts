/**
 * `kiln report merge A.json B.json … [--json OUT] [--allow-partial]`: the shards' JSON reports of
 * one run (`kiln apply --shard i/n --json …`) merged into one recap, printed as `kiln apply` prints
 * its own, and one report (engine/report-merge.ts). Exit codes as the unsharded run would have
 * had them — the worst of the shards: 1 if a shard stopped on an internal error, 4 if a host failed
 * or was unreachable (or, with --allow-partial, a shard is missing: its hosts are not known to have
 * converged), else 0; 2 when the reports cannot be merged (nothing is written).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT, formatDiagnostic, InputError } from '../core/diagnostic.ts';

export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('work with the JSON reports of `kiln apply --json`');
  report
    .command('merge')
    .description('merge the JSON reports of the shards of one run (kiln apply --shard i/n --json) into one recap')
    .argument('<reports...>', 'the shards’ JSON reports')
    .option('--json <file>', 'write the merged JSON report')
    .option('--allow-partial', 'merge even when shards are missing (named; their hosts count as not converged: exit 4)', false)
    .action(async (files: string[], opts: { json?: string; allowPartial: boolean }) => {
      const [{ mergeReports }, { recapLines }] = await Promise.all([import('../engine/report-merge.ts'), import('../engine/report.ts')]);
      const inputs = files.map((file) => {
        try {
          return { file, text: readFileSync(file, 'utf8') };
        } catch (err) {
          throw new InputError({ file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        }
      });
      const { merged, problems } = mergeReports(inputs, { allowPartial: opts.allowPartial });
      if (!merged) {
        for (const p of problems) console.error(formatDiagnostic(p));
        console.error(`${problems.length} error${problems.length === 1 ? '' : 's'}; the reports were not merged.`);
        process.exitCode = EXIT.invalid;
        return;
      }
      const r = merged.report;
      const run = r.run!;
      const shards = run.merged_shards!;
      console.log(
        `MERGED ${shards.length} report${shards.length === 1 ? '' : 's'} of ${run.playbook} (${run.fingerprint.slice(0, 19)}…): shards ${shards.join(', ')}; ${run.shard_hosts} of ${run.selected_hosts} selected host(s)`,
      );
      if (merged.missing.length)
        console.log(
          `PARTIAL: shard${merged.missing.length === 1 ? '' : 's'} ${merged.missing.join(', ')} missing: ${merged.missingHosts} selected host(s) are not reported and not known to have converged`,
        );
      console.log('\nRECAP' + (r.check ? ' (check mode: predicted)' : ''));
      for (const l of recapLines(r.hosts)) console.log(l);
      console.log(`\ntime: ${(r.duration_ms / 1000).toFixed(2)}s (the longest shard)`);
      if (opts.json) writeFileSync(opts.json, JSON.stringify(r, null, 2) + '\n', { mode: 0o600 });
      for (const e of merged.errors) {
        console.error(`kiln: ${e.file}: that shard stopped on an internal error (its results are those until then):`);
        console.error(e.error);
      }
      const bad = Object.values(r.hosts).some((s) => s.failed > 0 || s.unreachable);
      process.exitCode = merged.errors.length ? EXIT.error : bad || merged.missing.length ? EXIT.hostFailed : EXIT.ok;
    });
}
