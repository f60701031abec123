/**
 * Plan phase: parse the probe output and plan (the module's pure function), and in check mode the
 * prediction. A probe output the module cannot understand fails the instance with the module's
 * message followed by the probe's stderr. The prediction is what a real run would report: changed
 * when the plan has changes, unless changed_when (evaluable before the run) says otherwise.
 */
import type { ExecResult } from '../../core/exec.ts';
import type { BoundPlan, Change } from '../../modules/contract.ts';
import type { TaskInstance } from '../../plan/instance.ts';
import { evalChangedBeforeRun } from './conditions.ts';

export interface Planned {
  plan: BoundPlan;
  changes: Change[];
  /** The changes' diffs joined, when the instance shows diffs and any change has one. */
  diff?: string;
  unpredictable?: true;
  /** The module's register data for this state. */
  described: Record<string, unknown>;
}

/** Parses and plans; `{ failed }` when the module rejects the probe output. */
export function planInstance(x: TaskInstance, out: ExecResult): Planned | { failed: string } {
  let plan: BoundPlan;
  try {
    plan = x.bound.plan(out, x.ctx);
  } catch (err) {
    return { failed: `${(err as Error).message}${out.stderr ? `\n${out.stderr.trim()}` : ''}` };
  }
  const changes = [...plan.changes];
  const diff = x.diff
    ? changes
        .map((c) => c.diff)
        .filter(Boolean)
        .join('') || undefined
    : undefined;
  const unpredictable = changes.some((c) => c.unpredictable) || undefined;
  return { plan, changes, diff, unpredictable, described: plan.registerData() };
}

/** Check mode: would the real run report this planned instance as changed? */
export function predictChanged(x: TaskInstance): boolean {
  return evalChangedBeforeRun(x, true);
}
