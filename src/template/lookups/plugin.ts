/**
 * What a lookup plugin is here: its options (the keyword arguments it accepts, with defaults)
 * and `run(terms, options)` returning a list, as Ansible's LookupBase.run does. Plus the
 * LookupBase helpers the with_* plugins share and the file search of find_file_in_search_path.
 */
import type { CallEnv, LookupContext } from '../jinja/callables.ts';
import { PyError, PyTuple } from '../jinja/value.ts';
import * as posix from '../filters/posixpath.ts';

export interface LookupCall {
  env: CallEnv;
  ctx: LookupContext;
}

export interface LookupPlugin {
  options: Readonly<Record<string, unknown>>;
  run(call: LookupCall, terms: unknown[], options: Record<string, unknown>): unknown[];
}

/** LookupBase._flatten: one level of lists/tuples. */
export function flattenOnce(terms: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const t of terms) {
    if (Array.isArray(t)) out.push(...t);
    else out.push(t);
  }
  return out;
}

/** listify_lookup_plugin_terms for a term already templated: a string or non-iterable becomes [term]. */
export function listify(term: unknown): unknown[] {
  if (Array.isArray(term)) return [...term];
  if (term instanceof Map) return [...term.keys()];
  return [term];
}

export function isTuple(v: unknown): v is PyTuple {
  return v instanceof PyTuple;
}

/**
 * find_file_in_search_path / path_dwim_relative_stack: an absolute (or `~`) path as it is when it
 * exists, else the first existing `<dir>/<needle>` of the search dirs for `kind`.
 */
export function findFile(call: LookupCall, kind: 'files' | 'templates' | 'vars', needle: string): string | undefined {
  if (needle.startsWith('/') || needle.startsWith('~')) {
    const p = posix.normpath(posix.expanduser(needle, call.ctx.env));
    return posix.exists(p) ? p : undefined;
  }
  for (const dir of call.ctx.searchPaths(kind)) {
    const p = posix.join(dir, needle);
    if (posix.exists(p)) return p;
  }
  return undefined;
}

export function lookupError(msg: string): PyError {
  return new PyError('AnsibleLookupError', msg);
}
