/**
 * lineinfile against the loopback OpenSSH server, through the converge cycle every module is
 * tested with (test/helpers/converge-cycle.ts): converge, 0 changed, drift, --check --diff, fix.
 * The template for a module's loopback test: it only touches files under its own temp directory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('lineinfile over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-lineinfile-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('converges, changes nothing again, finds a drift with --check --diff and fixes it', async () => {
    const target = join(dir, 'app.conf');
    writeFileSync(target, 'a=1\nport=80\n');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - lineinfile:\n        path: ${target}\n        regexp: '^port='\n        line: port=8080\n`,
    );
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(readFileSync(target, 'utf8')).toBe('a=1\nport=8080\n'),
      tamper: () => writeFileSync(target, 'a=1\nport=81\n'),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.diff).toContain('-port=81');
    expect(drift.diff).toContain('+port=8080');
  });
});
