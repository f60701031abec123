/**
 * Ansible's boolean conversion (ansible.module_utils.parsing.convert_bool.boolean, strict), used
 * for boolean keywords (`become`, `no_log`, …) and boolean module options: `yes`, `on`, `1`,
 * `true`, `t`, `y` (any case, trimmed), the number 1 and true are true; their opposites false;
 * anything else is an error with Ansible's message.
 */

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** Ansible's own listing of the valid values, for the error message. */
const VALID = "'true', 'yes', 1, 'n', 0, 'no', 'f', 'off', 'false', 't', 'y', '1', '0', 'on'";

import { PyFloat, pyStr } from '../../template/jinja/value.ts';

export class BooleanError extends Error {}

/** A value's text as Python's str() prints the scalars YAML and templates produce. */
function pyText(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  return typeof v === 'number' ? pyStr(v) : String(v);
}

/** Converts as Ansible's boolean(value, strict=True); throws BooleanError otherwise. */
export function ansibleBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v instanceof PyFloat) v = v.value;
  if (typeof v === 'number') {
    if (v === 1) return true;
    if (v === 0) return false;
  } else if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  throw new BooleanError(`The value '${pyText(v)}' is not a valid boolean.  Valid booleans include: ${VALID}`);
}
