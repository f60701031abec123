/**
 * Jinja2's builtin tests (jinja2/tests.py 3.1), as Ansible 2.14 evaluates them.
 *
 * Tests that never touch their value (`none`, `string`, `number`, `mapping`, …) do not fail on an
 * undefined value in Jinja2 either, so they are `undefinedOk`: `missing is string` is False.
 * Two tests are refused: `escaped` (true only for MarkupSafe's Markup strings, which Kiln does
 * not model) and `sameas` on values whose identity in CPython is an accident of interning
 * (strings, floats, ints outside -5..256).
 */
import type { TestTable } from '../jinja/callables.ts';
import { isDict, isFloat, isInt, isNumeric, num, PyError, pyCompare, pyEquals, pyStr, Undefined } from '../jinja/value.ts';
import { test } from '../filters/args.ts';
import { contains, isIterable, isLower, isUpper, iterate, pyMod } from '../filters/py.ts';

function sameas(a: unknown, b: unknown): boolean {
  const singleton = (v: unknown) => v === null || typeof v === 'boolean' || v instanceof Undefined;
  if (singleton(a) || singleton(b)) return a === b;
  const smallInt = (v: unknown) => isInt(v) && num(v) >= -5 && num(v) <= 256;
  if (isInt(a) && isInt(b) && smallInt(a) && smallInt(b)) return num(a) === num(b);
  if (typeof a === 'object' && typeof b === 'object') return a === b;
  if (typeof a !== typeof b && !(isNumeric(a) && isNumeric(b))) return false;
  throw new PyError(
    'NotSupported',
    "the 'sameas' test on strings, floats and large ints depends on CPython's object identity; Kiln does not support it",
  );
}

const ok = { undefinedOk: true };

export const jinjaTests: TestTable = {
  odd: test('test_odd', [], (_env, v) => pyEquals(pyMod(v, 2), 1)),
  even: test('test_even', [], (_env, v) => pyEquals(pyMod(v, 2), 0)),
  divisibleby: test('test_divisibleby', ['num'], (_env, v, a) => pyEquals(pyMod(v, a.num), 0)),

  defined: test('test_defined', [], (_env, v) => !(v instanceof Undefined), ok),
  undefined: test('test_undefined', [], (_env, v) => v instanceof Undefined, ok),

  // Ansible's plugin mapping raises for an unknown name instead of answering False.
  filter: test('test_filter', [], (env, v) => {
    if (typeof v !== 'string') throw new PyError('ValueError', `key must be a string, got ${typeof v} instead`);
    if (!env.hasFilter(v)) throw new PyError('TemplateSyntaxError', `Could not load "${v}": '${v}'`);
    return true;
  }),
  test: test('test_test', [], (env, v) => {
    if (typeof v !== 'string') throw new PyError('ValueError', `key must be a string, got ${typeof v} instead`);
    if (!env.hasTest(v)) throw new PyError('TemplateSyntaxError', `Could not load "${v}": '${v}'`);
    return true;
  }),

  none: test('test_none', [], (_env, v) => v === null, ok),
  boolean: test('test_boolean', [], (_env, v) => typeof v === 'boolean', ok),
  false: test('test_false', [], (_env, v) => v === false, ok),
  true: test('test_true', [], (_env, v) => v === true, ok),
  integer: test('test_integer', [], (_env, v) => isInt(v), ok),
  float: test('test_float', [], (_env, v) => isFloat(v), ok),
  lower: test('test_lower', [], (_env, v) => isLower(pyStr(v))),
  upper: test('test_upper', [], (_env, v) => isUpper(pyStr(v))),
  string: test('test_string', [], (_env, v) => typeof v === 'string', ok),
  mapping: test('test_mapping', [], (_env, v) => isDict(v), ok),
  number: test('test_number', [], (_env, v) => isNumeric(v), ok),
  sequence: test('test_sequence', [], (_env, v) => Array.isArray(v) || typeof v === 'string' || v instanceof Map, ok),
  iterable: test('test_iterable', [], (_env, v) => {
    if (v instanceof Undefined) iterate(v);
    return isIterable(v);
  }),
  // Values are data; only Jinja2's Undefined (which defines __call__) is callable.
  callable: test('callable', [], (_env, v) => v instanceof Undefined, ok),
  sameas: test('test_sameas', ['other'], (_env, v, a) => sameas(v, a.other), ok),
  escaped: test('test_escaped', [], () => {
    throw new PyError('NotSupported', "the 'escaped' test (MarkupSafe strings) is not supported by Kiln");
  }),
  in: test('test_in', ['seq'], (_env, v, a) => contains(a.seq, v)),

  '==': test('eq', ['b'], (_env, v, a) => pyEquals(v, a.b)),
  eq: test('eq', ['b'], (_env, v, a) => pyEquals(v, a.b)),
  equalto: test('eq', ['b'], (_env, v, a) => pyEquals(v, a.b)),
  '!=': test('ne', ['b'], (_env, v, a) => !pyEquals(v, a.b)),
  ne: test('ne', ['b'], (_env, v, a) => !pyEquals(v, a.b)),
  '>': test('gt', ['b'], (_env, v, a) => pyCompare(v, a.b, '>') > 0),
  gt: test('gt', ['b'], (_env, v, a) => pyCompare(v, a.b, '>') > 0),
  greaterthan: test('gt', ['b'], (_env, v, a) => pyCompare(v, a.b, '>') > 0),
  '>=': test('ge', ['b'], (_env, v, a) => pyCompare(v, a.b, '>=') >= 0),
  ge: test('ge', ['b'], (_env, v, a) => pyCompare(v, a.b, '>=') >= 0),
  '<': test('lt', ['b'], (_env, v, a) => pyCompare(v, a.b, '<') < 0),
  lt: test('lt', ['b'], (_env, v, a) => pyCompare(v, a.b, '<') < 0),
  lessthan: test('lt', ['b'], (_env, v, a) => pyCompare(v, a.b, '<') < 0),
  '<=': test('le', ['b'], (_env, v, a) => pyCompare(v, a.b, '<=') <= 0),
  le: test('le', ['b'], (_env, v, a) => pyCompare(v, a.b, '<=') <= 0),
};
