/**
 * Which hosts and tasks a run touches, and in what batches: the one selection layer, shared by
 * validation and the runner.
 *
 * `validateRun` computes a `RunPlan` (per play: its hosts ∩ `--limit`, and its tasks selected by
 * `-t`/`--skip-tags`) while checking, and returns it; the runner consumes that plan instead of
 * recomputing it, so the hosts and tasks a run works on are exactly the ones validation checked.
 * (A Runner built without a plan, as some tests do, calls `planPlay` itself: the same code.)
 * Serial batches cannot be planned ahead: they are cut at run time from the hosts still alive
 * (a failed host takes no part in later plays), so `serialBatches` is called by the runner.
 */
import { type Inventory, selectHosts } from '../input/inventory/index.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { serialSize } from '../input/playbook/serial.ts';
import { inShard, type Shard } from './shard.ts';

/** What the command line selects: `--limit`, `-t`, `--skip-tags` and `--shard`. */
export interface Selection {
  limit?: string;
  /** `--shard i/n`: only this shard's part of each play's hosts (plan/shard.ts), applied after `--limit`. */
  shard?: Shard;
  tags: string[];
  skipTags: string[];
}

/** One play of a run: the hosts it targets (inventory order) and the tasks it runs (play order). */
export interface PlanPlay {
  play: PlayDef;
  hosts: string[];
  tasks: TaskDef[];
}

/** The selection of every play of a playbook, in play order. */
export interface RunPlan {
  plays: PlanPlay[];
}

/**
 * The play's hosts (`hosts:`) that `--limit` keeps, in inventory order, then those of them in
 * `shard` (a host's shard depends on its name only). Patterns must be valid.
 */
export function playHosts(inv: Inventory, play: PlayDef, limit?: string, shard?: Shard): string[] {
  const hosts = selectHosts(inv, play.hosts);
  if (!limit) return inShard(hosts, shard);
  const allowed = new Set(selectHosts(inv, limit));
  return inShard(
    hosts.filter((h) => allowed.has(h)),
    shard,
  );
}

/** The play's tasks that `-t` / `--skip-tags` select (a task carries its play's tags too). */
export function selectedTasks(play: PlayDef, tags: string[], skipTags: string[]): TaskDef[] {
  return play.tasks.filter((t) => tagSelected([...play.tags, ...t.tags], tags, skipTags));
}

/**
 * The tasks a dynamic include spliced in that `-t` / `--skip-tags` select: like the play's own,
 * by their tags (their own, their blocks', the include's `apply`, the play's). The include task
 * itself was selected by its own tags: as in Ansible, an include not selected brings no task.
 */
export function selectedIncluded(play: PlayDef, tasks: TaskDef[], tags: string[], skipTags: string[]): TaskDef[] {
  return tasks.filter((t) => tagSelected([...play.tags, ...t.tags], tags, skipTags));
}

/** A play's hosts and tasks under a selection. */
export function planPlay(inv: Inventory, play: PlayDef, sel: Selection): PlanPlay {
  return { play, hosts: playHosts(inv, play, sel.limit, sel.shard), tasks: selectedTasks(play, sel.tags, sel.skipTags) };
}

/** Is a task selected by -t / --skip-tags? */
export function tagSelected(taskTags: string[], tags: string[], skip: string[]): boolean {
  if (skip.some((t) => taskTags.includes(t))) return false;
  if (taskTags.includes('always')) return true;
  const named = tags.some((t) => taskTags.includes(t));
  if (taskTags.includes('never')) return named;
  if (!tags.length || tags.includes('all')) return true;
  return named;
}

/**
 * Splits hosts into serial batches as Ansible does: a number, a percentage, or a list of them (the
 * last repeats); a size of 0 or less puts all the remaining hosts in one batch (serial.ts).
 */
export function serialBatches(hosts: string[], serial: PlayDef['serial']): string[][] {
  if (serial === undefined) return [hosts];
  const steps = Array.isArray(serial) ? serial : [serial];
  if (!steps.length) return [hosts];
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const n = serialSize(steps[Math.min(step, steps.length - 1)]!, hosts.length);
    if (n <= 0) {
      out.push(hosts.slice(i));
      break;
    }
    out.push(hosts.slice(i, i + n));
    i += n;
    step++;
  }
  return out;
}
