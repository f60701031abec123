import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { expandHostRange, HostRangeError } from '../../../../src/input/inventory/ranges.ts';
import { iniValue } from '../../../../src/input/inventory/ini-inventory.ts';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { inputErrors, tmpTree } from './helpers.ts';

describe('host ranges', () => {
  it('expands numeric, zero-padded, stepped, alphabetic and multiple ranges', () => {
    expect(expandHostRange('web[1:3]')).toEqual(['web1', 'web2', 'web3']);
    expect(expandHostRange('web[08:10].example.com')).toEqual(['web08.example.com', 'web09.example.com', 'web10.example.com']);
    expect(expandHostRange('n[0:6:3]')).toEqual(['n0', 'n3', 'n6']);
    expect(expandHostRange('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(expandHostRange('r[1:2]-[a:b]')).toEqual(['r1-a', 'r1-b', 'r2-a', 'r2-b']);
    expect(expandHostRange('plain')).toEqual(['plain']);
  });

  it('reports malformed ranges with their offset', () => {
    expect(() => expandHostRange('web[3:1]')).toThrow('must have begin <= end');
    expect(() => expandHostRange('web[01:100]')).toThrow('equal-length');
    expect(() => expandHostRange('web[a:3]')).toThrow('numeric ([1:3]) or single letters');
    let caught: unknown;
    try {
      expandHostRange('ab-[1:2]x[5:]');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HostRangeError);
    expect((caught as HostRangeError).offset).toBe(9);
    expect((caught as HostRangeError).message).toBe("host range '[5:]' must specify an end value");
  });
});

describe('INI values', () => {
  it('are typed like YAML scalars; yes/no are booleans; quoted values stay strings', () => {
    expect(iniValue('22', false)).toBe(22);
    expect(iniValue('0.5', false)).toBe(0.5);
    expect(iniValue('true', false)).toBe(true);
    expect(iniValue('False', false)).toBe(false);
    expect(iniValue('yes', false)).toBe(true);
    expect(iniValue('off', false)).toBe(false);
    expect(iniValue('null', false)).toBeNull();
    expect(iniValue('22', true)).toBe('22');
    expect(iniValue('a: b', false)).toBe('a: b');
    expect(iniValue('{{ x }}', false)).toBe('{{ x }}');
    expect(iniValue('[1,2]', false)).toBe('[1,2]');
  });
});

describe('inventory structure rules', () => {
  it("'all' cannot be a child group", () => {
    const dir = tmpTree({ 'inv.yml': 'web:\n  children:\n    all:\n' });
    expect(inputErrors(() => loadInventory(join(dir, 'inv.yml')))).toMatchObject([
      { line: 3, col: 5, message: "group 'all' cannot be a child of group 'web'" },
    ]);
  });

  it('top-level groups other than all are children of all; a host in all and a group is not ungrouped', () => {
    const dir = tmpTree({ 'inv.yml': 'all:\n  hosts:\n    h1:\n    h2:\nweb:\n  hosts:\n    h1:\n' });
    const inv = loadInventory(join(dir, 'inv.yml')).inventory;
    expect(inv.groups.get('web')!.parents).toEqual(['all']);
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['h2']);
  });

  it('rejects non-mapping hosts, vars and host entries with located errors', () => {
    const dir = tmpTree({
      'inv.yml': 'all:\n  hosts: [a, b]\n  vars: 3\n  children:\n    web:\n      hosts:\n        w1: just-a-string\n',
    });
    expect(inputErrors(() => loadInventory(join(dir, 'inv.yml'))).map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      "2:10 'hosts' of group 'all' must be a mapping of host names, got a list",
      "3:9 'vars' of group 'all' must be a mapping, got number 3",
      `7:13 host 'w1' must map to its vars (or nothing), got string "just-a-string"`,
    ]);
  });

  it('warns about host_vars for an unknown host and a host named like a group', () => {
    const dir = tmpTree({ 'inv.yml': 'all:\n  children:\n    web:\n      hosts:\n        web:\n', 'host_vars/ghost.yml': 'a: 1\n' });
    const { warnings } = loadInventory(join(dir, 'inv.yml'));
    expect(warnings.map((w) => w.message)).toEqual([
      "host_vars for host 'ghost', which is not in the inventory",
      "host 'web' has the same name as a group; patterns will select the group",
    ]);
  });

  it('INI: hosts with ranges in the ungrouped section and `host:port`', () => {
    const dir = tmpTree({ hosts: 'n[1:2]:2201 user=x\n' });
    const inv = loadInventory(join(dir, 'hosts')).inventory;
    expect([...inv.hosts.keys()]).toEqual(['n1', 'n2']);
    expect(inv.hosts.get('n2')!.vars).toEqual({ port: 2201, user: 'x' });
    expect(inv.hosts.get('n2')!.groups).toEqual(['all', 'ungrouped']);
  });
});
