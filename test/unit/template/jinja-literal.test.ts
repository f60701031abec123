/**
 * Python's ast.literal_eval as Ansible applies it to templated values (src/template/jinja/literal-eval.ts),
 * and the repr of the values the engine adds to the model (dict views, range, lenient Undefined).
 * Expected values are CPython's.
 */
import { describe, expect, it } from 'vitest';
import { literalEval } from '../../../src/template/jinja/literal-eval.ts';
import { dictView, float, PlainUndefined, PyRange, pyEquals, pyRepr, pyStr, truthy, tuple } from '../../../src/template/jinja/value.ts';

const ok = (src: string) => {
  const r = literalEval(src);
  if (!r.ok) throw new Error(`literal_eval failed on ${src}`);
  return pyRepr(r.value);
};

describe('literal_eval', () => {
  it.each([
    ['[1, 2]', '[1, 2]'],
    ["[1, 'a', True, None]", "[1, 'a', True, None]"],
    ["{'a': 1, 'b': [1, 2]}", "{'a': 1, 'b': [1, 2]}"],
    ['[true, false, null]', '[True, False, None]'],
    ['[(1, 2), (3,)]', '[(1, 2), (3,)]'],
    ['[1e3, 1.5, -2, +3, -0.0, 0x1f, 1_000]', '[1000.0, 1.5, -2, 3, -0.0, 31, 1000]'],
    ['[1.]', '[1.0]'],
    ['[.5]', '[0.5]'],
    ["[u'x', r'a\\n']", "['x', 'a\\\\n']"],
    ["['a' 'b']", "['ab']"],
    ["['''x''']", "['x']"],
    ['[1\n,2]', '[1, 2]'],
    ['[1]\n', '[1]'],
    ['[1] # comment', '[1]'],
    ["{'a':1,'a':2}", "{'a': 2}"],
    ['[12345678901234567890]', '[12345678901234567890]'],
    ["{'a': 1, }", "{'a': 1}"],
    ['[1], [2]', '([1], [2])'],
  ])('%j → %s', (src, repr) => {
    expect(ok(src)).toBe(repr);
  });

  it.each(['[1] + [2]', '[a]', '[1]\n[2]', '[007]', '[--1]', '[-True]', '[1 2]', '[inf]', '{1: }', "[b'x']", '[1j]'])(
    '%j is not a literal (Ansible keeps the string)',
    (src) => {
      expect(literalEval(src).ok).toBe(false);
    },
  );
});

describe('values the engine adds to the model', () => {
  it('renders dict views and ranges like Python, and compares them like Python', () => {
    expect(pyRepr(dictView('dict_items', [tuple(['a', 1])]))).toBe("dict_items([('a', 1)])");
    expect(pyRepr(dictView('dict_keys', ['a']))).toBe("dict_keys(['a'])");
    const r = Object.assign(new PyRange(), { start: 0, stop: 3, step: 1 });
    r.push(0, 1, 2);
    expect(pyRepr(r)).toBe('range(0, 3)');
    expect(pyEquals(dictView('dict_keys', ['a']), ['a'])).toBe(false);
    expect(pyEquals(float(2), 2)).toBe(true);
  });

  it("has a lenient Undefined (an inline if without else) that prints '' and is false", () => {
    const u = new PlainUndefined('the inline if-expression on line 1 evaluated to false and no else section was defined.', 'x');
    expect(pyStr(u)).toBe('');
    expect(truthy(u)).toBe(false);
    expect(pyEquals(u, new PlainUndefined('', 'y'))).toBe(true);
  });
});
