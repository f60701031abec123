import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { inputErrors, tmpTree } from './helpers.ts';
import { hostVarsOf } from '../../../../src/input/inventory/layers.ts';

const errorsOf = (files: Record<string, string>, entry: string) => {
  const dir = tmpTree(files);
  return inputErrors(() => loadInventory(join(dir, entry))).map((d) => ({
    file: d.file.slice(dir.length + 1),
    line: d.line,
    col: d.col,
    message: d.message,
  }));
};

describe('located inventory errors', () => {
  it('YAML syntax error: exact line and column', () => {
    expect(errorsOf({ 'inv.yml': 'all:\n  hosts:\n    web1: { address: 10.0.0.1 }}\n' }, 'inv.yml')).toEqual([
      { file: 'inv.yml', line: 3, col: 32, message: 'YAML syntax error: Unexpected flow-map-end token in YAML stream: "}"' },
    ]);
    expect(errorsOf({ 'inv.yml': 'all:\n  hosts:\n    web1: address: 10.0.0.1\n' }, 'inv.yml')[0]).toMatchObject({ line: 3, col: 11 });
  });

  it('unknown key in a group: points at the key', () => {
    const src = ['all:', '  children:', '    web:', '      hostz:', '        web1:', ''].join('\n');
    expect(errorsOf({ 'inv.yml': src }, 'inv.yml')).toEqual([
      { file: 'inv.yml', line: 4, col: 7, message: "unknown key 'hostz' in group 'web' (expected hosts, children, vars)" },
    ]);
  });

  it('bad port type: points at the value; all errors of the file are collected', () => {
    const src = [
      'all:',
      '  hosts:',
      '    web1: { port: "ssh" }',
      '    web2:',
      '      ansible_port: 70000',
      '      become: "maybe"',
      '',
    ].join('\n');
    expect(errorsOf({ 'inv.yml': src }, 'inv.yml')).toEqual([
      { file: 'inv.yml', line: 3, col: 19, message: `'port' must be an integer between 1 and 65535, got string "ssh"` },
      {
        file: 'inv.yml',
        line: 5,
        col: 21,
        message: `'ansible_port' (alias of 'port') must be an integer between 1 and 65535, got number 70000`,
      },
      { file: 'inv.yml', line: 6, col: 15, message: `'become' must be a boolean (true or false), got string "maybe"` },
    ]);
  });

  it('connection values written as text convert as Ansible converts its options ("22" is 22, "yes" is true)', () => {
    const src = [
      'all:',
      '  hosts:',
      '    web1: { port: "22", become: "yes" }',
      '    web2: { ansible_port: " 2222 ", ansible_become: "False" }',
      '',
    ].join('\n');
    const { inventory } = loadInventory(join(tmpTree({ 'inv.yml': src }), 'inv.yml'));
    expect(hostVarsOf(inventory, 'web1')).toMatchObject({ port: 22, become: true });
    expect(hostVarsOf(inventory, 'web2')).toMatchObject({ port: 2222, become: false });
  });

  it('INI malformed lines: exact line and column for each', () => {
    const src = ['[web]', 'web1 ansible_port', 'web2   port=abc', '[db', '[x:vras]', '[y:vars]', 'just a line', '[z]', 'web[3:1]', ''].join(
      '\n',
    );
    expect(errorsOf({ 'hosts.ini': src }, 'hosts.ini')).toEqual([
      { file: 'hosts.ini', line: 2, col: 6, message: "expected key=value after the host name, got 'ansible_port'" },
      { file: 'hosts.ini', line: 3, col: 13, message: `'port' must be an integer between 1 and 65535, got string "abc"` },
      {
        file: 'hosts.ini',
        line: 4,
        col: 1,
        message: "malformed section header '[db' (expected [group], [group:vars] or [group:children])",
      },
      { file: 'hosts.ini', line: 5, col: 4, message: "unknown section type 'vras' (expected [x:vars] or [x:children])" },
      { file: 'hosts.ini', line: 7, col: 1, message: "expected 'key=value' in [y:vars], got 'just a line'" },
      { file: 'hosts.ini', line: 9, col: 4, message: "host range '[3:1]' must have begin <= end" },
    ]);
  });

  it('cycles in children are reported where the cycle closes', () => {
    const src = ['all:', '  children:', '    a:', '      children:', '        b:', '          children:', '            a:', ''].join('\n');
    expect(errorsOf({ 'inv.yml': src }, 'inv.yml')).toEqual([
      { file: 'inv.yml', line: 7, col: 13, message: 'cycle in group children: a -> b -> a' },
    ]);
    const ini = ['[a:children]', 'b', '[b:children]', 'c', '[c:children]', 'a', ''].join('\n');
    expect(errorsOf({ 'hosts.ini': ini }, 'hosts.ini')).toEqual([
      { file: 'hosts.ini', line: 6, col: 1, message: 'cycle in group children: a -> b -> c -> a' },
    ]);
  });

  it('collects errors from the inventory and its vars files in one InputError', () => {
    const errs = errorsOf(
      {
        'inv.yml': 'all:\n  hosts:\n    web1:\n      user: 42\n',
        'group_vars/all.yml': '- not\n- a mapping\n',
        'host_vars/web1.yml': 'identity_file: [1, 2]\n',
      },
      'inv.yml',
    );
    expect(errs).toEqual([
      { file: 'group_vars/all.yml', line: 1, col: 1, message: 'a vars file must be a mapping of variable names to values, got a list' },
      { file: 'host_vars/web1.yml', line: 1, col: 16, message: "'identity_file' must be a path or a list of paths, got a list" },
      { file: 'inv.yml', line: 4, col: 13, message: "'user' must be a non-empty string, got number 42" },
    ]);
  });

  it('rejects a connection key set twice in one mapping through an alias', () => {
    expect(errorsOf({ 'inv.yml': 'all:\n  hosts:\n    web1: { address: a, ansible_host: b }\n' }, 'inv.yml')).toEqual([
      { file: 'inv.yml', line: 3, col: 25, message: "'ansible_host' and 'address' both set 'address'; keep one" },
    ]);
  });
});
