/** JSON run reports (`kiln apply --json FILE`) as the e2e suites read them, and how they compare. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

export interface Report {
  hosts: Record<string, { ok: number; changed: number; failed: number; unreachable?: boolean; round_trips: number }>;
  tasks: {
    host: string;
    task: string;
    play?: string;
    status: string;
    message?: string;
    changes: { summary: string }[];
    handler?: boolean;
    unpredictable?: boolean;
  }[];
  duration_ms?: number;
}

export function readReport(file: string): Report {
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

/** "host [handler ]task: change | change" for every changed task, sorted. */
export const changedLines = (r: Report): string[] =>
  r.tasks
    .filter((t) => t.status === 'changed')
    // A change the module flags as unpredictable in advance is compared by task, not by wording.
    .map(
      (t) =>
        `${t.host} ${t.handler ? 'handler ' : ''}${t.task}: ${t.unpredictable ? '(unpredictable)' : t.changes.map((c) => c.summary).join(' | ')}`,
    )
    .sort();

/**
 * A dry run must predict exactly what the real run changes. Tasks the dry run flagged as
 * unpredictable may turn out ok or changed; every other changed line must match, and nothing may
 * change that the dry run did not list.
 */
export function comparePrediction(check: Report, real: Report): void {
  const unpredictable = new Set(check.tasks.filter((t) => t.unpredictable).map((t) => `${t.host} ${t.task}`));
  const strip = (r: Report) =>
    changedLines(r).filter((l) => !unpredictable.has(l.replace(/^(\S+) (handler )?/, '$1 ').replace(/: .*$/, '')));
  expect(strip(real)).toEqual(strip(check));
  for (const t of real.tasks.filter((x) => x.status === 'changed')) {
    const key = `${t.host} ${t.task}`;
    expect(
      check.tasks.some((c) => `${c.host} ${c.task}` === key && c.status === 'changed'),
      `unpredicted change: ${key}`,
    ).toBe(true);
  }
}
