/**
 * Binding a call's positional and keyword arguments to a Python-style signature, with Python's
 * TypeErrors (`lower() takes 1 positional argument but 2 were given`, `… got an unexpected keyword
 * argument 'x'`, `… missing 1 required positional argument: 'x'`, `… got multiple values for
 * argument 'x'`), and the definitions of filters, tests and globals on top of it.
 *
 * For a filter or test the piped value is Python's first positional argument: it counts in the
 * messages like it does in Python.
 */
import type { CallEnv, FilterFn, GlobalFn, Registered, TestFn } from '../jinja/callables.ts';
import { PyError } from '../jinja/value.ts';

/** A parameter: a required name, or [name, default]. */
export type Param = string | readonly [string, unknown];

export interface Signature {
  /** The callable's name in messages. */
  name: string;
  /** Parameters after the piped value (all of them for a global). */
  params: readonly Param[];
  /** Extra positional arguments are collected (Python `*args`) instead of refused. */
  varargs?: boolean;
  /** Unknown keyword arguments are collected (Python `**kwargs`) instead of refused. */
  varkw?: boolean;
  /** The piped value counts as the first positional argument (filters and tests). */
  piped?: boolean;
}

export interface Bound {
  /** Each parameter's value (its default when not passed). */
  a: Record<string, unknown>;
  /** Extra positional arguments (varargs). */
  rest: unknown[];
  /** Extra keyword arguments (varkw), in call order. */
  kw: Map<string, unknown>;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function nameList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0]!;
  return `${q.slice(0, -1).join(', ')}${q.length > 2 ? ',' : ''} and ${q[q.length - 1]}`;
}

export function bindArgs(sig: Signature, args: readonly unknown[], kwargs: ReadonlyMap<string, unknown> = new Map()): Bound {
  const offset = sig.piped ? 1 : 0;
  const names = sig.params.map((p) => (typeof p === 'string' ? p : p[0]));
  const a: Record<string, unknown> = {};
  const given = new Set<string>();
  const rest: unknown[] = [];
  args.forEach((v, i) => {
    if (i < names.length) {
      a[names[i]!] = v;
      given.add(names[i]!);
    } else rest.push(v);
  });
  if (rest.length && !sig.varargs) {
    const max = names.length + offset;
    const min = sig.params.filter((p) => typeof p === 'string').length + offset;
    const takes = min === max ? plural(max, 'positional argument') : `from ${min} to ${max} positional arguments`;
    const n = args.length + offset;
    throw new PyError('TypeError', `${sig.name}() takes ${takes} but ${n} ${n === 1 ? 'was' : 'were'} given`);
  }
  const kw = new Map<string, unknown>();
  for (const [k, v] of kwargs) {
    if (names.includes(k)) {
      if (given.has(k)) throw new PyError('TypeError', `${sig.name}() got multiple values for argument '${k}'`);
      a[k] = v;
      given.add(k);
    } else if (sig.varkw) kw.set(k, v);
    else throw new PyError('TypeError', `${sig.name}() got an unexpected keyword argument '${k}'`);
  }
  const missing: string[] = [];
  for (const p of sig.params) {
    if (typeof p === 'string') {
      if (!given.has(p)) missing.push(p);
    } else if (!given.has(p[0])) a[p[0]] = p[1];
  }
  if (missing.length) {
    throw new PyError('TypeError', `${sig.name}() missing ${plural(missing.length, 'required positional argument')}: ${nameList(missing)}`);
  }
  return { a, rest, kw };
}

type Impl<R> = (env: CallEnv, value: unknown, a: Record<string, unknown>, bound: Bound) => R;

interface Options {
  varargs?: boolean;
  varkw?: boolean;
  /** The callable handles an Undefined value or argument itself. */
  undefinedOk?: boolean;
}

/** A filter with a Python signature: `params` come after the piped value. */
export function filter(name: string, params: readonly Param[], impl: Impl<unknown>, opts: Options = {}): Registered<FilterFn> {
  const sig: Signature = { name, params, varargs: opts.varargs, varkw: opts.varkw, piped: true };
  const fn: FilterFn = (env, value, args, kwargs) => {
    const bound = bindArgs(sig, args, kwargs);
    return impl(env, value, bound.a, bound);
  };
  return opts.undefinedOk ? { fn, undefinedOk: true } : { fn };
}

/** A test with a Python signature: `params` come after the tested value. */
export function test(name: string, params: readonly Param[], impl: Impl<boolean>, opts: Options = {}): Registered<TestFn> {
  const sig: Signature = { name, params, varargs: opts.varargs, varkw: opts.varkw, piped: true };
  const fn: TestFn = (env, value, args, kwargs) => {
    const bound = bindArgs(sig, args, kwargs);
    return impl(env, value, bound.a, bound);
  };
  return opts.undefinedOk ? { fn, undefinedOk: true } : { fn };
}

/** A global function with a Python signature. */
export function global(
  name: string,
  params: readonly Param[],
  impl: (env: CallEnv, a: Record<string, unknown>, bound: Bound) => unknown,
  opts: Options = {},
): Registered<GlobalFn> {
  const sig: Signature = { name, params, varargs: opts.varargs, varkw: opts.varkw };
  const fn: GlobalFn = (env, args, kwargs) => {
    const bound = bindArgs(sig, args, kwargs);
    return impl(env, bound.a, bound);
  };
  return opts.undefinedOk ? { fn, undefinedOk: true } : { fn };
}
