/**
 * `kiln report merge`: the JSON reports of the shards of one run (`kiln apply --shard i/n --json`)
 * made into one recap and one report (docs/cli.md, Sharding).
 *
 * A merge proves what it merges: every report carries its run's `run` record (report.ts RunInfo);
 * all must have the same fingerprint, check mode and shard count, no shard twice, no host in two
 * reports, and every shard 0 … n-1 present — else it is refused with the file (and the shard)
 * named. With `allowPartial` missing shards are allowed but said, and their hosts count as not
 * converged (exit 4). The merged hosts are sorted by name (as Ansible's recap sorts them), the
 * tasks are those of the shards in shard order, and the duration is the longest shard's (they ran
 * side by side).
 */
import type { Diagnostic } from '../core/diagnostic.ts';
import type { HostStats, RunInfo } from './report.ts';

/** A JSON report as `writeJsonReport` writes it (tasks as written, untouched by the merge). */
export interface JsonReport {
  run?: RunInfo & { merged_shards?: number[] };
  hosts: Record<string, HostStats>;
  tasks: unknown[];
  check: boolean;
  duration_ms: number;
  error?: string;
}

export interface MergeInput {
  file: string;
  text: string;
}

export interface Merged {
  report: JsonReport;
  /** Shards no report was given for (only with allowPartial; else they are problems). */
  missing: number[];
  /** Hosts of the run not covered by the reports given (the missing shards' hosts). */
  missingHosts: number;
  /** The shards' errors (an internal error stopped that shard), with their file. */
  errors: { file: string; error: string }[];
}

const HOST_KEYS = ['ok', 'changed', 'failed', 'skipped', 'ignored', 'rescued', 'round_trips'] as const;

const problem = (file: string, message: string) => ({ problem: { file, message } });

/** Reads one report, or says what is wrong with it. */
function parse(input: MergeInput): { report: JsonReport } | { problem: Diagnostic } {
  let data: unknown;
  try {
    data = JSON.parse(input.text);
  } catch (err) {
    return problem(input.file, `not JSON: ${(err as Error).message}`);
  }
  const r = data as Partial<JsonReport> | null;
  if (!r || typeof r !== 'object' || typeof r.hosts !== 'object' || !r.hosts || !Array.isArray(r.tasks))
    return problem(input.file, 'not a kiln JSON report (no `hosts` and `tasks`)');
  const run = r.run;
  if (
    !run ||
    typeof run.fingerprint !== 'string' ||
    typeof run.selected_hosts !== 'number' ||
    typeof run.shard_hosts !== 'number' ||
    (run.shard !== null && (typeof run.shard?.index !== 'number' || typeof run.shard?.count !== 'number'))
  )
    return problem(input.file, 'no `run` record (the shard and the run fingerprint): written by `kiln apply --json` of an older kiln?');
  if (
    run.shard &&
    !(
      Number.isInteger(run.shard.count) &&
      run.shard.count >= 1 &&
      Number.isInteger(run.shard.index) &&
      run.shard.index >= 0 &&
      run.shard.index < run.shard.count
    )
  )
    return problem(input.file, `shard ${run.shard.index}/${run.shard.count}: not a shard (0 ≤ i < n)`);
  if (run.merged_shards) return problem(input.file, 'already a merged report: merge the shards’ own reports');
  for (const [h, s] of Object.entries(r.hosts)) {
    if (!s || typeof s !== 'object' || HOST_KEYS.some((k) => typeof (s as unknown as Record<string, unknown>)[k] !== 'number'))
      return problem(input.file, `host '${h}': its statistics are not a kiln report's`);
    // `syncs` came later (barriers of the linear strategy): a report without it had none.
    const st = s as unknown as Record<string, unknown>;
    if (st.syncs === undefined) st.syncs = 0;
    else if (typeof st.syncs !== 'number') return problem(input.file, `host '${h}': its statistics are not a kiln report's`);
  }
  return { report: r as JsonReport };
}

export function mergeReports(
  inputs: readonly MergeInput[],
  opts: { allowPartial?: boolean } = {},
): { merged?: Merged; problems: Diagnostic[] } {
  const problems: Diagnostic[] = [];
  if (!inputs.length) return { problems: [{ file: 'command line', message: 'no report to merge' }] };
  const reports: { file: string; r: JsonReport }[] = [];
  for (const i of inputs) {
    const p = parse(i);
    if ('problem' in p) problems.push(p.problem);
    else reports.push({ file: i.file, r: p.report });
  }
  if (problems.length) return { problems };
  const first = reports[0]!;
  const run0 = first.r.run!;
  const count = run0.shard?.count ?? 1;
  const byIndex = new Map<number, string>();
  const hostFile = new Map<string, string>();
  for (const { file, r } of reports) {
    const run = r.run!;
    if (run.fingerprint !== run0.fingerprint)
      problems.push({
        file,
        message: `not the same run as ${first.file}: fingerprint ${run.fingerprint} (playbook ${run.playbook}) ≠ ${run0.fingerprint} (playbook ${run0.playbook}): another playbook, inventory, --limit, tags, check mode or extra-var names`,
      });
    if (r.check !== first.r.check) problems.push({ file, message: `check mode ${r.check} ≠ ${first.file}'s ${first.r.check}` });
    const n = run.shard?.count ?? 1;
    const i = run.shard?.index ?? 0;
    if (n !== count) {
      problems.push({
        file,
        message: `shard ${i}/${n}: not of the same number of shards as ${first.file} (${run0.shard?.index ?? 0}/${count})`,
      });
      continue;
    }
    const dup = byIndex.get(i);
    if (dup !== undefined) problems.push({ file, message: `shard ${i}/${n} twice: also ${dup}` });
    else byIndex.set(i, file);
    for (const h of Object.keys(r.hosts)) {
      const other = hostFile.get(h);
      if (other !== undefined && other !== file) problems.push({ file, message: `host '${h}' is also in ${other}: the reports overlap` });
      else hostFile.set(h, file);
    }
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length && !opts.allowPartial)
    problems.push({
      file: 'command line',
      message: `missing shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i}/${count}`).join(', ')} (${byIndex.size} of ${count} given; --allow-partial merges them anyway)`,
    });
  if (problems.length) return { problems };
  const covered = reports.reduce((n, { r }) => n + r.run!.shard_hosts, 0);
  if (!missing.length && covered !== run0.selected_hosts)
    return {
      problems: [
        {
          file: 'command line',
          message: `the shards cover ${covered} host(s), the run selects ${run0.selected_hosts}: the reports are not of one partition`,
        },
      ],
    };
  const ordered = [...reports].sort((a, b) => (a.r.run!.shard?.index ?? 0) - (b.r.run!.shard?.index ?? 0));
  const hosts: Record<string, HostStats> = {};
  for (const h of [...hostFile.keys()].sort()) hosts[h] = ordered.find(({ r }) => h in r.hosts)!.r.hosts[h]!;
  const errors = ordered.filter(({ r }) => r.error).map(({ file, r }) => ({ file, error: r.error! }));
  const report: JsonReport = {
    run: {
      playbook: run0.playbook,
      fingerprint: run0.fingerprint,
      shard: null,
      selected_hosts: run0.selected_hosts,
      shard_hosts: covered,
      merged_shards: ordered.map(({ r }) => r.run!.shard?.index ?? 0),
    },
    hosts,
    tasks: ordered.flatMap(({ r }) => r.tasks),
    check: first.r.check,
    duration_ms: Math.max(...ordered.map(({ r }) => r.duration_ms)),
    ...(errors.length ? { error: errors.map((e) => `${e.file}: ${e.error}`).join('\n') } : {}),
  };
  return { merged: { report, missing, missingHosts: run0.selected_hosts - covered, errors }, problems: [] };
}
