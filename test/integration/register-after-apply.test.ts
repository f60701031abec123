/**
 * A registered result that describes the host's state (file, copy, lineinfile, …) shows the state
 * the apply left, as Ansible's result does: the verify probe that rides with the apply is parsed
 * for it. Before, it was the state found before the change (a chmod registered the old mode).
 * Against the loopback OpenSSH server, on files under the test's temp directory; the registered
 * values are read back with debug/assert tasks of the same run.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loopbackSuite } from '../helpers/loopback-suite.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';

describe('register after an apply: the state the apply left', () => {
  const suite = loopbackSuite('register-after');

  it('file, copy and lineinfile register the new mode, size and checksum; a converged run registers the same', async () => {
    const { dir } = suite;
    const data = join(dir, 'data');
    const conf = join(dir, 'app.conf');
    writeFileSync(conf, 'port=80\n');
    const inventory = suite.inventory();
    const sha = createHash('sha256').update('port=8080\n').digest('hex');
    const playbook = suite.playbook([
      `- file: { path: ${data}, state: directory, mode: "0750" }`,
      '  register: d',
      `- copy: { dest: ${data}/new.txt, content: "twelve bytes" }`,
      '  register: c',
      `- lineinfile: { path: ${conf}, regexp: "^port=", line: port=8080 }`,
      '  register: l',
      '- assert:',
      '    that:',
      '      - d.exists and d.mode == "0750"',
      '      - c.size == 12',
      `      - l.sha256 == "${sha}"`,
    ]);
    const first = await runPlaybook(playbook, inventory);
    expect(first.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    expect(first.tasks.map((t) => t.status)).toEqual(['changed', 'changed', 'changed', 'ok']);
    // Converged: nothing applied, the state found is the state registered.
    const second = await runPlaybook(playbook, inventory);
    expect(second.tasks.filter((t) => t.status === 'failed')).toEqual([]);
  });
});
