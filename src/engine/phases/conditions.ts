/**
 * failed_when / changed_when, evaluated against an instance's variables plus its result (as
 * `result` and under its register name). In a dry run changed_when can only be evaluated when it
 * does not depend on the result; otherwise the plan's own verdict stands.
 */
import type { TaskInstance } from '../../plan/instance.ts';
import { evaluateCondition } from '../../template/engine.ts';

export function evalCond(cond: unknown, x: TaskInstance, result: Record<string, unknown>): boolean {
  const vars = { ...x.vars, result, ...(x.task.register ? { [x.task.register]: result } : {}) };
  return evaluateCondition(cond, vars, x.task.yaml.file);
}

/** changed_when before anything ran (check mode): `fallback` when it is unset or needs the result. */
export function evalChangedBeforeRun(x: TaskInstance, fallback: boolean): boolean {
  const cw = x.task.changedWhen;
  if (cw === undefined) return fallback;
  if (typeof cw === 'boolean') return cw;
  try {
    return evalCond(cw, x, {});
  } catch {
    return fallback;
  }
}
