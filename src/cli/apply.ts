/** `kiln apply`: validate (exit 2 on any error, no host contacted), run, recap, JSON report. */
import { EXIT, formatDiagnostic } from '../core/diagnostic.ts';
import { recapLines, writeJsonReport } from '../engine/report.ts';
import type { Reporter } from '../engine/events.ts';
import { Runner } from '../engine/runner.ts';
import { ListrReporter } from '../output/listr.ts';
import { PlainReporter } from '../output/plain.ts';
import { redact } from '../core/secret/secret.ts';
import { loadSshConfig } from '../transport/ssh/sshconfig.ts';
import { validateRun } from '../plan/validate.ts';
import type { VaultOptions } from '../core/secret/vault.ts';
import type { TransportWrapper } from '../transport/transport.ts';

export interface ApplyOptions extends VaultOptions {
  inventory: string[];
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: Record<string, unknown>;
  check: boolean;
  diff: boolean;
  json?: string;
  forks: number;
  acceptNewHostKeys: boolean;
  stats: boolean;
  verbose: boolean;
  color: boolean;
  progress: string;
}

/** What a caller may inject (tests: test/helpers/kiln-with-faults.ts); production passes nothing. */
export interface ApplyDeps {
  /** Wraps the SSH transport (fault injection). */
  wrapTransport?: TransportWrapper;
}

export async function runApply(playbookFile: string, opts: ApplyOptions, deps: ApplyDeps = {}): Promise<number> {
  const write = (s: string) => process.stdout.write(redact(s) + '\n');
  const v = validateRun({
    playbook: playbookFile,
    inventory: opts.inventory,
    extraVars: opts.extraVars,
    limit: opts.limit,
    tags: opts.tags,
    skipTags: opts.skipTags,
    check: opts.check,
    diff: opts.diff,
    vaultPassword: opts.vaultPassword,
  });
  for (const w of v.warnings) console.error(`warning: ${formatDiagnostic(w)}`);
  const tty = process.stdout.isTTY && !process.env.CI && opts.progress !== 'plain';
  const useColor = opts.color && Boolean(process.stdout.isTTY);
  const reporter: Reporter = tty
    ? new ListrReporter(write, { verbose: opts.verbose })
    : new PlainReporter(write, { color: useColor, verbose: opts.verbose });
  if (opts.check) write('CHECK MODE: probing and planning only; nothing will be changed.');
  const runner = new Runner(v.playbook, v.inventory, {
    check: opts.check,
    diff: opts.diff,
    forks: Math.max(1, opts.forks || 20),
    limit: opts.limit,
    tags: opts.tags,
    skipTags: opts.skipTags,
    plan: v.plan,
    extraVars: opts.extraVars,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    sshConfig: loadSshConfig(),
    reporter,
    wrapTransport: deps.wrapTransport,
  });
  const report = await runner.run();
  write('\nRECAP' + (opts.check ? ' (check mode: predicted)' : ''));
  for (const l of recapLines(report.hosts)) write(l);
  if (opts.stats) {
    write('\nSTATS (SSH round trips after connecting)');
    for (const [h, s] of Object.entries(report.hosts)) write(`${h}: round_trips=${s.round_trips}`);
  }
  write(`\ntime: ${(report.duration_ms / 1000).toFixed(2)}s`);
  if (opts.json) writeJsonReport(opts.json, report);
  const bad = Object.values(report.hosts).some((s) => s.failed > 0 || s.unreachable);
  return bad ? EXIT.hostFailed : EXIT.ok;
}
