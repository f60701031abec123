/** Results, per-host statistics, the recap and the JSON report. Everything printed is redacted. */
import { writeFileSync } from 'node:fs';
import type { Change } from '../modules/contract.ts';
import { redact, redactDeep } from '../core/secret/secret.ts';

export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskResult {
  host: string;
  play: string;
  task: string;
  module: string;
  status: Status;
  changes: Change[];
  diff?: string;
  message?: string;
  duration_ms: number;
  /** A dry-run prediction (nothing was applied). */
  check: boolean;
  handler: boolean;
  ignored?: boolean;
  /**
   * A failure inside a block with a rescue (Ansible 2.14's is_any_block_rescuing): still reported
   * failed, counted in the host's `rescued`, not `failed`; the host goes on with the rescue.
   */
  rescued?: boolean;
  /** The module could not predict whether this really changes anything. */
  unpredictable?: boolean;
  /** delegate_to: the host whose connection ran the task (shown as `host -> delegate`, as Ansible shows it). */
  delegate?: string;
}

export interface HostStats {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  ignored: number;
  /** Failures rescued by a block's `rescue` (Ansible's `rescued`). */
  rescued: number;
  unreachable: boolean;
  /** SSH round trips after connecting (probes, applies, verifies): remote scripts started. */
  round_trips: number;
  /**
   * Barrier waits inside those scripts (docs/batching.md): parts of a batch's script sent later on
   * the same shell, at the turn of a task every host had to finish the tasks before (linear strategy).
   */
  syncs: number;
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, rescued: 0, unreachable: false, round_trips: 0, syncs: 0 };
}

/**
 * Counts a result as ansible-core 2.14's strategy counts it for the recap
 * (`_process_pending_results`): `ok` for every result that is not failed, skipped or
 * unreachable — a changed one is `ok` and `changed`; an ignored failure or an ignored unreachable
 * is `ok` and `ignored`; a rescued failure only `rescued`.
 */
export function count(stats: HostStats, r: TaskResult): void {
  if (r.status === 'unreachable') {
    // ignore_unreachable: ok and ignored; the host is not unreachable for the recap.
    if (r.ignored) {
      stats.ok++;
      stats.ignored++;
    } else stats.unreachable = true;
  } else if (r.status === 'failed' && r.ignored) {
    stats.ok++;
    stats.ignored++;
  } else if (r.status === 'failed' && r.rescued) stats.rescued++;
  else if (r.status === 'changed') {
    stats.ok++;
    stats.changed++;
  } else stats[r.status]++;
}

/**
 * Counts one task's results on one host (a loop's items, or the one result) once, as Ansible
 * counts a loop's one aggregated result: unreachable if an item was, failed (or rescued) if an
 * item failed that was not ignored, ok and ignored if only ignored items failed, skipped if every
 * item was, else ok — and changed if an item changed.
 */
export function countTask(stats: HostStats, results: readonly TaskResult[]): void {
  if (results.length === 0) return;
  if (results.length === 1) return count(stats, results[0]!);
  const unreachable = results.find((r) => r.status === 'unreachable');
  if (unreachable) return count(stats, unreachable);
  const changed = results.some((r) => r.status === 'changed');
  const failed = results.filter((r) => r.status === 'failed');
  const fatal = failed.find((r) => !r.ignored);
  if (fatal) return count(stats, fatal);
  if (failed.length) {
    stats.ok++;
    stats.ignored++;
    if (changed) stats.changed++;
    return;
  }
  if (results.every((r) => r.status === 'skipped')) {
    stats.skipped++;
    return;
  }
  stats.ok++;
  if (changed) stats.changed++;
}

/**
 * What the run was (the JSON report's `run`): enough for `kiln report merge` to prove that
 * reports are the shards of one run and that none is missing (plan/fingerprint.ts).
 */
export interface RunInfo {
  /** The playbook's file name. */
  playbook: string;
  /** `sha256:…` of the playbook's and inventory's structure and the selection (never a value). */
  fingerprint: string;
  /** `--shard i/n` (0-based), or null when the run was not sharded. */
  shard: { index: number; count: number } | null;
  /** Hosts the run selects over all its plays, before sharding. */
  selected_hosts: number;
  /** Of those, the hosts of this shard (all of them when not sharded). */
  shard_hosts: number;
}

export interface RunReport {
  hosts: Record<string, HostStats>;
  tasks: TaskResult[];
  check: boolean;
  duration_ms: number;
  /** What stopped the run unexpectedly (an internal error), if anything did: the results are those until then. */
  error?: string;
  /** What the run was (kiln apply records it; `kiln report merge` checks it). */
  run?: RunInfo;
}

/** Writes the JSON report. Secrets are redacted by value (raw and JSON-escaped) and by the Secret type's toJSON. */
export function writeJsonReport(file: string, report: RunReport): void {
  const tasks = report.tasks.map((t) => ({
    host: t.host,
    play: t.play,
    task: t.task,
    module: t.module,
    status: t.status,
    changes: t.changes.map((c) => ({
      summary: c.summary,
      ...(c.action ? { action: true } : {}),
      ...(c.unpredictable ? { unpredictable: true } : {}),
    })),
    ...(t.diff ? { diff: t.diff } : {}),
    ...(t.message ? { message: t.message } : {}),
    ...(t.handler ? { handler: true } : {}),
    ...(t.ignored ? { ignored: true } : {}),
    ...(t.rescued ? { rescued: true } : {}),
    ...(t.unpredictable ? { unpredictable: true } : {}),
    ...(t.delegate ? { delegate: t.delegate } : {}),
    check: t.check,
    duration_ms: t.duration_ms,
  }));
  // Each string is redacted before JSON escapes it, and the text again after (the redactor also
  // knows every secret's JSON-escaped form).
  const json = JSON.stringify(
    redactDeep({
      ...(report.run ? { run: report.run } : {}),
      hosts: report.hosts,
      tasks,
      check: report.check,
      duration_ms: report.duration_ms,
      ...(report.error ? { error: report.error } : {}),
    }),
    null,
    2,
  );
  writeFileSync(file, redact(json) + '\n', { mode: 0o600 });
}

export function recapLines(hosts: Record<string, HostStats>): string[] {
  const names = Object.keys(hosts);
  const w = Math.max(4, ...names.map((n) => n.length));
  return names.map((n) => {
    const s = hosts[n]!;
    return `${n.padEnd(w)} : ok=${s.ok}  changed=${s.changed}  failed=${s.failed}  skipped=${s.skipped}  unreachable=${s.unreachable ? 1 : 0}${s.rescued ? `  rescued=${s.rescued}` : ''}${s.ignored ? `  ignored=${s.ignored}` : ''}`;
  });
}
