/**
 * Task instances as Ansible's TaskExecutor makes them: the variables a task sees (Ansible's
 * precedence: registered results above task vars, role parameters above those, extra vars above
 * all but magic variables), templated keywords per item, connection variables over keywords,
 * `omit`, loop_control's variables, the template module's variables.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/input/inventory/index.ts';
import { OMIT } from '../../../src/input/inventory/omit.ts';
import { VarsBuilder } from '../../../src/input/inventory/vars-builder.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import type { PlayDef } from '../../../src/input/playbook/types.ts';
import { RunMemory } from '../../../src/modules/contract.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { type Instantiation, instantiate, type TaskInstance, templateVars } from '../../../src/plan/instance.ts';
import { renderTemplate } from '../../../src/template/engine.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-instance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Project {
  play: PlayDef;
  vars: VarsBuilder;
  dir: string;
}

function project(files: Record<string, string>, extraVars: Record<string, unknown> = {}): Project {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'hosts.yml': 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n', ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  expect(diagnostics).toEqual([]);
  const { inventory } = loadInventory([join(dir, 'hosts.yml')]);
  return { play: playbook.plays[0]!, vars: new VarsBuilder(inventory, { extraVars, check: false, playbook: join(dir, 'pb.yml') }), dir };
}

function inst(p: Project, i: number, registered: Record<string, unknown> = {}): Instantiation {
  const t = p.play.tasks[i]!;
  return instantiate(t, p.vars.forTask('h1', p.play, ['h1'], t, registered), {
    host: 'h1',
    play: p.play,
    check: false,
    diff: false,
    playbookDir: p.dir,
    run: new RunMemory(),
  });
}

function run(r: Instantiation): TaskInstance[] {
  if (r.kind !== 'run') throw new Error(`expected instances, got ${JSON.stringify(r.kind === 'error' ? r.diagnostics : r.reason)}`);
  return r.instances;
}

describe('the variables of a task', () => {
  const p = project(
    {
      'pb.yml': `- hosts: all
  vars: { v: play }
  roles:
    - { role: r, v: param }
  tasks:
    - name: "task"
      file: { path: "/{{ v }}" }
      vars: { v: task }
`,
      'roles/r/defaults/main.yml': 'v: default\n',
      'roles/r/vars/main.yml': 'v: role-vars\n',
      'roles/r/tasks/main.yml': '- name: role task\n  file: { path: "/{{ v }}" }\n  vars: { v: role-task }\n',
    },
    {},
  );
  const role = p.play.tasks[0]!;
  const play = p.play.tasks[1]!;

  it('role params win over task vars, task vars over role vars (Ansible 2.14)', () => {
    expect(p.vars.forTask('h1', p.play, ['h1'], role).v).toBe('param');
    expect(p.vars.forTask('h1', p.play, ['h1'], play).v).toBe('task');
  });

  it('registered results win over task vars, not over role params', () => {
    expect(p.vars.forTask('h1', p.play, ['h1'], play, { v: 'registered' }).v).toBe('registered');
    expect(p.vars.forTask('h1', p.play, ['h1'], role, { v: 'registered' }).v).toBe('param');
  });

  it('extra vars win over everything but magic variables', () => {
    const q = project({ 'pb.yml': '- hosts: all\n  tasks:\n    - file: { path: /x }\n' }, { v: 'extra', inventory_hostname: 'nope' });
    const vars = q.vars.forTask('h1', q.play, ['h1'], q.play.tasks[0], { v: 'registered' });
    expect(vars.v).toBe('extra');
    expect(vars.inventory_hostname).toBe('h1');
    expect(vars.omit).toBe(OMIT);
    expect((vars.vars as Record<string, unknown>).v).toBe('extra');
  });

  it('role_name and role_path for a role task, play vars for a play task; role vars of the play visible to play tasks', () => {
    const rv = p.vars.forTask('h1', p.play, ['h1'], role);
    expect([rv.role_name, rv.role_path]).toEqual(['r', join(p.dir, 'roles/r')]);
    const pv = p.vars.forTask('h1', p.play, ['h1'], { ...play, vars: {} });
    expect(pv.v).toBe('role-vars');
    expect(pv.role_name).toBeUndefined();
  });

  it('a lower template sees the value of the task level', () => {
    const q = project({
      'pb.yml':
        '- hosts: all\n  vars: { url: "http://{{ host }}" , host: play }\n  tasks:\n    - file: { path: /x }\n      vars: { host: task }\n',
    });
    expect(q.vars.forTask('h1', q.play, ['h1'], q.play.tasks[0]).url).toBe('http://task');
  });
});

describe('keywords per host and item', () => {
  it('templated ignore_errors and no_log are evaluated for each loop item', () => {
    const p = project({
      'pb.yml': `- hosts: all
  tasks:
    - command: echo {{ item }}
      loop: [a, b]
      ignore_errors: "{{ item == 'b' }}"
      no_log: "{{ 'yes' if item == 'a' else 'no' }}"
`,
    });
    const xs = run(inst(p, 0));
    expect(xs.map((x) => [x.item, x.ignoreErrors, x.sensitive])).toEqual([
      ['a', false, true],
      ['b', true, false],
    ]);
  });

  it("the inventory's ansible_become / ansible_become_user override the keywords", () => {
    const p = project({
      'hosts.yml': 'all:\n  hosts:\n    h1: { ansible_become_user: postgres }\n',
      'pb.yml':
        '- hosts: all\n  become: true\n  become_user: app\n  tasks:\n    - command: id\n    - command: id\n      become_user: other\n',
    });
    expect(run(inst(p, 0)).map((x) => [x.become, x.becomeUser])).toEqual([[true, 'postgres']]);
    expect(run(inst(p, 1)).map((x) => [x.become, x.becomeUser])).toEqual([[true, 'postgres']]);
  });

  it('a keyword set to omit gets its default', () => {
    const p = project({ 'pb.yml': '- hosts: all\n  tasks:\n    - command: id\n      become: "{{ omit }}"\n' });
    expect(run(inst(p, 0))[0]!.become).toBe(false);
  });
});

describe('parameters', () => {
  it('omit removes a parameter; templated values are converted to the option types', () => {
    const p = project({
      'pb.yml': `- hosts: all
  vars: { gid: 1500, sys: "yes" }
  tasks:
    - group: { name: g, gid: "{{ gid }}", system: "{{ sys }}", state: "{{ none_given | default(omit) }}" }
`,
    });
    expect(run(inst(p, 0))[0]!.params).toEqual({ name: 'g', gid: 1500, system: true });
  });

  it('loop_control: loop_var, index_var, ansible_loop_var, label', () => {
    const p = project({
      'pb.yml': `- hosts: all
  tasks:
    - name: each
      file: { path: "/srv/{{ i }}-{{ n }}" }
      loop: [a, b]
      loop_control: { loop_var: n, index_var: i, label: "{{ ansible_loop_var }}={{ n }}" }
`,
    });
    expect(run(inst(p, 0)).map((x) => [x.label, x.vars.i, x.vars.ansible_index_var])).toEqual([
      ['each (n=a)', 0, 'i'],
      ['each (n=b)', 1, 'i'],
    ]);
  });

  it('template_run_date and template_mtime are Python datetimes (str() as Python prints them)', () => {
    const p = project({ 'pb.yml': '- hosts: all\n', 'templates/t.j2': 'x\n' });
    const v = templateVars('t.j2', join(p.dir, 'templates/t.j2'), '/etc/t');
    expect(renderTemplate('{{ template_run_date }}|{{ template_mtime }}|{{ template_destpath }}', v, 't')).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\|\/etc\/t$/,
    );
  });

  it("the template module renders with Ansible's template variables", () => {
    const p = project({
      'pb.yml': '- hosts: all\n  tasks:\n    - template: { src: t.j2, dest: /etc/t.conf }\n',
      'templates/t.j2': '# {{ ansible_managed }}\n# {{ template_path }} -> {{ template_destpath }} ({{ template_fullpath }})\n',
    });
    const x = run(inst(p, 0))[0]!;
    const rendered = `# Ansible managed\n# t.j2 -> /etc/t.conf (${join(p.dir, 'templates/t.j2')})\n`;
    // The probe compares the file with the rendered content's sha256.
    expect(x.bound.probe(x.ctx)).toContain(createHash('sha256').update(rendered).digest('hex'));
  });
});
