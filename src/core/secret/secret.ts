/**
 * Secrets: vault-encrypted values, passwords, private keys.
 *
 * A Secret never renders as its value: not in toString, JSON or util.inspect. Templates see
 * the real value only inside `revealing()`, which the template engine uses for rendering.
 * Every secret value is also registered with the process-wide redactor, which every output
 * path (console lines, diffs, JSON reports, error messages) runs through as a second belt.
 */
import { inspect } from 'node:util';
import { isPlainRecord } from '../plain-object.ts';

export const REDACTED = '********';

/** The process-wide redactor's values (deliberately global: every output path consults it). */
const known = new Set<string>();
/** The values registered (their forms are in `known`). */
const registered = new Set<string>();
/** `known`, longest first (recomputed after a registration). */
let sorted: string[] | undefined;
/** How many `revealing()` calls are on the stack: a synchronous dynamic scope, 0 between calls. */
let revealDepth = 0;

export class Secret {
  readonly #value: string;
  readonly label: string;

  /** `register: false` marks a value tainted without hiding its text in output (registered results: see taintDeep). */
  constructor(value: string, label = 'secret', register = true) {
    this.#value = value;
    this.label = label;
    if (register) registerSecretValue(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return revealDepth > 0 ? this.#value : REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }

  valueOf(): string {
    return this.toString();
  }
}

export function isSecret(v: unknown): v is Secret {
  return v instanceof Secret;
}

/**
 * Registers a value that must never be printed, with the forms our output paths and common
 * tools print it in: JSON-escaped (a diff header, the JSON report), POSIX-sh single-quoted (a
 * command line in a summary), Python repr-escaped, base64, hex and URL-encoded. Very short values
 * would mangle output, so they are skipped; each line of a multi-line value counts as well.
 */
export function registerSecretValue(value: string): void {
  if (value.length < 3 || registered.has(value)) return;
  registered.add(value);
  sorted = undefined;
  for (const form of forms(value)) if (form.length >= 3) known.add(form);
  for (const line of value.split('\n')) {
    const t = line.trim();
    if (t.length >= 8 && t !== value) for (const form of forms(t)) if (form.length >= 3) known.add(form);
  }
}

function forms(v: string): string[] {
  const bytes = Buffer.from(v, 'utf8');
  const b64 = bytes.toString('base64');
  const hex = bytes.toString('hex');
  const json = JSON.stringify(v).slice(1, -1);
  return [
    v,
    json,
    // JSON with non-ASCII escaped (Python's json.dumps default, `to_json`).
    json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    // A string inside JSON inside JSON (a to_json value in the JSON report).
    JSON.stringify(json).slice(1, -1),
    // POSIX sh single quoting, as src/sh/quote.ts writes it.
    v.replace(/'/g, `'"'"'`),
    v.replace(/'/g, `'\\''`),
    // Python repr() of a str (a list or dict printed by a template): in double quotes when it
    // holds a ' and no ", else in single quotes.
    v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r'),
    v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r'),
    b64,
    b64.replace(/=+$/, ''),
    b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
    hex,
    hex.toUpperCase(),
    encodeURIComponent(v),
    // Python's urllib.parse.quote (and `urlencode`): also encodes ! ' ( ) * ; quote_plus: spaces as +.
    encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    encodeURIComponent(v)
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, '+'),
  ];
}

/**
 * Taint: a deep copy of a value derived from a secret, with every string in it a Secret (and so
 * registered with the redactor, unless `register` is false: a task's registered result, whose
 * strings also echo its plain params, is tainted for what is rendered from it, and each value
 * rendered from it is registered then). Numbers, booleans and None stay: they are not text.
 */
export function taintDeep(v: unknown, label = 'derived', register = true): unknown {
  if (typeof v === 'string') return new Secret(v, label, register);
  if (v instanceof Secret) return v;
  if (Array.isArray(v)) return v.map((x) => taintDeep(x, label, register));
  if (isPlainRecord(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, taintDeep(x, label, register)]));
  }
  return v;
}

/** Runs `fn` with Secret.toString() returning real values (template rendering). Synchronous only. */
export function revealing<T>(fn: () => T): T {
  revealDepth++;
  try {
    return fn();
  } finally {
    revealDepth--;
  }
}

/** Replaces every known secret value in `text`. Longest first, so a secret containing another is fully hidden. */
export function redact(text: string): string {
  if (!known.size || !text) return text;
  let out = text;
  sorted ??= [...known].sort((a, b) => b.length - a.length);
  for (const s of sorted) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/**
 * Does any known secret (or one of its printed forms) occur in `text`? Every value derived from a
 * secret is registered (a render that read a secret returns a Secret), so this is the taint check
 * of a text that is about to leave the controller.
 */
export function containsSecret(text: string): boolean {
  if (!text) return false;
  for (const s of known) if (text.includes(s)) return true;
  return false;
}

/** Does a value, deeply, hold a Secret or a string containing a known secret? */
export function isTainted(v: unknown): boolean {
  if (v instanceof Secret) return true;
  if (typeof v === 'string') return containsSecret(v);
  if (Array.isArray(v)) return v.some(isTainted);
  if (v instanceof Map) return [...v.values()].some(isTainted);
  if (isPlainRecord(v)) return Object.values(v).some(isTainted);
  return false;
}

/** Deep-copies a value, redacting every string in it (for structured output such as the JSON report). */
export function redactDeep<T>(v: T): T {
  if (typeof v === 'string') return redact(v) as T;
  if (v instanceof Secret) return REDACTED as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (isPlainRecord(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [redact(k), redactDeep(x)])) as T;
  }
  return v;
}

/** Deep-copies a value, replacing Secrets with their real values (for remote scripts that need them). */
export function revealDeep(v: unknown): unknown {
  if (v instanceof Secret) return v.reveal();
  if (Array.isArray(v)) return v.map(revealDeep);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealDeep(x)]));
  }
  return v;
}

/** Does a value (deeply) contain a Secret? */
export function hasSecret(v: unknown): boolean {
  if (v instanceof Secret) return true;
  if (Array.isArray(v)) return v.some(hasSecret);
  if (v && typeof v === 'object') return Object.values(v).some(hasSecret);
  return false;
}

/**
 * A parameter holding a secret (or a value derived from one) at a place where it would become
 * part of a remote process's command line, visible to every user of the host in `ps` and
 * /proc/PID/cmdline. Thrown while a task is instantiated, before any host is contacted; the
 * engine locates it at `param`.
 */
export class SecretInArgvError extends Error {
  constructor(
    readonly param: string,
    why: string,
  ) {
    super(`${param} holds a secret, which would be in a remote command line (ps, /proc/*/cmdline): ${why}`);
  }
}

/** Throws SecretInArgvError when `value` (a param) holds a secret or text derived from one. */
export function refuseSecretInArgv(param: string, value: unknown, why: string): void {
  if (isTainted(value)) throw new SecretInArgvError(param, why);
}
