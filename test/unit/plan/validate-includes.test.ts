/**
 * `kiln validate` reaches into dynamic includes (issue 16, A2): a literal (or host-renderable)
 * include is loaded and its tasks validated per host as if spliced in; one whose name depends on
 * run-time values validates every candidate file matching its literal parts, and says so in a
 * note (not an error, not silent).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../../src/core/diagnostic.ts';
import { validateRun } from '../../../src/plan/validate.ts';
import { projectValidator } from '../../helpers/validate-project.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-validate-inc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const INV = 'all:\n  hosts:\n    web1: { address: 10.77.0.21, os: debian }\n    web2: { address: 10.77.0.22, os: other }\n';

function run(pb: string, files: Record<string, string>): { errors: string[]; notes: string[] } {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'pb.yml': pb, 'inventory/hosts.yml': INV, ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const strip = (s: string) => s.replaceAll(`${dir}/`, '');
  try {
    const v = validateRun({ playbook: join(dir, 'pb.yml'), inventory: [join(dir, 'inventory/hosts.yml')], extraVars: {} });
    return { errors: [], notes: v.notes.map((d) => strip(formatDiagnostic(d))) };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { errors: err.diagnostics.map((d) => strip(formatDiagnostic(d))), notes: [] };
  }
}

describe('validate: dynamic includes', () => {
  it('a literal include is validated as if spliced in (an error in it is located there)', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: inc.yml\n', {
      'inc.yml': '- name: ok\n  file: { path: /a }\n- name: bad\n  file: { path: /b, state: sideways }\n',
    });
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^inc\.yml:4:/);
    expect(r.errors[0]).toMatch(/parameter 'state' must be one of/);
  });

  it('nested: an include in an included file, in a block, is validated too', () => {
    const r = run('- hosts: all\n  tasks:\n    - block:\n        - include_tasks: sub/a.yml\n', {
      'sub/a.yml': '- block:\n    - include_tasks: b.yml\n  rescue:\n    - file: { path: /r }\n',
      'sub/b.yml': '- fil: { path: /x }\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^sub\/b\.yml:1:3: unknown module 'fil'/)]);
  });

  it("a name that renders with the host's variables: each host's file is validated", () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: "os-{{ os }}.yml"\n', {
      'os-debian.yml': '- file: { path: /d }\n',
      'os-other.yml': '- file: { path: /o, mode: "rwx" }\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^os-other\.yml:1:\d+: file: parameter 'mode' must match/)]);
  });

  it('a missing file with a literal name is a located error', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: nope.yml\n', {});
    expect(r.errors).toEqual([expect.stringMatching(/^pb\.yml:3:22: Could not find or access 'nope\.yml'/)]);
  });

  it('a name that depends on run-time values: every candidate file is validated, and a note says so', () => {
    const pb = `- hosts: all
  tasks:
    - command: uname -s
      register: kernel
    - include_tasks: "setup-{{ kernel.stdout }}.yml"
    - include_tasks: "none-{{ kernel.stdout }}.yml"
`;
    const ok = run(pb, { 'setup-Linux.yml': '- file: { path: /l }\n', 'setup-BSD.yml': '- file: { path: /b }\n' });
    // In a role: a name found in the role's tasks/ hides the same name beside the playbook (never used for it).
    const inRole = run('- hosts: all\n  roles: [r]\n', {
      'roles/r/tasks/main.yml': '- command: uname -s\n  register: k\n- include_tasks: "os-{{ k.stdout }}.yml"\n',
      'roles/r/tasks/os-Linux.yml': '- file: { path: /l }\n',
      'os-Linux.yml': '- fil: {}\n',
      'os-BSD.yml': '- file: { path: /b }\n',
    });
    expect(inRole.errors).toEqual([]);
    expect(inRole.notes).toEqual([
      "roles/r/tasks/main.yml:3:18: include_tasks 'os-{{ k.stdout }}.yml' depends on k, known at run time: validated the candidate files roles/r/tasks/os-Linux.yml, os-BSD.yml",
    ]);
    expect(ok.errors).toEqual([]);
    expect(ok.notes).toEqual([
      "pb.yml:5:22: include_tasks 'setup-{{ kernel.stdout }}.yml' depends on kernel, known at run time: validated the candidate files setup-BSD.yml, setup-Linux.yml",
      "pb.yml:6:22: include_tasks 'none-{{ kernel.stdout }}.yml' depends on kernel, known at run time: no candidate file",
    ]);
    const bad = run(pb, { 'setup-Linux.yml': '- file: { path: /l }\n', 'setup-BSD.yml': '- fil: { path: /b }\n' });
    expect(bad.errors).toEqual([expect.stringMatching(/^setup-BSD\.yml:1:3: unknown module 'fil'/)]);
  });

  it('a loop over a literal file: each item validated with its loop variable', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: each.yml\n      loop: [a, "rwx"]\n', {
      'each.yml': '- file: { path: "/x/{{ item }}", mode: "{{ item }}" }\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^each\.yml:1:\d+: file: parameter 'mode' must match/)]);
  });

  it('a condition false on a host: its include is not validated there', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: "os-{{ os }}.yml"\n      when: os == "debian"\n', {
      'os-debian.yml': '- file: { path: /d }\n',
    });
    expect(r.errors).toEqual([]);
  });

  it('a registered name used after an include is known: the task using it waits for the run', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: reg.yml\n    - file: { path: "/{{ out.stdout }}" }\n', {
      'reg.yml': '- command: echo hi\n  register: out\n',
    });
    expect(r.errors).toEqual([]);
  });

  it('include_role: the role (its dependencies, tasks_from, role defaults) validated for each host', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_role: { name: r, tasks_from: other }\n', {
      'roles/r/defaults/main.yml': 'mode_r: "rwx"\n',
      'roles/r/meta/main.yml': 'dependencies: [d]\n',
      'roles/r/tasks/main.yml': '- fil: {}\n',
      'roles/r/tasks/other.yml': '- file: { path: /r, mode: "{{ mode_r }}" }\n',
      'roles/d/tasks/main.yml': '- file: { path: /d }\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^roles\/r\/tasks\/other\.yml:1:\d+: file: parameter 'mode' must match/)]);
    const templated = run(
      '- hosts: all\n  tasks:\n    - command: echo web\n      register: kind\n    - include_role: { name: "app_{{ kind.stdout }}" }\n',
      { 'roles/app_web/tasks/main.yml': '- file: { path: /w }\n', 'roles/app_db/tasks/main.yml': '- fil: {}\n' },
    );
    expect(templated.errors).toEqual([expect.stringMatching(/^roles\/app_db\/tasks\/main\.yml:1:3: unknown module 'fil'/)]);
    const noted = run(
      '- hosts: all\n  tasks:\n    - command: echo web\n      register: kind\n    - include_role: { name: "app_{{ kind.stdout }}" }\n',
      { 'roles/app_web/tasks/main.yml': '- file: { path: /w }\n' },
    );
    expect(noted.notes).toEqual([
      "pb.yml:5:29: include_role 'app_{{ kind.stdout }}' depends on kind, known at run time: validated the candidate role app_web",
    ]);
    const missing = run('- hosts: all\n  tasks:\n    - include_role: { name: nope }\n', {});
    expect(missing.errors).toEqual([expect.stringMatching(/^pb\.yml:3:\d+: role 'nope' not found/)]);
  });
});

describe('validate: names only the run defines, reached indirectly', () => {
  it('an include after an include_vars of run-time names: its tasks are checked at run time (their literal params now)', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_vars: "{{ ansible_facts.os_family }}.yml"\n    - include_tasks: inc.yml\n', {
      'Debian.yml': 'sshd_name: ssh\n',
      'inc.yml': '- service: { name: "{{ sshd_name }}", state: started }\n- file: { path: /x, state: sideways }\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^inc\.yml:2:\d+: file: parameter 'state' must be one of/)]);
  });

  it('a fact reached through a variable (a role default over ansible_facts) is a run-time name, as a direct one is', () => {
    const r = run(
      '- hosts: all\n  vars:\n    dist: "{{ ansible_facts.distribution | lower }}"\n  tasks:\n    - file: { path: "/tmp/{{ dist }}", state: absent }\n    - file: { path: "/tmp/{{ typo }}", state: absent }\n',
      {},
    );
    expect(r.errors).toEqual([expect.stringMatching(/^pb\.yml:6:\d+: file: 'typo' is undefined/)]);
  });
});

describe('selection of included tasks', () => {
  it('-t: an included task is checked only when selected by its own tags (apply, blocks, play)', () => {
    const dir = join(root, String(n++));
    const files: Record<string, string> = {
      'pb.yml': '- hosts: all\n  tasks:\n    - include_tasks: { file: t.yml, apply: { tags: [web] } }\n      tags: [web]\n',
      'inventory/hosts.yml': INV,
      't.yml': '- fil: {}\n  tags: [db]\n- file: { path: /x, mode: "rwx" }\n  tags: [other]\n',
    };
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    const errs = (tags: string[]) => {
      try {
        validateRun({ playbook: join(dir, 'pb.yml'), inventory: [join(dir, 'inventory/hosts.yml')], extraVars: {}, tags });
        return [];
      } catch (err) {
        return (err as InputError).diagnostics.map((d) => d.message);
      }
    };
    // With -t web the include and both its tasks (apply: web) are selected; with -t db the include is not, so neither is checked.
    expect(errs(['web']).filter((m) => m.includes('rwx') || m.includes('mode'))).toHaveLength(1);
    expect(errs(['db']).filter((m) => m.includes('mode'))).toHaveLength(0);
  });
});

describe('validate: includes that recur', () => {
  it('a file including itself (guarded by a condition) is validated once, without looping', () => {
    const r = run('- hosts: all\n  tasks:\n    - include_tasks: again.yml\n', {
      'again.yml': '- file: { path: /x, mode: "rwx" }\n- include_tasks: again.yml\n  when: stop is not defined\n',
    });
    expect(r.errors).toEqual([expect.stringMatching(/^again\.yml:1:\d+: file: parameter 'mode'/)]);
  });
});

describe('kiln validate prints the notes on stdout', () => {
  const validate = projectValidator('validate-inc-cli', INV);
  it('a note per include validated through candidates, then ok; exit 0', async () => {
    const r = await validate({
      'pb.yml': '- hosts: all\n  tasks:\n    - command: uname -s\n      register: k\n    - include_tasks: "os-{{ k.stdout }}.yml"\n',
      'os-Linux.yml': '- file: { path: /l }\n',
    });
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toEqual([
      expect.stringMatching(
        /^note: .*pb\.yml:5:22: include_tasks 'os-\{\{ k\.stdout \}\}\.yml' depends on k, known at run time: validated the candidate file os-Linux\.yml$/,
      ),
      'ok: 1 play(s), 2 task(s), 2 host(s)',
    ]);
  });
});
