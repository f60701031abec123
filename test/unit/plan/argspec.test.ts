/**
 * Parameters converted as Ansible's argument spec converts them (templates render to text in
 * Ansible: `port: "{{ http_port }}"` is '80'), driven by the module's JSON schema; `omit`; the
 * path options Ansible would expand on the host.
 */
import { describe, expect, it } from 'vitest';
import { convertParams, needsPathExpansion, removeOmit } from '../../../src/plan/argspec.ts';
import { adjustAnsibleArgs } from '../../../src/modules/ansible/mapping.ts';
import { getModule } from '../../../src/modules/registry.ts';
import type { JSONSchema } from '../../../src/modules/contract.ts';
import { PyFloat } from '../../../src/template/jinja/value.ts';

const schema = (m: string): JSONSchema => getModule(m)!.schema;

describe('convertParams', () => {
  it('int options: Python int() of a string', () => {
    expect(convertParams(schema('group'), { name: 'g', gid: '1000' })).toEqual({ name: 'g', gid: 1000 });
    expect(convertParams(schema('group'), { name: 'g', gid: ' 1_000 ' })).toEqual({ name: 'g', gid: 1000 });
    // Not an int: left for the schema's error.
    expect(convertParams(schema('group'), { name: 'g', gid: '10.5' })).toEqual({ name: 'g', gid: '10.5' });
  });

  it("bool options: Ansible's boolean()", () => {
    expect(convertParams(schema('service'), { name: 's', enabled: 'yes' })).toEqual({ name: 's', enabled: true });
    expect(convertParams(schema('service'), { name: 's', enabled: 'False' })).toEqual({ name: 's', enabled: false });
    expect(convertParams(schema('service'), { name: 's', enabled: 0 })).toEqual({ name: 's', enabled: false });
    expect(convertParams(schema('service'), { name: 's', enabled: 'maybe' })).toEqual({ name: 's', enabled: 'maybe' });
  });

  it('str options: numbers and booleans as Python prints them', () => {
    expect(convertParams(schema('file'), { path: '/x', owner: 1000 })).toEqual({ path: '/x', owner: '1000' });
    expect(convertParams(schema('user'), { name: 'u', comment: true })).toEqual({ name: 'u', comment: 'True' });
  });

  it('values the schema accepts stay as they are (a mode may be a number or a string)', () => {
    expect(convertParams(schema('file'), { path: '/x', mode: '0644' })).toEqual({ path: '/x', mode: '0644' });
    expect(convertParams(schema('sysctl'), { name: 'k', value: '10' })).toEqual({ name: 'k', value: '10' });
  });

  it('a float from YAML (1.0): its Python text for a text option, its number otherwise', () => {
    expect(convertParams(schema('sysctl'), { name: 'k', value: new PyFloat(1) })).toEqual({ name: 'k', value: '1.0' });
    expect(convertParams(schema('get_url'), { url: 'u', dest: '/d', timeout: new PyFloat(30) })).toEqual({
      url: 'u',
      dest: '/d',
      timeout: 30,
    });
  });

  it('list options: a string splits on commas (Ansible list type)', () => {
    expect(convertParams(schema('user'), { name: 'u', groups: 'adm,sudo' })).toEqual({ name: 'u', groups: ['adm', 'sudo'] });
  });

  it('converts inside lists and mappings the schema describes', () => {
    const s: JSONSchema = {
      type: 'object',
      properties: {
        ports: { type: 'array', items: { type: 'integer' } },
        opts: { type: 'object', additionalProperties: { type: 'boolean' } },
      },
    };
    expect(convertParams(s, { ports: ['80', '443'], opts: { a: 'on', b: 'no' } })).toEqual({
      ports: [80, 443],
      opts: { a: true, b: false },
    });
  });
});

describe('removeOmit (Ansible remove_omit)', () => {
  it('drops parameters equal to the placeholder, also inside mappings and mappings in lists', () => {
    const o = '__omit_place_holder__x';
    expect(removeOmit({ a: o, b: 1, c: { d: o, e: 2 }, f: [{ g: o, h: 3 }, o] }, o)).toEqual({ b: 1, c: { e: 2 }, f: [{ h: 3 }, o] });
  });
});

describe('needsPathExpansion', () => {
  it('~ and $VAR, which Ansible expands on the host', () => {
    expect(needsPathExpansion('~/x')).toBe(true);
    expect(needsPathExpansion('$HOME/x')).toBe(true);
    expect(needsPathExpansion('/srv/${APP}/x')).toBe(true);
    expect(needsPathExpansion('/srv/a$')).toBe(false);
    expect(needsPathExpansion('/srv/x~')).toBe(false);
  });
});

describe('adjustAnsibleArgs: what the Ansible module does with its arguments', () => {
  it('apt: cache_valid_time updates the cache (even with update_cache false)', () => {
    const p: Record<string, unknown> = { name: 'x', cache_valid_time: 3600, update_cache: false };
    adjustAnsibleArgs('ansible.builtin.apt', p);
    expect(p.update_cache).toBe(true);
  });
  it('copy: a list or dict content is written as Python json.dumps, a number or boolean as str()', () => {
    const p: Record<string, unknown> = { dest: '/x', content: { a: [1, 'é'], b: null } };
    adjustAnsibleArgs('ansible.builtin.copy', p);
    expect(p.content).toBe('{"a": [1, "\\u00e9"], "b": null}');
    const q: Record<string, unknown> = { dest: '/x', content: false };
    adjustAnsibleArgs('ansible.builtin.copy', q);
    expect(q.content).toBe('False');
  });
});
