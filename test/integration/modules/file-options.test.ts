/**
 * file's follow / modification_time / access_time and copy's remote_src against the loopback
 * OpenSSH server, through the converge cycle. Every path is under the test's own temp directory.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('file and copy options over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  let inventory: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-file-options-'));
    inventory = writeSshdInventory(sshd, dir, { h1: {} });
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const playbook = (name: string, task: string) => {
    const p = join(dir, `${name}.yml`);
    writeFileSync(p, `- hosts: all\n  gather_facts: false\n  tasks:\n${task.replace(/^/gm, '    ')}\n`);
    return p;
  };

  it('file: mode and modification_time on the target of a followed symlink', async () => {
    const target = join(dir, 'log');
    writeFileSync(target, 'x\n');
    chmodSync(target, 0o644);
    symlinkSync(target, join(dir, 'log-link'));
    const want = new Date(2024, 0, 2, 3, 4, 5).getTime() / 1000;
    const r = await convergeCycle({
      playbook: playbook(
        'file-times',
        `- file:\n    path: ${join(dir, 'log-link')}\n    state: file\n    mode: '0640'\n    modification_time: '202401020304.05'\n    access_time: preserve`,
      ),
      inventory,
      verify: () => {
        expect((statSync(target).mode & 0o777).toString(8)).toBe('640');
        expect(statSync(target).mtimeMs / 1000).toBe(want);
      },
      tamper: () => utimesSync(target, want, want + 60),
    });
    expect(r.check.tasks.find((t) => t.status === 'changed')!.changes.map((c) => c.summary)).toEqual([
      `modification time ${want + 60} → 2024-01-02 03:04:05 of ${target}`,
    ]);
  });

  it('file: touch with preserve converges; without it, it changes on every run as in Ansible', async () => {
    const t = join(dir, 'slow.log');
    const pb = playbook(
      'touch',
      `- file:\n    path: ${t}\n    state: touch\n    mode: '0640'\n    modification_time: preserve\n    access_time: preserve`,
    );
    await convergeCycle({ playbook: pb, inventory, tamper: () => chmodSync(t, 0o600) });
    const now = playbook('touch-now', `- file:\n    path: ${t}\n    state: touch`);
    for (let i = 0; i < 2; i++) {
      const r = await runPlaybook(now, inventory, { diff: true });
      expect(r.tasks.map((x) => x.status)).toEqual(['changed']);
    }
  });

  it('copy remote_src: a file on the host, its checksum decides', async () => {
    const src = join(dir, 'node_exporter');
    writeFileSync(src, '#!/bin/sh\necho v1\n');
    const dest = join(dir, 'bin-node_exporter');
    const r = await convergeCycle({
      playbook: playbook('remote-src', `- copy:\n    src: ${src}\n    dest: ${dest}\n    mode: '0755'\n    remote_src: true`),
      inventory,
      verify: () => {
        expect(readFileSync(dest, 'utf8')).toBe('#!/bin/sh\necho v1\n');
        expect((statSync(dest).mode & 0o777).toString(8)).toBe('755');
      },
      tamper: () => writeFileSync(dest, '#!/bin/sh\necho old\n'),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.diff).toContain('-echo old');
    expect(drift.diff).toContain('+echo v1');
  });
});
