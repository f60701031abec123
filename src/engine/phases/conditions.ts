/**
 * failed_when / changed_when, evaluated against an instance's variables plus its result (under
 * its register name, as in Ansible: without `register` the result is not a variable). Each condition of the list must hold; an error (an
 * undefined variable) names the variable and the condition's `file:line:col`. In a dry run
 * changed_when can only be evaluated when it does not depend on the result; otherwise the plan's
 * own verdict stands.
 */
import type { Condition } from '../../input/playbook/types.ts';
import { evalConditions, type TaskInstance } from '../../plan/instance.ts';

export function evalCond(conds: Condition[], x: TaskInstance, result: Record<string, unknown>, keyword: string): boolean {
  // As in Ansible, the result is visible only under the task's register name.
  // With `until`, Ansible puts the attempt's number in the result before changed_when/failed_when.
  const seen = x.attempt !== undefined ? { ...result, attempts: x.attempt } : result;
  const vars = x.task.register ? { ...x.vars, [x.task.register]: seen } : x.vars;
  return evalConditions(conds, vars, keyword, x.task.name, x.render);
}

/** changed_when before anything ran (check mode): `fallback` when it is unset or needs the result. */
export function evalChangedBeforeRun(x: TaskInstance, fallback: boolean): boolean {
  const cw = x.task.changedWhen;
  if (cw === undefined) return fallback;
  try {
    return evalCond(cw, x, {}, 'changed_when');
  } catch {
    return fallback;
  }
}
