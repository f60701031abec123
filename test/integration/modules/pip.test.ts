/**
 * pip against the loopback OpenSSH server: a virtualenv under the test's temp dir, packages from
 * wheels built in the test (no package index is reachable: PIP_NO_INDEX and PIP_FIND_LINKS, or
 * extra_args). The converge cycle's drift is another version installed by hand. The registered
 * results are compared with Ansible's (test/fixtures/ansible/results/pip.json); an index URL with a
 * token in extra_args never reaches the report.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';
import { buildWheel } from '../../helpers/wheel.ts';

function shape(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v === null ? 'null' : typeof v;
  if (Array.isArray(v)) return 'array';
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x)]));
}

describe('pip over ssh', () => {
  let sshd: TestSshd;
  let dir: string;
  let wheels: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-pip-'));
    wheels = join(dir, 'wheels');
    mkdirSync(wheels);
    buildWheel(wheels, 'kilntoy', '1.0');
    buildWheel(wheels, 'kilntoy', '2.0');
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const venvPip = () => join(dir, 'venv', 'bin', 'pip');
  const installed = () =>
    execFileSync(venvPip(), ['list', '--format=freeze'], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.startsWith('kilntoy=='));

  it('creates the venv and installs, changes nothing again, finds another version with --check --diff and fixes it', async () => {
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      [
        '- hosts: all',
        '  gather_facts: false',
        `  environment: {PIP_NO_INDEX: '1', PIP_FIND_LINKS: '${wheels}'}`,
        '  tasks:',
        `    - pip: {name: kilntoy, version: '1.0', virtualenv: '${join(dir, 'venv')}', virtualenv_command: /usr/bin/python3 -m venv}`,
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(installed()).toBe('kilntoy==1.0'),
      tamper: () => {
        execFileSync(venvPip(), ['install', '-q', '--no-index', '--find-links', wheels, 'kilntoy==2.0']);
      },
    });
    expect(r.first.tasks[0]!.changes.map((c) => c.summary)).toEqual([
      `create virtualenv ${join(dir, 'venv')} (/usr/bin/python3 -m venv)`,
      `pip install kilntoy==1.0 in ${join(dir, 'venv')}`,
    ]);
    expect(r.check.tasks[0]!.changes.map((c) => c.summary)).toEqual([`pip install kilntoy==1.0 (installed: 2.0) in ${join(dir, 'venv')}`]);
  });

  it("registers Ansible's result shape (install, again, absent)", async () => {
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'register.yml');
    const out = join(dir, 'results.json');
    const venv = join(dir, 'venv2');
    writeFileSync(
      playbook,
      [
        '- hosts: all',
        '  gather_facts: false',
        `  environment: {PIP_NO_INDEX: '1', PIP_FIND_LINKS: '${wheels}'}`,
        '  tasks:',
        `    - pip: {name: kilntoy, version: '1.0', virtualenv: '${venv}', virtualenv_command: /usr/bin/python3 -m venv}`,
        '      register: install',
        `    - pip: {name: kilntoy, version: '1.0', virtualenv: '${venv}', virtualenv_command: /usr/bin/python3 -m venv}`,
        '      register: again',
        `    - pip: {name: kilntoy, state: absent, virtualenv: '${venv}'}`,
        '      register: remove',
        `    - copy: {content: "{{ {'install': install, 'again': again, 'remove': remove} | to_nice_json }}", dest: '${out}'}`,
        '',
      ].join('\n'),
    );
    const rep = await runPlaybook(playbook, inventory);
    expect(rep.tasks.map((t) => t.status)).toEqual(['changed', 'ok', 'changed', 'changed']);
    const got = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    const ansible = JSON.parse(readFileSync(join(__dirname, '../../fixtures/ansible/results/pip.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    for (const k of ['install', 'again', 'remove']) expect(shape(got[k]), k).toEqual(shape(ansible[k]));
    expect(got.install).toMatchObject({
      changed: true,
      cmd: [`${venv}/bin/pip3`, 'install', 'kilntoy==1.0'],
      version: '1.0',
      virtualenv: venv,
    });
    expect(got.remove).toMatchObject({ changed: true, cmd: [`${venv}/bin/pip3`, 'uninstall', '-y', 'kilntoy'], state: 'absent' });
  });

  it('an index URL with a token in extra_args is used but never reported', async () => {
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'secret.yml');
    const venv = join(dir, 'venv3');
    const token = 'tok3nS3cr3tXYZ';
    writeFileSync(
      playbook,
      [
        '- hosts: all',
        '  gather_facts: false',
        '  tasks:',
        `    - pip: {name: kilntoy, virtualenv: '${venv}', virtualenv_command: /usr/bin/python3 -m venv, extra_args: '--index-url https://deploy:${token}@127.0.0.1:9/simple --no-index --find-links ${wheels}'}`,
        '      register: r',
        '    - debug: {var: r}',
        '',
      ].join('\n'),
    );
    const lines: string[] = [];
    const rep = await runPlaybook(playbook, inventory, {
      check: false,
      diff: true,
      reporter: {
        playStart() {},
        taskStart() {},
        result: (r) => lines.push(JSON.stringify(r)),
        taskEnd() {},
        playEnd() {},
        warn: (w) => lines.push(String(w)),
      },
    });
    expect(rep.tasks.map((t) => t.status)).toEqual(['changed', 'ok']);
    expect(rep.tasks[0]!.unpredictable).toBe(true);
    expect(JSON.stringify(rep)).not.toContain(token);
    expect(lines.join('\n')).not.toContain(token);
    expect(execFileSync(join(venv, 'bin', 'pip'), ['list', '--format=freeze'], { encoding: 'utf8' })).toContain('kilntoy==2.0');
  });

  it("refuses the system Python's pip on Debian 12 (PEP 668), as pip does, before changing anything", async () => {
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'system.yml');
    writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  tasks:\n    - pip: {name: kilntoy, executable: /usr/bin/pip3}\n`);
    const rep = await runPlaybook(playbook, inventory, { check: true });
    expect(rep.tasks[0]!.status).toBe('failed');
    expect(rep.tasks[0]!.message).toMatch(/externally managed \(PEP 668/);
  });
});
