/**
 * Modules for other operating systems (issue 16): a role that branches on the OS (`yum:` when
 * RedHat, `apt:` when Debian) loads, its other-OS tasks as tasks of the `foreign` module; such a
 * task is an error, located, wherever it would run on a targeted host: at validation when its
 * `when:` holds then (or it has none). The list is Ansible's (test/fixtures/ansible/other-os-modules.json,
 * from ansible-doc and ansible-core's builtin routing): each name loads as Ansible resolves it
 * (short, ansible.builtin., ansible.legacy. or its own collection), and any other unknown module
 * is still refused when the playbook is loaded.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../../../src/core/diagnostic.ts';
import { OTHER_OS_MODULES, otherOsModule } from '../../../../src/input/playbook/keywords.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';
import { validateRun } from '../../../../src/plan/validate.ts';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/ansible/other-os-modules.json'), 'utf8')) as {
  modules: Record<string, { collection: string; name: string; short_name_resolves: boolean }>;
};
const entries = Object.values(fixture.modules);

const root = mkdtempSync(join(tmpdir(), 'kiln-other-os-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function project(pb: string): string {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({
    'pb.yml': pb,
    'hosts.yml': 'all:\n  hosts:\n    h1: { os: Debian }\n    h2: { os: RedHat }\n',
  })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

/** The loader's errors for a playbook (paths relative to its directory). */
function loadErrors(pb: string): { errors: string[]; modules: string[] } {
  const dir = project(pb);
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  return {
    errors: diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, '')),
    modules: playbook.plays.flatMap((p) => p.tasks.map((t) => `${t.ansibleModule}→${t.module}`)),
  };
}

/** `kiln validate`'s errors (empty when it validates). */
function validateErrors(pb: string): string[] {
  const dir = project(pb);
  try {
    validateRun({ playbook: join(dir, 'pb.yml'), inventory: [join(dir, 'hosts.yml')], extraVars: {} });
    return [];
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, ''));
  }
}

const play = (tasks: string) => `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`;

describe('the other-OS module list is Ansible’s', () => {
  it('holds exactly the modules of the fixture, each from its collection', () => {
    expect(Object.fromEntries(OTHER_OS_MODULES)).toEqual(Object.fromEntries(entries.map((e) => [e.name, e.collection])));
    expect(entries.length).toBeGreaterThan(150);
    for (const name of [
      'yum',
      'dnf',
      'yum_repository',
      'rpm_key',
      'pacman',
      'zypper',
      'apk',
      'pkgng',
      'homebrew',
      'portage',
      'openbsd_pkg',
    ])
      expect(OTHER_OS_MODULES.has(name), name).toBe(true);
  });

  it.each(entries.map((e) => [`${e.collection}.${e.name}`, e] as const))('%s resolves as in Ansible', (_fqcn, e) => {
    expect(otherOsModule(`${e.collection}.${e.name}`)).toBe(e.name);
    const short = e.short_name_resolves ? e.name : undefined;
    expect(otherOsModule(e.name)).toBe(short);
    expect(otherOsModule(`ansible.builtin.${e.name}`)).toBe(short);
    expect(otherOsModule(`ansible.legacy.${e.name}`)).toBe(short);
  });

  it('names not in the list, or in another collection, are not other-OS modules', () => {
    expect(otherOsModule('apt')).toBeUndefined();
    expect(otherOsModule('win_nosuch')).toBeUndefined();
    expect(otherOsModule('community.general.yum')).toBeUndefined();
    expect(otherOsModule('ansible.windows.pacman')).toBeUndefined();
  });
});

describe('loading', () => {
  it('a task of an other-OS module loads as a foreign task, written any way Ansible takes', () => {
    const r = loadErrors(
      play(`    - yum: name=httpd
      when: false
    - ansible.builtin.dnf: { name: "{{ nowhere_defined }}" }
      when: false
    - community.general.pacman: name=x
      when: false
    - action: zypper name=x
      when: false
    - action: { module: win_service, name: x }
      when: false
    - apt: name=curl
`),
    );
    expect(r.errors).toEqual([]);
    expect(r.modules).toEqual([
      'yum→foreign',
      'ansible.builtin.dnf→foreign',
      'community.general.pacman→foreign',
      'zypper→foreign',
      'win_service→foreign',
      'apt→package',
    ]);
  });

  it('other unknown modules are refused when the playbook is loaded, located, as before', () => {
    const r = loadErrors(
      play(`    - win_scoop: name=x
      when: false
    - community.general.yum: name=x
      when: false
    - yumm: name=x
      when: false
    - assemble: src=/x dest=/y
      when: false
`),
    );
    expect(r.errors).toHaveLength(4);
    expect(r.errors[0]).toBe("pb.yml:4:7: unknown module 'win_scoop'");
    expect(r.errors[1]).toBe("pb.yml:6:7: module 'community.general.yum' is not supported by Kiln (a collection module)");
    expect(r.errors[2]).toMatch(/^pb\.yml:8:7: unknown module 'yumm'/);
    expect(r.errors[3]).toMatch(/^pb\.yml:10:7: module 'assemble' is not supported by Kiln/);
  });
});

describe('validation', () => {
  const msg = (m: string) => `foreign: module '${m}' manages another operating system (Kiln targets Debian)`;

  it('a role branching on the OS validates: the other-OS tasks do not hold for the targeted hosts', () => {
    expect(
      validateErrors(
        play(`    - name: Install httpd (RedHat)
      yum: { name: "{{ redhat_only_packages }}" }
      when: os == 'RedHat' and false
    - name: Install apache2 (Debian)
      apt: name=apache2
      when: os == 'Debian'
`),
      ),
    ).toEqual([]);
  });

  it('a package task with an option only yum and dnf have is a Red Hat task: an error only where it would run', () => {
    const task = (when: string) =>
      `    - name: Install fail2ban (RedHat)\n      package:\n        name: fail2ban\n        enablerepo: epel\n      when: ${when}\n`;
    expect(validateErrors(play(task("os == 'RedHat' and false")))).toEqual([]);
    expect(validateErrors(play(task("os == 'RedHat'")))).toEqual([
      "pb.yml:4:7: foreign: package: option 'enablerepo' is yum's and dnf's: on Debian, package runs apt, which refuses it (Kiln targets Debian)",
    ]);
    expect(validateErrors(play('    - package: name=fail2ban disablerepo=x\n      when: false\n'))).toEqual([]);
  });

  it('an other-OS task whose when holds for a targeted host is an error, located at the task', () => {
    expect(
      validateErrors(
        play(`    - name: Install httpd (RedHat)
      yum: name=httpd
      when: os == 'RedHat'
`),
      ),
    ).toEqual([`pb.yml:4:7: ${msg('yum')}`]);
  });

  it('without a when it holds everywhere: an error', () => {
    expect(validateErrors(play('    - community.general.pacman: name=x\n'))).toEqual([`pb.yml:4:7: ${msg('community.general.pacman')}`]);
  });

  it('a when that can be decided only at run time (a registered result) validates; the run decides', () => {
    expect(
      validateErrors(
        play(`    - command: cat /etc/os-release
      register: release
      changed_when: false
    - yum: name=httpd
      when: "'ID=fedora' in release.stdout"
`),
      ),
    ).toEqual([]);
  });
});
