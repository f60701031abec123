/**
 * The set-up most loopback module tests share: a test OpenSSH server and a temp directory for the
 * describe block (started in beforeAll, stopped and removed in afterAll), the one-host inventory
 * that reaches it, and a playbook of tasks written into the temp directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startSshd, type TestSshd, writeSshdInventory } from './sshd.ts';

export interface LoopbackSuite {
  /** The running test sshd (after beforeAll). */
  readonly sshd: TestSshd;
  /** The suite's temp directory (after beforeAll): tests touch only files under it. */
  readonly dir: string;
  /** An inventory of one host, `h1`, reaching the test sshd. */
  inventory(): string;
  /** Writes `pb.yml` (one play on all hosts, no facts, these task lines, indented 4) and returns its path. */
  playbook(tasks: string[], playLines?: string[]): string;
}

/** Call inside a `describe`: registers the beforeAll/afterAll that start and stop the suite's sshd. */
export function loopbackSuite(prefix: string): LoopbackSuite {
  let sshd: TestSshd | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), `kiln-${prefix}-`));
  });
  afterAll(async () => {
    await sshd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const suite: LoopbackSuite = {
    get sshd() {
      if (!sshd) throw new Error('loopbackSuite: used before beforeAll');
      return sshd;
    },
    get dir() {
      if (!dir) throw new Error('loopbackSuite: used before beforeAll');
      return dir;
    },
    inventory: () => writeSshdInventory(suite.sshd, suite.dir, { h1: {} }),
    playbook(tasks, playLines = []) {
      const path = join(suite.dir, 'pb.yml');
      writeFileSync(
        path,
        ['- hosts: all', '  gather_facts: false', ...playLines, '  tasks:', ...tasks.map((t) => `    ${t}`), ''].join('\n'),
      );
      return path;
    },
  };
  return suite;
}
