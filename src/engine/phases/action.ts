/**
 * Action phase: a controller-side action (set_fact, assert, debug, include_vars, …: modules/action.ts)
 * runs on the controller instead of probe → plan → apply, in check mode too (as Ansible runs its
 * action plugins), and costs no round trip. This file runs one instance and turns its outcome into
 * what the host sequence records: the status, the message, the registered value (Ansible's shape:
 * the action's result with `changed` and `failed`), and its effects, after `changed_when` /
 * `failed_when` as Ansible applies them to any result.
 *
 * Secrets: the action got the instance's params revealed (as every module does); a fact that a
 * set_fact (or add_host variable) renders from a secret is tainted again here, key by key, so it
 * stays a secret in every later task. A debug message is redacted on its way out (results.ts).
 */
import type { ActionContext, ActionEffect, ActionOutcome } from '../../modules/contract.ts';
import type { TaskInstance } from '../../plan/instance.ts';
import { hasSecret, taintDeep } from '../../core/secret/secret.ts';
import { renderValue } from '../../template/engine.ts';
import { evalCond } from './conditions.ts';

export interface ActionRun {
  status: 'ok' | 'changed' | 'failed' | 'skipped';
  /** The failure, the skip reason, or what the action shows (debug's output). */
  message?: string;
  /** The value `register` sees. */
  registered: Record<string, unknown>;
  effects: ActionEffect[];
}

/** The action's context for instance x. */
export function actionContext(x: TaskInstance): ActionContext {
  const role = x.task.scope?.ref.role ?? x.task.role;
  return {
    ...x.ctx,
    vars: x.vars,
    render: x.render,
    searchPaths: x.render.lookup?.searchPaths,
    taskName: x.label,
    taskVars: x.task.vars,
    roleDir: role?.dir,
  };
}

/** Runs the action of instance x (x.bound.action must exist). */
export function runAction(x: TaskInstance): ActionRun {
  const out: ActionOutcome = x.bound.action!(actionContext(x));
  const effects = out.effects.map((e) => secretEffect(x, e));
  if (out.skipped !== undefined) {
    return {
      status: 'skipped',
      message: out.skipped,
      registered: { ...out.result, changed: false, failed: false, skipped: true, skipped_reason: out.skipped },
      effects: [],
    };
  }
  let failed = out.failed;
  let changed = out.changed;
  let registered: Record<string, unknown> = { ...out.result, changed, failed: failed !== undefined };
  if (failed === undefined && x.task.changedWhen) changed = evalCond(x.task.changedWhen, x, registered, 'changed_when');
  if (x.task.failedWhen) {
    const f = evalCond(x.task.failedWhen, x, { ...registered, changed }, 'failed_when');
    failed = f ? (failed ?? 'Failed as requested from task') : undefined;
    if (f && !('msg' in registered)) registered.msg = failed;
  }
  registered = { ...registered, changed, failed: failed !== undefined };
  // An include's result has no `failed` key in Ansible ({ include, include_args, changed }).
  if (failed === undefined && x.task.module.startsWith('include') && x.task.module !== 'include_vars') delete registered.failed;
  if (failed !== undefined) return { status: 'failed', message: failed, registered, effects: [] };
  return { status: changed ? 'changed' : 'ok', message: out.message, registered, effects };
}

/** Facts and host variables rendered from a secret stay secret (key by key). */
function secretEffect(x: TaskInstance, e: ActionEffect): ActionEffect {
  if (!x.sensitive) return e;
  if (e.kind === 'set_fact') return { ...e, facts: taintKeys(x, e.facts) };
  if (e.kind === 'add_host') return { ...e, vars: taintKeys(x, e.vars) };
  return e;
}

function taintKeys(x: TaskInstance, values: Record<string, unknown>): Record<string, unknown> {
  const raw = x.task.params as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    let secret = true;
    if (k in raw) {
      try {
        secret = hasSecret(renderValue(raw[k], x.vars, x.task.yaml.file, x.render));
      } catch {
        secret = true;
      }
    }
    out[k] = secret ? taintDeep(v, x.task.module) : v;
  }
  return out;
}
