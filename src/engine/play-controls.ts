/**
 * Where and when a task runs across the hosts of a batch (issue 16, part G), as Ansible 2.14's
 * linear strategy decides it. The runner's loop calls these (its hook lines are marked "part G"):
 *
 * - `orderHosts`: the play's `order` (inventory, reverse_inventory, sorted, reverse_sorted,
 *   shuffle) orders the play's hosts before serial batches are cut, so it decides the batches,
 *   run_once's host and the order tasks start on hosts.
 * - `runOnceHosts`: a `run_once` task runs on the first live host of the batch only; its result
 *   is registered on every host of the batch (`register`), its notify applies to that one host
 *   only (Ansible 2.14 notifies for the host that ran: checked with ansible-playbook).
 * - `forksFor`: `throttle` N runs the task on at most N hosts at once (ignored with run_once, as
 *   Ansible does); never more than --forks.
 * - `endsPlay`: `any_errors_fatal` (and `run_once`, which implies it unless ignore_errors): a
 *   failed or unreachable host on that task ends the play for every host after the task, and the
 *   plays after it (Ansible's RUN_FAILED_BREAK_PLAY); the handlers do not run (they stay pending).
 *
 * `ignore_unreachable` acts in the host's sequence (an ignored unreachable result does not stop
 * the host) and `delegate_to` in its connections (host-sequence.ts, plan/where-and-when.ts).
 */
import type { HostOrder, KeywordValue, PlayDef, TaskDef } from '../input/playbook/types.ts';
import type { Instantiation } from '../plan/instance.ts';

/** What the runner needs to know about a task before running it on a batch. */
export interface TaskControls {
  runOnce: boolean;
  /** 0: no limit. */
  throttle: number;
  anyErrorsFatal: boolean;
  ignoreErrors: boolean;
}

const literal = <T>(kv: KeywordValue<T> | undefined, dflt: T): T => (kv && 'value' in kv ? kv.value : dflt);

/**
 * A task's controls, from its instantiation on the first host that runs it (templated keywords
 * evaluated with that host's variables, as Ansible evaluates them for the host it is at); a task
 * skipped or failing to render there has only its literal keywords.
 */
export function controlsOf(task: TaskDef, inst: Instantiation | undefined): TaskControls {
  const x = inst?.kind === 'run' ? inst.instances[0] : undefined;
  if (x) return { runOnce: x.runOnce, throttle: x.throttle, anyErrorsFatal: x.anyErrorsFatal, ignoreErrors: x.ignoreErrors };
  return {
    runOnce: literal(task.runOnce, false),
    throttle: literal(task.throttle, 0),
    anyErrorsFatal: literal(task.anyErrorsFatal, false),
    ignoreErrors: literal(task.ignoreErrors, false),
  };
}

/** Python's sorted() of names (code point order). */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The play's hosts in the play's `order` (Ansible's InventoryManager.get_hosts). */
export function orderHosts(order: HostOrder | undefined, hosts: readonly string[], random: () => number = Math.random): string[] {
  switch (order ?? 'inventory') {
    case 'inventory':
      return [...hosts];
    case 'reverse_inventory':
      return [...hosts].reverse();
    case 'sorted':
      return [...hosts].sort(byName);
    case 'reverse_sorted':
      return [...hosts].sort(byName).reverse();
    case 'shuffle': {
      const out = [...hosts];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    }
  }
}

/** The hosts that run the task: the first live one for run_once, else all. */
export function runOnceHosts(live: readonly string[], c: TaskControls): string[] {
  return c.runOnce ? live.slice(0, 1) : [...live];
}

/** How many hosts run the task at once: --forks, lowered by throttle (not with run_once). */
export function forksFor(forks: number, c: TaskControls): number {
  return c.throttle > 0 && !c.runOnce ? Math.min(forks, c.throttle) : forks;
}

/** Does a failure (or unreachable host) on this task end the play for every host (any_errors_fatal, run_once)? */
export function endsPlay(c: TaskControls, failedOrUnreachable: boolean): boolean {
  return failedOrUnreachable && (c.anyErrorsFatal || c.runOnce) && !c.ignoreErrors;
}

/** The play's hosts in its order, once per play and run (a shuffle is drawn once). */
export class PlayOrder {
  private readonly memo = new Map<PlayDef, string[]>();
  of(play: PlayDef, hosts: readonly string[]): string[] {
    let o = this.memo.get(play);
    if (!o) this.memo.set(play, (o = orderHosts(play.order, hosts)));
    return o;
  }
}
