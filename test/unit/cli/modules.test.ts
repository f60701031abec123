/** `kiln modules` lists the Ansible module names Kiln accepts (and the module that runs each) and the ones it refuses. */
import { describe, expect, it } from 'vitest';
import { ansibleNames } from '../../../src/cli/modules.ts';
import { ANSIBLE_ONLY_MODULES, OTHER_OS_MODULES } from '../../../src/input/playbook/keywords.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('kiln modules: Ansible module names', () => {
  const text = ansibleNames();

  it('names every accepted Ansible name with the Kiln module that runs it', () => {
    expect(text).toMatch(/^ {2}apt, ansible\.legacy\.apt, ansible\.builtin\.apt +→ package$/m);
    expect(text).toMatch(/^ {2}mount, ansible\.posix\.mount +→ mount$/m);
    expect(text).toMatch(/^ {2}systemd, ansible\.legacy\.systemd, ansible\.builtin\.systemd +→ service$/m);
  });

  it('lists the refused ones: apt_key with its replacement, the builtins Kiln lacks, other systems', () => {
    expect(text).toMatch(/^ {2}apt_key: .*signed_by/m);
    for (const n of ANSIBLE_ONLY_MODULES) expect(text).toContain(n);
    expect(text).toContain(`Modules of other operating systems (${OTHER_OS_MODULES.size};`);
    expect(text).toMatch(/ansible\.builtin: dnf, rpm_key, yum, yum_repository/);
  });

  it('what it lists as accepted, the loader accepts; what it lists as lacking, the loader refuses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-modnames-'));
    try {
      const load = (task: string) => {
        writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - ${task}\n`);
        return loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog }).diagnostics.map((d) => d.message);
      };
      expect(load('ansible.posix.mount: { path: /mnt, src: tmpfs, fstype: tmpfs, state: mounted }')).toEqual([]);
      expect(load('assemble: { src: /a, dest: /b }')).toEqual([expect.stringMatching(/module 'assemble' is not supported by Kiln/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
