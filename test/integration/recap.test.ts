/**
 * The recap counts as Ansible's: test/fixtures/ansible/recap/ holds a playbook with every kind of
 * result and ansible-playbook 2.14's recap of it (generate.sh). Kiln runs the same playbook over
 * the loopback sshd; its host stats (the recap and the JSON report's `hosts`) must match.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loopbackSuite } from '../helpers/loopback-suite.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/ansible/recap');

describe("the recap counts ansible-playbook's", () => {
  const suite = loopbackSuite('recap');

  it('ok includes changed and ignored failures; a rescued failure is only rescued; a loop counts once', async () => {
    const playbook = join(suite.dir, 'playbook.yml');
    copyFileSync(join(FIXTURE, 'playbook.yml'), playbook);
    const r = await runPlaybook(playbook, suite.inventory());
    const s = r.hosts.h1!;
    const kiln = `ok=${s.ok} changed=${s.changed} unreachable=${s.unreachable ? 1 : 0} failed=${s.failed} skipped=${s.skipped} rescued=${s.rescued} ignored=${s.ignored}`;
    expect(kiln).toBe(readFileSync(join(FIXTURE, 'expected.txt'), 'utf8').trim());
  });
});
