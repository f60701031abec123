/**
 * `kiln validate` (the CLI's main) on roles and playbooks that use what Kiln refuses or must check:
 * every problem a located error, all reported at once, exit code 2, no host contacted. And what it
 * accepts: role vars/defaults directories, dependencies, imports, templated keywords.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { projectValidator } from '../../helpers/validate-project.ts';
import { EXIT } from '../../../src/core/diagnostic.ts';

const validate = projectValidator('validate-roles', 'all:\n  hosts:\n    web1: { address: 10.0.0.1 }\n');

beforeEach(() => {
  process.exitCode = 0;
});

const FILE = 'file: { path: /x }';

describe('refused, located, exit 2', () => {
  it('a controller lookup loop, delegate_facts, retries without until, two actions: each named with its hint (includes and blocks are supported)', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all
  tasks:
    - include_tasks: t.yml
    - block:
        - ${FILE}
    - ${FILE}
      with_lines: [cat x]
    - ${FILE}
      delegate_facts: true
    - ${FILE}
      delay: 1
      retries: 3
    - { local_action: command ls, action: command ls }
`,
      't.yml': `- ${FILE}\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      "pb.yml:7:7: task 'with_lines': lookup plugin 'lines' is not supported by Kiln: it runs a command on the controller",
      "pb.yml:9:7: task keyword 'delegate_facts': not supported: delegate_facts (facts of a delegated task stay with the host it runs for)",
      "pb.yml:11:7: task 'delay': has no effect without 'until' in Ansible 2.14: add until, or remove it",
      "pb.yml:12:7: task 'retries': has no effect without 'until' in Ansible 2.14: add until, or remove it",
      'pb.yml:13:9: action and local_action are mutually exclusive',
      '5 errors; nothing was run.',
    ]);
  });

  it('role problems: a dependency cycle, plugin directories, argument_specs, two forms of vars/main', async () => {
    const r = await validate({
      'pb.yml': '- hosts: all\n  roles: [a, p]\n',
      'roles/a/meta/main.yml': 'dependencies: [b]\n',
      'roles/b/meta/main.yml': 'dependencies:\n  - role: a\n',
      'roles/a/tasks/main.yml': `- ${FILE}\n`,
      'roles/p/library/my_module.py': '# an Ansible module\n',
      'roles/p/filter_plugins/f.py': '# a filter plugin\n',
      'roles/p/meta/argument_specs.yml': 'argument_specs: {}\n',
      'roles/p/vars/main.yml': 'a: 1\n',
      'roles/p/vars/main/x.yml': 'a: 2\n',
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      'roles/b/meta/main.yml:2:5: role dependency cycle: a → b → a',
      "roles/p/filter_plugins: role 'p': filter_plugins/ holds Ansible plugins or modules, which Kiln cannot run",
      "roles/p/library: role 'p': library/ holds Ansible plugins or modules, which Kiln cannot run",
      "roles/p/meta/argument_specs.yml:1:1: role 'p': not supported: argument_specs (Kiln validates role variables with meta/argument_schema.yml, a JSON schema)",
      "roles/p/vars/main: role 'p': main.yml and main both exist in vars/: Ansible would read only main.yml; keep one",
      '5 errors; nothing was run.',
    ]);
  });

  it('a role that imports itself', async () => {
    const r = await validate({
      'pb.yml': '- hosts: all\n  roles: [a]\n',
      'roles/a/tasks/main.yml': `- ${FILE}\n- import_role: { name: a }\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual(['roles/a/tasks/main.yml:2:16: role import cycle: a → a → a', '1 error; nothing was run.']);
  });

  it('imports: keywords with no effect on an import, a loop, a missing tasks_from, tasks_from with a directory', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all
  tasks:
    - import_tasks: t.yml
      register: r
    - import_tasks: t.yml
      loop: [1, 2]
    - import_role: { name: r, tasks_from: nope }
    - import_role: { name: r, tasks_from: sub/x.yml }
`,
      't.yml': `- ${FILE}\n`,
      'roles/r/tasks/main.yml': `- ${FILE}\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      "pb.yml:4:7: 'register' has no effect on import_tasks in Ansible (it is not passed to the imported tasks): move it to the tasks",
      "pb.yml:6:7: You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead.",
      "pb.yml:7:20: Could not find specified file in role: tasks/nope (role 'r')",
      "pb.yml:8:43: tasks_from: Ansible 2.14 uses only the file name (x.yml) of 'sub/x.yml'; give a file of the role's tasks/ directory",
      '4 errors; nothing was run.',
    ]);
  });

  it('keyword values: a literal that is not a boolean, a templated tag, a role parameter named like a task keyword', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all
  roles:
    - { role: r, loop: [1] }
  tasks:
    - ${FILE}
      become: maybe
    - ${FILE}
      tags: "{{ t }}"
`,
      'roles/r/tasks/main.yml': `- ${FILE}\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      "pb.yml:3:18: 'loop' is not a role keyword: Ansible would pass it to the role as a parameter (a variable named 'loop'); rename it, or put it on the role's tasks",
      "pb.yml:6:15: the field 'become' has an invalid value (maybe), and could not be converted to a bool. The value 'maybe' is not a valid boolean.  Valid booleans include: 'true', 'yes', 1, 'n', 0, 'no', 'f', 'off', 'false', 't', 'y', '1', '0', 'on'",
      'pb.yml:8:13: tags must be a name, a comma-separated string or a list of names (templated tags are not supported)',
      '3 errors; nothing was run.',
    ]);
  });

  it('a templated keyword that is not a boolean for a host fails validation at the keyword', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all\n  vars: { v: sometimes }\n  tasks:\n    - ${FILE}\n      no_log: "{{ v }}"\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err[0]).toBe(
      "pb.yml:5:15: the field 'no_log' has an invalid value ({{ v }}), and could not be converted to a bool. The value 'sometimes' is not a valid boolean.  Valid booleans include: 'true', 'yes', 1, 'n', 0, 'no', 'f', 'off', 'false', 't', 'y', '1', '0', 'on'",
    );
  });

  it('an Ansible path option with ~ or $VAR, which Ansible expands on the host', async () => {
    const r = await validate({ 'pb.yml': '- hosts: all\n  tasks:\n    - file: { path: ~/x, state: directory }\n' });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err[0]).toBe(
      'pb.yml:3:21: file: \'path\' is "~/x": Ansible expands ~ and $VARIABLES in paths on the host, Kiln does not; write the path out',
    );
  });
});

describe('inventory variables', () => {
  it('group_vars/ beside the playbook (not the inventory) is refused: Ansible would read it', async () => {
    const r = await validate({ 'pb.yml': `- hosts: all\n  tasks:\n    - ${FILE}\n`, 'group_vars/all.yml': 'a: 1\n' }, 'inv/hosts.yml');
    expect(r.err).toEqual([
      'group_vars: group_vars/ beside the playbook: Ansible reads it, Kiln reads group_vars/ beside the inventory only; move it there',
      '1 error; nothing was run.',
    ]);
  });
});

describe('undefined variables', () => {
  it('a condition over an undefined variable fails validation at the condition, naming the variable (not a skip)', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all\n  tasks:\n    - ${FILE}\n      when:\n        - true\n        - os_family_never_defined == 'Debian'\n`,
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      `pb.yml:6:11: when: 'os_family_never_defined' is undefined in the condition "os_family_never_defined == 'Debian'" (task 'file /x')`,
      '1 error; nothing was run.',
    ]);
  });

  it('templates that are not rendered (a false when, a task waiting for a registered result, a handler, their template files) are analysed', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all
  tasks:
    - name: never here
      file: { path: "/srv/{{ inventory_hostname | no_such_filter }}" }
      when: false
    - command: id
      register: who
    - name: after the register
      file: { path: "/srv/{{ who.stdout }}/{{ typo_var }}/{{ maybe_var | default('x') }}" }
    - name: a template never rendered
      template: { src: t.j2, dest: /etc/t }
      when: false
  handlers:
    - name: h
      file: { path: "{{ who.stdout if who is no_such_test else 'x' }}" }
- hosts: all
  tasks:
    - name: a result registered by an earlier play
      file: { path: "/srv/{{ who.stdout }}" }
`,
      'templates/t.j2': '{{ ansible_managed }}\n{% if other_var is defined %}{{ other_var }}{% endif %}\n{{ undefined_in_template }}\n',
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toEqual([
      "pb.yml:4:51: no filter named 'no_such_filter'",
      "pb.yml:9:47: 'typo_var' is undefined: it is defined nowhere (inventory, vars, roles, registered results, facts, extra vars)",
      "pb.yml:15:46: no test named 'no_such_test'",
      "templates/t.j2:3:4: 'undefined_in_template' is undefined: it is defined nowhere (inventory, vars, roles, registered results, facts, extra vars)",
      '4 errors; nothing was run.',
    ]);
  });

  it('an Ansible fact is named as such when the play does not gather facts', async () => {
    const r = await validate({
      'pb.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - file: { path: "/srv/{{ ansible_hostname }}" }\n',
    });
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err[0]).toMatch(
      /^pb\.yml:4:13: file: .*'ansible_hostname' is undefined.* \(the Ansible fact 'hostname': facts exist once gathered — a play gathers them unless it says gather_facts: false, or a setup task — and this one was not gathered on this host\)$/,
    );
  });

  it('with gather_facts on (the default), tasks using facts are deferred: their literal parameters are still checked', async () => {
    const ok = await validate({
      'pb.yml': '- hosts: all\n  tasks:\n    - file: { path: "/srv/{{ ansible_facts.hostname }}-{{ ansible_distribution }}" }\n',
    });
    expect(ok.err).toEqual([]);
    expect(ok.code).toBe(EXIT.ok);
    const bad = await validate({ 'pb.yml': '- hosts: all\n  tasks:\n    - file: { path: "/srv/{{ ansible_hostname }}", mode: "rwx" }\n' });
    expect(bad.code).toBe(EXIT.invalid);
    expect(bad.err.join('\n')).toMatch(/mode/);
  });
});

describe('accepted', () => {
  it('role vars and defaults directories, dependencies, imports, templated keywords, omit', async () => {
    const r = await validate({
      'pb.yml': `- hosts: all
  vars: { quiet: "yes" }
  roles:
    - { role: app, app_port: 8081 }
  tasks:
    - import_tasks: extra.yml
      when: app_port is defined
    - name: omitted mode
      file: { path: /srv, state: directory, mode: "{{ unset_mode | default(omit) }}" }
      no_log: "{{ quiet }}"
`,
      'extra.yml': `- ${FILE}\n`,
      'roles/app/defaults/main/ports.yml': 'app_port: 8080\n',
      'roles/app/vars/main/paths.yml': 'app_dir: /srv/app\n',
      'roles/app/meta/main.yml': 'galaxy_info: { author: x }\ndependencies: [base]\n',
      'roles/app/tasks/main.yml': '- file: { path: "{{ app_dir }}/{{ app_port }}", state: directory }\n',
      'roles/base/tasks/main.yml': `- ${FILE}\n`,
    });
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual(['ok: 1 play(s), 4 task(s), 1 host(s)']);
  });
});
