/**
 * `kiln apply`: validate (exit 2 on any error, no host contacted), run, recap, JSON report.
 *
 * The recap and the JSON report are always written once the run started: after a normal run (exit
 * 0, or 4 when a host failed or was unreachable), and also when something unexpected stopped it (an
 * internal error inside the run, or an uncaught exception or rejection from anywhere in the
 * process): then with the results until that moment, the error printed, and exit 1.
 */
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
import type { RunReport } from '../engine/report.ts';
import { parseTimeoutOptions } from './timeouts.ts';
import { formatShard, inShard, type Shard } from '../plan/shard.ts';
import { shardNotes } from '../plan/shard-refusals.ts';
import { runIdentity } from '../plan/fingerprint.ts';

export interface ApplyOptions extends VaultOptions {
  inventory: string[];
  limit?: string;
  /** `--shard i/n` (0-based), parsed. */
  shard?: Shard;
  tags: string[];
  skipTags: string[];
  extraVars: Record<string, unknown>;
  check: boolean;
  diff: boolean;
  json?: string;
  forks: number;
  /** `--no-batch` sets it false: one apply per round trip (docs/batching.md). */
  batch?: boolean;
  acceptNewHostKeys: boolean;
  stats: boolean;
  /** `-v` counted (0: none). */
  verbose: number;
  color: boolean;
  progress: string;
  /** The timeout options, as commander gives them (strings; see timeouts.ts). */
  connectTimeout?: string;
  keepaliveInterval?: string;
  keepaliveCount?: string;
  commandTimeout?: string;
}

/** What a caller may inject (tests: test/helpers/kiln-with-faults.ts); production passes nothing. */
export interface ApplyDeps {
  /** Wraps the SSH transport (fault injection). */
  wrapTransport?: TransportWrapper;
}

export async function runApply(playbookFile: string, opts: ApplyOptions, deps: ApplyDeps = {}): Promise<number> {
  const write = (s: string) => process.stdout.write(redact(s) + '\n');
  const timeouts = parseTimeoutOptions(opts as unknown as Record<string, unknown>);
  const sshConfig = loadSshConfig();
  const v = validateRun({
    playbook: playbookFile,
    inventory: opts.inventory,
    extraVars: opts.extraVars,
    limit: opts.limit,
    shard: opts.shard,
    tags: opts.tags,
    skipTags: opts.skipTags,
    check: opts.check,
    diff: opts.diff,
    vaultPassword: opts.vaultPassword,
    connection: { sshConfig, acceptNewHostKeys: opts.acceptNewHostKeys },
  });
  for (const w of v.warnings) console.error(`warning: ${formatDiagnostic(w)}`);
  for (const n of v.notes) write(`note: ${formatDiagnostic(n)}`);
  // What the run is (its fingerprint, its selection before sharding): the JSON report's `run`.
  const identity = runIdentity(v.playbook, v.inventory, { ...opts, check: opts.check });
  const shardHosts = inShard(identity.selected, opts.shard).length;
  if (opts.shard) {
    write(
      `SHARD ${formatShard(opts.shard)}: ${shardHosts} of the ${identity.selected.length} selected host(s) (run ${identity.fingerprint.slice(0, 19)}…)`,
    );
    for (const p of v.playbook.plays) for (const n of shardNotes(p, opts.shard)) write(`note: ${formatDiagnostic(n)}`);
  }
  const tty = process.stdout.isTTY && !process.env.CI && opts.progress !== 'plain';
  const useColor = opts.color && Boolean(process.stdout.isTTY);
  const reporter: Reporter = tty
    ? new ListrReporter(write, { verbose: Number(opts.verbose) > 0 })
    : new PlainReporter(write, { color: useColor, verbose: Number(opts.verbose) > 0 });
  if (opts.check) write('CHECK MODE: probing and planning only; nothing will be changed.');
  const runner = new Runner(v.playbook, v.inventory, {
    check: opts.check,
    diff: opts.diff,
    forks: opts.forks,
    batch: opts.batch !== false,
    limit: opts.limit,
    shard: opts.shard,
    tags: opts.tags,
    skipTags: opts.skipTags,
    plan: v.plan,
    extraVars: opts.extraVars,
    vaultPassword: opts.vaultPassword,
    verbosity: Number(opts.verbose) || 0,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    sshConfig,
    reporter,
    wrapTransport: deps.wrapTransport,
    timeouts,
  });
  const { report, crashed } = await guardedRun(runner);
  report.run = {
    playbook: identity.playbook,
    fingerprint: identity.fingerprint,
    shard: opts.shard ? { index: opts.shard.index, count: opts.shard.count } : null,
    selected_hosts: identity.selected.length,
    shard_hosts: shardHosts,
  };
  write('\nRECAP' + (opts.check ? ' (check mode: predicted)' : ''));
  for (const l of recapLines(report.hosts)) write(l);
  if (opts.stats) {
    write('\nSTATS (SSH round trips after connecting)');
    for (const [h, s] of Object.entries(report.hosts)) write(`${h}: round_trips=${s.round_trips} syncs=${s.syncs}`);
    write(`pending handlers file: ${runner.pendingWrites} durable write(s)`);
  }
  write(`\ntime: ${(report.duration_ms / 1000).toFixed(2)}s`);
  if (opts.json) writeJsonReport(opts.json, report);
  if (report.error) {
    console.error(
      `kiln: internal error; the run stopped here (the recap${opts.json ? ' and the JSON report' : ''} hold the results until then):`,
    );
    console.error(redact(report.error));
    // After an uncaught exception nothing in this process can be trusted to finish: stop now
    // (pending handler notifications are already on disk, written ahead).
    if (crashed) process.exit(EXIT.error);
    return EXIT.error;
  }
  const bad = Object.values(report.hosts).some((s) => s.failed > 0 || s.unreachable);
  return bad ? EXIT.hostFailed : EXIT.ok;
}

/**
 * The run's report, whatever happens: the runner's own (which holds any error that stopped it), or,
 * when an uncaught exception or unhandled rejection strikes first anywhere in the process, the
 * report of what ran until then with that error (`crashed`).
 */
function guardedRun(runner: Runner): Promise<{ report: RunReport; crashed: boolean }> {
  return new Promise((resolve) => {
    const settle = (report: RunReport, crashed: boolean) => {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      resolve({ report, crashed });
    };
    const describe = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));
    const onCrash = (err: unknown) => settle(runner.report(`uncaught: ${describe(err)}`), true);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    runner.run().then(
      (report) => settle(report, false),
      (err: unknown) => settle(runner.report(describe(err)), false),
    );
  });
}
