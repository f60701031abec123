/**
 * `until`/`retries`/`delay` and `loop_control.pause`, as ansible-core 2.14's TaskExecutor runs
 * them:
 *
 * - with `until`, an instance (each loop item on its own) runs up to retries + 1 times (retries
 *   ≤ 0: once); after each attempt the condition is evaluated with the attempt's registered-shaped
 *   result bound to the task's `register` name (with `attempts`), whether the attempt failed or
 *   not. When it holds, that attempt's result is the instance's (`attempts`: its number). When it
 *   does not and attempts remain, "FAILED - RETRYING: [host]: name (N retries left)." goes to
 *   the reporter and the next attempt starts after `delay` seconds (a negative delay is 1).
 *   After the last attempt the instance fails, its registered result marked failed with
 *   `attempts` = retries (Ansible's count). Each attempt is a full probe → plan → apply → verify
 *   (in check mode: probe → plan, the prediction being the result), so each costs its round trips;
 *   in check mode a task whose result cannot be predicted (a command) is not retried.
 * - `pause`: seconds slept before each item after the first, whether the item runs or is
 *   skipped by its `when`, in check mode too; rendered once per task and host, without the loop
 *   item (Ansible's loop_control.post_validate). The sleeping is in host-sequence.ts runTask.
 */
import type { KeywordValue, TaskDef } from '../input/playbook/types.ts';
import { ansibleNumber } from '../input/playbook/with-loop.ts';
import { evalConditions, LocatedError, type TaskInstance } from '../plan/instance.ts';
import { locate } from '../input/yaml/document.ts';
import { isSecret } from '../core/secret/secret.ts';
import { type RenderOptions, renderValue, TemplateError } from '../template/engine.ts';
import type { TaskResult } from './report.ts';

/** An instance's outcome (host-sequence.ts InstanceOutcome: not imported, which would be a cycle). */
export interface InstanceOutcome {
  result: TaskResult;
  changed: boolean;
  failed: boolean;
  unreachable: boolean;
  registered?: Record<string, unknown>;
}

export interface RetryHooks {
  host: string;
  /** One attempt of the instance (the first one probes as usual; later ones probe again). */
  attempt: (n: number) => Promise<InstanceOutcome>;
  /** The reporter's retry line. */
  onRetry?: (message: string) => void;
  /** The instance failed before any attempt (retries or delay could not be rendered). */
  fail: (message: string) => InstanceOutcome;
  /** Waits `seconds` (tests may shorten it). */
  sleep?: (seconds: number) => Promise<void>;
}

export const sleepSeconds = (seconds: number): Promise<void> =>
  seconds > 0 ? new Promise((r) => setTimeout(r, seconds * 1000)) : Promise.resolve();

/** A number keyword's value (a template rendered with `vars`); a LocatedError when it is not a number. */
export function numberValue(
  kv: KeywordValue<number>,
  vars: Record<string, unknown>,
  render: RenderOptions,
  name: string,
  kind: 'int' | 'float',
): number {
  if ('value' in kv) return kv.value;
  let v: unknown;
  try {
    v = renderValue(kv.template, vars, kv.yaml.file, render);
  } catch (err) {
    if (err instanceof TemplateError) throw new LocatedError({ ...locate(kv.yaml, kv.path), message: `${name}: ${err.message}` });
    throw err;
  }
  if (isSecret(v)) v = v.reveal();
  const n = ansibleNumber(v, kind);
  if (n === undefined)
    throw new LocatedError({
      ...locate(kv.yaml, kv.path),
      message: `the field '${name}' has an invalid value (${String(v)}), and could not be converted to ${kind === 'int' ? 'an int' : 'a float'}.`,
    });
  return n;
}

/** Runs an instance until its `until` holds (or once, without `until`). */
export async function runWithRetries(x: TaskInstance, hooks: RetryHooks): Promise<InstanceOutcome> {
  const retry = x.task.retry;
  if (!retry) return hooks.attempt(1);
  let total: number;
  let delay: number;
  try {
    const retries = numberValue(retry.retries, x.vars, x.render, 'retries', 'int');
    total = retries <= 0 ? 1 : retries + 1;
    delay = numberValue(retry.delay, x.vars, x.render, 'delay', 'int');
    if (delay < 0) delay = 1;
  } catch (err) {
    if (err instanceof LocatedError) return hooks.fail(err.message);
    throw err;
  }
  const sleep = hooks.sleep ?? sleepSeconds;
  let last: InstanceOutcome | undefined;
  for (let n = 1; n <= total; n++) {
    x.attempt = n;
    const o = await hooks.attempt(n);
    if (o.unreachable) return o;
    const registered = { ...(o.registered ?? {}), attempts: n };
    o.registered = registered;
    // retries ≤ 0: one attempt, and Ansible does not evaluate `until` at all.
    if (total === 1) return o;
    // A dry run of a task whose result cannot be known before it runs (a command): there is no
    // result for `until` to read, so the prediction stands (Ansible skips such a task in check mode).
    if (x.check && o.result.unpredictable) return o;
    const vars = x.task.register ? { ...x.vars, [x.task.register]: registered } : x.vars;
    let holds: boolean;
    try {
      holds = evalConditions(retry.until, vars, 'until', x.task.name, x.render);
    } catch (err) {
      if (err instanceof LocatedError) return failed(o, x, err.message);
      throw err;
    }
    if (holds) return o;
    last = o;
    if (n < total) {
      hooks.onRetry?.(`FAILED - RETRYING: [${hooks.host}]: ${x.task.name} (${total - n} retries left).`);
      await sleep(delay);
    }
  }
  const msg = last!.failed || last!.result.status === 'failed' ? last!.result.message : undefined;
  const out = failed(last!, x, msg ?? `until: the condition did not hold after ${total} attempts`);
  out.registered = { ...(last!.registered ?? {}), attempts: total - 1, failed: true };
  return out;
}

/** The outcome `o` turned into a failure (ignore_errors applies) with `message`. */
function failed(o: InstanceOutcome, x: TaskInstance, message: string | undefined): InstanceOutcome {
  return {
    ...o,
    result: { ...o.result, status: 'failed', message, ignored: x.ignoreErrors || undefined },
    changed: false,
    failed: !x.ignoreErrors,
    registered: { ...(o.registered ?? {}), failed: true, ...(message !== undefined && !o.registered?.msg ? { msg: message } : {}) },
  };
}

/**
 * loop_control.pause in seconds (0: none), rendered with the task's variables without the loop
 * item, as Ansible's loop_control.post_validate renders it once before the loop.
 */
export function loopPauseSeconds(task: TaskDef, vars: Record<string, unknown>, render: RenderOptions): number {
  const p = task.loopControl.pause;
  return p ? Math.max(0, numberValue(p, vars, render, 'pause', 'float')) : 0;
}
