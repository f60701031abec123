/**
 * `kiln validate` on with_* loops, until and the number keywords: undefined names and syntax
 * errors in with_ terms and until conditions are located inside the value (as for loop and when),
 * an until may use the task's own register name, retries/delay without until are refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../../src/core/diagnostic.ts';
import { validateRun } from '../../../src/plan/validate.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-validate-loops-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n');
let n = 0;

function errorsOf(tasks: string): string[] {
  const pb = join(dir, `pb${n++}.yml`);
  writeFileSync(pb, `- hosts: all\n  vars: { pkgs: [a, b] }\n  tasks:\n${tasks.replace(/^/gm, '    ')}\n`);
  try {
    validateRun({ playbook: pb, inventory: [join(dir, 'hosts.yml')], extraVars: {} });
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, ''));
    throw err;
  }
  return [];
}

describe('validation of loops and retries', () => {
  it('accepts with_items over a variable, and until on the task’s own register', () => {
    expect(
      errorsOf('- command: echo {{ item }}\n  with_items: "{{ pkgs }}"\n  register: r\n  until: r.rc == 0\n  retries: 2\n  delay: 0\n'),
    ).toEqual([]);
  });
  it('an undefined name in with_ terms, located at its value', () => {
    expect(errorsOf('- command: echo {{ item }}\n  with_items: "{{ nope }}"\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:5:19: with_items: .*'nope' is undefined/),
    ]);
  });
  it('an undefined name in until, located inside the condition', () => {
    expect(errorsOf('- command: echo\n  register: r\n  until: r.rc == nope\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:6:\d+: until: .*'nope'/),
    ]);
  });
  it('a syntax error in until, located', () => {
    expect(errorsOf('- command: echo\n  register: r\n  until: r.rc ==\n')).toEqual([expect.stringMatching(/^pb\d+\.yml:6:\d+: until: /)]);
  });
  it('retries and delay without until are refused (no effect in Ansible 2.14)', () => {
    expect(errorsOf('- command: echo\n  retries: 3\n  delay: 1\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:5:7: task 'retries': has no effect without 'until' in Ansible 2\.14: add until, or remove it$/),
      expect.stringMatching(/^pb\d+\.yml:6:7: task 'delay': has no effect without 'until' in Ansible 2\.14: add until, or remove it$/),
    ]);
  });
  it('a retries that is not an int, a negative pause', () => {
    expect(errorsOf('- command: echo\n  register: r\n  until: r is success\n  retries: many\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:7:16: the field 'retries' has an invalid value \(many\), and could not be converted to an int\./),
    ]);
    expect(errorsOf('- command: echo\n  loop: [1]\n  loop_control: { pause: -1 }\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:6:30: loop_control.pause: sleep length must be non-negative/),
    ]);
  });
});

describe('with_first_found passes over names it cannot render', () => {
  it('no file found is an error even when `when` is false: Ansible renders the loop before `when`', () => {
    expect(errorsOf('- command: echo {{ item }}\n  with_first_found: [nothing-here.yml]\n  when: false\n')).toEqual([
      expect.stringMatching(/^pb\d+\.yml:5:25: with_first_found: .*No file was found when using first_found\./),
    ]);
  });
  it('an undefined variable in its terms is no error, also where the task is analysed rather than rendered', () => {
    writeFileSync(join(dir, 'default.yml'), 'a: 1\n');
    expect(
      errorsOf('- command: echo {{ item }}\n  with_first_found: ["{{ maybe_undefined }}.yml", "default.yml"]\n  when: false\n'),
    ).toEqual([]);
  });
  it('while with_items, analysed the same way, names the variable', () => {
    expect(errorsOf('- command: echo {{ item }}\n  with_items: ["{{ maybe_undefined }}.yml"]\n  when: false\n')).toEqual([
      expect.stringMatching(/with_items|'maybe_undefined' is undefined/),
    ]);
  });
});
