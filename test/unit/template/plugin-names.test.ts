/**
 * Collection-qualified names: only Ansible's own plugins answer to ansible.builtin.X / ansible.legacy.X.
 * Checked with ansible-core 2.14: `'x' | ansible.builtin.upper` and `1 is ansible.builtin.odd` are
 * "Could not load", `'x' | ansible.builtin.to_json` and `is ansible.builtin.match` work.
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/template/engine.ts';

describe('collection-qualified filter and test names', () => {
  it("accepts Ansible's plugins under ansible.builtin and ansible.legacy", () => {
    expect(renderTemplate("{{ 'x' | ansible.builtin.to_json }} {{ 'a' is ansible.legacy.match('a') }}", {}, 't.j2')).toBe('"x" True');
  });
  it("refuses Jinja2's builtins under a collection name, at the filter", () => {
    expect(() => renderTemplate("{{ 'x' | ansible.builtin.upper }}", {}, 't.j2')).toThrow(/could not load filter "ansible.builtin.upper"/);
    expect(() => renderTemplate('{{ 1 is ansible.builtin.odd }}', {}, 't.j2')).toThrow(/could not load test "ansible.builtin.odd"/);
  });
  it('refuses other collections', () => {
    expect(() => renderTemplate("{{ 'x' | community.general.json_query('a') }}", {}, 't.j2')).toThrow(/not supported/);
  });
});

describe('type_debug', () => {
  it('refuses a string, whose type name in Ansible depends on where the string came from', () => {
    expect(renderTemplate('{{ 1 | type_debug }}', {}, 't.j2')).toBe('int');
    expect(() => renderTemplate("{{ 'a' | type_debug }}", {}, 't.j2')).toThrow(/type_debug of a string is not supported/);
  });
});
