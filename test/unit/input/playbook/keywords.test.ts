/**
 * No keyword is ever silently ignored. Every keyword Ansible knows (test/fixtures/ansible/keywords.json,
 * generated from ansible-core's own classes by generate-keywords.py) is in the loader's tables,
 * either supported or refused; every supported one is exercised below (a test loads it and checks
 * its effect); every refused one is refused, located, when used; a key Ansible does not know is
 * an "unknown" error.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../../src/core/diagnostic.ts';
import {
  BLOCK_KEYWORDS,
  HANDLER_KEYWORDS,
  IMPORT_PLAYBOOK_KEYWORDS,
  INCLUDE_KEYWORDS,
  INCLUDE_ROLE_ARGS,
  INCLUDE_TASKS_ARGS,
  IMPORT_ROLE_ARGS,
  IMPORT_TASKS_ARGS,
  type KeywordRule,
  LOOP_CONTROL_KEYS,
  PLAY_KEYWORDS,
  ROLE_KEYWORDS,
  ROLE_META_KEYS,
  TASK_ACTIONS,
  TASK_KEYWORDS,
} from '../../../../src/input/playbook/keywords.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import type { PlayDef, Playbook, TaskDef } from '../../../../src/input/playbook/types.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';

const ansible = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/ansible/keywords.json'), 'utf8')) as Record<
  string,
  Record<string, unknown> | string[] | string
>;
const keysOf = (section: string): string[] => {
  const v = ansible[section]!;
  return Array.isArray(v) ? v : Object.keys(v as object);
};

const root = mkdtempSync(join(tmpdir(), 'kiln-keywords-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Loads a playbook (text) with extra files (path → text) in a fresh directory. */
function load(pb: string, files: Record<string, string> = {}): { book: Playbook; errors: string[] } {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'pb.yml': pb, ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  return { book: playbook, errors: diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, '')) };
}

const ok = (pb: string, files: Record<string, string> = {}): Playbook => {
  const { book, errors } = load(pb, files);
  expect(errors).toEqual([]);
  return book;
};
const play0 = (pb: string, files: Record<string, string> = {}): PlayDef => ok(pb, files).plays[0]!;
const task0 = (taskYaml: string, files: Record<string, string> = {}): TaskDef =>
  play0(`- hosts: all\n  tasks:\n    - ${taskYaml.replace(/\n/g, '\n      ')}\n`, files).tasks[0]!;
const FILE = 'file: { path: /x }';
const ROLE_R = { 'roles/r/tasks/main.yml': '- file: { path: /r }\n' };
const roleTask = (entry: string, files: Record<string, string> = {}): TaskDef =>
  play0(`- hosts: all\n  roles:\n    - ${entry}\n`, { ...ROLE_R, ...files }).tasks[0]!;

/** One test per supported keyword: what it does once loaded. */
const EXERCISED: Record<string, Record<string, () => void>> = {
  play: {
    name: () => expect(play0('- name: web\n  hosts: all\n').name).toBe('web'),
    hosts: () => expect(play0('- hosts: [web, db]\n').hosts).toBe('web:db'),
    vars: () => expect(play0('- hosts: all\n  vars: { a: 1 }\n').vars).toEqual({ a: 1 }),
    vars_files: () =>
      expect(play0('- hosts: all\n  vars: { a: 1 }\n  vars_files: [v.yml]\n', { 'v.yml': 'a: 2\n' }).vars).toEqual({ a: 2 }),
    roles: () => expect(play0('- hosts: all\n  roles: [r]\n', ROLE_R).tasks.map((t) => t.role?.name)).toEqual(['r']),
    pre_tasks: () =>
      expect(
        play0(`- hosts: all\n  tasks: [{ name: b, ${FILE} }]\n  pre_tasks: [{ name: a, ${FILE} }]\n`).tasks.map((t) => t.name),
      ).toEqual(['a', 'b']),
    tasks: () => expect(play0(`- hosts: all\n  tasks: [{ name: a, ${FILE} }]\n`).tasks.map((t) => t.name)).toEqual(['a']),
    post_tasks: () =>
      expect(
        play0(`- hosts: all\n  post_tasks: [{ name: b, ${FILE} }]\n  tasks: [{ name: a, ${FILE} }]\n`).tasks.map((t) => t.name),
      ).toEqual(['a', 'b']),
    handlers: () => expect(play0(`- hosts: all\n  handlers: [{ name: h, ${FILE} }]\n`).handlers.map((t) => t.name)).toEqual(['h']),
    serial: () => expect(play0('- hosts: all\n  serial: "50%"\n').serial).toBe('50%'),
    max_fail_percentage: () => expect(play0('- hosts: all\n  max_fail_percentage: 10\n').maxFailPercentage).toBe(10),
    tags: () => expect(play0('- hosts: all\n  tags: a,b\n').tags).toEqual(['a', 'b']),
    become: () => expect(play0(`- hosts: all\n  become: yes\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.become).toEqual({ value: true }),
    become_user: () =>
      expect(play0(`- hosts: all\n  become_user: app\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.becomeUser).toEqual({ value: 'app' }),
    become_method: () =>
      expect(load('- hosts: all\n  become_method: su\n').errors[0]).toMatch(/become_method su \(Kiln supports only 'sudo'\)/),
    check_mode: () =>
      expect(play0(`- hosts: all\n  check_mode: true\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.checkMode).toEqual({ value: true }),
    diff: () => expect(play0(`- hosts: all\n  diff: false\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.diff).toEqual({ value: false }),
    ignore_errors: () =>
      expect(play0(`- hosts: all\n  ignore_errors: on\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.ignoreErrors).toEqual({ value: true }),
    no_log: () =>
      expect(play0(`- hosts: all\n  no_log: "{{ x }}"\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.noLog).toMatchObject({ template: '{{ x }}' }),
    gather_facts: () => expect(play0('- hosts: all\n  gather_facts: yes\n').gatherFacts).toBe(true),
    gather_subset: () =>
      expect(play0('- hosts: all\n  gather_subset: [network, "!hardware"]\n').gatherSubset).toEqual(['network', '!hardware']),
    gather_timeout: () => expect(play0('- hosts: all\n  gather_timeout: 5\n').gatherTimeout).toBe(5),
    fact_path: () => expect(play0('- hosts: all\n  fact_path: /srv/facts.d\n').factPath).toBe('/srv/facts.d'),
    connection: () =>
      expect(load('- hosts: all\n  connection: local\n').errors[0]).toMatch(/connection local \(Kiln supports only 'ssh'\)/),
    strategy: () => {
      expect(play0('- hosts: all\n  strategy: free\n').strategy).toBe('free');
      expect(play0('- hosts: all\n  strategy: ansible.builtin.host_pinned\n').strategy).toBe('host_pinned');
      expect(play0('- hosts: all\n  strategy: linear\n').strategy).toBe('linear');
      expect(load('- hosts: all\n  strategy: debug\n').errors).toEqual([
        'pb.yml:2:13: not supported: strategy debug (Kiln has no interactive task debugger; use linear, free or host_pinned)',
      ]);
      expect(load('- hosts: all\n  strategy: fast\n').errors).toEqual([
        'pb.yml:2:13: Invalid play strategy specified: fast (Kiln has linear, free and host_pinned)',
      ]);
      // What the free strategy gives no meaning to (Ansible 2.14 only warns), refused on the play.
      expect(
        load('- hosts: all\n  strategy: free\n  max_fail_percentage: 10\n  run_once: true\n  any_errors_fatal: true\n').errors,
      ).toEqual([
        'pb.yml:3:24: max_fail_percentage: not supported with strategy free (Ansible 2.14 only warns and never checks it: tasks run independently on each host)',
        'pb.yml:4:13: run_once: not supported with strategy free (Ansible 2.14 only warns and runs the task on every host)',
        'pb.yml:5:21: any_errors_fatal: not supported with strategy free (Ansible 2.14 only warns: each host runs on its own, a failure does not stop the others)',
      ]);
    },
    order: () => {
      expect(play0('- hosts: all\n  order: reverse_sorted\n  strategy: linear\n').order).toBe('reverse_sorted');
      expect(load('- hosts: all\n  order: backwards\n').errors).toEqual([
        "pb.yml:2:10: Invalid 'order' specified for inventory hosts: backwards (one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle)",
      ]);
    },
    environment: () =>
      expect(
        play0(`- hosts: all\n  environment: { A: play }\n  tasks: [{ ${FILE}, environment: { A: task } }]\n`).tasks[0]!.environment!.map(
          (e) => e.value,
        ),
      ).toEqual([{ A: 'play' }, { A: 'task' }]),
    run_once: () => expect(play0(`- hosts: all\n  run_once: yes\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.runOnce).toEqual({ value: true }),
    ignore_unreachable: () =>
      expect(play0(`- hosts: all\n  ignore_unreachable: true\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.ignoreUnreachable).toEqual({
        value: true,
      }),
    any_errors_fatal: () =>
      expect(play0(`- hosts: all\n  any_errors_fatal: true\n  tasks: [{ ${FILE} }]\n`).tasks[0]!.anyErrorsFatal).toEqual({ value: true }),
    throttle: () => {
      expect(play0(`- hosts: all\n  throttle: 2\n  tasks: [{ ${FILE}, throttle: 1 }]\n`).tasks[0]!.throttle).toEqual({ value: 1 });
      expect(load(`- hosts: all\n  throttle: -1\n`).errors).toEqual([
        'pb.yml:2:13: throttle must be a positive integer (0: no limit), got -1',
      ]);
    },
  },
  task: {
    name: () => expect(task0(`name: hello\n${FILE}`).name).toBe('hello'),
    when: () => expect(task0(`${FILE}\nwhen: [a, b]`).when.map((c) => c.expr)).toEqual(['a', 'b']),
    loop: () => expect(task0(`${FILE}\nloop: [1, 2]`).loop).toEqual([1, 2]),
    loop_control: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { loop_var: x }`).loopControl.loopVar).toBe('x'),
    register: () => expect(task0(`${FILE}\nregister: r`).register).toBe('r'),
    notify: () => expect(task0(`${FILE}\nnotify: h`).notify).toEqual(['h']),
    tags: () => expect(task0(`${FILE}\ntags: [a, 1]`).tags).toEqual(['a', '1']),
    become: () => expect(task0(`${FILE}\nbecome: "{{ b }}"`).become).toMatchObject({ template: '{{ b }}' }),
    become_user: () => expect(task0(`${FILE}\nbecome_user: 1000`).becomeUser).toEqual({ value: '1000' }),
    become_method: () => expect(task0(`${FILE}\nbecome_method: sudo`).module).toBe('file'),
    connection: () => expect(task0(`${FILE}\nconnection: ssh`).module).toBe('file'),
    check_mode: () => expect(task0(`${FILE}\ncheck_mode: no`).checkMode).toEqual({ value: false }),
    changed_when: () => expect(task0(`${FILE}\nchanged_when: false`).changedWhen!.map((c) => c.expr)).toEqual([false]),
    failed_when: () => expect(task0(`${FILE}\nfailed_when: ["a", "b"]`).failedWhen!.map((c) => c.expr)).toEqual(['a', 'b']),
    ignore_errors: () => expect(task0(`${FILE}\nignore_errors: "yes"`).ignoreErrors).toEqual({ value: true }),
    no_log: () => expect(task0(`${FILE}\nno_log: 1`).noLog).toEqual({ value: true }),
    diff: () => expect(task0(`${FILE}\ndiff: true`).diff).toEqual({ value: true }),
    vars: () => expect(task0(`${FILE}\nvars: { a: 1 }`).vars).toEqual({ a: 1 }),
    args: () => expect(task0('file:\nargs: { path: /a, state: directory }').params).toEqual({ path: '/a', state: 'directory' }),
    action: () => expect(task0('action: file path=/a state=touch').params).toEqual({ path: '/a', state: 'touch' }),
    loop_with: () => expect(task0(`${FILE}\nwith_items: [1, [2]]`)).toMatchObject({ loopWith: 'items', loop: [1, [2]] }),
    until: () => expect(task0(`${FILE}\nuntil: r is success`).retry).toMatchObject({ retries: { value: 3 }, delay: { value: 5 } }),
    retries: () => expect(task0(`${FILE}\nuntil: r is success\nretries: "2"`).retry?.retries).toEqual({ value: 2 }),
    delay: () => expect(task0(`${FILE}\nuntil: [a]\ndelay: "{{ d }}"`).retry?.delay).toMatchObject({ template: '{{ d }}' }),
    local_action: () => {
      const t = task0('local_action: file path=/a state=touch');
      expect([t.module, t.params, t.delegateTo]).toEqual(['file', { path: '/a', state: 'touch' }, { value: 'localhost' }]);
      expect(task0('local_action: { module: file, path: /b }').params).toEqual({ path: '/b' });
    },
    delegate_to: () => expect(task0(`${FILE}\ndelegate_to: "{{ db }}"`).delegateTo).toMatchObject({ template: '{{ db }}' }),
    environment: () =>
      expect(task0(`${FILE}\nenvironment: ["{{ proxy }}", { A: 1 }]`).environment!.map((e) => e.value)).toEqual(['{{ proxy }}', { A: 1 }]),
    run_once: () => expect(task0(`${FILE}\nrun_once: "{{ x }}"`).runOnce).toMatchObject({ template: '{{ x }}' }),
    ignore_unreachable: () => expect(task0(`${FILE}\nignore_unreachable: yes`).ignoreUnreachable).toEqual({ value: true }),
    any_errors_fatal: () => expect(task0(`${FILE}\nany_errors_fatal: no`).anyErrorsFatal).toEqual({ value: false }),
    throttle: () => expect(task0(`${FILE}\nthrottle: "{{ n }}"`).throttle).toMatchObject({ template: '{{ n }}' }),
  },
  handler: {
    listen: () => expect(play0(`- hosts: all\n  handlers: [{ name: h, listen: topic, ${FILE} }]\n`).handlers[0]!.listen).toEqual(['topic']),
  },
  task_actions: {
    import_tasks: () => expect(task0('import_tasks: t.yml\nwhen: x', { 't.yml': `- ${FILE}\n` }).when.map((c) => c.expr)).toEqual(['x']),
    import_role: () => expect(task0('import_role: { name: r }\ntags: t', ROLE_R).tags).toEqual(['t']),
    include_tasks: () => expect(task0('include_tasks: t.yml').params).toEqual({ file: 't.yml' }),
    include_role: () => expect(task0('include_role: { name: r }').module).toBe('include_role'),
    // 2.14: a literal file name, no loop, static parents: imported (static).
    include: () => expect(task0('include: t.yml', { 't.yml': `- name: t\n  ${FILE}\n` }).name).toBe('t'),
    block: () => expect(task0(`block: [{ ${FILE} }]`).blocks).toMatchObject([{ section: 'block' }]),
    rescue: () =>
      expect(play0(`- hosts: all\n  tasks:\n    - { block: [{ ${FILE} }], rescue: [{ ${FILE} }] }\n`).tasks[1]!.blocks).toMatchObject([
        { section: 'rescue', hasRescue: true },
      ]),
    always: () =>
      expect(play0(`- hosts: all\n  tasks:\n    - { block: [{ ${FILE} }], always: [{ ${FILE} }] }\n`).tasks[1]!.blocks).toMatchObject([
        { section: 'always', hasRescue: false },
      ]),
  },
  block: {
    block: () => expect(task0(`block: [{ ${FILE} }]`).module).toBe('file'),
    rescue: () =>
      expect(play0(`- hosts: all\n  tasks:\n    - { block: [], rescue: [{ ${FILE} }] }\n`).tasks[0]!.blocks![0]!.section).toBe('rescue'),
    always: () =>
      expect(play0(`- hosts: all\n  tasks:\n    - { block: [], always: [{ ${FILE} }] }\n`).tasks[0]!.blocks![0]!.section).toBe('always'),
    name: () => expect(task0(`block: [{ ${FILE} }]\nname: b`).blocks![0]!.name).toBe('b'),
    when: () => expect(task0(`block: [{ ${FILE}, when: y }]\nwhen: x`).when.map((c) => c.expr)).toEqual(['x', 'y']),
    tags: () => expect(task0(`block: [{ ${FILE}, tags: y }]\ntags: x`).tags.sort()).toEqual(['x', 'y']),
    vars: () => expect(task0(`block: [{ ${FILE}, vars: { a: 2 } }]\nvars: { a: 1, b: 1 }`).vars).toEqual({ a: 2, b: 1 }),
    notify: () => expect(task0(`block: [{ ${FILE} }]\nnotify: h`).notify).toEqual(['h']),
    become: () => expect(task0(`block: [{ ${FILE} }]\nbecome: true`).become).toEqual({ value: true }),
    become_user: () => expect(task0(`block: [{ ${FILE}, become_user: b }]\nbecome_user: a`).becomeUser).toEqual({ value: 'b' }),
    become_method: () =>
      expect(load(`- hosts: all\n  tasks:\n    - block: [{ ${FILE} }]\n      become_method: su\n`).errors[0]).toMatch(/become_method su/),
    connection: () => expect(task0(`block: [{ ${FILE} }]\nconnection: ssh`).module).toBe('file'),
    check_mode: () => expect(task0(`block: [{ ${FILE} }]\ncheck_mode: true`).checkMode).toEqual({ value: true }),
    diff: () => expect(task0(`block: [{ ${FILE} }]\ndiff: false`).diff).toEqual({ value: false }),
    ignore_errors: () => expect(task0(`block: [{ ${FILE} }]\nignore_errors: true`).ignoreErrors).toEqual({ value: true }),
    no_log: () => expect(task0(`block: [{ ${FILE} }]\nno_log: true`).noLog).toEqual({ value: true }),
  },
  include_keywords: {
    name: () => expect(task0('include_tasks: t.yml\nname: inc').name).toBe('inc'),
    when: () => expect(task0('include_tasks: t.yml\nwhen: x').when.map((c) => c.expr)).toEqual(['x']),
    loop: () => expect(task0('include_tasks: t.yml\nloop: [1]').loop).toEqual([1]),
    loop_control: () => expect(task0('include_tasks: t.yml\nloop: [1]\nloop_control: { loop_var: f }').loopControl.loopVar).toBe('f'),
    register: () => expect(task0('include_tasks: t.yml\nregister: r').register).toBe('r'),
    tags: () => expect(task0('include_tasks: t.yml\ntags: [a]').tags).toEqual(['a']),
    vars: () => expect(task0('include_tasks: t.yml\nvars: { a: 1 }').vars).toEqual({ a: 1 }),
    args: () => expect(task0('include_tasks: t.yml\nargs: { apply: { tags: [x] } }').include!.apply!.tags).toEqual(['x']),
    ignore_errors: () => expect(task0('include_tasks: t.yml\nignore_errors: true').ignoreErrors).toEqual({ value: true }),
    no_log: () => expect(task0('include_tasks: t.yml\nno_log: true').noLog).toEqual({ value: true }),
    // run_once on an include: the task rule, for the include task itself.
    run_once: () => {
      const r = load('- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      run_once: true\n');
      if (TASK_KEYWORDS.run_once!.use === 'refused') expect(r.errors[0]).toMatch(/^pb\.yml:4:7: include_tasks keyword 'run_once'/);
      else expect(r.book.plays[0]!.tasks[0]).toMatchObject({ runOnce: { value: true } });
    },
    // with_<lookup> on an include follows the task rule (refused, or the include's loop: never dropped).
    loop_with: () => {
      const r = load('- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      with_items: [1]\n');
      if (TASK_KEYWORDS.loop_with!.use === 'refused') expect(r.errors[0]).toMatch(/^pb\.yml:4:7: include_tasks keyword 'with_items'/);
      else expect(r.book.plays[0]!.tasks[0]).toMatchObject({ loop: [1], loopWith: 'items' });
    },
  },
  include_tasks_args: {
    file: () => expect(task0('include_tasks: { file: t.yml }').params).toEqual({ file: 't.yml' }),
    _raw_params: () => expect(task0('include_tasks: { _raw_params: t.yml }').params).toEqual({ file: 't.yml' }),
    apply: () => expect(task0('include_tasks: { file: t.yml, apply: { become: true } }').include!.apply!.become).toEqual({ value: true }),
  },
  include_role_args: {
    name: () => expect(task0('include_role: { name: r }').params).toEqual({ name: 'r' }),
    role: () => expect(task0('include_role: { role: r }').params).toEqual({ name: 'r' }),
    tasks_from: () => expect(task0('include_role: { name: r, tasks_from: t }').params.tasks_from).toBe('t'),
    vars_from: () => expect(task0('include_role: { name: r, vars_from: v }').params.vars_from).toBe('v'),
    defaults_from: () => expect(task0('include_role: { name: r, defaults_from: d }').params.defaults_from).toBe('d'),
    handlers_from: () => expect(task0('include_role: { name: r, handlers_from: h }').params.handlers_from).toBe('h'),
    public: () => expect(task0('include_role: { name: r, public: yes }').params.public).toBe(true),
    allow_duplicates: () => expect(task0('include_role: { name: r, allow_duplicates: false }').params.allow_duplicates).toBe(false),
    apply: () => expect(task0('include_role: { name: r, apply: { tags: [t] } }').include!.apply!.tags).toEqual(['t']),
  },
  import_playbook: {
    import_playbook: () => expect(ok('- import_playbook: o.yml\n', { 'o.yml': '- name: o\n  hosts: all\n' }).plays[0]!.name).toBe('o'),
    name: () => expect(ok('- name: x\n  import_playbook: o.yml\n', { 'o.yml': '- hosts: all\n' }).plays).toHaveLength(1),
    vars: () =>
      expect(ok('- import_playbook: o.yml\n  vars: { a: 2 }\n', { 'o.yml': '- hosts: all\n  vars: { a: 1 }\n' }).plays[0]!.vars).toEqual({
        a: 2,
      }),
    when: () =>
      expect(
        ok('- import_playbook: o.yml\n  when: x\n', { 'o.yml': `- hosts: all\n  tasks: [{ ${FILE} }]\n` }).plays[0]!.tasks[0]!.when.map(
          (c) => c.expr,
        ),
      ).toEqual(['x']),
    tags: () => expect(ok('- import_playbook: o.yml\n  tags: t\n', { 'o.yml': '- hosts: all\n' }).plays[0]!.tags).toEqual(['t']),
  },
  role: {
    role: () => expect(roleTask('{ role: r }').role?.name).toBe('r'),
    name: () => expect(roleTask('{ name: r }').role?.name).toBe('r'),
    vars: () => expect(play0('- hosts: all\n  roles: [{ role: r, vars: { a: 1 } }]\n', ROLE_R).roles[0]!.vars).toEqual({ a: 1 }),
    tags: () => expect(roleTask('{ role: r, tags: [t] }').tags).toEqual(['t']),
    when: () => expect(roleTask('{ role: r, when: x }').when.map((c) => c.expr)).toEqual(['x']),
    become: () => expect(roleTask('{ role: r, become: true }').become).toEqual({ value: true }),
    become_user: () => expect(roleTask('{ role: r, become_user: app }').becomeUser).toEqual({ value: 'app' }),
    become_method: () => expect(roleTask('{ role: r, become_method: sudo }').role?.name).toBe('r'),
    connection: () => expect(roleTask('{ role: r, connection: ssh }').role?.name).toBe('r'),
    check_mode: () => expect(roleTask('{ role: r, check_mode: true }').checkMode).toEqual({ value: true }),
    diff: () => expect(roleTask('{ role: r, diff: true }').diff).toEqual({ value: true }),
    ignore_errors: () => expect(roleTask('{ role: r, ignore_errors: true }').ignoreErrors).toEqual({ value: true }),
    no_log: () => expect(roleTask('{ role: r, no_log: true }').noLog).toEqual({ value: true }),
    environment: () => expect(roleTask('{ role: r, environment: { B: role } }').environment!.map((e) => e.value)).toEqual([{ B: 'role' }]),
    run_once: () => expect(roleTask('{ role: r, run_once: true }').runOnce).toEqual({ value: true }),
    ignore_unreachable: () => expect(roleTask('{ role: r, ignore_unreachable: true }').ignoreUnreachable).toEqual({ value: true }),
    any_errors_fatal: () => expect(roleTask('{ role: r, any_errors_fatal: true }').anyErrorsFatal).toEqual({ value: true }),
    throttle: () => expect(roleTask('{ role: r, throttle: 3 }').throttle).toEqual({ value: 3 }),
  },
  role_meta: {
    dependencies: () =>
      expect(
        play0('- hosts: all\n  roles: [r]\n', {
          ...ROLE_R,
          'roles/r/meta/main.yml': 'dependencies: [d]\n',
          'roles/d/tasks/main.yml': `- ${FILE}\n`,
        }).tasks.map((t) => t.role?.name),
      ).toEqual(['d', 'r']),
    allow_duplicates: () =>
      expect(
        play0('- hosts: all\n  roles: [r, r]\n', { ...ROLE_R, 'roles/r/meta/main.yml': 'allow_duplicates: true\n' }).roles[0]!
          .allowDuplicates,
      ).toBe(true),
    galaxy_info: () =>
      expect(
        play0('- hosts: all\n  roles: [r]\n', { ...ROLE_R, 'roles/r/meta/main.yml': 'galaxy_info: { author: me }\n' }).tasks,
      ).toHaveLength(1),
  },
  loop_control: {
    loop_var: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { loop_var: v }`).loopControl.loopVar).toBe('v'),
    index_var: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { index_var: i }`).loopControl.indexVar).toBe('i'),
    label: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { label: "{{ item }}" }`).loopControl.label).toBe('{{ item }}'),
    extended: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { extended: yes }`).loopControl.extended).toBe(true),
    pause: () => expect(task0(`${FILE}\nloop: [1]\nloop_control: { pause: 0.5 }`).loopControl.pause).toEqual({ value: 0.5 }),
    extended_allitems: () =>
      expect(task0(`${FILE}\nloop: [1]\nloop_control: { extended: yes, extended_allitems: no }`).loopControl.extendedAllitems).toBe(false),
  },
  import_role_args: {
    name: () => expect(task0('import_role: { name: r }', ROLE_R).role?.name).toBe('r'),
    role: () => expect(task0('import_role: { role: r }', ROLE_R).role?.name).toBe('r'),
    tasks_from: () =>
      expect(
        task0('import_role: { name: r, tasks_from: other }', {
          ...ROLE_R,
          'roles/r/tasks/other.yml': '- name: other\n  file: { path: /o }\n',
        }).name,
      ).toBe('other'),
    vars_from: () =>
      expect(task0('import_role: { name: r, vars_from: v }', { ...ROLE_R, 'roles/r/vars/v.yml': 'a: 1\n' }).role?.vars).toEqual({ a: 1 }),
    defaults_from: () =>
      expect(task0('import_role: { name: r, defaults_from: d }', { ...ROLE_R, 'roles/r/defaults/d.yml': 'a: 2\n' }).role?.defaults).toEqual(
        { a: 2 },
      ),
    handlers_from: () =>
      expect(
        play0('- hosts: all\n  tasks:\n    - import_role: { name: r, handlers_from: h }\n', {
          ...ROLE_R,
          'roles/r/handlers/h.yml': `- name: hh\n  ${FILE}\n`,
        }).handlers.map((h) => h.name),
      ).toEqual(['hh']),
    allow_duplicates: () =>
      expect(
        play0('- hosts: all\n  tasks:\n    - import_role: { name: r, allow_duplicates: false }\n', ROLE_R).roles[0]!.allowDuplicates,
      ).toBe(false),
  },
  import_tasks_args: {
    file: () => expect(task0('import_tasks: { file: t.yml }', { 't.yml': `- name: t\n  ${FILE}\n` }).name).toBe('t'),
    _raw_params: () => expect(task0('import_tasks: t.yml', { 't.yml': `- name: t\n  ${FILE}\n` }).name).toBe('t'),
  },
};

// Where-and-when keywords (part G) on a block: the task's row; when supported, the block's tasks inherit them.
for (const [k, field, value] of [
  ['any_errors_fatal', 'anyErrorsFatal', 'true'],
  ['environment', 'environment', '{ A: b }'],
  ['ignore_unreachable', 'ignoreUnreachable', 'true'],
  ['run_once', 'runOnce', 'true'],
  ['throttle', 'throttle', '2'],
  ['delegate_to', 'delegateTo', 'localhost'],
] as const) {
  EXERCISED.block![k] = () => {
    const r = load(`- hosts: all\n  tasks:\n    - block: [{ ${FILE} }]\n      ${k}: ${value}\n`);
    if (TASK_KEYWORDS[k]!.use === 'refused') expect(r.errors.some((e) => e.startsWith('pb.yml:4:7: '))).toBe(true);
    else expect((r.book.plays[0]!.tasks[0] as unknown as Record<string, unknown>)[field]).toBeDefined();
  };
}

/** Each section of Ansible's list → Kiln's table for it. */
const TABLES: Record<string, Readonly<Record<string, KeywordRule>>> = {
  play: PLAY_KEYWORDS,
  task: TASK_KEYWORDS,
  handler: HANDLER_KEYWORDS,
  role: ROLE_KEYWORDS,
  role_meta: ROLE_META_KEYS,
  loop_control: LOOP_CONTROL_KEYS,
  import_role_args: IMPORT_ROLE_ARGS,
  import_tasks_args: IMPORT_TASKS_ARGS,
  block: BLOCK_KEYWORDS,
  import_playbook: IMPORT_PLAYBOOK_KEYWORDS,
  include_keywords: INCLUDE_KEYWORDS,
  include_tasks_args: INCLUDE_TASKS_ARGS,
  include_role_args: INCLUDE_ROLE_ARGS,
};

describe('every Ansible keyword is supported (and exercised) or refused', () => {
  it('the fixture is ansible-core 2.14', () => expect(ansible.ansible_version).toMatch(/^2\.14\./));

  for (const [section, table] of Object.entries(TABLES)) {
    it(`${section}: every Ansible keyword is in Kiln's table`, () => {
      expect(keysOf(section).filter((k) => !(k in table))).toEqual([]);
    });
    it(`${section}: every supported keyword is exercised by a test`, () => {
      const supported = Object.entries(table)
        .filter(([, r]) => r.use === 'supported')
        .map(([k]) => k);
      const exercised = { ...(section === 'handler' ? EXERCISED.task : {}), ...EXERCISED[section] };
      expect(supported.filter((k) => !exercised[k])).toEqual([]);
    });
  }
  it("block: a block keyword is refused exactly where the task keyword is (the block's tasks inherit it)", () => {
    for (const k of keysOf('block')) {
      if (['block', 'rescue', 'always'].includes(k)) continue;
      expect(BLOCK_KEYWORDS[k]!.use, k).toBe(TASK_KEYWORDS[k]!.use);
    }
  });

  for (const [section, tests] of Object.entries(EXERCISED)) {
    for (const [k, test] of Object.entries(tests)) it(`${section} '${k}' works`, test);
  }
});

describe('refused keywords are located errors naming the keyword', () => {
  const refusedIn = (table: Readonly<Record<string, KeywordRule>>) =>
    Object.entries(table)
      .filter(([, r]) => r.use === 'refused')
      .map(([k, r]) => [k, (r as { hint: string }).hint] as const);

  for (const [k, hint] of refusedIn(PLAY_KEYWORDS)) {
    it(`play: ${k}`, () => {
      expect(load(`- hosts: all\n  ${k}: x\n`).errors).toContain(
        `pb.yml:2:3: ${hint.startsWith(k) ? `play keyword: ${hint}` : `play keyword '${k}': ${hint}`}`,
      );
    });
  }
  for (const [k, hint] of refusedIn(TASK_KEYWORDS)) {
    const key = k === 'loop_with' ? 'with_items' : k;
    it(`task: ${key}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - ${FILE}\n      ${key}: x\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:4:7: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(TASK_ACTIONS)) {
    it(`task: ${k}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - ${k}: x\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:3:7: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(BLOCK_KEYWORDS)) {
    it(`block: ${k}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - block: [{ ${FILE} }]\n      ${k}: x\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:4:7: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(IMPORT_PLAYBOOK_KEYWORDS)) {
    it(`import_playbook: ${k}`, () => {
      const errors = load(`- import_playbook: o.yml\n  ${k}: x\n`, { 'o.yml': '- hosts: all\n' }).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:2:3: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(INCLUDE_KEYWORDS)) {
    const key = k === 'loop_with' ? 'with_items' : k;
    it(`include_tasks: ${key}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - include_tasks: t.yml\n      ${key}: x\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:4:7: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(INCLUDE_ROLE_ARGS)) {
    it(`include_role: ${k}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - include_role: { name: r, ${k}: x }\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:3:32: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(ROLE_KEYWORDS)) {
    it(`role entry: ${k}`, () => {
      const errors = load(`- hosts: all\n  roles:\n    - role: r\n      ${k}: x\n`, ROLE_R).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:4:7: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(ROLE_META_KEYS)) {
    it(`role meta: ${k}`, () => {
      const errors = load('- hosts: all\n  roles: [r]\n', { ...ROLE_R, 'roles/r/meta/main.yml': `${k}: x\n` }).errors;
      expect(errors.some((e) => e.startsWith('roles/r/meta/main.yml:1:1: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(LOOP_CONTROL_KEYS)) {
    it(`loop_control: ${k}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - ${FILE}\n      loop: [1]\n      loop_control: { ${k}: 1 }\n`).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:5:23: ') && e.includes(hint))).toBe(true);
    });
  }
  for (const [k, hint] of refusedIn(IMPORT_ROLE_ARGS)) {
    it(`import_role: ${k}`, () => {
      const errors = load(`- hosts: all\n  tasks:\n    - import_role: { name: r, ${k}: x }\n`, ROLE_R).errors;
      expect(errors.some((e) => e.startsWith('pb.yml:3:31: ') && e.includes(hint))).toBe(true);
    });
  }

  it('a key Ansible does not know is unknown, with a suggestion', () => {
    expect(load('- hosts: all\n  varz: {}\n').errors).toEqual(["pb.yml:2:3: unknown play keyword 'varz' (did you mean 'vars'?)"]);
    expect(load(`- hosts: all\n  tasks:\n    - ${FILE}\n      whne: x\n`).errors).toEqual([
      "pb.yml:4:7: unknown task keyword or module 'whne' (did you mean 'when'?)",
    ]);
    expect(load('- hosts: all\n  roles: [r]\n', { ...ROLE_R, 'roles/r/meta/main.yml': 'dependecies: []\n' }).errors).toEqual([
      "roles/r/meta/main.yml:1:1: 'dependecies' is not a valid attribute for a RoleMetadata (role 'r')",
    ]);
    expect(load(`- hosts: all\n  tasks:\n    - ${FILE}\n      loop: [1]\n      loop_control: { loopvar: x }\n`).errors).toEqual([
      "pb.yml:5:23: unknown loop_control key 'loopvar' (did you mean 'loop_var'?)",
    ]);
  });

  it('an Ansible module Kiln does not have is named as such', () => {
    expect(load('- hosts: all\n  tasks:\n    - ping: data=hi\n').errors).toEqual([
      expect.stringMatching(
        /^pb\.yml:3:7: module 'ping' is not supported by Kiln \(Kiln has: add_host, (\w+, )*assert, (\w+, )*command, copy, /,
      ),
    ]);
    expect(load('- hosts: all\n  tasks:\n    - community.docker.docker_container: { name: web }\n').errors).toEqual([
      "pb.yml:3:7: module 'community.docker.docker_container' is not supported by Kiln (a collection module)",
    ]);
  });
});
