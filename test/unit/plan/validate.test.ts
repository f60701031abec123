import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, formatDiagnostic } from '../../../src/core/diagnostic.ts';
import { loadInventory } from '../../../src/input/inventory/index.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { planPlay, serialBatches, tagSelected } from '../../../src/plan/selection.ts';
import { resolveVars, UnresolvedVar, VarsBuilder } from '../../../src/input/inventory/vars-builder.ts';
import { renderValue } from '../../../src/template/engine.ts';
import { Undefined } from '../../../src/template/jinja/value.ts';
import { validateRun } from '../../../src/plan/validate.ts';

let dir: string;
const w = (rel: string, text: string) => {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-validate-'));
  w(
    'inventory/hosts.yml',
    `all:
  vars: { level: all, web_port: 80 }
  children:
    web:
      vars: { level: web }
      hosts:
        web1: { address: 10.77.0.21, level: host }
        web2: { address: 10.77.0.22 }
    db:
      hosts:
        db1: { address: 10.77.0.31 }
`,
  );
  w('inventory/group_vars/db.yml', 'app_port: "not-a-number"\n');
  w('roles/app/defaults/main.yml', 'app_port: 8080\nlevel: role-default\nonly_default: d\nchained: "{{ app_port }}-x"\n');
  w('roles/app/meta/argument_schema.yml', 'properties:\n  app_port: { type: integer }\n');
  w('roles/app/tasks/main.yml', '- name: dir\n  file: { path: "/srv/{{ app_port }}", state: directory }\n');
  w('templates/t.j2', 'ok {{ app_port }}\nbad {{ missing_var }}\n');
  w('good.yml', `- hosts: web\n  vars: { level: play }\n  roles: [app]\n`);
  w('bad-role-var.yml', `- hosts: db\n  roles: [app]\n`);
  w('bad-template.yml', `- hosts: web\n  roles: [app]\n  tasks:\n    - template: { src: t.j2, dest: /etc/t }\n`);
  w(
    'structure.yml',
    `- hosts: web
  varz: {}
  tasks:
    - name: two modules
      file: { path: /a }
      copy: { dest: /b, content: x }
    - name: bad type
      file: { path: /a, mode: "rwx" }
    - nme: typo
      file: { path: /a }
`,
  );
  w('syntax.yml', '- hosts: web\n  tasks:\n    - file: { path: /a\n');
  w(
    'plan.yml',
    `- hosts: all
  tasks:
    - { name: a, file: { path: /a }, tags: [web] }
    - { name: b, file: { path: /b }, tags: [db] }
    - { name: c, file: { path: /c }, tags: [always] }
- hosts: web
  tags: [db]
  tasks:
    - { name: d, file: { path: /d } }
`,
  );
  // The real firewall role, with a policy that has mistakes, defined in group_vars and inline in an inventory.
  symlinkSync(join(import.meta.dirname, '../../../roles/firewall'), join(dir, 'roles/firewall'));
  w('firewall.yml', '- hosts: all\n  roles: [firewall]\n');
  w(
    'fwinv/hosts.yml',
    `all:
  children:
    web: { hosts: { web1: { address: 10.77.0.21 } } }
    db: { hosts: { db1: { address: 10.77.0.31 } } }
`,
  );
  w(
    'fwinv/group_vars/all.yml',
    `firewall_admin_cidrs: [10.77.0.1/32]
firewall_policy:
  web:
    allow:
      - { port: 8080, from: lbb }
  dbb:
    allow:
      - { port: 3306, from: [web, wbe] }
  all:
    allow:
      - { port: 22, from: admin }
`,
  );
  w(
    'fwinv2/hosts.yml',
    `all:
  vars:
    firewall_admin_cidrs: [10.77.0.1/32]
    firewall_policy:
      all:
        allow:
          - { port: 22, from: admin }
          - { port: 99999, from: web }
  children:
    web: { hosts: { web1: { address: 10.77.0.21 } } }
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(playbook: string, extra: Record<string, unknown> = {}, inventory = 'inventory/hosts.yml'): string[] {
  try {
    validateRun({ playbook: join(dir, playbook), inventory: [join(dir, inventory)], extraVars: extra });
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map((d) => formatDiagnostic(d).replace(dir + '/', ''));
    throw err;
  }
  return [];
}

describe('validation', () => {
  it('accepts a good playbook', () => {
    expect(errorsOf('good.yml')).toEqual([]);
  });

  it('locates a role variable schema error at the variable definition', () => {
    expect(errorsOf('bad-role-var.yml')).toEqual(["inventory/group_vars/db.yml:1:1: role 'app': variable 'app_port' must be integer"]);
  });

  it('says a wrong role variable came from -e when it has no file position', () => {
    const errs = errorsOf('good.yml', { app_port: 'abc' });
    expect(errs.length).toBeGreaterThan(0);
    for (const e of errs) expect(e).toMatch(/role 'app': variable 'app_port' must be integer \(host \S+; set by extra vars \(-e\)\)$/);
  });

  it('locates a firewall policy mistake at the policy entry (group_vars or an inventory vars block), not at the role task', () => {
    const used = "(used by task 'firewall rules (atomic load, commit-confirm over a new SSH connection)', roles/firewall/tasks/main.yml:";
    const norm = (e: string) =>
      e.replace(/\(used by task '[^']+', \S*roles\/firewall\/tasks\/main\.yml:\d+:\d+\)$/, '(used by the role task)');
    expect(errorsOf('firewall.yml', {}, 'fwinv/hosts.yml').map(norm)).toEqual([
      "fwinv/group_vars/all.yml:5:29: firewall: firewall_policy.web.allow[0].from: unknown group or host 'lbb' (did you mean 'web'?); use any, admin, a group, a host or a CIDR (used by the role task)",
      "fwinv/group_vars/all.yml:6:3: firewall: firewall_policy.dbb: unknown group or host 'dbb' (did you mean 'db'?) (used by the role task)",
      "fwinv/group_vars/all.yml:8:35: firewall: firewall_policy.dbb.allow[0].from[1]: unknown group or host 'wbe' (did you mean 'web'?); use any, admin, a group, a host or a CIDR (used by the role task)",
    ]);
    expect(errorsOf('firewall.yml', {}, 'fwinv2/hosts.yml').map(norm)).toEqual([
      'fwinv2/hosts.yml:8:21: firewall: firewall_policy.all.allow[1].port: invalid port \'99999\' (a number 1-65535 or a range "a-b") (used by the role task)',
    ]);
    // The same mistake set with -e has no file: it is reported at the role task.
    const e = errorsOf('firewall.yml', { firewall_policy: { all: { allow: [{ port: 22, from: 'admn' }] } } }, 'fwinv2/hosts.yml');
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(
      /roles\/firewall\/tasks\/main\.yml:\d+:\d+: firewall: firewall_policy\.all\.allow\[0\]\.from: unknown group or host 'admn' \(did you mean 'admin'\?\)/,
    );
  });

  it('locates an undefined template variable in the template file', () => {
    const errs = errorsOf('bad-template.yml');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^templates\/t\.j2:2:\d+: 'missing_var' is undefined/);
  });

  it('reports all structural errors at once with line and column', () => {
    expect(errorsOf('structure.yml')).toEqual([
      "structure.yml:2:3: unknown play keyword 'varz' (did you mean 'vars'?)",
      'structure.yml:4:7: a task has exactly one module, found file, copy',
      'structure.yml:8:31: file: parameter \'mode\' must match pattern "^0?[0-7]{3,4}$" (octal mode, e.g. "0644"; a number is its value, as in Ansible: YAML reads 0644 as octal (0644) but 644 as decimal (01204), so quote it)',
      "structure.yml:9:7: unknown task keyword or module 'nme' (did you mean 'name'?)",
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const errs = errorsOf('syntax.yml');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]).toMatch(/^syntax\.yml:\d+:\d+: YAML syntax error/);
  });

  it('extra vars fix a bad value (highest precedence)', () => {
    expect(errorsOf('bad-role-var.yml', { app_port: 9000 })).toEqual([]);
  });
});

describe('variable precedence', () => {
  it('role defaults < all < group < host < play vars < extra vars', () => {
    const { inventory } = loadInventory(join(dir, 'inventory/hosts.yml'));
    const { playbook } = loadPlaybook(join(dir, 'good.yml'), { modules: moduleCatalog });
    const play = playbook.plays[0]!;
    const plain = new VarsBuilder(inventory, { extraVars: {}, check: false });
    expect(plain.forHost('web2', { ...play, vars: {} }, ['web2']).level).toBe('web');
    expect(plain.forHost('web1', { ...play, vars: {} }, ['web1']).level).toBe('host');
    expect(plain.forHost('web1', play, ['web1']).level).toBe('play');
    expect(plain.forHost('web1', play, ['web1']).only_default).toBe('d');
    const extra = new VarsBuilder(inventory, { extraVars: { level: 'extra' }, check: false });
    expect(extra.forHost('web1', play, ['web1']).level).toBe('extra');
    // A var defined as a template over another var is rendered.
    expect(plain.forHost('web1', play, ['web1']).chained).toBe('8080-x');
    const sources = plain.layers('web1', play).map((l) => l.source);
    expect(sources[0]).toBe('role app defaults');
    expect(sources.at(-1)).toBe('extra vars (-e)');
  });

  it('magic vars: groups, group_names, hostvars', () => {
    const { inventory } = loadInventory(join(dir, 'inventory/hosts.yml'));
    const { playbook } = loadPlaybook(join(dir, 'good.yml'), { modules: moduleCatalog });
    const v = new VarsBuilder(inventory, { extraVars: {}, check: false }).forHost('web1', playbook.plays[0]!, ['web1', 'web2']);
    expect(v.inventory_hostname).toBe('web1');
    expect(v.group_names).toEqual(['web']);
    expect((v.groups as Record<string, string[]>).db).toEqual(['db1']);
    expect((v.hostvars as Record<string, Record<string, unknown>>).db1!.address).toBe('10.77.0.31');
  });

  it('unresolvable templated vars fail only when used, naming the cause', () => {
    const r = resolveVars({ a: '{{ b }}', b: '{{ c }}', c: 1, d: '{{ nope }}', e: '{{ e2 }}', e2: '{{ e }}' });
    expect(r.a).toBe(1);
    // Over an undefined variable: undefined itself (is defined is false, default() applies), naming the missing one when used.
    expect(r.d).toBeInstanceOf(Undefined);
    expect(renderValue('{{ d | default("x") }}', r)).toBe('x');
    expect(() => renderValue('{{ d }}', r)).toThrow(/'nope' is undefined/);
    // A cycle: an error when used.
    expect(r.e).toBeInstanceOf(UnresolvedVar);
    expect(() => renderValue('{{ e }}', r)).toThrow(/variable 'e' cannot be rendered/);
  });
});

describe('the run plan', () => {
  it("validation returns each play's hosts (∩ --limit) and tag-selected tasks, as planPlay computes them", () => {
    const v = validateRun({
      playbook: join(dir, 'plan.yml'),
      inventory: [join(dir, 'inventory/hosts.yml')],
      extraVars: {},
      limit: 'web1:db1',
      tags: ['db'],
      skipTags: [],
    });
    const shape = (plan: typeof v.plan) => plan.plays.map((p) => ({ hosts: p.hosts, tasks: p.tasks.map((t) => t.name) }));
    expect(shape(v.plan)).toEqual([
      { hosts: ['web1', 'db1'], tasks: ['b', 'c'] },
      { hosts: ['web1'], tasks: ['d'] },
    ]);
    expect(v.plan.plays.map((p) => p.play)).toEqual(v.playbook.plays);
    const sel = { limit: 'web1:db1', tags: ['db'], skipTags: [] };
    expect(shape({ plays: v.playbook.plays.map((p) => planPlay(v.inventory, p, sel)) })).toEqual(shape(v.plan));
  });

  it('without --limit or tags, every host of the pattern and every task', () => {
    const v = validateRun({ playbook: join(dir, 'plan.yml'), inventory: [join(dir, 'inventory/hosts.yml')], extraVars: {} });
    expect(v.plan.plays.map((p) => [p.hosts, p.tasks.length])).toEqual([
      [['web1', 'web2', 'db1'], 3],
      [['web1', 'web2'], 1],
    ]);
  });
});

describe('tags and serial', () => {
  it('selects tasks like Ansible', () => {
    expect(tagSelected(['web'], [], [])).toBe(true);
    expect(tagSelected(['web'], ['db'], [])).toBe(false);
    expect(tagSelected(['always'], ['db'], [])).toBe(true);
    expect(tagSelected(['always'], [], ['always'])).toBe(false);
    expect(tagSelected(['never', 'debug'], [], [])).toBe(false);
    expect(tagSelected(['never', 'debug'], ['debug'], [])).toBe(true);
    expect(tagSelected(['web', 'slow'], ['web'], ['slow'])).toBe(false);
  });

  it('splits serial batches by number, percent and list', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    expect(serialBatches(hosts, undefined)).toEqual([hosts]);
    expect(serialBatches(hosts, 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(serialBatches(hosts, '40%')).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(serialBatches(hosts, [1, '100%'])).toEqual([['a'], ['b', 'c', 'd', 'e']]);
  });
});
