/** Which hosts and tasks a run touches, and in what batches: shared by validation and the runner. */
import type { PlayDef } from '../input/playbook/types.ts';

/** Is a task selected by -t / --skip-tags? */
export function tagSelected(taskTags: string[], tags: string[], skip: string[]): boolean {
  if (skip.some((t) => taskTags.includes(t))) return false;
  if (taskTags.includes('always')) return true;
  const named = tags.some((t) => taskTags.includes(t));
  if (taskTags.includes('never')) return named;
  if (!tags.length || tags.includes('all')) return true;
  return named;
}

/** Splits hosts into serial batches: a number, a percentage, or a list of them (the last repeats). */
export function serialBatches(hosts: string[], serial: PlayDef['serial']): string[][] {
  if (serial === undefined) return [hosts];
  const steps = Array.isArray(serial) ? serial : [serial];
  const size = (s: number | string) =>
    Math.max(1, typeof s === 'string' && s.endsWith('%') ? Math.floor((hosts.length * Number(s.slice(0, -1))) / 100) : Number(s));
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const n = size(steps[Math.min(step, steps.length - 1)]!);
    out.push(hosts.slice(i, i + n));
    i += n;
    step++;
  }
  return out;
}
