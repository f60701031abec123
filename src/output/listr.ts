/**
 * TTY progress through listr2: one line per task with live per-host counts. Details (changes,
 * diffs, failures) are printed after each play, so they are not redrawn over.
 */
import { Listr } from 'listr2';
import type { Reporter } from '../engine/events.ts';
import type { TaskResult } from '../engine/report.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { redact } from '../core/secret/secret.ts';
import { formatResult, taskTitle, type Write } from './plain.ts';

export class ListrReporter implements Reporter {
  private details: string[] = [];
  private resolveTask?: (title: string) => void;
  private running?: Promise<unknown>;

  constructor(
    private readonly write: Write,
    private readonly opts: { verbose: boolean },
  ) {}

  playStart(play: PlayDef, hosts: string[]): void {
    this.write(
      redact(hosts.length ? `\nPLAY [${play.name}] on ${hosts.length} host(s)` : `\nPLAY [${play.name}]\nskipping: no hosts matched`),
    );
    this.details = [];
  }

  /** One Listr per task: it shows a spinner until taskEnd gives the final title. */
  taskStart(_play: PlayDef, task: TaskDef, hosts: string[], handler: boolean): void {
    const title = taskTitle(task, handler);
    const done = new Promise<string>((r) => (this.resolveTask = r));
    const list = new Listr(
      [
        {
          title: redact(`${title} (${hosts.length} host${hosts.length === 1 ? '' : 's'})`),
          task: async (_ctx, t) => {
            t.title = redact(await done);
          },
        },
      ],
      { exitOnError: false },
    );
    this.running = list.run().catch(() => undefined);
  }

  result(r: TaskResult): void {
    if (r.status === 'skipped' && !this.opts.verbose) return;
    if (r.status !== 'ok' || this.opts.verbose) this.details.push(`${r.task}`, ...formatResult(r, true, this.opts.verbose));
  }

  async taskEnd(_play: PlayDef, task: TaskDef, results: TaskResult[]): Promise<void> {
    const by = (s: string) => results.filter((r) => r.status === s).length;
    const parts = ['ok', 'changed', 'failed', 'skipped', 'unreachable'].filter((s) => by(s)).map((s) => `${s}=${by(s)}`);
    this.resolveTask?.(`${taskTitle(task, false).replace(/^TASK/, results[0]?.handler ? 'HANDLER' : 'TASK')}  ${parts.join(' ')}`);
    await this.running;
  }

  playEnd(): void {
    for (const l of this.details) this.write(redact(l));
  }

  retry(msg: string): void {
    this.details.push(msg);
  }

  warn(msg: string): void {
    this.details.push(`WARNING: ${msg}`);
  }
}
