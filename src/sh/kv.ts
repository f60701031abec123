/** The probes' output format: `key=value` lines. */

/** Parses `key=value` lines. Later keys win; values may contain '='. */
export function parseKv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  return out;
}

/** Every value of each key that starts with `prefix`, in order (keys that repeat, e.g. journal lines). */
export function parseKvAll(text: string, prefix = ''): Map<string, string[]> {
  const kv = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && line.startsWith(prefix)) kv.set(line.slice(0, i), [...(kv.get(line.slice(0, i)) ?? []), line.slice(i + 1)]);
  }
  return kv;
}

/** Splits probe output into key=value pairs (first '='; later keys win) and repeated keys' lists. */
export function parseLines(stdout: string): { kv: Record<string, string>; all: Record<string, string[]> } {
  const kv: Record<string, string> = {};
  const all: Record<string, string[]> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1);
    kv[k] = v;
    (all[k] ??= []).push(v);
  }
  return { kv, all };
}
