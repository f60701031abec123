/**
 * A variable named like a property of every JavaScript object (`__proto__`, `constructor`,
 * `toString`, …) would be lost or misread in Kiln's variable maps: it is refused at its key
 * wherever variables are defined (inventory YAML and INI, group_vars, play/task/role vars,
 * vars_files, role defaults/vars, role parameters, -e), never silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { projectValidator } from '../../../helpers/validate-project.ts';
import { parseExtraVars } from '../../../../src/cli/extra-vars.ts';
import { reservedVarNameProblem } from '../../../../src/core/var-name.ts';

const validate = projectValidator('reserved-names', 'all:\n  hosts:\n    web1: { address: 10.0.0.1 }\n');
const task = '  tasks:\n    - file: { path: /tmp/x, state: directory }\n';
const why = 'is not supported: it is a property of every JavaScript object, so Kiln could not keep it as a variable (rename it)';

async function errors(files: Record<string, string>, inventory?: string): Promise<string[]> {
  const r = await validate(files, inventory);
  expect(r.code).toBe(r.err.length ? 2 : 0);
  return r.err.filter((l) => !/nothing was run/.test(l));
}

describe('variable names that are JavaScript object properties', () => {
  it('are every property of Object.prototype, and only those', () => {
    for (const n of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])
      expect(reservedVarNameProblem(n), n).toBeDefined();
    for (const n of ['proto', 'app_port', 'prototype', 'Constructor', 'name', 'length'])
      expect(reservedVarNameProblem(n), n).toBeUndefined();
  });

  it('are refused at their key in playbook vars, task vars, vars_files, role vars, defaults and parameters', async () => {
    expect(await errors({ 'pb.yml': `- hosts: all\n  vars:\n    ok: 1\n    __proto__: x\n${task}` })).toEqual([
      `pb.yml:4:5: variable name '__proto__' ${why}`,
    ]);
    expect(
      await errors({
        'pb.yml': '- hosts: all\n  tasks:\n    - file: { path: /tmp/x, state: directory }\n      vars: { constructor: 1 }\n',
      }),
    ).toEqual([`pb.yml:4:15: variable name 'constructor' ${why}`]);
    expect(await errors({ 'pb.yml': `- hosts: all\n  vars_files: [v.yml]\n${task}`, 'v.yml': 'a: 1\ntoString: 2\n' })).toEqual([
      `v.yml:2:1: variable name 'toString' ${why}`,
    ]);
    expect(
      await errors({
        'pb.yml': '- hosts: all\n  roles:\n    - role: app\n      valueOf: 3\n',
        'roles/app/defaults/main.yml': '__proto__: { a: 1 }\n',
        'roles/app/vars/main.yml': 'constructor: 2\n',
        'roles/app/tasks/main.yml': '- file: { path: /tmp/x, state: directory }\n',
      }),
    ).toEqual([
      `pb.yml:4:7: variable name 'valueOf' ${why}`,
      `roles/app/defaults/main.yml:1:1: variable name '__proto__' ${why}`,
      `roles/app/vars/main.yml:1:1: variable name 'constructor' ${why}`,
    ]);
  });

  it('are refused as a register name or a loop_var', async () => {
    expect(await errors({ 'pb.yml': '- hosts: all\n  tasks:\n    - command: /bin/true\n      register: constructor\n' })).toEqual([
      `pb.yml:4:17: register: variable name 'constructor' ${why}`,
    ]);
    expect(
      await errors({
        'pb.yml':
          '- hosts: all\n  tasks:\n    - command: /bin/echo {{ toString }}\n      loop: [1]\n      loop_control: { loop_var: toString }\n',
      }),
    ).toEqual([`pb.yml:5:33: loop_control.loop_var: variable name 'toString' ${why}`]);
  });

  it('are refused at their key in YAML and INI inventories and group_vars', async () => {
    const pb = `- hosts: all\n${task}`;
    expect(
      await errors(
        { 'pb.yml': pb, 'inv.yml': 'all:\n  vars:\n    constructor: 1\n  hosts:\n    web1: { address: 10.0.0.1, __proto__: 2 }\n' },
        'inv.yml',
      ),
    ).toEqual([`inv.yml:3:5: variable name 'constructor' ${why}`, `inv.yml:5:32: variable name '__proto__' ${why}`]);
    expect(await errors({ 'pb.yml': pb, 'inv.ini': 'web1 address=10.0.0.1 toString=3\n' }, 'inv.ini')).toEqual([
      `inv.ini:1:23: variable name 'toString' ${why}`,
    ]);
    expect(await errors({ 'pb.yml': pb, 'group_vars/all.yml': 'hasOwnProperty: 1\n' })).toEqual([
      `group_vars/all.yml:1:1: variable name 'hasOwnProperty' ${why}`,
    ]);
  });

  it('are refused in -e (key=value, a YAML/JSON mapping, @file)', () => {
    expect(() => parseExtraVars(['constructor=1'])).toThrow(`-e: variable name 'constructor' ${why}`);
    expect(() => parseExtraVars(['{"__proto__": {"a": 1}}'])).toThrow(`-e: variable name '__proto__' ${why}`);
    expect(parseExtraVars(['{"proto": 1}'])).toEqual({ proto: 1 });
  });
});
