/**
 * What the runner tells its reporter while a playbook runs: play and task boundaries, every task
 * result (already redacted and counted), and warnings. output/plain.ts and output/listr.ts
 * implement it.
 */
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import type { TaskResult } from './report.ts';

export interface Reporter {
  playStart(play: PlayDef, hosts: string[]): void;
  taskStart(play: PlayDef, task: TaskDef, hosts: string[], handler: boolean): void;
  result(r: TaskResult): void;
  taskEnd(play: PlayDef, task: TaskDef, results: TaskResult[]): Promise<void> | void;
  playEnd(play: PlayDef): Promise<void> | void;
  warn(msg: string): void;
  /** A task runs again because its `until` did not hold (Ansible's "FAILED - RETRYING: …" line). */
  retry?(message: string): void;
}
