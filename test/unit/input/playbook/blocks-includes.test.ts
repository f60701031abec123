/**
 * The loader side of blocks, dynamic includes and import_playbook (issue 16, A2): blocks
 * flattened in order with their frames and inherited keywords, include_tasks/include_role as
 * include TaskDefs, the run-time expansion (includes.ts), import_playbook, located errors.
 * Expected behaviour checked with ansible-core 2.14 (test/fixtures/ansible/blocks: --list-tasks).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../../src/core/diagnostic.ts';
import { expandIncludeRole, expandIncludeTasks, loopVarsOf } from '../../../../src/input/playbook/includes.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import type { Playbook, TaskDef } from '../../../../src/input/playbook/types.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-blocks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function load(pb: string, files: Record<string, string> = {}): { book: Playbook; errors: string[]; dir: string } {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'pb.yml': pb, ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  return { book: playbook, errors: diagnostics.map((d) => formatDiagnostic(d).replaceAll(`${dir}/`, '')), dir };
}
const ok = (pb: string, files: Record<string, string> = {}): Playbook => {
  const { book, errors } = load(pb, files);
  expect(errors).toEqual([]);
  return book;
};
const frames = (t: TaskDef) => (t.blocks ?? []).map((f) => `${f.id}:${f.section}${f.hasRescue ? '+r' : ''}`);
const F = (p: string) => `file: { path: ${p} }`;

describe('blocks are flattened in order, each task with its frames', () => {
  it('block, rescue, always in order, nested, with unique ids and positions', () => {
    const book = ok(`- hosts: all
  tasks:
    - name: first
      ${F('/0')}
    - block:
        - { name: b1, ${F('/1')} }
        - block:
            - { name: nb, ${F('/2')} }
          rescue:
            - { name: nr, ${F('/3')} }
      rescue:
        - { name: r1, ${F('/4')} }
      always:
        - { name: a1, ${F('/5')} }
    - block:
        - { name: other, ${F('/6')} }
`);
    const tasks = book.plays[0]!.tasks;
    expect(tasks.map((t) => t.name)).toEqual(['first', 'b1', 'nb', 'nr', 'r1', 'a1', 'other']);
    expect(tasks.map(frames)).toEqual([
      [],
      ['0:block+r'],
      ['0:block+r', '1:block+r'],
      ['0:block+r', '1:rescue+r'],
      ['0:rescue+r'],
      ['0:always+r'],
      ['2:block'],
    ]);
    expect(tasks.map((t) => t.pos)).toEqual([[0], [1], [2], [3], [4], [5], [6]]);
    expect(tasks.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(tasks[1]!.blocks![0]!.loc).toMatchObject({ line: 5, col: 7 });
  });

  it('tags as ansible-core 2.14 lists them (fixture: --list-tasks)', () => {
    const dir = join(import.meta.dirname, '../../../fixtures/ansible/blocks');
    const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
    expect(diagnostics).toEqual([]);
    const play = playbook.plays[0]!;
    const listed = readFileSync(join(dir, 'list-tasks.txt'), 'utf8')
      .split('\n')
      .filter((l) => /^ {6}\S/.test(l))
      .map((l) => l.trim().replace(/\s+TAGS: /, ' '));
    // --list-tasks shows the `block` sections' tasks (not rescue/always).
    const kiln = play.tasks
      .filter((t) => (t.blocks ?? []).every((f) => f.section === 'block'))
      .map((t) => `${t.name} [${[...new Set([...t.tags, ...play.tags])].sort().join(', ')}]`);
    expect(kiln).toEqual(listed);
    expect(play.tasks.map((t) => t.name)).toEqual(['t1', 't2', 'r2', 'a2', 'i1', 'i2', 'r1', 'a1', 'after']);
  });

  it("tasks inherit the block's keywords: when ANDed outermost first, vars under the task's, nearest become/notify", () => {
    const book = ok(`- hosts: all
  become: false
  tasks:
    - block:
        - block:
            - { name: t, ${F('/t')}, when: c, vars: { a: 3 } }
            - { name: u, ${F('/u')}, become: false, notify: mine }
          when: b
          vars: { a: 2, b: 2 }
          become_user: app
      when: a
      vars: { a: 1, c: 1 }
      become: true
      notify: h
      ignore_errors: true
      check_mode: false
      diff: true
      no_log: true
  handlers:
    - { name: h, ${F('/h')} }
    - { name: mine, ${F('/m')} }
`);
    const [t, u] = book.plays[0]!.tasks;
    expect(t!.when.map((w) => w.expr)).toEqual(['a', 'b', 'c']);
    expect(t!.vars).toEqual({ a: 3, b: 2, c: 1 });
    expect(t!.become).toEqual({ value: true });
    expect(t!.becomeUser).toEqual({ value: 'app' });
    expect(t!.notify).toEqual(['h']);
    expect([t!.ignoreErrors, t!.checkMode, t!.diff, t!.noLog]).toEqual([
      { value: true },
      { value: false },
      { value: true },
      { value: true },
    ]);
    expect(u!.become).toEqual({ value: false });
    expect(u!.notify).toEqual(['mine']);
  });

  it('blocks in role task files and imported files get play-unique ids; a role listed twice has its blocks twice', () => {
    const book = ok(
      `- hosts: all
  roles:
    - { role: r, x: 1 }
    - { role: r, x: 2 }
  tasks:
    - block:
        - import_tasks: t.yml
      rescue:
        - import_role: { name: r }
`,
      {
        'roles/r/tasks/main.yml': `- block:\n    - { name: rb, ${F('/r')} }\n  always:\n    - { name: ra, ${F('/a')} }\n`,
        't.yml': `- block:\n    - { name: ib, ${F('/i')} }\n`,
      },
    );
    const tasks = book.plays[0]!.tasks;
    expect(tasks.map((t) => `${t.name} ${frames(t).join(' ')}`)).toEqual([
      'rb 0:block',
      'ra 0:always',
      'rb 1:block',
      'ra 1:always',
      'ib 2:block+r 3:block',
      'rb 2:rescue+r 4:block',
      'ra 2:rescue+r 4:always',
    ]);
  });

  it('a top-level block in handlers gives its keywords to the handlers', () => {
    const h = ok(`- hosts: all\n  handlers:\n    - block:\n        - { name: h, ${F('/h')} }\n      become: true\n`).plays[0]!.handlers[0]!;
    expect(h.name).toBe('h');
    expect(h.become).toEqual({ value: true });
  });

  it('refusals are located, with Ansible messages', () => {
    const errs = (tasks: string, files: Record<string, string> = {}) => load(`- hosts: all\n  tasks:\n${tasks}`, files).errors;
    expect(errs(`    - rescue: [{ ${F('/x')} }]\n`)).toEqual(["pb.yml:3:7: 'rescue' keyword cannot be used without 'block'"]);
    expect(errs(`    - always: [{ ${F('/x')} }]\n`)).toEqual(["pb.yml:3:7: 'always' keyword cannot be used without 'block'"]);
    expect(errs(`    - block: [{ ${F('/x')} }]\n      register: r\n`)[0]).toMatch(
      /^pb\.yml:4:7: 'register' is not a valid attribute for a Block/,
    );
    expect(errs(`    - block: [{ ${F('/x')} }]\n      blok: r\n`)).toEqual([
      "pb.yml:4:7: unknown block keyword 'blok' (did you mean 'block'?)",
    ]);
    expect(errs('    - block: { a: 1 }\n')[0]).toMatch(/^pb\.yml:3:14: A malformed block was encountered while loading a block/);
    expect(errs(`    - block: [{ ${F('/x')} }]\n      ${F('/y')}\n`)[0]).toMatch(
      /^pb\.yml:4:7: 'file' is not a valid attribute for a Block/,
    );
    expect(load(`- hosts: all\n  handlers:\n    - block:\n        - block: [{ name: h, ${F('/h')} }]\n`).errors).toEqual([
      'pb.yml:4:11: Using a block as a handler is not supported.',
    ]);
    // An error inside a block's task is located there.
    expect(errs('    - block:\n        - fil: { path: /x }\n')[0]).toMatch(/^pb\.yml:4:11: unknown module 'fil'/);
  });
});

describe('include_tasks / include_role / include become include tasks', () => {
  it('the include task: module, params as written, its own keywords, what it inherits, where it is', () => {
    const book = ok(`- hosts: all
  tasks:
    - block:
        - include_tasks: inc.yml
          loop: [1, 2]
          loop_control: { loop_var: x }
          when: w
          tags: [own]
          vars: { v: 1 }
          register: r
      tags: [blk]
      become: true
    - ansible.builtin.include_tasks:
        file: "{{ f }}.yml"
        apply: { tags: [ap], become: true }
    - include_tasks: x.yml
      args: { apply: { when: z } }
    - include_role: { name: "{{ r }}", tasks_from: t, public: yes }
`);
    const [a, b, c, d] = book.plays[0]!.tasks;
    expect(a).toMatchObject({
      module: 'include_tasks',
      ansibleModule: 'include_tasks',
      params: { file: 'inc.yml' },
      loop: [1, 2],
      register: 'r',
    });
    expect(a!.loopControl.loopVar).toBe('x');
    expect(a!.when.map((w) => w.expr)).toEqual(['w']);
    expect(a!.tags.sort()).toEqual(['blk', 'own']);
    expect(a!.become).toEqual({ value: true });
    expect(frames(a!)).toEqual(['0:block']);
    expect(a!.include!.kind).toBe('include_tasks');
    expect(a!.include!.sources[0]!.tags).toEqual(['blk']);
    expect(b).toMatchObject({ module: 'include_tasks', ansibleModule: 'ansible.builtin.include_tasks', params: { file: '{{ f }}.yml' } });
    expect(b!.include!.apply).toMatchObject({ tags: ['ap'], become: { value: true } });
    expect(c!.params).toEqual({ file: 'x.yml', apply: { when: 'z' } });
    expect(c!.include!.apply!.when.map((w) => w.expr)).toEqual(['z']);
    expect(d).toMatchObject({ module: 'include_role', params: { name: '{{ r }}', tasks_from: 't', public: true } });
    expect(book.plays[0]!.tasks.map((t) => t.pos)).toEqual([[0], [1], [2], [3]]);
  });

  it('the ansible.builtin./ansible.legacy. names of imports and includes', () => {
    const tasks = ok(
      `- hosts: all\n  tasks:\n    - ansible.builtin.import_role: { name: r }\n    - ansible.builtin.import_tasks: t.yml\n      when: z\n    - ansible.legacy.include_role: { name: r }\n`,
      { 'roles/r/tasks/main.yml': `- { name: rt, ${F('/r')} }\n`, 't.yml': `- { name: tt, ${F('/t')} }\n` },
    ).plays[0]!.tasks;
    expect(tasks.map((t) => [t.name, t.module, t.when.map((w) => w.expr)])).toEqual([
      ['rt', 'file', []],
      ['tt', 'file', ['z']],
      ['include_role r', 'include_role', []],
    ]);
  });

  it('`include` (2.14): static with a literal name; dynamic with a loop or a templated name', () => {
    const files = { 't.yml': `- { name: inner, ${F('/x')} }\n` };
    const tasks = ok(
      `- hosts: all\n  tasks:\n    - include: t.yml\n    - include: t.yml\n      loop: [1]\n    - include: "{{ x }}.yml"\n`,
      files,
    ).plays[0]!.tasks;
    expect(tasks.map((t) => `${t.name}/${t.module}`)).toEqual([
      'inner/file',
      'include_tasks t.yml/include_tasks',
      'include_tasks {{ x }}.yml/include_tasks',
    ]);
    expect(tasks[1]!.include!.kind).toBe('include');
  });

  it('refusals: keywords TaskInclude does not take, bad arguments, includes in handlers', () => {
    const errs = (task: string) => load(`- hosts: all\n  tasks:\n    - ${task}\n`).errors;
    expect(errs('include_tasks: a.yml\n      become: true')).toEqual(["pb.yml:4:7: 'become' is not a valid attribute for a TaskInclude"]);
    expect(errs('include_role: { name: r }\n      notify: h')).toEqual(["pb.yml:4:7: 'notify' is not a valid attribute for a IncludeRole"]);
    expect(errs('include_tasks: { file: a.yml, foo: 1 }')).toEqual(['pb.yml:3:37: Invalid options for include_tasks: foo']);
    expect(errs('include_tasks: { apply: {} }')).toEqual(['pb.yml:3:22: No file specified for include_tasks']);
    expect(errs('include_role: { tasks_from: x }')).toEqual(["pb.yml:3:21: 'name' is a required field for include_role."]);
    expect(errs('include_role: { name: r, rolespec_validate: true }')[0]).toMatch(
      /^pb\.yml:3:32: include_role 'rolespec_validate': not supported/,
    );
    expect(errs('include_tasks: { file: a.yml, apply: { register: x } }')[0]).toMatch(/'register' is not a valid attribute for a Block/);
    expect(errs('include_tasks: a.yml\n      file: { path: /x }')[0]).toMatch(
      /^pb\.yml:4:7: a task has exactly one action: found include_tasks and 'file'/,
    );
    expect(load(`- hosts: all\n  handlers:\n    - include_role: { name: r }\n`).errors).toEqual([
      "pb.yml:3:7: Using 'include_role' as a handler is not supported.",
    ]);
    // include_tasks is a handler (Ansible's HandlerTaskInclude, which takes `listen`, not `notify`).
    const h = ok(`- hosts: all\n  handlers:\n    - name: restart\n      include_tasks: h.yml\n      listen: topic\n`).plays[0]!
      .handlers[0]!;
    expect([h.module, h.params.file, h.listen]).toEqual(['include_tasks', 'h.yml', ['topic']]);
    expect(load(`- hosts: all\n  handlers:\n    - include_tasks: h.yml\n      notify: x\n`).errors).toEqual([
      "pb.yml:4:7: 'notify' is not a valid attribute for a HandlerTaskInclude",
    ]);
    expect(errs('import_tasks: t.yml\n      loop: [1]')).toContain(
      "pb.yml:4:7: You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead.",
    );
  });
});

describe('expandIncludeTasks / expandIncludeRole (run time)', () => {
  const PB = `- hosts: all
  tasks:
    - { name: before, ${F('/0')} }
    - block:
        - include_tasks:
            file: sub/a.yml
            apply: { tags: [ap], become: true }
          loop: [1, 2]
          when: never_inherited
          tags: [inc]
          vars: { v: 1 }
      rescue:
        - { name: resc, ${F('/r')} }
      when: blockwhen
      become_user: app
    - include_role: { name: r, tasks_from: other }
      vars: { rv: 1 }
`;
  const FILES = {
    'sub/a.yml': `- { name: a1, ${F('/a1')} }\n- block:\n    - include_tasks: b.yml\n  always:\n    - { name: a2, ${F('/a2')} }\n`,
    'sub/b.yml': `- { name: sub-b, ${F('/b')} }\n`,
    'b.yml': `- { name: top-b, ${F('/b')} }\n`,
    'roles/r/tasks/other.yml': `- { name: r-other, ${F('/ro')} }\n`,
    'roles/r/tasks/main.yml': `- { name: r-main, ${F('/rm')} }\n`,
    'roles/r/handlers/main.yml': `- { name: rh, ${F('/rh')} }\n`,
    'roles/r/meta/main.yml': 'dependencies: [d]\n',
    'roles/d/tasks/main.yml': `- { name: d-main, ${F('/d')} }\n`,
  };

  it('include_tasks: fresh tasks under the include, nested blocks and includes, positions, frames, inheritance', () => {
    const book = ok(PB, FILES);
    const play = book.plays[0]!;
    const inc = play.tasks[1]!;
    const r = expandIncludeTasks(inc, 'sub/a.yml', { playbook: book, item: 1, itemVars: { item: 2 } });
    expect(r.diagnostics).toEqual([]);
    expect(r.tasks.map((t) => t.name)).toEqual(['a1', 'include_tasks b.yml', 'a2']);
    expect(r.tasks.map((t) => t.pos)).toEqual([
      [1, 1, 0],
      [1, 1, 1],
      [1, 1, 2],
    ]);
    const [a1, incB, a2] = r.tasks;
    // The file's own blocks only (the engine puts them inside the include's), with an id the play does not use.
    expect(a1!.blocks).toEqual([]);
    const own = incB!.blocks![0]!.id;
    expect(own).toBeGreaterThan(Math.max(...play.tasks.flatMap((t) => (t.blocks ?? []).map((f) => f.id))));
    expect(a2!.blocks!.map((f) => `${f.id}:${f.section}`)).toEqual([`${own}:always`]);
    // The include's own when/tags are not inherited; its blocks', apply's and vars are.
    expect(a1!.when.map((w) => w.expr)).toEqual(['blockwhen']);
    expect(a1!.tags).toEqual(['ap']);
    expect(a1!.vars).toEqual({ v: 1, item: 2 });
    expect(a1!.become).toEqual({ value: true });
    expect(a1!.becomeUser).toEqual({ value: 'app' });
    // A nested include resolves relative to the including file's directory first (sub/b.yml, not b.yml).
    const r2 = expandIncludeTasks(incB!, 'b.yml', { playbook: book });
    expect(r2.diagnostics).toEqual([]);
    expect(r2.tasks.map((t) => [t.name, t.pos])).toEqual([['sub-b', [1, 1, 1, 0, 0]]]);
    expect(r2.tasks[0]!.blocks).toEqual([]);
    // A second expansion of the same file: same tasks, fresh block ids.
    const again = expandIncludeTasks(inc, 'sub/a.yml', { playbook: book, item: 0 });
    expect(again.tasks.map((t) => t.name)).toEqual(['a1', 'include_tasks b.yml', 'a2']);
    expect(again.tasks[2]!.blocks![0]!.id).not.toBe(own);
  });

  it('in a dynamically included file, a plain `include` is dynamic too (2.14: its parents are not all static)', () => {
    const book = ok(PB, { ...FILES, 'dyn.yml': '- include: sub/b.yml\n' });
    const r = expandIncludeTasks(book.plays[0]!.tasks[1]!, 'dyn.yml', { playbook: book });
    expect(r.diagnostics).toEqual([]);
    expect(r.tasks.map((t) => [t.module, t.include?.kind])).toEqual([['include_tasks', 'include']]);
  });

  it("loopVarsOf: an include's loop variables for one item, as Ansible passes them", () => {
    const book = ok(PB, FILES);
    const inc = book.plays[0]!.tasks[1]!;
    expect(loopVarsOf(inc, { item: 'x', other: 1, ansible_loop: { index: 1 } })).toEqual({ item: 'x', ansible_loop: { index: 1 } });
    expect(loopVarsOf(book.plays[0]!.tasks[3]!, { item: 'x' })).toEqual({});
  });

  it('relative file names resolve as ansible-core 2.14 resolves them (fixture: the tasks it ran)', () => {
    const dir = join(import.meta.dirname, '../../../fixtures/ansible/include-paths');
    const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
    expect(diagnostics).toEqual([]);
    // Runs every include as the engine would (depth first, in order), collecting the tasks that are not includes.
    const ran: string[] = [];
    const run = (tasks: TaskDef[]) => {
      for (const t of tasks) {
        if (!t.include) ran.push(t.name);
        else {
          const r = expandIncludeTasks(t, t.params.file as string, { playbook });
          expect(r.diagnostics).toEqual([]);
          run(r.tasks);
        }
      }
    };
    run(playbook.plays[0]!.tasks);
    expect(ran).toEqual(readFileSync(join(dir, 'expected.txt'), 'utf8').trim().split('\n'));
  });

  it('a missing file or a broken one is a located diagnostic, each time it is included', () => {
    const book = ok(PB, { ...FILES, 'bad.yml': `- { name: x, fil: { path: /x } }\n` });
    const inc = book.plays[0]!.tasks[1]!;
    const missing = expandIncludeTasks(inc, 'nope.yml', { playbook: book });
    expect(missing.tasks).toEqual([]);
    expect(missing.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)[0]).toMatch(/^6:19 Could not find or access 'nope\.yml'/);
    for (let i = 0; i < 2; i++) {
      const bad = expandIncludeTasks(inc, 'bad.yml', { playbook: book });
      expect(bad.diagnostics.map((d) => `${d.file.replace(/.*\//, '')}:${d.line}`)).toEqual(['bad.yml:1']);
    }
  });

  it('include_role: the role (tasks_from) after its dependencies, in its scope, with its handlers', () => {
    const book = ok(PB, FILES);
    const ir = book.plays[0]!.tasks[3]!;
    const r = expandIncludeRole(
      ir,
      { name: 'r', tasksFrom: 'other', public: false, allowDuplicates: true, vars: { rv: 1 } },
      { playbook: book },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.tasks.map((t) => [t.name, t.scope!.chain.map((x) => x.role.name), t.pos])).toEqual([
      ['d-main', ['r', 'd'], [3, 0, 0]],
      ['r-other', ['r'], [3, 0, 1]],
    ]);
    expect(r.tasks[1]!.vars).toEqual({ rv: 1 });
    expect(r.role!.role.name).toBe('r');
    expect(r.handlers.map((h) => h.name)).toEqual(['rh']);
    const missing = expandIncludeRole(ir, { name: 'nope', public: false, allowDuplicates: true, vars: {} }, { playbook: book });
    expect(missing.diagnostics[0]!.message).toMatch(/^role 'nope' not found/);
  });
});

describe('import_playbook', () => {
  it('plays in place, with vars over the play vars, tags, and when on every task (not handlers)', () => {
    const book = ok(
      `- hosts: all
  name: first
- import_playbook: other.yml
  vars: { a: 2, tags: "x,y" }
  when: cond
  tags: [it]
- hosts: all
  name: last
`,
      {
        'other.yml': `- name: o1
  hosts: all
  vars: { a: 1, b: 1 }
  tags: [own]
  tasks:
    - { name: t, ${F('/t')}, when: mine }
  handlers:
    - { name: h, ${F('/h')} }
- import_playbook: nested.yml
  when: inner
`,
        'nested.yml': `- name: n\n  hosts: all\n  tasks: [{ name: nt, ${F('/n')} }]\n`,
      },
    );
    expect(book.plays.map((p) => [p.name, p.index])).toEqual([
      ['first', 0],
      ['o1', 1],
      ['n', 2],
      ['last', 3],
    ]);
    const o1 = book.plays[1]!;
    expect(o1.vars).toEqual({ a: 2, b: 1 });
    expect(o1.tags.sort()).toEqual(['it', 'own', 'x', 'y']);
    expect(o1.tasks[0]!.when.map((w) => w.expr)).toEqual(['cond', 'mine']);
    expect(o1.handlers[0]!.when).toEqual([]);
    expect(o1.importWhen!.map((w) => w.expr)).toEqual(['cond']);
    expect(book.plays[2]!.tasks[0]!.when.map((w) => w.expr)).toEqual(['cond', 'inner']);
  });

  it("its vars sit over the play's vars and under its vars_files (checked with ansible-playbook 2.14)", () => {
    const book = ok('- import_playbook: pl.yml\n  vars: { a: imp, b: imp }\n', {
      'pl.yml': '- hosts: all\n  vars: { a: play, b: play }\n  vars_files: [vf.yml]\n',
      'vf.yml': 'a: from_vars_files\n',
    });
    expect(book.plays[0]!.vars).toEqual({ a: 'from_vars_files', b: 'imp' });
  });

  it('refusals: cycles, missing files, another directory, keywords with no effect', () => {
    expect(load('- import_playbook: a.yml\n', { 'a.yml': '- import_playbook: pb.yml\n' }).errors).toEqual([
      'a.yml:1:20: import_playbook cycle: pb.yml imports a.yml imports pb.yml',
    ]);
    expect(load('- import_playbook: missing.yml\n').errors[0]).toMatch(/^pb\.yml:1:20: cannot read file.*missing\.yml/);
    expect(load('- import_playbook: sub/x.yml\n', { 'sub/x.yml': '- hosts: all\n' }).errors[0]).toMatch(
      /^pb\.yml:1:20: import_playbook: 'sub\/x\.yml' is in another directory/,
    );
    expect(load('- import_playbook: a.yml\n  become: true\n', { 'a.yml': '- hosts: all\n' }).errors[0]).toMatch(
      /^pb\.yml:2:3: import_playbook 'become': has no effect on import_playbook/,
    );
    expect(load('- import_playbook: a.yml\n  tasks: []\n', { 'a.yml': '- hosts: all\n' }).errors).toEqual([
      "pb.yml:2:3: 'tasks' is not valid on import_playbook: set it on the imported plays",
    ]);
    expect(load('- import_playbook: a.yml\n', { 'a.yml': 'x: 1\n' }).errors[0]).toMatch(/^a\.yml:1:1: A playbook must be a list of plays/);
  });
});
