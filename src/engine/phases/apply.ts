/**
 * Apply phase (one instance alone; batches of them: batch.ts and HostSequence.applyBatch): ONE
 * round trip carries the apply script, then the verify probe of the applied
 * instance (when it needs one) and the probes of the instances that follow (their earlier results
 * are stale now). Then the result is interpreted: the module's `interpret` (else a non-zero exit
 * fails with stderr, stdout or the code), failed_when, and changed_when.
 *
 * If the script dies inside the apply, the apply gets the script's stderr (or "remote script
 * exited with N") and its exit code (1 if that was 0); a probe the script never reached stores no
 * result, so it is probed again when needed.
 */
import type { ExecResult } from '../../core/exec.ts';
import type { ApplyResult, Change } from '../../modules/contract.ts';
import type { TaskInstance } from '../../plan/instance.ts';
import { frameScripts } from '../../sh/frame.ts';
import type { Transport } from '../../transport/transport.ts';
import { evalCond } from './conditions.ts';

/** Does the applied instance need a verify probe? Not when every change is a one-shot action (unless the module verifies itself). */
export function needsVerify(x: TaskInstance, changes: readonly Change[]): boolean {
  return !changes.every((c) => c.action) || x.bound.verifies;
}

/** Runs `script` (x's apply) and then `probes`, in one round trip; stores the probe results in `probed`. */
export async function applyRoundTrip(
  transport: () => Promise<Transport>,
  x: TaskInstance,
  script: string,
  probes: readonly TaskInstance[],
  probed: Map<TaskInstance, ExecResult>,
): Promise<ExecResult> {
  const framed = frameScripts([script, ...probes.map((y) => y.bound.probe(y.ctx))]);
  const conn = await transport();
  const whole = await conn.run(framed.script, { become: x.become, becomeUser: x.becomeUser });
  const [res, ...results] = framed.parse(whole.stdout);
  if (res!.code === -1) {
    res!.stderr = whole.stderr || `remote script exited with ${whole.code}`;
    res!.code = whole.code || 1;
  }
  probes.forEach((y, n) => {
    if (results[n]!.code !== -1) probed.set(y, results[n]!);
  });
  return res!;
}

export interface Interpreted {
  /** Why the apply failed (after failed_when), if it did. */
  failed?: string;
  interp?: ApplyResult;
  /** Register data: the plan's, then the module's interpretation of the apply. */
  registered: Record<string, unknown>;
}

/** The module's interpretation of the apply's output, then failed_when. */
export function interpretApply(x: TaskInstance, res: ExecResult, described: Record<string, unknown>): Interpreted {
  const interp = x.bound.interpret?.(res, x.ctx);
  const registered: Record<string, unknown> = { ...described, ...(interp?.result ?? {}) };
  let failed = interp ? interp.failed : res.code !== 0 ? res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}` : undefined;
  if (x.task.failedWhen !== undefined) {
    const fw = evalCond(x.task.failedWhen, x, registered, 'failed_when');
    failed = fw ? (failed ?? 'failed_when condition is true') : undefined;
  }
  return { failed, interp, registered };
}

/** Did a successful apply change anything: the module's verdict (default yes), overridden by changed_when. */
export function changedAfterApply(x: TaskInstance, applied: Interpreted): boolean {
  let changed = applied.interp?.changed ?? true;
  if (x.task.changedWhen !== undefined) changed = evalCond(x.task.changedWhen, x, applied.registered, 'changed_when');
  return changed;
}
