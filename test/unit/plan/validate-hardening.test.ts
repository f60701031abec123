/**
 * Issue 15, item 6: inputs that used to pass `kiln validate` and reach hosts. Each is now either a
 * located error from `kiln validate` (exit 2, no host: the inventory's address is unroutable and
 * nothing connects) or means exactly what it means in Ansible (checked with ansible-playbook 2.14
 * on a local-connection inventory; the tables below are its results).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { projectValidator } from '../../helpers/validate-project.ts';
import { EXIT } from '../../../src/core/diagnostic.ts';
import { serialBatches } from '../../../src/plan/selection.ts';
import { normMode } from '../../../src/modules/files/attrs.ts';
import { compileRe } from '../../../src/modules/files/lineinfile.ts';

const validate = projectValidator(
  'validate-hardening',
  'all:\n  hosts:\n    web1: { address: 10.0.0.1 }\n    web2: { address: 10.0.0.2 }\n',
);

/** The error lines (without the summary line). */
async function errors(pb: string, files: Record<string, string> = {}): Promise<string[]> {
  const r = await validate({ 'pb.yml': pb, ...files });
  const lines = r.err.filter((l) => !/error(s)?; nothing was run/.test(l));
  if (lines.length) expect(r.code).toBe(EXIT.invalid);
  else expect(r.code).toBe(0);
  return lines;
}

const play = (serial: string) => `- hosts: all\n  serial: ${serial}\n  tasks:\n    - file: { path: /tmp/x, state: directory }\n`;

beforeEach(() => {
  process.exitCode = 0;
});

describe('serial, as Ansible reads it', () => {
  it('splits batches as ansible-playbook 2.14 does (5 hosts)', () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];
    const all = [hosts];
    const ones = hosts.map((h) => [h]);
    // serial value → batches, from ansible-playbook's ansible_play_batch.
    const oracle: [unknown, string[][]][] = [
      ['0', all],
      [0, all],
      [[1, '0%'], ones],
      [-1, all],
      ['-1', all],
      ['0%', ones],
      ['-10%', ones],
      ['150%', all],
      [[], all],
      [[0], all],
      [
        [2, 0],
        [
          ['h1', 'h2'],
          ['h3', 'h4', 'h5'],
        ],
      ],
      [
        [1, -1, 2],
        [['h1'], ['h2', 'h3', 'h4', 'h5']],
      ],
      [' 2 ', [['h1', 'h2'], ['h3', 'h4'], ['h5']]],
      ['2 %', ones],
      ['1_0', all],
      ['40%', [['h1', 'h2'], ['h3', 'h4'], ['h5']]],
      [
        [1, '100%'],
        [['h1'], ['h2', 'h3', 'h4', 'h5']],
      ],
      ['-40%', all],
      ['+2', [['h1', 'h2'], ['h3', 'h4'], ['h5']]],
    ];
    for (const [serial, batches] of oracle) expect(serialBatches(hosts, serial as never), JSON.stringify(serial)).toEqual(batches);
  });

  it('accepts what Ansible accepts', async () => {
    for (const s of ['"0"', '0', '[1, "0%"]', '-1', '[]', '" 2 "', '"-10%"']) expect(await errors(play(s)), s).toEqual([]);
  });

  it('refuses what Ansible fails the run on (and booleans, floats, templates), located at the value or the list item', async () => {
    const cases: [string, string][] = [
      ['abc', "pb.yml:2:11: serial: invalid literal for int() with base 10: 'abc'"],
      ['"abc%"', "pb.yml:2:11: serial: invalid literal for int() with base 10: 'abc'"],
      ['"1.5"', "pb.yml:2:11: serial: invalid literal for int() with base 10: '1.5'"],
      ['"1.5%"', "pb.yml:2:11: serial: invalid literal for int() with base 10: '1.5'"],
      ['[2, abc]', "pb.yml:2:15: serial: invalid literal for int() with base 10: 'abc'"],
      ['1.5', 'pb.yml:2:11: serial: 1.5 is not a whole number (Ansible would truncate it to 1)'],
      ['true', 'pb.yml:2:11: serial: a boolean is not a batch size'],
      ['null', 'pb.yml:2:11: serial: an empty value is not a batch size'],
      ['{a: 1}', 'pb.yml:2:11: serial: a mapping is not a batch size'],
      ['[[1]]', 'pb.yml:2:12: serial: a nested list is not a batch size'],
      ['"{{ n }}"', 'pb.yml:2:11: serial: a template is not supported here'],
    ];
    for (const [s, msg] of cases) {
      const errs = await errors(play(s));
      expect(errs, s).toHaveLength(1);
      expect(errs[0], s).toContain(msg);
    }
  });
});

describe('mode', () => {
  it('a number is the mode it is in Ansible (its value), a text its octal digits', () => {
    // ansible-playbook 2.14, file state=touch: mode 999 → 1747, 644 → 1204, YAML 0644 (420) → 644.
    expect(normMode(999)).toBe('1747');
    expect(normMode(644)).toBe('1204');
    expect(normMode(0o644)).toBe('0644');
    expect(normMode('644')).toBe('0644');
    expect(normMode('0755')).toBe('0755');
    expect(() => normMode(5000)).toThrow(/from 0 to 4095/);
    expect(() => normMode(-1)).toThrow(/from 0 to 4095/);
  });

  it('refuses at validate a mode Ansible would never converge on or refuses on the host', async () => {
    const task = (mode: string) => `- hosts: all\n  tasks:\n    - copy: { dest: /tmp/x, content: x, mode: ${mode} }\n`;
    expect(await errors(task('5000'))).toEqual([
      expect.stringMatching(/^pb\.yml:3:47: copy: parameter 'mode' must be <= 4095 \(octal mode/),
    ]);
    expect(await errors(task('-1'))).toEqual([expect.stringMatching(/^pb\.yml:3:47: copy: parameter 'mode' must be >= 0/)]);
    expect(await errors(task('"0999"'))).toEqual([expect.stringMatching(/^pb\.yml:3:47: copy: parameter 'mode' must match pattern/)]);
    expect(await errors(task('"u=rwx"'))).toEqual([expect.stringMatching(/^pb\.yml:3:47: copy: parameter 'mode' must match pattern/)]);
    expect(await errors(task('"017777"'))).toEqual([expect.stringMatching(/^pb\.yml:3:47: copy: parameter 'mode' must match pattern/)]);
    expect(await errors(task('999'))).toEqual([]);
    expect(await errors(task('0644'))).toEqual([]);
  });
});

describe('role arguments', () => {
  const role = {
    'roles/app/meta/argument_schema.yml': 'properties:\n  app_port: { type: integer, maximum: 65535 }\n',
    'roles/app/tasks/main.yml': '- file: { path: "/srv/{{ app_port }}", state: directory }\n',
  };

  it('a role parameter is checked against the role schema, located at the parameter', async () => {
    expect(await errors('- hosts: all\n  roles:\n    - role: app\n      app_port: 99999\n', role)).toEqual([
      "pb.yml:4:17: role 'app': variable 'app_port' must be <= 65535",
    ]);
  });

  it('each instance of a role listed twice with other parameters is checked', async () => {
    expect(
      await errors('- hosts: all\n  roles:\n    - role: app\n      app_port: 80\n    - role: app\n      app_port: 99999\n', role),
    ).toEqual(["pb.yml:6:17: role 'app': variable 'app_port' must be <= 65535"]);
  });

  it('a role with no tasks (handlers only, or vars only, or a dependency) is checked too', async () => {
    const schema = { 'roles/app/meta/argument_schema.yml': role['roles/app/meta/argument_schema.yml'] };
    const handlersOnly = { ...schema, 'roles/app/handlers/main.yml': '- name: restart\n  command: /bin/true\n' };
    expect(await errors('- hosts: all\n  roles:\n    - role: app\n      app_port: 99999\n', handlersOnly)).toEqual([
      "pb.yml:4:17: role 'app': variable 'app_port' must be <= 65535",
    ]);
    const varsOnly = { ...schema, 'roles/app/defaults/main.yml': 'app_port: 8080\n' };
    expect(await errors('- hosts: all\n  roles:\n    - role: app\n      app_port: 99999\n', varsOnly)).toEqual([
      "pb.yml:4:17: role 'app': variable 'app_port' must be <= 65535",
    ]);
    expect(await errors('- hosts: all\n  roles:\n    - { role: app, vars: { app_port: abc } }\n', varsOnly)).toEqual([
      "pb.yml:3:38: role 'app': variable 'app_port' must be integer",
    ]);
    // The role's own vars/main.yml is in its scope too.
    expect(await errors('- hosts: all\n  roles: [app]\n', { ...schema, 'roles/app/vars/main.yml': 'app_port: 70000\n' })).toEqual([
      "roles/app/vars/main.yml:1:11: role 'app': variable 'app_port' must be <= 65535",
    ]);
    expect(
      await errors('- hosts: all\n  roles: [web]\n', {
        ...varsOnly,
        'roles/web/meta/main.yml': 'dependencies:\n  - role: app\n    app_port: 99999\n',
      }),
    ).toEqual(["roles/web/meta/main.yml:3:15: role 'app': variable 'app_port' must be <= 65535"]);
    expect(await errors('- hosts: all\n  roles:\n    - role: app\n      app_port: 8081\n', varsOnly)).toEqual([]);
  });

  it("a role entry's vars, an import_role's vars and a dependency's parameters are located too", async () => {
    expect(await errors('- hosts: all\n  roles:\n    - { role: app, vars: { app_port: abc } }\n', role)).toEqual([
      "pb.yml:3:38: role 'app': variable 'app_port' must be integer",
    ]);
    expect(await errors('- hosts: all\n  tasks:\n    - import_role: { name: app }\n      vars: { app_port: 99999 }\n', role)).toEqual([
      "pb.yml:4:25: role 'app': variable 'app_port' must be <= 65535",
    ]);
    expect(
      await errors('- hosts: all\n  roles: [web]\n', {
        ...role,
        'roles/web/meta/main.yml': 'dependencies:\n  - role: app\n    app_port: 99999\n',
        'roles/web/tasks/main.yml': '- file: { path: /srv/web, state: directory }\n',
      }),
    ).toEqual(["roles/web/meta/main.yml:3:15: role 'app': variable 'app_port' must be <= 65535"]);
  });
});

describe('conditions', () => {
  it('an undefined variable in failed_when / changed_when is reported, at the condition', async () => {
    expect(await errors('- hosts: all\n  tasks:\n    - command: id\n      failed_when: nope == 1\n')).toEqual([
      "pb.yml:4:20: failed_when: 'nope' is undefined: it is defined nowhere (inventory, vars, roles, registered results, facts, extra vars)",
    ]);
    expect(
      await errors('- hosts: all\n  tasks:\n    - command: id\n      changed_when: "r.rc == 0 and nope"\n      register: r\n'),
    ).toEqual([
      "pb.yml:4:36: changed_when: 'nope' is undefined: it is defined nowhere (inventory, vars, roles, registered results, facts, extra vars)",
    ]);
    // The task's own registered result, and guarded names, are fine.
    expect(
      await errors('- hosts: all\n  tasks:\n    - command: id\n      register: r\n      failed_when: r.rc != 0 and x is defined\n'),
    ).toEqual([]);
  });

  it('an undefined variable in when is reported at the condition', async () => {
    expect(await errors('- hosts: all\n  tasks:\n    - file: { path: /tmp/x }\n      when: nope\n')).toEqual([
      expect.stringMatching(/^pb\.yml:4:13: when: 'nope' is undefined/),
    ]);
  });

  it('a Jinja syntax error in a condition is located inside the value', async () => {
    expect(await errors('- hosts: all\n  tasks:\n    - command: id\n      changed_when: "rc == == 1"\n')).toEqual([
      "pb.yml:4:28: changed_when: unexpected '=='",
    ]);
    expect(await errors('- hosts: all\n  tasks:\n    - command: id\n      when: "x ==="\n')).toEqual([
      expect.stringMatching(/^pb\.yml:4:18: when: unexpected '='/),
    ]);
    expect(await errors('- hosts: all\n  tasks:\n    - command: id\n      failed_when: (rc\n')).toEqual([
      expect.stringMatching(/^pb\.yml:4:20: failed_when: unexpected '}', expected '\)'/),
    ]);
  });
});

describe('register names', () => {
  it('register: dest does not mute the checks of a later task with a dest parameter', async () => {
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: dest\n    - copy: { dest: /tmp/x, content: x, mode: 5000 }\n',
      ),
    ).toEqual([expect.stringMatching(/^pb\.yml:5:47: copy: parameter 'mode' must be <= 4095/)]);
    expect(
      await errors('- hosts: all\n  tasks:\n    - command: id\n      register: path\n    - file: { path: /tmp/x, state: directorry }\n'),
    ).toEqual([expect.stringMatching(/^pb\.yml:5:36: file: parameter 'state' must be one of/)]);
  });

  it('a task waiting for a registered result still has its literal parameters checked (not its templated ones)', async () => {
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: r\n    - copy: { dest: "/tmp/{{ r.stdout }}", content: x, mode: 5000, bogus: 1 }\n',
      ),
    ).toEqual([
      expect.stringMatching(/^pb\.yml:5:62: copy: parameter 'mode' must be <= 4095/),
      expect.stringMatching(/^pb\.yml:5:68: copy: unknown parameter 'bogus'/),
    ]);
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: r\n    - file: { path: "/tmp/{{ r.stdout }}", state: "{{ r.stdout }}" }\n',
      ),
    ).toEqual([]);
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: r\n      notify: h\n  handlers:\n    - name: h\n      file: { path: "/tmp/{{ r.stdout }}", state: dir }\n',
      ),
    ).toEqual([expect.stringMatching(/^pb\.yml:8:51: file: parameter 'state' must be one of/)]);
  });

  it('a result reached through hostvars by name still makes the task wait', async () => {
    expect(
      await errors(
        `- hosts: all\n  tasks:\n    - command: id\n      register: r\n    - file: { path: "/tmp/{{ hostvars[inventory_hostname]['r'].stdout }}" }\n`,
      ),
    ).toEqual([]);
  });

  it('a task that does use the registered result still waits for it', async () => {
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: dest\n    - copy: { dest: "/tmp/{{ dest.stdout }}", content: x }\n',
      ),
    ).toEqual([]);
  });
});

describe('regular expressions (Python re)', () => {
  it("lineinfile's regexp, insertafter and insertbefore are compiled as Python's re at validate", async () => {
    const task = (k: string, re: string) =>
      `- hosts: all\n  tasks:\n    - lineinfile: { path: /etc/x, line: y, ${k}: ${JSON.stringify(re)} }\n`;
    expect(await errors(task('regexp', 'a(b'))).toEqual([
      "pb.yml:3:52: lineinfile: parameter 'regexp' is not a valid Python regular expression: missing ), unterminated subpattern at position 1",
    ]);
    expect(await errors(task('insertafter', '[a'))).toEqual([
      "pb.yml:3:57: lineinfile: parameter 'insertafter' is not a valid Python regular expression: unterminated character set at position 0",
    ]);
    expect(await errors(task('insertbefore', '*a'))).toEqual([
      "pb.yml:3:58: lineinfile: parameter 'insertbefore' is not a valid Python regular expression: nothing to repeat at position 0",
    ]);
    // Python syntax that JavaScript lacks is fine.
    expect(await errors(task('regexp', '(?i)^(?P<k>port)\\s*=.*\\Z'))).toEqual([]);
  });

  it('matches as Python does (a bytes pattern: ASCII classes; \\Z; inline flags)', () => {
    expect(compileRe('(?i)^PORT\\Z', 'regexp').test('port')).toBe(true);
    expect(compileRe('^\\w+$', 'regexp').test('é')).toBe(false);
    expect(compileRe('^(?P<k>\\w+)=', 'regexp').exec('a=1')?.groups?.k).toBe('a');
  });

  it('also in a task that waits for a registered result or is never rendered, and in regex filters and tests', async () => {
    expect(
      await errors(
        '- hosts: all\n  tasks:\n    - command: id\n      register: r\n    - lineinfile: { path: /etc/x, regexp: "*a", line: "{{ r.stdout }}" }\n',
      ),
    ).toEqual([expect.stringMatching(/^pb\.yml:5:43: lineinfile: parameter 'regexp' is not a valid Python regular expression/)]);
    expect(
      await errors(`- hosts: all\n  tasks:\n    - file: { path: "/tmp/{{ 'abc' | regex_replace('a(b', 'x') }}" }\n      when: false\n`),
    ).toEqual([expect.stringMatching(/^pb\.yml:3:52: regex_replace: "a\(b" is not a valid Python regular expression/)]);
    expect(
      await errors('- hosts: all\n  tasks:\n    - command: id\n      register: r\n      changed_when: r.stdout is search("(?P<x>a")\n'),
    ).toEqual([expect.stringMatching(/^pb\.yml:5:40: changed_when: search: "\(\?P<x>a" is not a valid Python regular expression/)]);
    expect(await errors('- hosts: all\n  tasks:\n    - file: { path: /tmp/x }\n      when: inventory_hostname is match("h[")\n')).toEqual([
      expect.stringMatching(/^pb\.yml:4:35: when: re\.error: unterminated character set/),
    ]);
  });
});
