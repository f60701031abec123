/**
 * The one TaskResult factory: the host sequence builds every task instance's result with it, and
 * the runner the results of gather_facts and of a task that threw (unreachable host, internal
 * error). The message is redacted here; the runner's `record` redacts again on the way out.
 */
import { redact } from '../core/secret/secret.ts';
import type { Change } from '../modules/contract.ts';
import type { Status, TaskResult } from './report.ts';

/** Where a result belongs: the host, the play's name, and how the task ran. */
export interface ResultScope {
  host: string;
  play: string;
  check: boolean;
  handler: boolean;
}

/** What ran: the task's label (its name, with the loop item when it loops) and its module. */
export interface ResultSubject {
  task: string;
  module: string;
}

/** A result timed from `started` until now. Fields in `extra` (ignored, diff, …) come last and win. */
export function taskResult(
  scope: ResultScope,
  subject: ResultSubject,
  status: Status,
  started: number,
  changes: Change[] = [],
  message?: string,
  extra: Partial<TaskResult> = {},
): TaskResult {
  return {
    host: scope.host,
    play: scope.play,
    task: subject.task,
    module: subject.module,
    status,
    changes,
    message: message === undefined ? undefined : redact(message),
    duration_ms: Date.now() - started,
    check: scope.check,
    handler: scope.handler,
    ...extra,
  };
}
