/**
 * Test double of the engine's CallEnv: filters and tests call each other through the library's
 * own tables (with the engine's Undefined rule: an Undefined value or argument raises unless the
 * callable is `undefinedOk`), variables come from a plain map, lookups from a LookupContext.
 */
import type { CallEnv, FilterTable, LookupContext, TestTable } from '../../../../src/template/jinja/callables.ts';
import { toPy, Undefined, UndefinedError } from '../../../../src/template/jinja/value.ts';
import { filterTable, globalTable, testTable } from '../../../../src/template/library.ts';

export interface TestEnv extends CallEnv {
  secret: boolean;
  filter(name: string, value: unknown, args?: unknown[], kwargs?: Record<string, unknown>): unknown;
  test(name: string, value: unknown, args?: unknown[], kwargs?: Record<string, unknown>): unknown;
  global(name: string, args?: unknown[], kwargs?: Record<string, unknown>): unknown;
}

function checkDefined(args: unknown[], kwargs: Map<string, unknown>): void {
  for (const v of [...args, ...kwargs.values()]) if (v instanceof Undefined) throw new UndefinedError(v.message, v.name);
}

export function testEnv(
  opts: { vars?: Record<string, unknown>; lookup?: LookupContext; render?: (source: string) => string } = {},
): TestEnv {
  const call = <T>(
    table: Record<string, { fn: (...a: never[]) => T; undefinedOk?: boolean }>,
    kind: string,
    name: string,
    value: unknown,
    args: unknown[],
    kwargs: Map<string, unknown>,
    self: CallEnv,
  ): T => {
    const entry = table[name];
    if (!entry) throw new Error(`no ${kind} named '${name}'`);
    if (!entry.undefinedOk) checkDefined([value, ...args], kwargs);
    return (entry.fn as unknown as (e: CallEnv, v: unknown, a: unknown[], k: Map<string, unknown>) => T)(self, value, args, kwargs);
  };
  const env: TestEnv = {
    secret: false,
    callFilter: (name, value, args, kwargs = new Map()) => call(filterTable as FilterTable, 'filter', name, value, args, kwargs, env),
    callTest: (name, value, args, kwargs = new Map()) => call(testTable as TestTable, 'test', name, value, args, kwargs, env),
    hasFilter: (name) => name in filterTable,
    hasTest: (name) => name in testTable,
    resolve: (name) => (opts.vars && name in opts.vars ? toPy(opts.vars[name]) : new Undefined(`'${name}' is undefined`, name)),
    renderString: (source) => {
      if (!opts.render) throw new Error('renderString is not available in this test');
      return opts.render(source);
    },
    lookup: opts.lookup,
    markSecret: () => {
      env.secret = true;
    },
    filter: (name, value, args = [], kwargs = {}) => env.callFilter(name, value, args, new Map(Object.entries(kwargs))),
    test: (name, value, args = [], kwargs = {}) => env.callTest(name, value, args, new Map(Object.entries(kwargs))),
    global: (name, args = [], kwargs = {}) => {
      const entry = globalTable[name];
      if (!entry) throw new Error(`no global named '${name}'`);
      const kw = new Map(Object.entries(kwargs));
      if (!entry.undefinedOk) checkDefined(args, kw);
      return entry.fn(env, args, kw);
    },
  };
  return env;
}
