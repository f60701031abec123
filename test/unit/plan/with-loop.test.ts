/**
 * with_<lookup> loops against Ansible: every case of test/fixtures/loops/cases.yml is loaded and
 * instantiated by Kiln and its items (and ansible_loop, index/loop variables) compared with what
 * ansible-playbook 2.14 registered for it (expected.json, made by generate.py). Plus what Ansible
 * refuses (two loops, an unknown lookup, an empty with_) and where first_found searches from a role.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { formatDiagnostic } from '../../../src/core/diagnostic.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import type { PlayDef, TaskDef } from '../../../src/input/playbook/types.ts';
import { firstFoundSubdir } from '../../../src/input/playbook/with-loop.ts';
import { RunMemory } from '../../../src/modules/contract.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { type Instantiation, instantiate } from '../../../src/plan/instance.ts';

const FIX = join(import.meta.dirname, '../../fixtures/loops');
const spec = parse(readFileSync(join(FIX, 'cases.yml'), 'utf8')) as {
  vars: Record<string, unknown>;
  cases: Record<string, string>;
  role_cases: Record<string, string>;
};
type Expected = { items: unknown[]; loop: unknown[]; i: unknown[]; it: unknown[]; keys: string[] };
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Record<string, Expected>;

const root = mkdtempSync(join(tmpdir(), 'kiln-with-loop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** The fixture project copied, with a playbook (and role tasks) written for Kiln. */
function project(pb: string, roleTasks = '[]\n'): { dir: string; play?: PlayDef; errors: string[] } {
  const dir = join(root, String(n++));
  cpSync(join(FIX, 'project'), dir, { recursive: true });
  writeFileSync(join(dir, 'roles/r/tasks/main.yml'), roleTasks);
  writeFileSync(join(dir, 'pb.yml'), pb);
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  return { dir, play: playbook.plays[0], errors: diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, '')) };
}

function instantiateIn(dir: string, play: PlayDef, t: TaskDef): Instantiation {
  return instantiate(
    t,
    { ...spec.vars, inventory_hostname: 'h1', out: '/tmp/kiln-out' },
    {
      host: 'h1',
      play,
      check: false,
      diff: false,
      playbookDir: dir,
      run: new RunMemory(),
    },
  );
}

const indent = (s: string) => s.trim().replace(/\n/g, '\n      ');
const norm = (v: unknown, dir: string): unknown => JSON.parse(JSON.stringify(v).replaceAll(dir, '<project>'));

describe('with_* loops give the items Ansible 2.14 gives (test/fixtures/loops)', () => {
  process.env.KILN_D_LOOP_ENV = 'from-env';
  const names = Object.keys(spec.cases);
  const tasks = names.map((name) => `    - name: ${name}\n      command: { cmd: echo x }\n      ${indent(spec.cases[name]!)}\n`).join('');
  const p = project(`- hosts: all\n  tasks:\n${tasks}`);
  it('loads every case', () => expect(p.errors).toEqual([]));
  for (const [k, name] of names.entries()) {
    it(name, () => {
      const r = instantiateIn(p.dir, p.play!, p.play!.tasks[k]!);
      if (r.kind === 'error') throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
      const xs = r.kind === 'run' ? r.instances : [];
      const want = expected[name]!;
      const lc = p.play!.tasks[k]!.loopControl;
      const items = norm(
        xs.map((x) => x.item),
        p.dir,
      );
      // fileglob's order is the directory's (os.listdir), which differs between file systems.
      if (name.startsWith('fileglob')) expect(new Set(items as string[])).toEqual(new Set(want.items));
      else if (lc.loopVar === 'item') expect(items).toEqual(want.items);
      else expect(items).toEqual(want.it);
      if (lc.indexVar) expect(xs.map((x) => x.resultVars?.[lc.indexVar!])).toEqual(want.i);
      if (lc.extended) {
        expect(xs.map((x) => x.vars.ansible_loop)).toEqual(want.loop);
        expect(xs.map((x) => x.resultVars?.ansible_loop)).toEqual(want.loop);
      }
    });
  }
});

describe('with_first_found in a role searches the directory of the action', () => {
  it('template: templates/, copy and command: files/ (include_vars: vars/)', () => {
    const cases = Object.entries(spec.role_cases).filter(([name]) => name !== 'rf_include_vars');
    const roleTasks = cases.map(([name, action]) => `- name: ${name}\n  ${action}\n  with_first_found: [found.txt]\n`).join('');
    const p = project('- hosts: all\n  roles: [r]\n', roleTasks);
    expect(p.errors).toEqual([]);
    for (const [k, [name]] of cases.entries()) {
      const r = instantiateIn(p.dir, p.play!, p.play!.tasks[k]!);
      if (r.kind !== 'run') throw new Error(JSON.stringify(r.kind === 'error' ? r.diagnostics : r.reason));
      expect(norm([r.instances[0]!.item], p.dir)).toEqual(expected[name]!.items);
    }
    expect(expected.rf_include_vars!.items).toEqual([`<project>/roles/r/${firstFoundSubdir('include_vars')}/found.txt`]);
    expect(firstFoundSubdir('ansible.builtin.template')).toBe('templates');
  });
});

describe('with_* refusals (as Ansible, located)', () => {
  const errors = (taskYaml: string) => project(`- hosts: all\n  tasks:\n    - command: echo\n      ${indent(taskYaml)}\n`).errors;
  it('loop and with_ together, in either order', () => {
    expect(errors('loop: [1]\nwith_items: [2]')).toEqual(['pb.yml:5:7: duplicate loop in task: items']);
    expect(errors('with_items: [2]\nloop: [1]')).toEqual(['pb.yml:5:7: duplicate loop in task: items']);
  });
  it('an unknown lookup, and one Kiln refuses, named', () => {
    expect(errors('with_foo: [1]')[0]).toMatch(
      /^pb\.yml:4:7: task 'with_foo': no lookup plugin named 'foo' \(Kiln's with_ loops: .*with_items/,
    );
    expect(errors('with_lines: cat /etc/hosts')).toEqual([
      "pb.yml:4:7: task 'with_lines': lookup plugin 'lines' is not supported by Kiln: it runs a command on the controller",
    ]);
  });
  it('a with_ without a value', () => {
    expect(errors('with_items:')).toEqual(['pb.yml:4:7: you must specify a value when using with_items']);
  });
  it('an undefined variable in the terms, at run time, located at the with_ key', () => {
    const p = project('- hosts: all\n  tasks:\n    - command: echo\n      with_items: "{{ nope }}"\n');
    const r = instantiateIn(p.dir, p.play!, p.play!.tasks[0]!);
    expect(r.kind).toBe('error');
    if (r.kind === 'error')
      expect(formatDiagnostic(r.diagnostics[0]!).replace(`${p.dir}/`, '')).toMatch(/^pb\.yml:4:19: with_items: .*'nope' is undefined/);
  });
  it("a lookup's own error (with_dict of a list)", () => {
    const p = project('- hosts: all\n  tasks:\n    - command: echo\n      with_dict: [1]\n');
    const r = instantiateIn(p.dir, p.play!, p.play!.tasks[0]!);
    expect(r.kind === 'error' && formatDiagnostic(r.diagnostics[0]!)).toMatch(/with_dict: .*with_dict expects a dict/);
  });
});
