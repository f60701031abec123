/**
 * The play keyword `serial` as Ansible reads it (PlaybookExecutor._get_serialized_batches and
 * pct_to_int, ansible-core 2.14): a value or a list of values, each a whole number or a text
 * ending in `%`; the list's last value repeats. A size of 0 or less (`serial: "0"`, `-1`, an
 * empty list) puts all the remaining hosts in one batch; a percentage is
 * `int(pct / 100 * hosts) or 1`. What Ansible would fail the run on is refused at load time.
 */
import { isTemplate } from './fields.ts';

/**
 * Why one `serial` value (the keyword or an item of its list) is refused, or undefined: what
 * Ansible's pct_to_int reads (`int(v)`, or `int(v.replace("%", ""))` for a text ending in `%`);
 * what makes it raise ("invalid literal for int()") is refused here, before any host is contacted,
 * and so are a boolean, a float and a template, which Ansible would silently read as a number.
 * Zero and negative sizes are valid: as in Ansible, the rest of the hosts then run as one batch.
 */
export function serialProblem(x: unknown): string | undefined {
  const hint = 'serial must be a whole number, a percentage like "30%", or a list of them';
  if (typeof x === 'number') {
    return Number.isInteger(x) ? undefined : `serial: ${x} is not a whole number (Ansible would truncate it to ${Math.trunc(x)}); ${hint}`;
  }
  if (typeof x === 'string') {
    if (isTemplate(x)) return `serial: a template is not supported here; ${hint}`;
    const digits = x.endsWith('%') ? x.replace(/%/g, '') : x;
    if (pyIntText(digits) !== undefined) return undefined;
    return `serial: invalid literal for int() with base 10: '${digits}' (Ansible fails the run on it); ${hint}`;
  }
  if (typeof x === 'boolean') return `serial: a boolean is not a batch size (Ansible would read ${x} as ${x ? 1 : 0}); ${hint}`;
  if (x === null) return `serial: an empty value is not a batch size (Ansible fails the run on it); ${hint}`;
  return `serial: a ${Array.isArray(x) ? 'nested list' : 'mapping'} is not a batch size; ${hint}`;
}

/** Python's int() of a text: surrounding whitespace, a sign, digits with single underscores; undefined if it raises. */
export function pyIntText(s: string): number | undefined {
  const t = s.trim();
  return /^[-+]?\d+(_\d+)*$/.test(t) ? Number(t.replace(/_/g, '')) : undefined;
}

/** One batch size: pct_to_int(value, hosts). The value passed serialProblem. */
export function serialSize(x: number | string, hosts: number): number {
  if (typeof x === 'number') return Math.trunc(x);
  if (x.endsWith('%')) return Math.trunc(((pyIntText(x.replace(/%/g, '')) ?? 0) / 100) * hosts) || 1;
  return pyIntText(x) ?? 0;
}
