/**
 * Secrets: vault-encrypted values, passwords, private keys.
 *
 * A Secret never renders as its value: not in toString, JSON or util.inspect. Templates see
 * the real value only inside `revealing()`, which the template engine uses for rendering.
 * Every secret value is also registered with the process-wide redactor, which every output
 * path (console lines, diffs, JSON reports, error messages) runs through as a second belt.
 */
import { inspect } from 'node:util';

export const REDACTED = '********';

/** The process-wide redactor's values (deliberately global: every output path consults it). */
const known = new Set<string>();
/** How many `revealing()` calls are on the stack: a synchronous dynamic scope, 0 between calls. */
let revealDepth = 0;

export class Secret {
  readonly #value: string;
  readonly label: string;

  constructor(value: string, label = 'secret') {
    this.#value = value;
    this.label = label;
    registerSecretValue(value);
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

/** Registers a value that must never be printed. Very short values would mangle output, so they are skipped. */
export function registerSecretValue(value: string): void {
  if (value.length >= 3) {
    known.add(value);
    for (const line of value.split('\n')) if (line.trim().length >= 8) known.add(line.trim());
  }
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
  for (const s of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Does any known secret occur in `text`? */
export function containsSecret(text: string): boolean {
  for (const s of known) if (text.includes(s)) return true;
  return false;
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
