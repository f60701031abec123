/**
 * Ansible host ranges: `web[01:03]` → web01 web02 web03 (leading zeros set the width),
 * `db-[a:c]` → db-a db-b db-c, `[start:end:step]`, an empty start means 0, several ranges in one
 * name expand as a cartesian product.
 */
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

/** Expands every range in `name`; throws HostRangeError for a malformed range. */
export function expandHostRange(name: string, base = 0): string[] {
  const open = name.indexOf('[');
  if (open < 0 || !hasHostRange(name)) return [name];
  const close = name.indexOf(']', open);
  if (close < 0) throw new HostRangeError(`unterminated host range in '${name}'`, base + open);
  const head = name.slice(0, open);
  const body = name.slice(open + 1, close);
  const tail = name.slice(close + 1);
  const bounds = body.split(':');
  const at = base + open;
  if (bounds.length !== 2 && bounds.length !== 3)
    throw new HostRangeError(`host range '[${body}]' must be [begin:end] or [begin:end:step]`, at);
  const beg = bounds[0] || '0';
  const end = bounds[1]!;
  const stepText = bounds[2] ?? '1';
  if (!end) throw new HostRangeError(`host range '[${body}]' must specify an end value`, at);
  if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new HostRangeError(`host range '[${body}]' has a bad step '${stepText}'`, at);
  const step = Number(stepText);
  let seq: string[];
  if (/^[a-zA-Z]$/.test(beg) && /^[a-zA-Z]$/.test(end)) {
    const i = LETTERS.indexOf(beg);
    const j = LETTERS.indexOf(end);
    if (i > j) throw new HostRangeError(`host range '[${body}]' must have begin <= end`, at);
    seq = [];
    for (let k = i; k <= j; k += step) seq.push(LETTERS[k]!);
  } else if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const padded = beg.length > 1 && beg.startsWith('0');
    if (padded && beg.length !== end.length)
      throw new HostRangeError(`host range '[${body}]' must use equal-length begin and end when zero-padded`, at);
    const a = Number(beg);
    const b = Number(end);
    if (a > b) throw new HostRangeError(`host range '[${body}]' must have begin <= end`, at);
    if ((b - a) / step > 100000) throw new HostRangeError(`host range '[${body}]' is too large`, at);
    seq = [];
    for (let k = a; k <= b; k += step) seq.push(padded ? String(k).padStart(beg.length, '0') : String(k));
  } else {
    throw new HostRangeError(`host range '[${body}]' must be numeric ([1:3]) or single letters ([a:c])`, at);
  }
  const out: string[] = [];
  for (const s of seq) {
    for (const rest of expandHostRange(tail, base + close + 1)) {
      out.push(head + s + rest);
    }
  }
  return out;
}
