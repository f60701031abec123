/**
 * Verify phase: after apply, the verify probe (sent in the apply's round trip) must show the
 * instance converged: the module's `verify`, or a re-plan ignoring one-shot actions. Anything left
 * fails the instance with "did not converge after apply; still pending: …"; so does a verify
 * probe that never ran, or one the module cannot parse.
 */
import type { ExecResult } from '../../core/exec.ts';
import type { TaskInstance } from '../../plan/instance.ts';

/** The failure message, or undefined when converged. */
export function verifyInstance(x: TaskInstance, after: ExecResult | undefined): string | undefined {
  let problems: string[];
  try {
    if (!after) throw new Error('the verify probe did not run');
    problems = x.bound.verify(after, x.ctx);
  } catch (err) {
    problems = [(err as Error).message];
  }
  return problems.length ? `did not converge after apply; still pending:\n  - ${problems.join('\n  - ')}` : undefined;
}
