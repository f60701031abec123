/**
 * The engine's contract with filters, tests and global functions (src/template/jinja/callables.ts
 * as the environment implements it): Undefined is raised before a callable that does not handle it
 * runs; the CallEnv lets a callable call filters, resolve variables, render text and mark the
 * result sensitive; unknown and foreign-collection names are located errors at compile time.
 * The tables here are the test's own, so only the engine is under test.
 */
import { describe, expect, it } from 'vitest';
import type { FilterTable, GlobalTable, TestTable } from '../../../src/template/jinja/callables.ts';
import { Environment } from '../../../src/template/jinja/environment.ts';
import { JinjaRuntimeError, JinjaSyntaxError } from '../../../src/template/jinja/errors.ts';
import { isStrictUndefined, pyStr, Undefined } from '../../../src/template/jinja/value.ts';

const calls: string[] = [];
const filters: FilterTable = {
  upper: { fn: (_e, v) => pyStr(v).toUpperCase(), plugin: true },
  default: { fn: (_e, v, a) => (v instanceof Undefined ? (a[0] ?? '') : v), undefinedOk: true },
  twice: { fn: (env, v) => pyStr(env.callFilter('upper', v, [])) + pyStr(env.callFilter('ansible.builtin.upper', v, [])) },
  greet: { fn: (env, v) => `${v} ${pyStr(env.resolve('name'))}` },
  inner: { fn: (env, v) => env.renderString(`[{{ name }}:${pyStr(v)}]`, 'inner.j2') },
  taint: {
    fn: (env, v) => {
      env.markSecret();
      return v;
    },
  },
  record: {
    fn: (_e, v, a, k) => {
      calls.push(JSON.stringify([pyStr(v), a.map((x) => pyStr(x)), [...k.keys()]]));
      return v;
    },
  },
};
const tests: TestTable = { defined: { fn: (_e, v) => !isStrictUndefined(v), undefinedOk: true } };
const globals: GlobalTable = {
  hello: { fn: (_e, a, k) => `hello ${a.map((x) => pyStr(x)).join(',')}${k.size ? ` ${[...k.keys()]}` : ''}` },
};
const env = new Environment({ filters, tests, globals });
const render = (source: string, vars: Record<string, unknown> = {}) => env.render({ source, file: 't.j2', vars, mode: 'template' });

describe('calling filters, tests and globals', () => {
  it('passes positional and keyword arguments, and dotted ansible.builtin names', () => {
    calls.length = 0;
    expect(render("{{ 'x' | record(1, *[2], k=3, **{'z': 4}) | ansible.builtin.upper }}").value).toBe('X');
    expect(calls).toEqual(['["x",["1","2"],["k","z"]]']);
    expect(render('{{ hello(1, 2, sep=3) }}').value).toBe('hello 1,2 sep');
  });

  it('raises the UndefinedError before a callable that does not handle Undefined, and passes it to one that does', () => {
    expect(() => render('{{ missing | upper }}')).toThrow(JinjaRuntimeError);
    expect(() => render("{{ 'a' | record(missing) }}")).toThrow("'missing' is undefined");
    expect(() => render('{{ hello(missing) }}')).toThrow("'missing' is undefined");
    expect(render("{{ missing | default('d') }} {{ missing is defined }}").value).toBe('d False');
  });

  it('gives callables a CallEnv: other filters, variables, rendering, the secret mark', () => {
    expect(render("{{ 'a' | twice }}").value).toBe('AA');
    expect(render("{{ 'hi' | greet }}", { name: 'bob' }).value).toBe('hi bob');
    expect(render("{{ 'x' | inner }}", { name: 'bob' }).value).toBe('[bob:x]');
    expect(render("{{ 'x' | taint }}").secret).toBe(true);
    expect(render("{{ 'x' | upper }}").secret).toBe(false);
  });

  it('refuses an unknown filter or test, and other collections, when compiling (even in a branch not taken)', () => {
    expect(() => render("{% if false %}{{ 'x' | nope }}{% endif %}")).toThrow(JinjaSyntaxError);
    expect(() => render("{{ 'x' | nope }}")).toThrow("no filter named 'nope'");
    expect(() => render('{{ 1 is nope }}')).toThrow("no test named 'nope'");
    expect(() => render("{{ 'x' | community.general.foo }}")).toThrow(
      "filter 'community.general.foo' is not supported: only ansible.builtin (and ansible.legacy) filters are available in Kiln",
    );
  });
});
