/**
 * The cycle a module is tested with against a real host (the loopback sshd, or a lab host through
 * its inventory): converge → a second run changes nothing → a hand-made drift (`tamper`) →
 * `--check --diff` finds the drift and changes nothing → a real run fixes exactly what the check
 * predicted → a last run changes nothing. Every run goes through validation and the real Runner
 * (test/helpers/run-playbook.ts), with diffs on.
 */
import { expect } from 'vitest';
import type { RunReport, TaskResult } from '../../src/engine/report.ts';
import { runPlaybook, type RunPlaybookOptions } from './run-playbook.ts';

export interface CycleOptions extends Omit<RunPlaybookOptions, 'check' | 'diff'> {
  playbook: string;
  inventory: string;
  /** Makes the host drift from what the playbook says (edit a file over ssh, remove a line, …). */
  tamper: () => void | Promise<void>;
  /** Checks on the host after the first converge (and again after the fix). */
  verify?: () => void | Promise<void>;
}

export interface CycleReports {
  first: RunReport;
  second: RunReport;
  check: RunReport;
  fixed: RunReport;
  last: RunReport;
}

const changedTasks = (r: RunReport): TaskResult[] => r.tasks.filter((t) => t.status === 'changed');
const problems = (r: RunReport) => r.tasks.filter((t) => t.status === 'failed' || t.status === 'unreachable');
const totalChanged = (r: RunReport) => Object.values(r.hosts).reduce((n, h) => n + h.changed, 0);
const key = (t: TaskResult) => `${t.host} | ${t.task} | ${t.changes.map((c) => c.summary).join('; ')}`;

export async function convergeCycle(o: CycleOptions): Promise<CycleReports> {
  const { playbook, inventory, tamper, verify, ...rest } = o;
  const run = (check: boolean) => runPlaybook(playbook, inventory, { ...rest, check, diff: true });

  const first = await run(false);
  expect(problems(first), 'the first run fails nowhere').toEqual([]);
  expect(totalChanged(first), 'the first run changes something').toBeGreaterThan(0);
  await verify?.();

  const second = await run(false);
  expect(problems(second)).toEqual([]);
  expect(changedTasks(second).map(key), 'a second run changes nothing').toEqual([]);

  await tamper();
  const check = await run(true);
  expect(problems(check)).toEqual([]);
  expect(changedTasks(check).length, '--check --diff finds the drift').toBeGreaterThan(0);

  const fixed = await run(false);
  expect(problems(fixed)).toEqual([]);
  expect(changedTasks(fixed).map(key), 'the real run changes what --check predicted').toEqual(changedTasks(check).map(key));
  await verify?.();

  const last = await run(false);
  expect(changedTasks(last).map(key), 'converged again').toEqual([]);
  return { first, second, check, fixed, last };
}
