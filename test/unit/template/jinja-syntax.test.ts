/**
 * The Jinja2 lexer and parser (src/template/jinja/lexer.ts, parser.ts): Jinja2's grammar and
 * whitespace rules, and syntax errors located at line:col with Jinja2's messages (the expected
 * messages are the ones Jinja2 3.1 gives for the same templates).
 */
import { describe, expect, it } from 'vitest';
import { ANSIBLE_OPTIONS } from '../../../src/template/jinja/environment.ts';
import { JinjaSyntaxError } from '../../../src/template/jinja/errors.ts';
import { escapeBackslashes, tokenize } from '../../../src/template/jinja/lexer.ts';
import type { Expr, Stmt } from '../../../src/template/jinja/nodes.ts';
import { Parser } from '../../../src/template/jinja/parser.ts';
import { renderTemplate, TemplateError } from '../../../src/template/engine.ts';

function syntaxError(src: string): JinjaSyntaxError {
  try {
    new Parser(src, ANSIBLE_OPTIONS).parse();
  } catch (e) {
    if (e instanceof JinjaSyntaxError) return e;
    throw e;
  }
  throw new Error(`no syntax error for ${JSON.stringify(src)}`);
}

function expr(src: string): Expr {
  const body = new Parser(`{{ ${src} }}`, ANSIBLE_OPTIONS).parse().body;
  const out = body[0] as Extract<Stmt, { kind: 'Output' }>;
  return out.nodes[0] as Expr;
}

/** The tree without positions, as nested arrays: easy to compare. */
function shape(e: Expr): unknown {
  switch (e.kind) {
    case 'Const':
      return e.value;
    case 'Name':
      return e.name;
    case 'BinOp':
      return [e.op, shape(e.left), shape(e.right)];
    case 'Neg':
    case 'Not':
    case 'Pos':
      return [e.kind, shape(e.node)];
    case 'Filter':
      return ['|', e.name, e.node && shape(e.node), ...e.args.map(shape)];
    case 'Test':
      return ['is', e.name, shape(e.node), ...e.args.map(shape)];
    case 'Compare':
      return ['cmp', shape(e.expr), ...e.ops.map((o) => [o.op, shape(o.expr)])];
    case 'And':
    case 'Or':
      return [e.kind, shape(e.left), shape(e.right)];
    case 'Concat':
      return ['~', ...e.nodes.map(shape)];
    case 'CondExpr':
      return ['if', shape(e.test), shape(e.expr1), e.expr2 && shape(e.expr2)];
    case 'Getattr':
      return ['.', shape(e.node), e.attr];
    case 'Getitem':
      return ['[]', shape(e.node), shape(e.arg)];
    default:
      return e.kind;
  }
}

describe('Jinja2 operator precedence', () => {
  it('binds filters tighter than arithmetic, and unary minus tighter than power (left-associative, as in Jinja2)', () => {
    expect(shape(expr('1 + x | int'))).toEqual(['add', 1, ['|', 'int', 'x']]);
    expect(shape(expr('-x | abs'))).toEqual(['|', 'abs', ['Neg', 'x']]);
    expect(shape(expr('2 ** 3 ** 2'))).toEqual(['pow', ['pow', 2, 3], 2]);
    expect(shape(expr('-2 ** 2'))).toEqual(['pow', ['Neg', 2], 2]);
    expect(shape(expr('a ~ b + c'))).toEqual(['add', ['~', 'a', 'b'], 'c']);
    expect(shape(expr('a * b ~ c'))).toEqual(['~', ['mul', 'a', 'b'], 'c']);
  });

  it('parses not, and, or, chained comparisons, in / not in, tests and inline if', () => {
    expect(shape(expr('not a and b or c'))).toEqual(['Or', ['And', ['Not', 'a'], 'b'], 'c']);
    expect(shape(expr('1 < x <= 3'))).toEqual(['cmp', 1, ['lt', 'x'], ['lteq', 3]]);
    expect(shape(expr('a not in b'))).toEqual(['cmp', 'a', ['notin', 'b']]);
    expect(shape(expr('x is divisibleby 3'))).toEqual(['is', 'divisibleby', 'x', 3]);
    expect(shape(expr('x is not defined'))).toEqual(['Not', ['is', 'defined', 'x']]);
    expect(shape(expr('a if c else b'))).toEqual(['if', 'c', 'a', 'b']);
    expect(shape(expr('a if c'))).toEqual(['if', 'c', 'a', null]);
    expect(shape(expr('x.y[0].z'))).toEqual(['.', ['[]', ['.', 'x', 'y'], 0], 'z']);
    expect(shape(expr('x.0'))).toEqual(['[]', 'x', 0]);
    expect(shape(expr('x | ansible.builtin.to_json'))).toEqual(['|', 'ansible.builtin.to_json', 'x']);
  });

  it('reads literals as Python does: true/True, none/None, ints, floats, adjacent strings, escapes', () => {
    expect(shape(expr('true'))).toBe(true);
    expect(shape(expr('False'))).toBe(false);
    expect(shape(expr('none'))).toBe(null);
    expect(shape(expr('1_000'))).toBe(1000);
    expect(shape(expr('0x1f'))).toBe(31);
    expect(shape(expr('12345678901234567890'))).toBe(12345678901234567890n);
    expect(shape(expr('0.5'))).toBe(0.5);
    expect(shape(expr('"a" \'b\''))).toBe('ab');
    expect(shape(expr('"\\x41\\u00e9\\n\\q"'))).toBe('Aé\n\\q');
  });
});

describe('whitespace control as Ansible configures Jinja2 (trim_blocks on, lstrip_blocks off)', () => {
  const data = (src: string) =>
    tokenize(src, ANSIBLE_OPTIONS)
      .filter((t) => t.type === 'data')
      .map((t) => t.value);

  it('removes the newline after a block tag, not after a variable tag', () => {
    expect(data('{% if x %}\na\n{% endif %}\n')).toEqual(['a\n']);
    expect(data('{{ x }}\nb')).toEqual(['\nb']);
  });

  it('- strips all whitespace on its side, + keeps the newline trim_blocks would remove', () => {
    expect(data('a  \n  {%- if x -%}  \n  b')).toEqual(['a', 'b']);
    expect(data('{% if x +%}\nb')).toEqual(['\nb']);
  });

  it('keeps leading indentation unless lstrip_blocks is on', () => {
    expect(data('x\n    {% if y %}')).toEqual(['x\n    ']);
    expect(data2('x\n    {% if y %}', { lstripBlocks: true })).toEqual(['x\n']);
    expect(data2('x\n    {%+ if y %}', { lstripBlocks: true })).toEqual(['x\n    ']);
  });

  function data2(src: string, o: Partial<typeof ANSIBLE_OPTIONS>): unknown[] {
    return tokenize(src, { ...ANSIBLE_OPTIONS, ...o })
      .filter((t) => t.type === 'data')
      .map((t) => t.value);
  }

  it('lexes raw blocks as text and drops comments', () => {
    expect(data('{% raw %}{{ x }}{% endraw %}{# c #}y')).toEqual(['{{ x }}', 'y']);
  });

  it("doubles backslashes in {{ }} string literals for playbook values (Ansible's _escape_backslashes)", () => {
    expect(escapeBackslashes("a\\n {{ 'b\\n' }} {% if 'c\\n' %}", ANSIBLE_OPTIONS)).toBe("a\\n {{ 'b\\\\n' }} {% if 'c\\n' %}");
  });
});

describe('syntax errors, located, with Jinja2 messages', () => {
  it.each([
    ['{{ 1 + }}', "unexpected 'end of print statement'", 1, 8],
    ['line\n{% if a === b %}{% endif %}', "unexpected '='", 2, 11],
    [
      '{% if true %}x\n',
      "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
      1,
      15,
    ],
    [
      '{% for x in y %}{% break %}{% endfor %}',
      "Encountered unknown tag 'break'. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'.",
      1,
      20,
    ],
    ['{% do x %}', "Encountered unknown tag 'do'.", 1, 4],
    [
      '{% for x in y %}{% if z %}{% endfor %}{% endif %}',
      "Encountered unknown tag 'endfor'. You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
      1,
      30,
    ],
    ['{{ x y }}', "expected token 'end of print statement', got 'y'", 1, 6],
    ['{{ [1, 2 }}', "unexpected '}', expected ']'", 1, 10],
    ['{{ $ }}', "unexpected char '$' at 3", 1, 4],
    ['{% macro m(a=1, b) %}{% endmacro %}', 'non-default argument follows default argument', 1, 18],
    ['{% set true = 1 %}', "can't assign to 'const'", 1, 8],
    ['{{ x is a is b }}', 'You cannot chain multiple tests with is', 1, 11],
    ['{# open', 'Missing end of comment tag', 1, 3],
  ])('%j → %s', (src, message, line, col) => {
    const e = syntaxError(src);
    expect(e.message).toBe(message);
    expect(e.pos).toEqual({ line, col });
  });

  it('reaches callers as a TemplateError with file:line:col', () => {
    let err: unknown;
    try {
      renderTemplate('ok\n  {{ x + }}\n', {}, 'roles/r/templates/t.j2');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).located).toBe("roles/r/templates/t.j2:2:10: unexpected 'end of print statement'");
  });

  it('counts the #jinja2: header line in error positions', () => {
    expect(() => renderTemplate('#jinja2: trim_blocks: False\n{{ x + }}', {}, 't.j2')).toThrow(
      expect.objectContaining({ line: 2, col: 8 }),
    );
  });
});
