/**
 * Ansible host ranges: `web[01:03]` → web01 web02 web03 (leading zeros set the width),
 * `db-[a:c]` → db-a db-b db-c, `[start:end:step]`, an empty start means 0, several ranges in one
 * name expand as a cartesian product.
 */
import { LIMITS } from '../../core/limits.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class HostRangeError extends Error {
  /** 0-based offset of the offending range inside the name. */
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function hasHostRange(name: string): boolean {
  return /\[[^\]]*:[^\]]*\]/.test(name);
}

/** One `[begin:end(:step)]` of a name, as the list of strings it stands for (built lazily). */
interface Range {
  head: string;
  at: number;
  count: number;
  values: () => string[];
}

/** Parses every range in `name` (left to right) without expanding; throws HostRangeError for a malformed one. */
function parseRanges(name: string, base: number): { ranges: Range[]; tail: string } {
  const ranges: Range[] = [];
  let rest = name;
  let offset = base;
  for (;;) {
    const open = rest.indexOf('[');
    if (open < 0 || !hasHostRange(rest)) return { ranges, tail: rest };
    const close = rest.indexOf(']', open);
    if (close < 0) throw new HostRangeError(`unterminated host range in '${rest}'`, offset + open);
    ranges.push({ head: rest.slice(0, open), ...parseRange(rest.slice(open + 1, close), offset + open) });
    offset += close + 1;
    rest = rest.slice(close + 1);
  }
}

function parseRange(body: string, at: number): Omit<Range, 'head'> {
  const bounds = body.split(':');
  if (bounds.length !== 2 && bounds.length !== 3)
    throw new HostRangeError(`host range '[${body}]' must be [begin:end] or [begin:end:step]`, at);
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostRangeError(`host range '[${body}]' must specify an end value`, at);
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new HostRangeError(`host range '[${body}]' has a bad step '${stepText}'`, at);
  const step = Number(stepText);
  if (/^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end)) {
    const i = LETTERS.indexOf(beg);
    const j = LETTERS.indexOf(end);
    if (i > j) throw new HostRangeError(`host range '[${body}]' must have begin <= end`, at);
    return {
      at,
      count: Math.floor((j - i) / step) + 1,
      values: () => {
        const seq: string[] = [];
        for (let k = i; k <= j; k += step) seq.push(LETTERS[k]!);
        return seq;
      },
    };
  }
  if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const padded = beg.length > 1 && beg.startsWith('0');
    if (padded && beg.length !== end.length)
      throw new HostRangeError(`host range '[${body}]' must use equal-length begin and end when zero-padded`, at);
    const a = Number(beg);
    const b = Number(end);
    if (a > b) throw new HostRangeError(`host range '[${body}]' must have begin <= end`, at);
    return {
      at,
      count: Math.floor((b - a) / step) + 1,
      values: () => {
        const seq: string[] = [];
        for (let k = a; k <= b; k += step) seq.push(padded ? String(k).padStart(beg.length, '0') : String(k));
        return seq;
      },
    };
  }
  throw new HostRangeError(`host range '[${body}]' must be numeric ([1:3]) or single letters ([a:c])`, at);
}

/** How many names `name` expands to (1 without ranges); throws HostRangeError for a malformed range. */
export function hostRangeCount(name: string): number {
  return parseRanges(name, 0).ranges.reduce((n, r) => n * r.count, 1);
}

/**
 * Expands every range in `name` (a cartesian product, leftmost range outermost); throws
 * HostRangeError for a malformed range or for more than LIMITS.hostsPerPattern names.
 */
export function expandHostRange(name: string, base = 0): string[] {
  const { ranges, tail } = parseRanges(name, base);
  if (!ranges.length) return [name];
  const count = ranges.reduce((n, r) => n * r.count, 1);
  if (count > LIMITS.hostsPerPattern)
    throw new HostRangeError(
      `host range '${name}' expands to ${count.toLocaleString('en-US')} hosts: more than Kiln's limit of ${LIMITS.hostsPerPattern.toLocaleString('en-US')} per pattern`,
      ranges[0]!.at,
    );
  let out = [''];
  for (const r of ranges) {
    const values = r.values();
    out = out.flatMap((prefix) => values.map((v) => prefix + r.head + v));
  }
  return out.map((n) => n + tail);
}
