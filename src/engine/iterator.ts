/**
 * The per-host task iterator of a play's batch, and the linear strategy's choice of the next step.
 *
 * Each host has its own sequence of tasks (initially the play's selected tasks; a dynamic include
 * splices the included tasks in after itself, on that host only) and a cursor into it. At each
 * step the linear strategy takes every live host's next task, picks the smallest position
 * (`TaskDef.pos`, lexicographic, a prefix first; `[index]` for a task the loader gave none) and
 * runs that task on every host whose next task is at that position and from the same place in the
 * source — as Ansible's linear strategy does, hosts that included the same file at the same place
 * run its tasks together, and a host whose next task is later waits.
 *
 * Blocks at run time (TaskDef.blocks, outermost frame first; the loader flattens a block's
 * sections in the order block, rescue, always). A failure (not ignored) of a task on a host,
 * walking its frames from the innermost out:
 * - in a frame's `block` section when the block has a `rescue`: the rest of the section is
 *   skipped and the rescue runs (the failure is rescued: the host is not failed);
 * - in a `block` section without rescue, or in a `rescue` section: the rest is skipped and the
 *   frame's `always` runs; when the host leaves the frame the failure goes on outward;
 * - in an `always` section: the rest of it is skipped and the failure goes on outward at once.
 * A failure that leaves the outermost frame fails the host. As Ansible 2.14 counts it
 * (is_any_block_rescuing), a failure is "rescued" — counted in the recap's `rescued`, not
 * `failed`, with `ansible_failed_task`/`ansible_failed_result` set — when any enclosing frame is
 * in its `block` section and has a rescue. Checked against ansible-playbook 2.14
 * (test/fixtures/engine-blocks/).
 */
import type { BlockFrame, TaskDef } from '../input/playbook/types.ts';

/** A task's position in its host's sequence (the loader's `pos`, else `[index]`). */
export function posOf(t: TaskDef): readonly number[] {
  return t.pos ?? [t.index];
}

/** Lexicographic order of positions; a prefix sorts first. */
export function comparePos(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export const posKey = (t: TaskDef): string => posOf(t).join('.');

/** Which step a host's task belongs to: its position and where it is written. */
export const stepKey = (t: TaskDef): string => `${posKey(t)}|${t.loc.file}:${t.loc.line}:${t.loc.col}`;

/** The key of a task's frame at depth d: the ids of the frames down to it (ids of an included file's blocks may repeat the play's). */
function frameKey(frames: readonly BlockFrame[], d: number): string {
  return frames
    .slice(0, d + 1)
    .map((f) => f.id)
    .join('/');
}

function inFrame(t: TaskDef | undefined, key: string, d: number): boolean {
  return !!t?.blocks && t.blocks.length > d && frameKey(t.blocks, d) === key;
}

/** Whether a failure of a task with these frames is rescued (Ansible's is_any_block_rescuing). */
export function isRescuing(t: TaskDef): boolean {
  return (t.blocks ?? []).some((f) => f.section === 'block' && f.hasRescue);
}

/** A host's place in its sequence. */
export interface Cursor {
  readonly host: string;
  /** The host's sequence (mutable: includes splice into it). */
  readonly tasks: TaskDef[];
  /** Index of the next task. */
  at: number;
  /** A failure waiting for the host to leave frame `frames[depth]` (after its `always`), then going on outward. */
  unwinding?: { frames: readonly BlockFrame[]; depth: number };
  /** The host takes no further part in this play (end_host, end_play, failed). */
  done: boolean;
  /** Frames (keys) whose `rescue` the host entered after a failure: any other `rescue` section is passed over. */
  rescuing: Set<string>;
}

export interface Step {
  task: TaskDef;
  /** The hosts whose next task it is, in batch order, with the index of the task in each one's sequence. */
  hosts: { host: string; index: number }[];
}

/** What became of a host after a task failed on it. */
export type FailOutcome = 'rescue' | 'always' | 'failed';

export class PlayIterator {
  private readonly cursors = new Map<string, Cursor>();

  constructor(sequences: ReadonlyMap<string, TaskDef[]>) {
    for (const [host, tasks] of sequences) {
      const c: Cursor = { host, tasks, at: 0, done: false, rescuing: new Set() };
      this.cursors.set(host, c);
      this.settle(c);
    }
  }

  cursor(host: string): Cursor {
    return this.cursors.get(host)!;
  }

  /** The next step among `hosts` (those still taking part): undefined when every one is at its end. */
  next(hosts: readonly string[]): Step | undefined {
    let best: TaskDef | undefined;
    const at: { host: string; task: TaskDef; index: number }[] = [];
    for (const host of hosts) {
      const c = this.cursors.get(host);
      if (!c || c.done) continue;
      const task = c.tasks[c.at];
      if (!task) continue;
      at.push({ host, task, index: c.at });
      if (!best || comparePos(posOf(task), posOf(best)) < 0) best = task;
    }
    if (!best) return undefined;
    const key = stepKey(best);
    return { task: best, hosts: at.filter((a) => a.task === best || stepKey(a.task) === key).map(({ host, index }) => ({ host, index })) };
  }

  /** The host's task at `index` is left out (a role that already ran there): move on. */
  skip(host: string, index: number): FailOutcome | undefined {
    return this.advance(host, index, false);
  }

  /** The host stops taking part in this play (end_host, end_play, failed). */
  end(host: string): void {
    const c = this.cursors.get(host);
    if (c) c.done = true;
  }

  /**
   * The task at `index` ran on the host: `failed` when it failed (not ignored). Returns what
   * happens to the host: undefined (goes on), or, after a failure, where it goes.
   */
  advance(host: string, index: number, failed: boolean): FailOutcome | undefined {
    const c = this.cursors.get(host)!;
    if (failed) {
      const task = c.tasks[index]!;
      const frames = task.blocks ?? [];
      return this.fail(c, index, frames, frames.length);
    }
    c.at = index + 1;
    return this.settle(c);
  }

  /**
   * After the cursor moved: passes over `rescue` sections the host did not enter by a failure; a
   * host leaving the frame it was unwinding carries the failure outward.
   */
  private settle(c: Cursor): FailOutcome | undefined {
    for (;;) {
      const t = c.tasks[c.at];
      const frames = t?.blocks ?? [];
      const keys = frames.map((_, d) => frameKey(frames, d));
      for (const k of [...c.rescuing]) if (!keys.includes(k)) c.rescuing.delete(k);
      const u = c.unwinding;
      if (u && !inFrame(t, frameKey(u.frames, u.depth), u.depth)) {
        c.unwinding = undefined;
        const out = this.fail(c, c.at - 1, u.frames, u.depth);
        if (out === 'failed') return out;
        continue;
      }
      const skip = frames.findIndex((f, d) => f.section === 'rescue' && !c.rescuing.has(keys[d]!));
      if (skip < 0) return undefined;
      c.at = this.find(c, c.at - 1, keys[skip]!, skip, 'always');
    }
  }

  /** A failure at `from` inside `frames[0..depth)`, walked from the innermost frame out (see the file comment). */
  private fail(c: Cursor, from: number, frames: readonly BlockFrame[], depth: number): FailOutcome {
    c.unwinding = undefined;
    for (let d = depth - 1; d >= 0; d--) {
      const f = frames[d]!;
      const key = frameKey(frames, d);
      if (f.section === 'block' && f.hasRescue) {
        c.at = this.find(c, from, key, d, 'rescue');
        c.rescuing.add(key);
        this.settle(c);
        return 'rescue';
      }
      if (f.section === 'block' || f.section === 'rescue') {
        const j = this.find(c, from, key, d, 'always');
        c.at = j;
        if (inFrame(c.tasks[j], key, d)) {
          c.unwinding = { frames, depth: d };
          this.settle(c);
          return 'always';
        }
        from = j - 1;
        continue;
      }
      // In `always`: skip the rest of it, go on outward.
      const j = this.find(c, from, key, d, undefined);
      c.at = j;
      from = j - 1;
    }
    c.done = true;
    return 'failed';
  }

  /** The first task after `from` in frame `key` (depth d) whose section is `section`, else the first after the frame. */
  private find(c: Cursor, from: number, key: string, d: number, section: BlockFrame['section'] | undefined): number {
    let j = from + 1;
    while (j < c.tasks.length && inFrame(c.tasks[j], key, d)) {
      if (section && c.tasks[j]!.blocks![d]!.section === section) return j;
      j++;
    }
    return j;
  }
}
