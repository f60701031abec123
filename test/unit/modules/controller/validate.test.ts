/**
 * Validation with controller-side actions (plan/validate.ts): Ansible's names and free-form
 * arguments load; a task using a name a set_fact (or a literal include_vars file) defines is
 * checked when it runs, like one using a registered result, while a name defined nowhere is still
 * an error; after an include_vars whose names are unknown before the run, the following tasks wait
 * for the run (their literal parameters are still checked).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../../../src/core/diagnostic.ts';
import { type Validated, validateRun } from '../../../../src/plan/validate.ts';

const work = mkdtempSync(join(tmpdir(), 'kiln-action-validate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
writeFileSync(join(work, 'app.yml'), 'app_name: demo\n');

let n = 0;
function validate(tasks: string): { v?: Validated; errors: string[] } {
  const pb = join(work, `pb${++n}.yml`);
  writeFileSync(pb, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
  try {
    const v = validateRun({ playbook: pb, inventory: [join(work, 'hosts.yml')], extraVars: {}, tags: [], skipTags: [] });
    return { v, errors: [] };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { errors: err.diagnostics.map((d) => formatDiagnostic(d).replace(`${work}/`, '')) };
  }
}

describe('validation with controller-side actions', () => {
  it("loads Ansible's names (FQCN, ansible.legacy) and free-form arguments as Ansible parses them", () => {
    const { v, errors } = validate(
      [
        '    - ansible.builtin.set_fact: a=1 b="two words"',
        '    - ansible.legacy.include_vars: app.yml name=cfg',
        '    - ansible.builtin.meta: flush_handlers',
        '    - debug: msg="{{ a }} {{ b }} {{ cfg.app_name }}"',
        '',
      ].join('\n'),
    );
    expect(errors).toEqual([]);
    const tasks = v!.playbook.plays[0]!.tasks;
    expect(tasks.map((t) => [t.module, t.params])).toEqual([
      ['set_fact', { a: '1', b: 'two words' }],
      ['include_vars', { _raw_params: 'app.yml', name: 'cfg' }],
      ['meta', { free_form: 'flush_handlers' }],
      ['debug', { msg: '{{ a }} {{ b }} {{ cfg.app_name }}' }],
    ]);
  });

  it('a name set_fact or a literal include_vars file defines is known; one defined nowhere is not', () => {
    expect(validate('    - set_fact: { x: 1 }\n    - include_vars: app.yml\n    - debug: msg="{{ x }} {{ app_name }}"\n').errors).toEqual(
      [],
    );
    expect(validate('    - set_fact: { x: 1 }\n    - debug: msg="{{ y }}"\n').errors).toEqual([
      expect.stringMatching(/^pb\d+\.yml:5:\d+: .*'y' is undefined/),
    ]);
  });

  it('after an include_vars of a templated file, later tasks wait for the run; literal errors still count', () => {
    const which = "    - set_fact: { which: app }\n    - include_vars: '{{ which }}.yml'\n";
    const ok = validate(`${which}    - debug: msg="{{ anything }}"\n`);
    expect(ok.errors).toEqual([]);
    // What validation could not check is said, located at the include_vars.
    expect(ok.v!.warnings.map((w) => [w.line, w.message])).toEqual([
      [5, expect.stringMatching(/^include_vars: the variables it defines are known only when it runs/)],
    ]);
    expect(validate(`${which}    - debug: { msg: hi, colour: red }\n`).errors).toEqual([
      expect.stringMatching(/^pb\d+\.yml:6:\d+: debug: unknown parameter 'colour'/),
    ]);
  });
});
