/**
 * Integration: blocks at run time over a real loopback OpenSSH server (the Runner's default SSH
 * transport). A block/rescue/always playbook converges a small tree; a failure in the block is
 * rescued (recap: rescued, not failed) and `always` runs; a second run of a converged playbook
 * with blocks costs one round trip per host (blocks do not cut the probe window). The blocks are given to the engine as the loader gives
 * them (TaskDef.blocks, test/helpers/flatten-blocks.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';
import { Runner } from '../../src/engine/runner.ts';
import { validateRun } from '../../src/plan/validate.ts';
import { quietReporter } from '../helpers/run-playbook.ts';
import { annotateBlocks, flattenBlocks } from '../helpers/flatten-blocks.ts';

let sshd: TestSshd;
let work: string;
let root: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-blocks-ssh-'));
  root = join(work, 'root');
  mkdirSync(root);
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const site = (failing: boolean) => `- hosts: all
  gather_facts: false
  tasks:
    - name: configure
      block:
        - name: config dir
          file: { path: "${root}/etc", state: directory, mode: "0755" }
        - name: config file
          copy: { dest: "${root}/etc/app.conf", content: "port = 8080\\n", mode: "0644" }
        - name: check the config
${failing ? '          command: "false"' : `          file: { path: "${root}/etc/app.conf", state: file }`}
        - name: marker after the check
          copy: { dest: "${root}/etc/checked", content: "yes\\n", mode: "0644" }
      rescue:
        - name: record the failure
          copy: { dest: "${root}/etc/failed", content: "{{ ansible_failed_task.name }}\\n", mode: "0644" }
      always:
        - name: log dir
          file: { path: "${root}/log", state: directory, mode: "0755" }
    - name: after the block
      copy: { dest: "${root}/done", content: "done\\n", mode: "0644" }
`;

async function apply(failing: boolean) {
  const dir = join(work, failing ? 'failing' : 'ok');
  mkdirSync(dir, { recursive: true });
  const inv = writeSshdInventory(sshd, dir, { loop1: {}, loop2: {} });
  const flat = flattenBlocks(site(failing));
  const pb = join(dir, 'site.yml');
  writeFileSync(pb, flat.text);
  const v = validateRun({ playbook: pb, inventory: [inv], extraVars: {}, tags: [], skipTags: [], check: false, diff: false });
  annotateBlocks(v.playbook.plays, flat.frames);
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 2,
    tags: [],
    skipTags: [],
    extraVars: {},
    acceptNewHostKeys: false,
    reporter: quietReporter,
  });
  return runner.run();
}

describe('blocks over SSH', () => {
  it('converges through the block and always; the rescue does not run', async () => {
    const r = await apply(false);
    expect(r.error).toBeUndefined();
    expect(r.hosts.loop1!.failed).toBe(0);
    expect(readFileSync(join(root, 'etc/app.conf'), 'utf8')).toBe('port = 8080\n');
    expect(existsSync(join(root, 'etc/checked'))).toBe(true);
    expect(existsSync(join(root, 'etc/failed'))).toBe(false);
    expect(existsSync(join(root, 'log'))).toBe(true);
    expect(existsSync(join(root, 'done'))).toBe(true);
  });

  it('a converged run of the playbook with blocks costs one round trip per host', async () => {
    const r = await apply(false);
    for (const h of ['loop1', 'loop2']) {
      expect(r.hosts[h]!.changed).toBe(0);
      expect(r.hosts[h]!.round_trips).toBe(1);
    }
  });

  it('a failure in the block is rescued: the rest of the block is skipped, rescue and always run, the play goes on', async () => {
    rmSync(join(root, 'etc/checked'));
    const r = await apply(true);
    expect(r.error).toBeUndefined();
    for (const h of ['loop1', 'loop2']) {
      expect(r.hosts[h]!.failed).toBe(0);
      expect(r.hosts[h]!.rescued).toBe(1);
      const failedTask = r.tasks.find((t) => t.host === h && t.task === 'check the config')!;
      expect(failedTask.status).toBe('failed');
      expect(r.tasks.some((t) => t.host === h && t.task === 'marker after the check')).toBe(false);
      expect(r.tasks.find((t) => t.host === h && t.task === 'after the block')!.status).toBe('ok');
    }
    expect(existsSync(join(root, 'etc/checked'))).toBe(false);
    expect(readFileSync(join(root, 'etc/failed'), 'utf8')).toBe('check the config\n');
  });
});
