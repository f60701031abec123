/**
 * The pieces of the free strategy (runner.ts `runFree`): a counting semaphore (the forks, a
 * task's `throttle` across hosts) and a reporter that prints a host's task atomically.
 */
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import type { Reporter } from './events.ts';
import type { TaskResult } from './report.ts';

/** At most `size` holders at once; the others wait in arrival order. */
export class Semaphore {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly size: number) {}

  async with<T>(fn: () => Promise<T>): Promise<T> {
    if (this.used >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.used++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.used--;
    }
  }
}

/**
 * One host's lines under the free strategy: a task's banner and its results are held until the
 * task ends, then printed together, so hosts running different tasks at once do not interleave
 * (Ansible's free strategy prints a host's result as it comes, under its task's banner).
 * Warnings and retries go out at once.
 */
export class HostLines implements Reporter {
  private held: (() => void)[] = [];
  /** `lines`: shared by the hosts of a batch, so one host's task is shown whole before another's (listr's spinner too). */
  constructor(
    private readonly inner: Reporter,
    private readonly lines: Semaphore,
  ) {}

  playStart(play: PlayDef, hosts: string[]): void {
    this.inner.playStart(play, hosts);
  }
  taskStart(play: PlayDef, task: TaskDef, hosts: string[], handler: boolean): void {
    this.held.push(() => this.inner.taskStart(play, task, hosts, handler));
  }
  result(r: TaskResult): void {
    this.held.push(() => this.inner.result(r));
  }
  taskEnd(play: PlayDef, task: TaskDef, results: TaskResult[]): Promise<void> {
    const held = this.held;
    this.held = [];
    return this.lines.with(async () => {
      for (const f of held) f();
      await this.inner.taskEnd(play, task, results);
    });
  }
  playEnd(play: PlayDef): Promise<void> | void {
    return this.inner.playEnd(play);
  }
  warn(msg: string): void {
    this.inner.warn(msg);
  }
  retry(message: string): void {
    this.inner.retry?.(message);
  }
}
