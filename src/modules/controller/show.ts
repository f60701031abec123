/**
 * How an action's values are shown (debug's output, a list `msg`): a string as it is, anything
 * else as JSON with Ansible's display (4-space indent, Python's floats). Secrets are shown with
 * their value here, registered with the redactor: the result's message is redacted on its way out
 * (engine/results.ts).
 */
import { isSecret, registerSecretValue } from '../../core/secret/secret.ts';
import { PyFloat, pyStr } from '../../template/jinja/value.ts';

/** A secret's text, registered with the redactor first (a tainted registered value is not yet): shown only redacted. */
function revealed(v: { reveal(): string }): string {
  registerSecretValue(v.reveal());
  return v.reveal();
}

function plain(v: unknown): unknown {
  if (isSecret(v)) return revealed(v);
  if (v instanceof PyFloat) return Number(pyStr(v));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return String(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v === undefined ? null : v;
}

/** A value as JSON, 4-space indented as Ansible's default callback shows it. */
export function showJson(v: unknown): string {
  return JSON.stringify(plain(v), null, 4);
}

/** A message value: a string as it is, anything else as JSON. */
export function showValue(v: unknown): string {
  if (isSecret(v)) return revealed(v);
  return typeof v === 'string' ? v : showJson(v);
}
