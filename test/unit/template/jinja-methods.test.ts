/**
 * Python's methods on str, list and dict as templates call them (src/template/jinja/methods.ts).
 * The expected text is what Ansible's template module writes for the same expression (CPython 3.11).
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/template/engine.ts';

const render = (expr: string, vars: Record<string, unknown> = {}) => renderTemplate(`{{ ${expr} }}`, vars, 't.j2');

describe('str methods', () => {
  it.each([
    ["'root:x:0'.split(':')", "['root', 'x', '0']"],
    ["' a  b  c '.split(None, 1)", "['a', 'b  c ']"],
    ["' a b c '.rsplit(None, 1)", "[' a b', 'c']"],
    ["'a,b,,c'.split(',')", "['a', 'b', '', 'c']"],
    ["'a\\r\\nb\\rc\\n'.splitlines()", "['a', 'b', 'c']"],
    ["'hello world'.title()", 'Hello World'],
    ['"they\'re 1st".title()', "They'Re 1St"],
    ["'hello WORLD'.capitalize()", 'Hello world'],
    ["'x'.center(6, '*')", '**x***'],
    ["'ab'.center(5)", '  ab '],
    ["'-42'.zfill(5)", '-0042'],
    ["'abcabc'.find('c', 3)", '5'],
    ["'abcabc'.rfind('a')", '3'],
    ["'aaaa'.count('aa')", '2'],
    ["'abc'.count('')", '4'],
    ["'ab'.replace('', '-')", '-a-b-'],
    ["'aaa'.replace('a', 'b', 2)", 'bba'],
    ["'abc'.startswith('b', 1)", 'True'],
    ["'abc'.endswith(('x', 'c'))", 'True'],
    ["'a-b-c'.rpartition('-')", "('a-b', '-', 'c')"],
    ["'xxyxx'.strip('x')", 'y'],
    ["'a\\tb'.expandtabs(4)", 'a   b'],
    ["'Ab Cd'.istitle()", 'True'],
    ["'AB1'.isupper()", 'True'],
    ["''.isupper()", 'False'],
    ["'123'.isdigit()", 'True'],
    ["'{}:{}'.format('h', 22)", 'h:22'],
    ["', '.join(['a', 'b'])", 'a, b'],
  ])('%s → %s', (expr, want) => {
    expect(render(expr)).toBe(want);
  });

  it('checks arguments like Python', () => {
    expect(() => render("'x'.join(['a', 1])")).toThrow('sequence item 1: expected str instance, int found');
    expect(() => render("'abc'.index('z')")).toThrow('substring not found');
    expect(() => render("'a'.split(',', 1, 2)")).toThrow('split() takes at most 2 arguments (3 given)');
    expect(() => render("'a'.upper(1)")).toThrow('upper() takes no arguments (1 given)');
    expect(() => render("'a'.startswith(x=1)")).toThrow('startswith() takes no keyword arguments');
  });
});

describe('list, tuple and dict methods', () => {
  it('reads with get/keys/values/items, which print as their unrolled list (Ansible finalize) or as the view in a string', () => {
    const d = { a: 1, b: 2 };
    expect(render("d.get('a') ~ d.get('z', 'dflt') ~ d.get('z')", { d })).toBe('1dfltNone');
    expect(render('d.items()', { d })).toBe("[('a', 1), ('b', 2)]");
    expect(render('d.keys()', { d })).toBe("['a', 'b']");
    expect(render("'' ~ d.items()", { d })).toBe("dict_items([('a', 1), ('b', 2)])");
    expect(render("'a' in d.keys()", { d })).toBe('True');
  });

  it('mutates local lists and dicts, returning None', () => {
    expect(renderTemplate('{% set l = [3, 1] %}{{ l.append(2) }}|{{ l }}|{{ l.sort() }}{{ l }}|{{ l.pop(0) }}{{ l }}', {}, 't')).toBe(
      '|[3, 1, 2]|[1, 2, 3]|1[2, 3]',
    );
    expect(
      renderTemplate("{% set d = {'a': 1} %}{{ d.update(b=2) }}{{ d }} {{ d.setdefault('c', 3) }} {{ d.pop('a') }}{{ d }}", {}, 't'),
    ).toBe("{'a': 1, 'b': 2} 3 1{'b': 2, 'c': 3}");
    expect(render('(1, 2, 1).count(1) ~ [1, 2].index(2)')).toBe('21');
  });

  it('gives each render its own copy of a variable a template mutates', () => {
    const vars = { users: ['a'] };
    const t = "{% set _ = users.append('b') %}{{ users }}";
    expect(renderTemplate(t, vars, 't')).toBe("['a', 'b']");
    expect(renderTemplate(t, vars, 't')).toBe("['a', 'b']");
    expect(vars.users).toEqual(['a']);
  });

  it('raises Python errors', () => {
    expect(() => render('[].pop()')).toThrow('pop from empty list');
    expect(() => render("{'a': 1}.pop('z')")).toThrow("KeyError: 'z'");
    expect(() => render('[1].remove(2)')).toThrow('list.remove(x): x not in list');
  });
});
