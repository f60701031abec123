/**
 * Kiln's connection variables, their Ansible aliases and their type checks.
 *
 * Aliases are renamed to Kiln's key when an inventory or vars file is loaded, so precedence
 * works across both spellings (`ansible_user` in group_vars, `user` on the host: the host wins).
 * An Ansible alias means exactly what it means in Ansible (`ansible_timeout`/`ansible_ssh_timeout`:
 * seconds to establish the connection); settings Ansible has no variable for carry a `kiln_` prefix
 * (keepalives, the per-command timeout), so they cannot collide with a role's own variables.
 */
import type { Diagnostic, Loc } from '../../core/diagnostic.ts';
import { Secret, isSecret } from '../../core/secret/secret.ts';
import { userNameProblem } from '../../core/user-name.ts';
import { reservedVarNameProblem } from '../../core/var-name.ts';

export { USER_NAME_RE, userNameProblem } from '../../core/user-name.ts';

export const CONNECTION_KEYS = [
  'address',
  'port',
  'user',
  'identity_file',
  'become',
  'become_user',
  'become_password',
  'proxy_jump',
  'known_hosts',
  'kiln_connect_timeout',
  'kiln_keepalive_interval',
  'kiln_keepalive_count',
  'kiln_command_timeout',
] as const;
export type ConnectionKey = (typeof CONNECTION_KEYS)[number];

export const CONNECTION_ALIASES: Readonly<Record<string, ConnectionKey>> = {
  ansible_host: 'address',
  ansible_ssh_host: 'address',
  ansible_port: 'port',
  ansible_ssh_port: 'port',
  ansible_user: 'user',
  ansible_ssh_user: 'user',
  ansible_ssh_private_key_file: 'identity_file',
  ansible_private_key_file: 'identity_file',
  ansible_become: 'become',
  ansible_become_user: 'become_user',
  ansible_become_password: 'become_password',
  ansible_become_pass: 'become_password',
  // Ansible's connection timeout (MAGIC_VARIABLE_MAPPING `timeout`): seconds to establish the connection.
  ansible_timeout: 'kiln_connect_timeout',
  ansible_ssh_timeout: 'kiln_connect_timeout',
};

/** Upper bound of every timeout setting, in seconds (a week; JavaScript timers overflow past 24 days). */
export const MAX_TIMEOUT_S = 604800;

const isIntIn = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** A value still to be templated by the engine is not type-checked here. */
function isTemplated(v: unknown): boolean {
  return typeof v === 'string' && v.includes('{{');
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (isSecret(v)) return 'a secret';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const isNonEmptyString = (v: unknown) => (typeof v === 'string' && v.trim() !== '') || isSecret(v);
const isStringList = (v: unknown) => isNonEmptyString(v) || (Array.isArray(v) && v.length > 0 && v.every(isNonEmptyString));

/** Returns what is wrong with a connection value (undefined = fine). */
export function checkConnectionValue(key: ConnectionKey, v: unknown): string | undefined {
  if (isTemplated(v)) return undefined;
  switch (key) {
    case 'port':
      return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535 ? undefined : 'an integer between 1 and 65535';
    case 'become':
      return typeof v === 'boolean' ? undefined : 'a boolean (true or false)';
    case 'address':
      return isNonEmptyString(v) ? undefined : 'a non-empty string';
    case 'user':
      return isNonEmptyString(v) ? undefined : 'a non-empty string';
    case 'become_user':
      if (Number.isInteger(v)) return undefined;
      if (typeof v === 'string' && v.trim() !== '' && userNameProblem(v)) return "a user name (letters, digits, '_', '.', '-' not first)";
      return isNonEmptyString(v) ? undefined : 'a non-empty string';
    case 'become_password':
      return typeof v === 'string' || typeof v === 'number' || isSecret(v) ? undefined : 'a string';
    case 'identity_file':
    case 'known_hosts':
      return isStringList(v) ? undefined : 'a path or a list of paths';
    case 'proxy_jump':
      return v === null || isNonEmptyString(v) ? undefined : "a '[user@]host[:port]' string, an inventory host name, or null";
    case 'kiln_connect_timeout':
    case 'kiln_keepalive_interval':
      return isIntIn(v, 1, MAX_TIMEOUT_S) ? undefined : `a whole number of seconds from 1 to ${MAX_TIMEOUT_S}`;
    case 'kiln_command_timeout':
      return isIntIn(v, 0, MAX_TIMEOUT_S) ? undefined : `a whole number of seconds from 0 (no limit) to ${MAX_TIMEOUT_S}`;
    case 'kiln_keepalive_count':
      // One unanswered interval proves nothing: the first keepalive is only sent after one interval.
      return isIntIn(v, 2, 100) ? undefined : 'a whole number from 2 to 100';
  }
}

const INTEGER_KEYS: readonly ConnectionKey[] = [
  'port',
  'kiln_connect_timeout',
  'kiln_keepalive_interval',
  'kiln_command_timeout',
  'kiln_keepalive_count',
];
const TRUE_WORDS = ['y', 'yes', 'on', '1', 'true', 't'];
const FALSE_WORDS = ['n', 'no', 'off', '0', 'false', 'f'];

/**
 * A connection value written as text, converted as Ansible converts its connection options (config
 * `ensure_type`): `-e ansible_port=2222` and `ansible_port: "2222"` are the integer 2222, and
 * `ansible_become=yes` is true. Text that is not such a value stays text (and is refused by
 * checkConnectionValue: Ansible would read any other word as false, Kiln says so instead).
 */
export function asConnectionType(key: ConnectionKey, v: unknown): unknown {
  if (typeof v !== 'string' || isTemplated(v)) return v;
  if (INTEGER_KEYS.includes(key) && /^\s*[+-]?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
  if (key === 'become') {
    const w = v.trim().toLowerCase();
    if (TRUE_WORDS.includes(w)) return true;
    if (FALSE_WORDS.includes(w)) return false;
  }
  return v;
}

export interface RawVar {
  key: string;
  value: unknown;
  keyLoc: Loc;
  valueLoc: Loc;
}

/**
 * Turns the variables of one mapping (inventory vars, a vars file) into a layer's vars:
 * aliases renamed, connection values type-checked, `become_password` made a Secret.
 */
export function normalizeVars(entries: RawVar[], errors: Diagnostic[]): { vars: Record<string, unknown>; locs: Record<string, Loc> } {
  const vars: Record<string, unknown> = {};
  const locs: Record<string, Loc> = {};
  const writtenAs: Record<string, string> = {};
  for (const e of entries) {
    const problem = reservedVarNameProblem(e.key);
    if (problem) {
      errors.push({ ...e.keyLoc, message: problem });
      continue;
    }
    const canonical: string = (Object.hasOwn(CONNECTION_ALIASES, e.key) ? CONNECTION_ALIASES[e.key] : undefined) ?? e.key;
    if (canonical in writtenAs) {
      errors.push({ ...e.keyLoc, message: `'${e.key}' and '${writtenAs[canonical]}' both set '${canonical}'; keep one` });
      continue;
    }
    writtenAs[canonical] = e.key;
    let value = e.value;
    if ((CONNECTION_KEYS as readonly string[]).includes(canonical)) {
      value = asConnectionType(canonical as ConnectionKey, value);
      const expected = checkConnectionValue(canonical as ConnectionKey, value);
      if (expected) {
        const alias = canonical === e.key ? '' : ` (alias of '${canonical}')`;
        errors.push({ ...e.valueLoc, message: `'${e.key}'${alias} must be ${expected}, got ${describeValue(value)}` });
        continue;
      }
      // A number is its text (Ansible's become_user is a string field: 1001 is '1001').
      if (canonical === 'become_user' && typeof value === 'number') value = String(value);
      if (canonical === 'become_password' && !isSecret(value) && !isTemplated(value)) {
        value = new Secret(String(value), 'become_password');
      }
    }
    vars[canonical] = value;
    locs[canonical] = e.keyLoc;
  }
  return { vars, locs };
}

/**
 * Extra vars (-e) as connection variables: aliases renamed and values checked as in an inventory,
 * errors located at `-e`. (The extra vars themselves reach templates unchanged.)
 */
export function extraConnectionVars(extra: Record<string, unknown>): { vars: Record<string, unknown>; errors: Diagnostic[] } {
  const at: Loc = { file: '-e', line: 0, col: 0 };
  const errors: Diagnostic[] = [];
  const { vars } = normalizeVars(
    Object.entries(extra).map(([key, value]) => ({ key, value, keyLoc: at, valueLoc: at })),
    errors,
  );
  return { vars, errors };
}
