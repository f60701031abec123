/**
 * The runner's handling of controller-side actions' effects, through real runs over the local
 * transport: dynamic includes spliced per host (and per loop item), meta flush_handlers, end_host,
 * end_play, end_batch, clear_host_errors, reset_connection. The effects come from a tiny test
 * action (test/helpers/effect-action.ts); the include expansion is given to the Runner as its
 * `expandInclude` option (the loader's expansion in production), here loading the included file
 * as a play's tasks with the real loader.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../src/transport/local.ts';
import { Runner } from '../../../src/engine/runner.ts';
import type { IncludeExpander } from '../../../src/engine/includes.ts';
import { validateRun } from '../../../src/plan/validate.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import type { Reporter } from '../../../src/engine/events.ts';
import { quietReporter } from '../../helpers/run-playbook.ts';
import { registerEffectAction } from '../../helpers/effect-action.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { loadInventory } from '../../../src/input/inventory/load.ts';

let work: string;
beforeAll(() => {
  registerEffectAction();
  work = mkdtempSync(join(tmpdir(), 'kiln-effects-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    t1: {}\n    t2: {}\n');
  // A real role for include_role's `public`, expanded from a play that lists it.
  mkdirSync(join(work, 'roles/pubrole/defaults'), { recursive: true });
  mkdirSync(join(work, 'roles/pubrole/vars'), { recursive: true });
  mkdirSync(join(work, 'roles/pubrole/tasks'), { recursive: true });
  writeFileSync(join(work, 'roles/pubrole/defaults/main.yml'), 'pub_default: d\nshadowed: from-role-default\n');
  writeFileSync(join(work, 'roles/pubrole/vars/main.yml'), 'pub_var: v\n');
  writeFileSync(join(work, 'roles/pubrole/tasks/main.yml'), '- name: pubrole task\n  command: "true"\n');
  writeFileSync(join(work, 'pubrole.yml'), '- hosts: all\n  roles: [pubrole]\n');
  // include_role's stand-in: the "role" is a play file with tasks and handlers.
  writeFileSync(
    join(work, 'therole.yml'),
    `- hosts: all
  tasks:
    - name: role task
      command: "true"
      notify: role handler
  handlers:
    - name: role handler
      command: "true"
`,
  );
  writeFileSync(
    join(work, 'inc.yml'),
    `- hosts: all
  tasks:
    - name: included one
      command: "true"
    - name: included two
      command: "true"
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Loads `inc.yml`'s tasks: the stand-in for the loader's include expansion. */
const expandInclude: IncludeExpander = (effect) => {
  const file = effect.kind === 'include_tasks' ? effect.file : `${effect.name}.yml`;
  const { playbook, diagnostics } = loadPlaybook(join(work, file), { modules: moduleCatalog });
  if (diagnostics.length) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  const play = playbook.plays[0]!;
  return effect.kind === 'include_tasks' ? { tasks: play.tasks } : { tasks: play.tasks, handlers: play.handlers, role: play.roles[0] };
};

/**
 * Runs `yml` (validated first unless `validate` is false: a play whose `hosts:` names a group
 * that only add_host/group_by create is refused by validation until it knows them).
 */
async function run(yml: string, validate = true) {
  const pb = join(work, 'pb.yml');
  writeFileSync(pb, yml);
  const v = validate
    ? validateRun({ playbook: pb, inventory: [join(work, 'hosts.yml')], extraVars: {}, tags: [], skipTags: [], check: false, diff: false })
    : {
        playbook: loadPlaybook(pb, { modules: moduleCatalog }).playbook,
        inventory: loadInventory([join(work, 'hosts.yml')]).inventory,
        plan: undefined,
      };
  const steps: string[] = [];
  const reporter: Reporter = {
    ...quietReporter,
    taskStart: (_p, t, hosts, handler) => steps.push(`${handler ? 'handler ' : ''}${t.name}: ${hosts.join(',')}`),
  };
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 2,
    tags: [],
    skipTags: [],
    extraVars: {},
    acceptNewHostKeys: false,
    reporter,
    transport: localTransport(),
    expandInclude,
    plan: v.plan,
  });
  const report = await runner.run();
  return { report, steps, results: report.tasks.map((t) => `${t.task} ${t.host} ${t.status}`) };
}

const include = (when?: string, loop?: string) => `    - name: include
      test_effect:
        effects: [{ kind: include_tasks, file: inc.yml, vars: {} }]
${when ? `      when: ${when}\n` : ''}${loop ? `      loop: ${loop}\n` : ''}`;

describe('dynamic includes at run time', () => {
  it('splices the included tasks after the include on the hosts that included them; the others wait', async () => {
    const r = await run(`- hosts: all
  tasks:
${include("inventory_hostname == 't1'")}    - name: after
      command: "true"
`);
    expect(r.report.error).toBeUndefined();
    expect(r.steps).toEqual(['include: t1,t2', 'included one: t1', 'included two: t1', 'after: t1,t2']);
  });

  it('hosts that included the same file at the same place run its tasks together; a loop includes once per item', async () => {
    const r = await run(`- hosts: all
  tasks:
${include(undefined, '"{{ [1, 2] if inventory_hostname == \'t1\' else [1] }}"')}    - name: after
      command: "true"
`);
    expect(r.steps).toEqual([
      'include: t1,t2',
      'included one: t1,t2',
      'included two: t1,t2',
      'included one: t1',
      'included two: t1',
      'after: t1,t2',
    ]);
  });
});

const meta = (action: string, when?: string) => `    - name: meta ${action}
      test_effect:
        effects: [{ kind: meta, action: ${action} }]
${when ? `      when: ${when}\n` : ''}`;

describe('include_role', () => {
  it("the included role's handlers join the play's for the hosts that included it", async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: include the role
      test_effect:
        effects: [{ kind: include_role, name: therole, public: false, allowDuplicates: true, vars: {} }]
      when: inventory_hostname == 't2'
    - name: after
      command: "true"
`);
    expect(r.report.error).toBeUndefined();
    expect(r.steps).toEqual(['include the role: t1,t2', 'role task: t2', 'after: t1,t2', 'handler role handler: t2']);
  });
});

describe('include_role public', () => {
  it("public: true exposes the role's defaults and vars to the host's later tasks, at their levels (a play var wins over a role default)", async () => {
    const r = await run(
      `- hosts: all
  vars:
    shadowed: from-play
  tasks:
    - name: include the role
      test_effect:
        effects: [{ kind: include_role, name: pubrole, public: true, allowDuplicates: true, vars: {} }]
      when: inventory_hostname == 't2'
    - name: sees the role's vars
      command: "test '{{ pub_default }} {{ pub_var }} {{ shadowed }}' = 'd v from-play'"
      when: pub_var is defined
`,
      false,
    );
    expect(r.report.error).toBeUndefined();
    expect(r.results.filter((x) => x.startsWith('sees')).sort()).toEqual([
      "sees the role's vars t1 skipped",
      "sees the role's vars t2 changed",
    ]);
  });

  it('public: true without a role instance from the expansion fails the include, located', async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: include the role
      test_effect:
        effects: [{ kind: include_role, name: therole, public: true, allowDuplicates: true, vars: {} }]
`);
    const res = r.report.tasks.find((t) => t.task === 'include the role')!;
    expect(res.status).toBe('failed');
    expect(res.message).toMatch(/pb\.yml:3:7: include_role: public: true, but the expansion gave no role instance/);
  });
});

describe('meta effects', () => {
  it('flush_handlers runs the notified handlers now, then the tasks go on (each handler once)', async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: change
      command: "true"
      notify: h
${meta('flush_handlers')}    - name: after
      command: "true"
  handlers:
    - name: h
      command: "true"
`);
    expect(r.steps).toEqual(['change: t1,t2', 'meta flush_handlers: t1,t2', 'handler h: t1,t2', 'after: t1,t2']);
  });

  it('end_host: the host stops this play, not failed, its handlers do not run; it takes part in the next play', async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: change
      command: "true"
      notify: h
${meta('end_host', "inventory_hostname == 't2'")}    - name: after
      command: "true"
  handlers:
    - name: h
      command: "true"
- hosts: all
  tasks:
    - name: next play
      command: "true"
`);
    expect(r.steps).toEqual(['change: t1,t2', 'meta end_host: t1,t2', 'after: t1', 'handler h: t1', 'next play: t1,t2']);
    expect(r.report.hosts.t2!.failed).toBe(0);
  });

  it('end_play: every host stops the play; the next play runs', async () => {
    const r = await run(`- hosts: all
  tasks:
${meta('end_play', "inventory_hostname == 't1'")}    - name: after
      command: "true"
- hosts: all
  tasks:
    - name: next play
      command: "true"
`);
    expect(r.steps).toEqual(['meta end_play: t1,t2', 'next play: t1,t2']);
  });

  it('clear_host_errors: a host that failed in this play takes part in the later plays (not in the rest of this one)', async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: t1 fails
      command: "false"
      when: inventory_hostname == 't1'
${meta('clear_host_errors')}    - name: after
      command: "true"
- hosts: all
  tasks:
    - name: next play
      command: "true"
`);
    expect(r.steps).toEqual(['t1 fails: t1,t2', 'meta clear_host_errors: t2', 'after: t2', 'next play: t1,t2']);
    expect(r.report.hosts.t1!.failed).toBe(1);
  });

  it('reset_connection: the next task connects again; the round trips of both connections are counted', async () => {
    const r = await run(`- hosts: all
  gather_facts: false
  tasks:
    - name: before
      command: "true"
${meta('reset_connection')}    - name: after
      command: "true"
`);
    expect(r.results.sort()).toEqual([
      'after t1 changed',
      'after t2 changed',
      'before t1 changed',
      'before t2 changed',
      'meta reset_connection t1 ok',
      'meta reset_connection t2 ok',
    ]);
    // Each command: a probe and an apply (the probe of "after" could not ride along: the meta task ends the window).
    expect(r.report.hosts.t1!.round_trips).toBe(4);
  });
});

describe('add_host and group_by', () => {
  it('change the inventory for the rest of the run: later plays, groups, group_names and hostvars see it', async () => {
    const r = await run(
      `- hosts: all
  tasks:
    - name: add
      test_effect:
        effects: [{ kind: add_host, name: t3, groups: [added], vars: { color: blue } }]
      when: inventory_hostname == 't1'
    - name: group
      test_effect:
        effects: [{ kind: group_by, groups: ["by_{{ inventory_hostname }}"], parents: [all] }]
- hosts: added
  tasks:
    - name: new host with its vars
      command: "test '{{ color }}' = blue"
- hosts: by_t1
  tasks:
    - name: groups seen
      command: "test '{{ group_names | join(',') }} {{ groups['added'] | join(',') }} {{ hostvars['t3']['color'] }}' = 'by_t1 t3 blue'"
`,
      false,
    );
    expect(r.report.error).toBeUndefined();
    expect(r.results.filter((x) => !x.startsWith('add ') && !x.startsWith('group '))).toEqual([
      'new host with its vars t3 changed',
      'groups seen t1 changed',
    ]);
  });
});

describe('actions Ansible runs once for the batch (BYPASS_HOST_LOOP), as ansible-playbook 2.14', () => {
  it('add_host runs on the first host only, and only that host registers its result', async () => {
    // ansible-playbook 2.14 on three hosts: `changed: [h1]` only; groups['added'] == ['new-h1'];
    // `r is defined` is True on h1, False on h2 and h3.
    const r = await run(
      `- hosts: all
  tasks:
    - name: add
      add_host:
        name: "new-{{ inventory_hostname }}"
        groups: added
      register: r
    - name: seen
      command: "test '{{ groups['added'] | join(',') }} {{ r is defined }}' = 'new-t1 {{ inventory_hostname == 't1' }}'"
`,
      false,
    );
    expect(r.report.error).toBeUndefined();
    expect(r.steps).toEqual(['add: t1', 'seen: t1,t2']);
    expect([...r.results].sort()).toEqual(['add t1 changed', 'seen t1 changed', 'seen t2 changed']);
  });
});

describe('meta effects across plays and batches (as ansible-playbook 2.14)', () => {
  it('clear_host_errors also revives a host that failed in an earlier play', async () => {
    const r = await run(`- hosts: all
  tasks:
    - name: t1 fails
      command: "false"
      when: inventory_hostname == 't1'
- hosts: all
  tasks:
${meta('clear_host_errors')}- hosts: all
  tasks:
    - name: third play
      command: "true"
`);
    expect(r.steps).toEqual(['t1 fails: t1,t2', 'meta clear_host_errors: t2', 'third play: t1,t2']);
  });

  it('end_batch ends the serial batch only: the next batch runs the play', async () => {
    const r = await run(`- hosts: all
  serial: 1
  tasks:
    - name: a
      command: "true"
${meta('end_batch', "inventory_hostname == 't1'")}    - name: b
      command: "true"
`);
    expect(r.steps).toEqual(['a: t1', 'meta end_batch: t1', 'a: t2', 'meta end_batch: t2', 'b: t2']);
  });
});
