/**
 * What the free strategy (and host_pinned, free with each host keeping its fork) does not give a
 * meaning to, refused by name (issue 16). Ansible 2.14's free strategy (plugins/strategy/free.py):
 * - `run_once`: only a warning, "This task will still be executed for every host" — the
 *   keyword would not mean once: refused.
 * - an action that bypasses the host loop (add_host, pause): Ansible's own error.
 * - `any_errors_fatal`: only a warning, "not supported, as tasks are executed independently on
 *   each host" — a failure would not stop the other hosts: refused.
 * - `max_fail_percentage`: only a warning, never checked — refused (the loader, on the play).
 * The loader refuses them on the play itself; this checks every task (inherited from a block or
 * a role entry, or the task's own), the handlers and, at run time, the tasks of a dynamic include.
 */
import type { Diagnostic } from '../core/diagnostic.ts';
import type { KeywordValue, PlayDef, TaskDef } from '../input/playbook/types.ts';
import { locate } from '../input/yaml/document.ts';
import { getModule } from '../modules/registry.ts';

/** Whether the play runs each host on its own (free, host_pinned). */
export function isFree(play: PlayDef): boolean {
  return play.strategy === 'free' || play.strategy === 'host_pinned';
}

const set = (kv: KeywordValue<boolean> | undefined): boolean => kv !== undefined && !('value' in kv && kv.value === false);

/** The located refusals for these tasks of a free (or host_pinned) play; none for linear. */
export function freeStrategyProblems(play: PlayDef, tasks: readonly TaskDef[]): Diagnostic[] {
  if (!isFree(play)) return [];
  const s = play.strategy!;
  const out: Diagnostic[] = [];
  for (const t of tasks) {
    const at = locate(t.yaml, t.path);
    // The play's own keyword is refused once, by the loader.
    if (set(t.runOnce) && t.runOnce !== play.runOnce)
      out.push({
        ...at,
        message: `run_once: not supported with strategy ${s} (Ansible 2.14 only warns and runs the task on every host)`,
      });
    if (set(t.anyErrorsFatal) && t.anyErrorsFatal !== play.anyErrorsFatal)
      out.push({
        ...at,
        message: `any_errors_fatal: not supported with strategy ${s} (Ansible 2.14 only warns: each host runs on its own, a failure does not stop the others)`,
      });
    if (getModule(t.module)?.bypassHostLoop)
      out.push({
        ...at,
        message: `The '${t.ansibleModule}' module bypasses the host loop, which is currently not supported in the ${s} strategy and would instead execute for every host in the inventory list.`,
      });
  }
  return out;
}
