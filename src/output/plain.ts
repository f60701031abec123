/** Plain line output (not a TTY, or CI): one line per result, diffs inline, a recap at the end. */
import type { Reporter } from '../engine/events.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import type { TaskResult } from '../engine/report.ts';
import { redact } from '../core/secret/secret.ts';

export type Write = (line: string) => void;

const color = (code: number, s: string, on: boolean) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

export function statusColor(status: TaskResult['status']): number {
  return { ok: 32, changed: 33, failed: 31, skipped: 36, unreachable: 35 }[status];
}

export function formatResult(r: TaskResult, useColor: boolean, verbose: boolean): string[] {
  const lines: string[] = [];
  const check = r.check && r.status === 'changed' ? ' (check: would change)' : '';
  const unpred = r.unpredictable ? ' [cannot predict exactly: decided at run time]' : '';
  lines.push(
    `  ${r.host}${r.delegate ? ` -> ${r.delegate}` : ''}: ${color(statusColor(r.status), r.status, useColor)}${r.ignored ? ' (ignored)' : ''}${check}${unpred}`,
  );
  if (r.status === 'changed' || r.status === 'failed') for (const c of r.changes) lines.push(`    - ${c.summary}`);
  if (r.message && (r.status !== 'skipped' || verbose)) for (const l of r.message.split('\n')) lines.push(`    ${l}`);
  if (r.diff) for (const l of r.diff.trimEnd().split('\n')) lines.push(`    ${useColor ? colorDiff(l) : l}`);
  return lines;
}

function colorDiff(l: string): string {
  if (l.startsWith('+') && !l.startsWith('+++')) return `\x1b[32m${l}\x1b[0m`;
  if (l.startsWith('-') && !l.startsWith('---')) return `\x1b[31m${l}\x1b[0m`;
  if (l.startsWith('@@')) return `\x1b[36m${l}\x1b[0m`;
  return l;
}

export function taskTitle(task: TaskDef, handler: boolean): string {
  return `${handler ? 'HANDLER' : 'TASK'} [${task.role ? `${task.role.name} : ` : ''}${task.name}]`;
}

export class PlainReporter implements Reporter {
  constructor(
    private readonly write: Write,
    private readonly opts: { color: boolean; verbose: boolean },
  ) {}

  private out(s: string): void {
    this.write(redact(s));
  }

  playStart(play: PlayDef, hosts: string[]): void {
    // No host (a --limit or a --shard that keeps none of the play's): said as Ansible says it.
    if (!hosts.length) this.out(`\nPLAY [${play.name}]\nskipping: no hosts matched`);
    else this.out(`\nPLAY [${play.name}] on ${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${hosts.join(', ')}`);
  }

  taskStart(_play: PlayDef, task: TaskDef, _hosts: string[], handler: boolean): void {
    this.out(`${taskTitle(task, handler)}`);
  }

  result(r: TaskResult): void {
    if (r.status === 'skipped' && !this.opts.verbose) return;
    for (const l of formatResult(r, this.opts.color, this.opts.verbose)) this.out(l);
  }

  taskEnd(_play: PlayDef, _task: TaskDef, results: TaskResult[]): void {
    const skipped = results.filter((r) => r.status === 'skipped').length;
    if (skipped && !this.opts.verbose) this.out(`  skipped on ${skipped} host${skipped === 1 ? '' : 's'}`);
  }

  playEnd(): void {}

  retry(msg: string): void {
    this.out(msg);
  }

  warn(msg: string): void {
    this.out(`WARNING: ${msg}`);
  }
}
