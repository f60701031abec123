/**
 * Ansible's configuration (ansible.cfg, ANSIBLE_* variables) where it would make Ansible read a
 * playbook differently from Kiln: refused, located; roles_path honoured.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ansibleConfig } from '../../../../src/input/playbook/ansible-config.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-ansible-cfg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ansibleConfig', () => {
  it('reads ./ansible.cfg like ansible-playbook: settings that change the meaning are refused at their line, roles_path is kept', () => {
    const dir = join(root, 'a');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'ansible.cfg'),
      '[defaults]\n# a comment\nroles_path = roles:../shared/roles\nhash_behaviour = merge\nforks = 10\nansible_managed = Managed by {uid}\ngathering = implicit\n[privilege_escalation]\nbecome = True\nbecome_method = sudo\n',
    );
    const c = ansibleConfig(dir, {});
    expect(c.file).toBe(join(dir, 'ansible.cfg'));
    expect(c.rolesPath).toEqual([join(dir, 'roles'), join(root, 'shared/roles')]);
    expect(c.problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '4: Ansible setting hash_behaviour = merge: not supported (Kiln replaces whole dict values (hash_behaviour=replace))',
      "6: Ansible setting ansible_managed = Managed by {uid}: not supported (Kiln's ansible_managed is Ansible's default, 'Ansible managed')",
      '9: Ansible setting become = True: not supported (set become: true on plays or tasks (or ansible_become in the inventory))',
    ]);
  });

  it('ANSIBLE_* environment variables win over the file; ANSIBLE_CONFIG names the file', () => {
    const dir = join(root, 'b');
    mkdirSync(dir);
    writeFileSync(join(dir, 'other.cfg'), '[defaults]\nprivate_role_vars = yes\n');
    const c = ansibleConfig(root, {
      ANSIBLE_CONFIG: join(dir, 'other.cfg'),
      ANSIBLE_HASH_BEHAVIOUR: 'replace',
      ANSIBLE_JINJA2_NATIVE: 'true',
    });
    expect(c.problems.map((p) => `${p.file}: ${p.message}`)).toEqual([
      `${join(dir, 'other.cfg')}: Ansible setting private_role_vars = yes: not supported (Kiln makes a play's role vars visible to the whole play)`,
      'environment variable ANSIBLE_JINJA2_NATIVE: Ansible setting jinja2_native = true: not supported (Kiln renders templates as Ansible does without jinja2_native)',
    ]);
  });

  it('a default strategy other than linear is refused (plays say strategy: free themselves)', () => {
    const dir = join(root, 's');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nstrategy = linear\n');
    expect(ansibleConfig(dir, { HOME: dir }).problems).toEqual([]);
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nstrategy = free\n');
    expect(ansibleConfig(dir, { HOME: dir }).problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      "2: Ansible setting strategy = free: not supported (Kiln's default strategy is linear: write `strategy: free` (or host_pinned) on the plays instead)",
    ]);
    expect(ansibleConfig(dir, { HOME: dir, ANSIBLE_STRATEGY: 'host_pinned' }).problems.map((p) => `${p.file}: ${p.message}`)).toEqual([
      "environment variable ANSIBLE_STRATEGY: Ansible setting strategy = host_pinned: not supported (Kiln's default strategy is linear: write `strategy: free` (or host_pinned) on the plays instead)",
    ]);
  });

  it('no configuration: nothing to say', () => {
    const dir = join(root, 'c');
    mkdirSync(dir);
    expect(ansibleConfig(dir, { HOME: dir })).toMatchObject({ rolesPath: [], problems: [] });
  });

  it('an ansible.cfg past the input size limit is a located problem, not read', () => {
    const dir = join(root, 'big');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ansible.cfg'), `[defaults]\nhash_behaviour = merge\n# ${'x'.repeat(2000)}\n`);
    const before = process.env.KILN_MAX_INPUT_BYTES;
    process.env.KILN_MAX_INPUT_BYTES = '1000';
    try {
      const c = ansibleConfig(dir, { HOME: dir });
      expect(c.problems).toEqual([
        expect.objectContaining({
          file: join(dir, 'ansible.cfg'),
          line: 1,
          col: 1,
          message: expect.stringMatching(/larger than Kiln's input limit of 1000 bytes/),
        }),
      ]);
    } finally {
      if (before === undefined) delete process.env.KILN_MAX_INPUT_BYTES;
      else process.env.KILN_MAX_INPUT_BYTES = before;
    }
  });
});
