import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/core/secret/secret.ts';
import { evaluateCondition, renderTemplate, renderValue, TemplateError } from '../../../src/template/engine.ts';

describe('templating', () => {
  it('keeps native types for a single expression and renders strings otherwise', () => {
    expect(renderValue('{{ ports }}', { ports: [80, 443] })).toEqual([80, 443]);
    expect(renderValue('{{ port }}', { port: 8080 })).toBe(8080);
    expect(renderValue('port {{ port }}', { port: 8080 })).toBe('port 8080');
    expect(renderValue({ a: ['{{ x }}', 'y'] }, { x: true })).toEqual({ a: [true, 'y'] });
  });

  it('names the undefined variable, the template file and the line', () => {
    const src = 'global\n  maxconn {{ haproxy.maxconn }}\n';
    let err: TemplateError | undefined;
    try {
      renderTemplate(src, { haproxy: {} }, 'roles/haproxy/templates/haproxy.cfg.j2');
    } catch (e) {
      err = e as TemplateError;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect(err!.variable).toBe('haproxy.maxconn');
    expect(err!.located).toBe("roles/haproxy/templates/haproxy.cfg.j2:2:11: undefined variable 'haproxy.maxconn'");
  });

  it('reports an undefined top-level variable inside a loop body', () => {
    const src = '{% for b in backends %}\nserver {{ b }} {{ weight }}\n{% endfor %}\n';
    let located = '';
    try {
      renderTemplate(src, { backends: ['a'] }, 't.j2');
    } catch (e) {
      located = (e as TemplateError).located;
    }
    expect(located).toMatch(/^t\.j2:2:\d+: undefined variable 'weight'$/);
  });

  it('supports Ansible filters and trim_blocks', () => {
    expect(renderTemplate('{% if true %}\nx\n{% endif %}\n', {}, 't')).toBe('x\n');
    expect(renderValue('{{ "yes" | bool }}', {})).toBe(true);
    expect(renderValue('{{ x | default(3) }}', {})).toBe(3);
    expect(renderValue('{{ a | union(b) }}', { a: [1, 2], b: [2, 3] })).toEqual([1, 2, 3]);
    expect(renderValue('{{ "a.b" | regex_replace("\\\\.", "-") }}', {})).toBe('a-b');
    expect(renderValue('{{ d | dict2items }}', { d: { k: 1 } })).toEqual([{ key: 'k', value: 1 }]);
    expect(renderValue('{{ "hi" | b64encode }}', {})).toBe('aGk=');
  });

  it('evaluates conditions like Ansible when', () => {
    expect(evaluateCondition("'web' in group_names", { group_names: ['web'] })).toBe(true);
    expect(evaluateCondition('x is not defined', {})).toBe(true);
    expect(evaluateCondition(['a > 1', 'b'], { a: 2, b: false })).toBe(false);
    expect(evaluateCondition(true, {})).toBe(true);
  });

  it('renders secrets as their value only inside templates', () => {
    const s = new Secret('p4ssw0rd-xyz');
    expect(renderValue('pw={{ s }}', { s })).toBe('pw=p4ssw0rd-xyz');
    expect(String(s)).toBe('********');
    expect(JSON.stringify({ s })).toBe('{"s":"********"}');
  });

  it('each evaluation captures into its own slot, even when one runs inside another', () => {
    const inner = () => renderValue('{{ [1, 2] }}', {});
    expect(renderValue('{{ [inner(), 3] }}', { inner })).toEqual([[1, 2], 3]);
    expect(evaluateCondition('inner() | length == 2', { inner })).toBe(true);
    expect(renderValue('{{ x }}', { x: 0 })).toBe(0);
    expect(() => renderValue('{{ nope }}', {})).toThrow(/undefined variable 'nope'/);
  });
});
