/**
 * The templating API (src/template/engine.ts) with ansible-core 2.14's semantics. Expected values
 * were checked against Ansible (Templar.template, the template module, Conditional). Filters and
 * tests come from the library and are tested with it; here only the language is used.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecret, Secret } from '../../../src/core/secret/secret.ts';
import {
  analyzeTemplate,
  evaluate,
  evaluateCondition,
  renderTemplate,
  renderTemplateInfo,
  renderValue,
  TemplateError,
} from '../../../src/template/engine.ts';

function thrown(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TemplateError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('renderTemplate: what the template module writes', () => {
  it('writes Python str() of values: True, None as nothing, lists and dicts as repr', () => {
    expect(
      renderTemplate('{{ t }} [{{ n }}] {{ l }} {{ d }} {{ 7 / 2 }} {{ 4 / 2 }}\n', { t: true, n: null, l: [1, 'a'], d: { a: [1] } }, 't'),
    ).toBe("True [] [1, 'a'] {'a': [1]} 3.5 2.0\n");
  });

  it('keeps trailing newlines, trims the newline after block tags, and normalises CRLF', () => {
    expect(renderTemplate('{% if true %}\nx\n{% endif %}\n\n', {}, 't')).toBe('x\n\n');
    expect(renderTemplate('a\r\nb\r\n', {}, 't')).toBe('a\nb\n');
  });

  it('honours a #jinja2: first line, and refuses an unknown key', () => {
    expect(renderTemplate('#jinja2: trim_blocks: False, lstrip_blocks: True\n  {% if true %}\nx\n  {% endif %}\n', {}, 't')).toBe('\nx\n');
    expect(renderTemplate('#jinja2: variable_start_string: "[[", variable_end_string: "]]"\n[[ 1 + 1 ]] {{ x }}\n', {}, 't')).toBe(
      '2 {{ x }}\n',
    );
    expect(thrown(() => renderTemplate('#jinja2: autoescape: True\nx', {}, 't')).message).toMatch(/override 'autoescape' is not supported/);
  });

  it('names the undefined variable, the template file, line and column', () => {
    const src = 'global\n  maxconn {{ haproxy.maxconn }}\n';
    const err = thrown(() => renderTemplate(src, { haproxy: {} }, 'roles/haproxy/templates/haproxy.cfg.j2'));
    expect(err.variable).toBe('haproxy.maxconn');
    expect(err.located).toBe("roles/haproxy/templates/haproxy.cfg.j2:2:14: 'dict object' has no attribute 'maxconn' (haproxy.maxconn)");
  });

  it('reports an undefined variable inside a loop body where it is used', () => {
    const err = thrown(() =>
      renderTemplate('{% for b in backends %}\nserver {{ b }} {{ weight }}\n{% endfor %}\n', { backends: ['a'] }, 't.j2'),
    );
    expect(err.located).toBe("t.j2:2:19: 'weight' is undefined");
    expect(err.variable).toBe('weight');
  });

  it('keeps the first failure of an undefined chain, as Ansible does', () => {
    expect(thrown(() => renderTemplate('{{ missing.port.x }}', {}, 't')).message).toBe("'missing' is undefined");
    expect(thrown(() => renderTemplate('{{ v[5] }}', { v: [1] }, 't')).message).toBe('list object has no element 5 (v[5])');
  });

  it('reports Python errors at the operator', () => {
    const err = thrown(() => renderTemplate("x\n{{ 1 + 'a' }}", {}, 't'));
    expect(err.message).toBe("TypeError: unsupported operand type(s) for +: 'int' and 'str'");
    expect([err.line, err.col]).toEqual([2, 4]);
  });

  it('scopes like Jinja2: set in a loop does not leak, namespace() does, macros see later top-level sets', () => {
    expect(renderTemplate('{% set f = false %}{% for x in [1] %}{% set f = true %}{% endfor %}{{ f }}', {}, 't')).toBe('False');
    expect(renderTemplate('{% set ns = namespace(f=false) %}{% for x in [1] %}{% set ns.f = true %}{% endfor %}{{ ns.f }}', {}, 't')).toBe(
      'True',
    );
    expect(renderTemplate('{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}', {}, 't')).toBe('2');
  });

  it('has loop variables, recursive loops, call blocks and filter-free blocks', () => {
    expect(renderTemplate('{% for x in "abc" %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.cycle("+", "-") }}{% endfor %}', {}, 't')).toBe(
      '12+21-30+',
    );
    const tree = [{ n: 'a', c: [{ n: 'b', c: [] }] }];
    expect(renderTemplate('{% for i in tree recursive %}{{ loop.depth }}{{ i.n }}{{ loop(i.c) }}{% endfor %}', { tree }, 't')).toBe('1a2b');
    expect(renderTemplate('{% macro m(a) %}<{{ caller(a) }}>{% endmacro %}{% call(v) m(2) %}{{ v * 3 }}{% endcall %}', {}, 't')).toBe(
      '<6>',
    );
  });

  it('refuses loop controls and do (not enabled in Ansible)', () => {
    expect(thrown(() => renderTemplate('{% for x in [1] %}{% break %}{% endfor %}', {}, 't')).message).toMatch(
      /^Encountered unknown tag 'break'/,
    );
  });

  it('includes, imports and extends templates from the search path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-tpl-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'inc.j2'), '[{{ v }}]\n');
    writeFileSync(join(dir, 'macros.j2'), '{% macro m(x) %}<{{ x }}>{% endmacro %}{% set answer = 42 %}');
    writeFileSync(join(dir, 'base.j2'), 'head {% block b %}base{% endblock %} tail\n');
    const file = join(dir, 'main.j2');
    expect(renderTemplate('a{% include "inc.j2" %}b\n', { v: 1 }, file)).toBe('a[1]b\n');
    expect(renderTemplate('{% from "macros.j2" import m, answer %}{{ m(answer) }}', {}, file)).toBe('<42>');
    expect(renderTemplate('{% extends "base.j2" %}{% block b %}child+{{ super() }}{% endblock %}', {}, file)).toBe('head child+base tail');
    expect(renderTemplate('{% include "nope.j2" ignore missing %}ok', {}, file)).toBe('ok');
    expect(thrown(() => renderTemplate('{% include "nope.j2" %}', {}, file)).message).toBe('TemplateNotFound: nope.j2');
    // An included template sees the loop's variables, but `loop` only when the loop body itself uses it (Jinja2).
    writeFileSync(join(dir, 'item.j2'), '{{ i }}{{ loop.index }}');
    expect(thrown(() => renderTemplate('{% for i in "ab" %}{% include "item.j2" %}{% endfor %}', {}, file)).message).toBe(
      "'loop' is undefined",
    );
    expect(renderTemplate('{% for i in "ab" %}{% include "item.j2" %}{{ loop.index }}{% endfor %}', {}, file)).toBe('a11b22');
  });
});

describe('renderValue: Templar.template on playbook values', () => {
  it('returns a bool/number/None variable unchanged for "{{ var }}", else text turned into a list/dict/bool when it reads as one', () => {
    expect(renderValue('{{ port }}', { port: 8080 })).toBe(8080);
    expect(renderValue('{{ x }}', { x: 0 })).toBe(0);
    expect(renderValue('{{ x }}', { x: null })).toBe(null);
    expect(renderValue('{{ 5 }}', {})).toBe('5');
    expect(renderValue('{{ none }}', {})).toBe('');
    expect(renderValue('{{ ports }}', { ports: [80, 443] })).toEqual([80, 443]);
    expect(renderValue('[{{ 1 }}, 2]', {})).toEqual([1, 2]);
    expect(renderValue('{{ 1 == 1 }}', {})).toBe(true);
    expect(renderValue(' {{ 5 }}', {})).toBe(' 5');
    expect(renderValue('port {{ port }}', { port: 8080 })).toBe('port 8080');
    expect(renderValue('{{ x }}', { x: 'True' })).toBe(true);
  });

  it('renders lists and dict values recursively, not dict keys, and leaves other values alone', () => {
    expect(renderValue({ a: ['{{ x }}', 'y'], '{{ x }}': 1 }, { x: true })).toEqual({ a: [true, 'y'], '{{ x }}': 1 });
    expect(renderValue(5, {})).toBe(5);
    expect(renderValue('no template', {})).toBe('no template');
  });

  it('keeps backslashes of string literals inside {{ }} (Ansible escapes them for playbook values)', () => {
    expect(renderValue("a\\n{{ 'b\\n' }}", {})).toBe('a\\nb\\n');
  });

  it('returns a Secret when the result was derived from a secret', () => {
    const s = new Secret('p4ssw0rd-xyz');
    const v = renderValue('pw={{ s }}', { s });
    expect(isSecret(v)).toBe(true);
    expect((v as Secret).reveal()).toBe('pw=p4ssw0rd-xyz');
    expect(String(s)).toBe('********');
    expect(renderTemplateInfo('{{ s }}', { s }, 't')).toEqual({ text: 'p4ssw0rd-xyz', sensitive: true });
    expect(renderTemplateInfo('{{ x }}', { x: 1, s }, 't')).toEqual({ text: '1', sensitive: false });
  });

  it('fails on an undefined variable, naming it', () => {
    expect(() => renderValue('{{ nope }}', {})).toThrow("'nope' is undefined");
  });
});

describe('evaluateCondition: Ansible 2.14 Conditional', () => {
  it('evaluates expressions with Python truthiness, lists as "all", bools as themselves', () => {
    expect(evaluateCondition("'web' in group_names", { group_names: ['web'] })).toBe(true);
    expect(evaluateCondition(['a > 1', 'b'], { a: 2, b: false })).toBe(false);
    expect(evaluateCondition(true, {})).toBe(true);
    expect(evaluateCondition('[]', {})).toBe(false);
    expect(evaluateCondition('v', { v: 'false' })).toBe(true);
    expect(evaluateCondition('{{ flag }}', { flag: false })).toBe(false);
    expect(evaluateCondition(null, {})).toBe(true);
    expect(evaluateCondition(0, {})).toBe(false);
    // A list inside the list is a value, true when not empty (Ansible templates it, it does not evaluate it).
    expect(evaluateCondition([['0 == 1']], {})).toBe(true);
    expect(evaluateCondition([[]], {})).toBe(false);
  });

  it('fails on an undefined variable, naming it and locating it in the expression', () => {
    const err = thrown(() => evaluateCondition("os_family_never_defined == 'Debian'", {}, 'tasks/main.yml'));
    expect(err.message).toBe("'os_family_never_defined' is undefined");
    expect(err.variable).toBe('os_family_never_defined');
    expect([err.line, err.col]).toEqual([1, 1]);
    expect(thrown(() => evaluateCondition('cfg.port == 80', { cfg: {} })).message).toBe("'dict object' has no attribute 'port' (cfg.port)");
  });

  it("reports a syntax error at its column in the expression, not in Ansible's wrapper", () => {
    const err = thrown(() => evaluateCondition('a ===', { a: 1 }));
    expect(err.message).toBe("unexpected '='");
    expect(err.col).toBe(5);
  });
});

describe('evaluate', () => {
  it('gives the native value of an expression as plain data', () => {
    expect(evaluate('[x, {"k": (1, 2)}]', { x: 1 })).toEqual([1, { k: [1, 2] }]);
    expect(evaluate('x.y', { x: { y: 2.5 } })).toBe(2.5);
    expect(() => evaluate('x.z', { x: {} })).toThrow("'dict object' has no attribute 'z'");
  });
});

describe('analyzeTemplate', () => {
  it('lists filters, tests, functions, included templates and free variables with positions', () => {
    const a = analyzeTemplate(
      [
        '{% set local = 1 %}{% include "part.j2" %}',
        '{% for h in hosts | sort %}{{ h.name | ansible.builtin.upper }}{{ loop.index }}{% endfor %}',
        '{{ lookup("env", "HOME") }} {{ cfg.port }} {{ local }}',
        '{% if extra is defined %}{{ extra.x }}{% endif %}{{ other | default(1) }}',
      ].join('\n'),
      't.j2',
    );
    expect(a.filters.map((f) => f.name)).toEqual(['sort', 'upper', 'default']);
    expect(a.tests).toEqual([{ name: 'defined', line: 4, col: 16 }]);
    expect(a.globals).toEqual([{ name: 'lookup', line: 3, col: 4 }]);
    expect(a.templates).toEqual([{ name: 'part.j2', line: 1, col: 31 }]);
    expect(a.variables.map((v) => [v.name, v.path, v.line, v.guarded])).toEqual([
      ['hosts', 'hosts', 2, false],
      ['cfg', 'cfg.port', 3, false],
      ['extra', 'extra', 4, true],
      ['extra', 'extra.x', 4, true],
      ['other', 'other', 4, true],
    ]);
  });
});
