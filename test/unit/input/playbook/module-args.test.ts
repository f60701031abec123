/**
 * Module arguments as Ansible reads them: every option of every Ansible module Kiln runs
 * (src/modules/ansible/options.ts, from ansible-doc) maps to a Kiln parameter of the same meaning
 * or is refused; aliases are renamed; free-form `key=value` text and `args:`; command/shell keep
 * everything but their own options in the command line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../../src/core/diagnostic.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import type { TaskDef } from '../../../../src/input/playbook/types.ts';
import { adjustAnsibleArgs, ansibleArgsSpec, ansibleMappings } from '../../../../src/modules/ansible/mapping.ts';
import { ANSIBLE_OPTIONS } from '../../../../src/modules/ansible/options.ts';
import { getModule, moduleCatalog } from '../../../../src/modules/registry.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-module-args-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function load(tasks: string, files: Record<string, string> = {}): { tasks: TaskDef[]; errors: string[] } {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'pb.yml': `- hosts: all\n  tasks:\n${tasks}`, ...files })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  return { tasks: playbook.plays[0]?.tasks ?? [], errors: diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, '')) };
}

function params(task: string): Record<string, unknown> {
  const r = load(`    - ${task.replace(/\n/g, '\n      ')}\n`);
  expect(r.errors).toEqual([]);
  return r.tasks[0]!.params;
}

describe("Kiln's mapping covers every option of Ansible's modules", () => {
  for (const m of ansibleMappings()) {
    it(`${m.fqcn} → ${m.kiln}`, () => {
      const spec = ansibleArgsSpec(m.fqcn)!;
      const schema = getModule(m.kiln)!.schema;
      for (const [opt, o] of Object.entries({ ...(m.alsoOf ? ANSIBLE_OPTIONS[m.alsoOf] : {}), ...ANSIBLE_OPTIONS[m.fqcn] })) {
        for (const name of [opt, ...o.aliases]) {
          const kiln = spec.rename[name];
          // Either a Kiln parameter of the module, or refused with a reason.
          // (unarchive's deprecated `copy` is turned into remote_src by adjustAnsibleArgs, as its action plugin does.)
          if (m.fqcn === 'ansible.builtin.unarchive' && name === 'copy') continue;
          if (kiln !== undefined) expect(Object.keys(schema.properties ?? {}), `${m.fqcn} ${name} → ${kiln}`).toContain(kiln);
          else expect(spec.refused[name], `${m.fqcn} ${name}`).toMatch(/not supported|ignores|not an option|not a parameter/);
        }
      }
      // Every option Kiln takes as Ansible's is one of Ansible's.
      for (const opt of m.same)
        expect(Object.keys({ ...ANSIBLE_OPTIONS[m.fqcn], ...(m.alsoOf ? ANSIBLE_OPTIONS[m.alsoOf] : {}) })).toContain(opt);
    });
  }
});

describe('aliases and Ansible module names', () => {
  it('renames Ansible aliases to the Kiln parameter', () => {
    expect(params('file: { dest: /etc/x, state: directory }')).toEqual({ path: '/etc/x', state: 'directory' });
    expect(params('ansible.builtin.file: { name: /etc/x }')).toEqual({ path: '/etc/x' });
    expect(params('apt: { pkg: [nginx], update-cache: yes, install-recommends: no }')).toEqual({
      name: ['nginx'],
      update_cache: true,
      install_recommends: false,
    });
    expect(params('package: { package: nginx }')).toEqual({ name: 'nginx' });
    expect(params('user: { user: app, createhome: no }')).toEqual({ name: 'app', create_home: false });
    expect(params('lineinfile: { destfile: /etc/x, regex: "^a", value: a=1 }')).toEqual({ path: '/etc/x', regexp: '^a', line: 'a=1' });
    expect(params('ansible.posix.sysctl: { key: vm.swappiness, val: 10 }')).toEqual({ name: 'vm.swappiness', value: 10 });
    expect(params('systemd: { unit: nginx, daemon-reload: true }')).toEqual({ name: 'nginx', daemon_reload: true });
    expect(params('community.mysql.mysql_db: { db: app }')).toEqual({ name: 'app' });
    expect(params('community.mysql.mysql_replication: { master_host: db1, master_user: r, master_password: p }')).toEqual({
      primary_host: 'db1',
      primary_user: 'r',
      primary_password: 'p',
    });
  });

  it('resolves ansible.builtin. and ansible.legacy. names', () => {
    const r = load('    - ansible.legacy.copy: { dest: /x, content: y }\n    - ansible.builtin.systemd_service: { name: x }\n');
    expect(r.errors).toEqual([]);
    expect(r.tasks.map((t) => [t.module, t.ansibleModule])).toEqual([
      ['copy', 'ansible.legacy.copy'],
      ['service', 'ansible.builtin.systemd_service'],
    ]);
  });

  it('refuses Ansible options Kiln does not support, at the option', () => {
    // file's seuser/setype… are taken (a host with SELinux enabled fails the task); copy's are refused.
    expect(load('    - file: { path: /x, recurse: true, seuser: u }\n').errors).toEqual([
      "pb.yml:3:25: ansible.builtin.file's option 'recurse': not supported by Kiln's file module",
    ]);
    expect(load('    - copy: { dest: /x, content: y, seuser: u }\n').errors).toEqual([
      "pb.yml:3:37: ansible.builtin.copy's option 'seuser': not supported: SELinux contexts",
    ]);
    expect(load('    - copy: { dest: /x, src: y, decrypt: no }\n').errors).toEqual([
      "pb.yml:3:33: ansible.builtin.copy's option 'decrypt': not supported: decrypt",
    ]);
    // issue 17: remote_src is supported (a file on the host).
    expect(load('    - copy: { dest: /x, src: /y, remote_src: yes }\n').errors).toEqual([]);
    expect(load('    - command: ls warn=no\n').errors).toEqual([
      "pb.yml:3:16: ansible.builtin.command's option 'warn': not an option of ansible-core 2.14's command module",
    ]);
    expect(load('    - get_url: { url: "http://x", dest: /x, password: p }\n').errors[0]).toBe(
      "pb.yml:3:45: ansible.builtin.get_url's option 'url_password' (alias 'password'): not supported by Kiln's get_url module",
    );
  });

  it('refuses an option given twice under two names', () => {
    expect(load('    - file: { path: /x, dest: /y }\n').errors).toEqual([
      "pb.yml:3:25: file: 'dest' and 'path' are the same option ('path'); give it once",
    ]);
  });

  it("keeps Kiln's own parameters under Ansible's module names", () => {
    expect(params('service: { name: app, state: started, health_url: "http://127.0.0.1/" }')).toMatchObject({
      health_url: 'http://127.0.0.1/',
    });
    expect(params('tls_cert: { dest: /etc/x.pem }')).toEqual({ dest: '/etc/x.pem' });
  });
});

describe('free-form arguments (parse_kv)', () => {
  it('key=value for any module, quotes removed', () => {
    expect(params('package: name=nginx state=present')).toEqual({ name: 'nginx', state: 'present' });
    expect(params('copy: dest=/etc/motd content="Hello world"')).toEqual({ dest: '/etc/motd', content: 'Hello world' });
  });

  it('command/shell: only their own options leave the command line', () => {
    expect(params('command: iptables -A INPUT -j ACCEPT creates=/etc/iptables.saved')).toEqual({
      cmd: 'iptables -A INPUT -j ACCEPT',
      creates: '/etc/iptables.saved',
    });
    expect(params('shell: echo a=b > /tmp/x chdir=/tmp executable=/bin/bash')).toEqual({
      cmd: 'echo a=b > /tmp/x',
      chdir: '/tmp',
      executable: '/bin/bash',
    });
    expect(params('command: echo "x y"  z')).toEqual({ cmd: 'echo "x y"  z' });
  });

  it("args: under the module, the module's own arguments win", () => {
    expect(params('command: ls\nargs: { chdir: /srv, creates: /a }')).toEqual({ cmd: 'ls', chdir: '/srv', creates: '/a' });
    expect(params('file: { path: /b }\nargs: { path: /a, state: touch }')).toEqual({ path: '/b', state: 'touch' });
  });

  it('action: names the module and its arguments', () => {
    expect(params('action: { module: copy, dest: /x, content: y }')).toEqual({ dest: '/x', content: 'y' });
    expect(params('action: apt name=nginx')).toEqual({ name: 'nginx' });
  });

  it('refuses free text on modules without a free form, and a whole-template argument', () => {
    expect(load('    - file: /etc/x\n').errors).toEqual([
      'pb.yml:3:13: this task \'file\' has extra params, which is only allowed in the following modules: command, shell (found: "/etc/x")',
    ]);
    expect(load('    - file: "{{ file_args }}"\n').errors).toEqual([
      "pb.yml:3:13: file: a template as the module's whole arguments is not supported; give a mapping",
    ]);
    expect(params('command: ls cmd=x')).toEqual({ cmd: 'ls cmd=x' });
    expect(load('    - command: ls\n      args: { cmd: x }\n').errors).toEqual([
      "pb.yml:3:16: The 'cmd' argument cannot be used when other raw parameters are specified.",
    ]);
    expect(load('    - copy: dest=/x content="unterminated\n').errors[0]).toMatch(/^pb\.yml:3:13: copy: failed at splitting arguments/);
  });
});

describe("unarchive's deprecated copy, as its action plugin reads it", () => {
  it('copy: no is remote_src: true, copy: yes is remote_src: false; with remote_src as well both stay (refused)', () => {
    const adjusted = (p: Record<string, unknown>) => {
      const out = { ...p };
      adjustAnsibleArgs('ansible.builtin.unarchive', out);
      return out;
    };
    expect(adjusted({ src: 'a.tgz', dest: '/x', copy: false })).toEqual({ src: 'a.tgz', dest: '/x', remote_src: true });
    expect(adjusted({ src: 'a.tgz', dest: '/x', copy: 'no' })).toEqual({ src: 'a.tgz', dest: '/x', remote_src: true });
    expect(adjusted({ src: 'a.tgz', dest: '/x', copy: 'yes' })).toEqual({ src: 'a.tgz', dest: '/x', remote_src: false });
    expect(adjusted({ src: 'a.tgz', dest: '/x', copy: false, remote_src: true })).toEqual({
      src: 'a.tgz',
      dest: '/x',
      copy: false,
      remote_src: true,
    });
  });
});
