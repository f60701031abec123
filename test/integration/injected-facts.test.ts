/**
 * Facts a module returns are variables under their own names too (INJECT_FACTS_AS_VARS, Ansible's
 * default), and not all are `ansible_*`: getent's `getent_passwd`, service_facts' `services`,
 * package_facts' `packages`. A task after the fact module that uses such a name (geerlingguy.ntp:
 * `when: '"systemd-timesyncd.service" in services'`) is rendered again once the facts arrive,
 * instead of keeping the "undefined" it met when it was looked at ahead of the run (the probe
 * window). Loopback sshd, read-only getent and a file under the test's temp directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loopbackSuite } from '../helpers/loopback-suite.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';

describe('facts injected as variables under non-ansible_ names', () => {
  const suite = loopbackSuite('injected-facts');

  it('a task after getent sees getent_passwd in its when and its arguments', async () => {
    const out = join(suite.dir, 'root-home.txt');
    const playbook = suite.playbook([
      '- getent: { database: passwd, key: root }',
      `- copy: { dest: ${out}, content: "{{ getent_passwd['root'][4] }}" }`,
      '  when: "\'root\' in getent_passwd"',
    ]);
    const r = await runPlaybook(playbook, suite.inventory());
    expect(r.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    expect(r.tasks.map((t) => t.status)).toEqual(['ok', 'changed']);
    expect(readFileSync(out, 'utf8')).toBe('/root');
  });

  it('a task after package_facts sees packages', async () => {
    const out = join(suite.dir, 'dpkg.txt');
    const playbook = suite.playbook([
      '- package_facts:',
      `- copy: { dest: ${out}, content: "{{ packages['dpkg'][0].name }}" }`,
      '  when: "\'dpkg\' in packages"',
    ]);
    const r = await runPlaybook(playbook, suite.inventory());
    expect(r.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    expect(r.tasks.map((t) => t.status)).toEqual(['ok', 'changed']);
    expect(readFileSync(out, 'utf8')).toBe('dpkg');
  });
});
