/**
 * How a meta task runs and shows, as ansible-core 2.14 does it (StrategyBase._execute_meta and the
 * default callback; checked with ansible-playbook, test/fixtures/ansible/meta-output/):
 * - `noop`, `flush_handlers`, `reset_connection`, `end_host` run on each host; each run announces
 *   the task again (one banner per host);
 * - `end_play`, `end_batch`, `clear_host_errors` run once, on the first host of the step: their
 *   `when` is evaluated there only (`end_play` when: inventory_hostname == 'h2' ends nothing when
 *   h1 comes first); one banner;
 * - a meta that ran prints no "ok" line (Ansible shows it at -vv only, as "META: …"); one whose
 *   `when` is false is skipped (Kiln shows skips as it does for any task);
 * - neither counts in the recap (Ansible's stats never see a meta result). The JSON report's
 *   task list keeps them.
 */
import type { TaskDef } from '../input/playbook/types.ts';
import type { TaskResult } from './report.ts';

const ONCE = new Set(['end_play', 'end_batch', 'clear_host_errors']);

/** undefined: not a meta task; 'once': run on the first host only; 'per-host': on each, with a banner each. */
export function metaKind(task: TaskDef): 'once' | 'per-host' | undefined {
  if (task.module !== 'meta') return undefined;
  return ONCE.has(String(task.params.free_form)) ? 'once' : 'per-host';
}

/** A meta task's result that Ansible neither prints as "ok" nor counts: it ran, or was skipped. */
export function isQuietMeta(r: TaskResult): boolean {
  return r.module === 'meta' && (r.status === 'ok' || r.status === 'skipped');
}
