/**
 * `kiln lab add` / `kiln lab remove` on the running shared lab: added hosts boot with their own
 * disk and host key, join known_hosts/ssh_config and a separate inventory (so they never join the
 * shared site), Kiln reaches them through that inventory with strict host key checking, and the
 * running hosts are not disturbed (same PIDs, same inventory.yml). Uses 10.77.0.230–.231 only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab add/remove suite: ${skip}`);

interface Status {
  hosts: { host: string; address: string; state: string; pid: number | null; added?: { inventory: string } }[];
}

describe.skipIf(skip)('kiln lab add / remove on a running lab', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const status = async (): Promise<Status> => JSON.parse((await kiln(['lab', 'status', '--json'], SHARED_LAB_CWD)).stdout) as Status;

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-labadd-'));
    inv = join(work, 'private', 'inventory.yml');
    await kiln(['lab', 'remove', 'labadd1', 'labadd2'], SHARED_LAB_CWD); // leftovers of an interrupted run
  });

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', 'labadd1', 'labadd2'], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('adds two hosts into a separate inventory without touching the running ones, and removes them', async () => {
    const before = await status();
    const sharedInventory = readFileSync(lab.inventory, 'utf8');
    const pids = Object.fromEntries(before.hosts.map((h) => [h.host, h.pid]));

    const bad = await kiln(['lab', 'add', 'labadd', '--address', '10.77.0.21'], SHARED_LAB_CWD);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('address 10.77.0.21 is already used by host "web1"');

    const r = await kiln(
      ['lab', 'add', 'labadd', '--count', '2', '--address', '10.77.0.230', '--groups', 'db_replica,labadd_x', '--inventory', inv],
      SHARED_LAB_CWD,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('added labadd1 (10.77.0.230), labadd2 (10.77.0.231)');

    const after = await status();
    for (const h of before.hosts) expect(after.hosts.find((a) => a.host === h.host)?.pid).toBe(pids[h.host]);
    const added = after.hosts.filter((h) => h.added);
    expect(added.map((h) => [h.host, h.address, h.added?.inventory])).toEqual([
      ['labadd1', '10.77.0.230', inv],
      ['labadd2', '10.77.0.231', inv],
    ]);
    expect(readFileSync(lab.inventory, 'utf8')).toBe(sharedInventory);

    const written = parse(readFileSync(inv, 'utf8'));
    expect(written.all.vars).toEqual({
      user: 'deploy',
      become: true,
      identity_file: join(lab.dir, 'id_ed25519'),
      known_hosts: join(lab.dir, 'known_hosts'),
      controller_address: '10.77.0.1',
    });
    expect(written.all.children.db.children.db_replica.hosts).toEqual({
      labadd1: { address: '10.77.0.230' },
      labadd2: { address: '10.77.0.231' },
    });
    expect(Object.keys(written.all.children.labadd_x.hosts)).toEqual(['labadd1', 'labadd2']);

    const keyLine = readFileSync(join(lab.dir, 'known_hosts'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('10.77.0.231 '));
    const diskKey = readFileSync(join(lab.dir, 'disks', 'labadd2', 'ssh_host_ed25519_key.pub'), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    expect(keyLine).toBe(`10.77.0.231 ${diskKey}`);

    // the system ssh with the lab's ssh_config (StrictHostKeyChecking yes) and Kiln via the separate inventory
    const hn = execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), 'labadd2', 'hostname; systemctl is-system-running || true'], {
      encoding: 'utf8',
    });
    expect(hn.split('\n')[0]).toBe('labadd2');
    const facts = await kiln(['facts', 'labadd1', '-i', inv], SHARED_LAB_CWD);
    expect(facts.code).toBe(0);
    expect(JSON.parse(facts.stdout)).toMatchObject({ host: 'labadd1', address: '10.77.0.230', hostname: 'labadd1' });

    const rm = await kiln(['lab', 'remove', '--inventory', inv], SHARED_LAB_CWD);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain('removed labadd1, labadd2');
    expect(existsSync(inv)).toBe(false);
    expect(existsSync(join(lab.dir, 'disks', 'labadd1'))).toBe(false);
    expect(readFileSync(join(lab.dir, 'known_hosts'), 'utf8')).not.toContain('10.77.0.23');
    expect(readFileSync(join(lab.dir, 'ssh_config'), 'utf8')).not.toContain('labadd');
    const final = await status();
    expect(final.hosts.map((h) => h.host)).toEqual(before.hosts.map((h) => h.host));
    for (const h of final.hosts) expect(h.pid).toBe(pids[h.host]);
    const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(ns).not.toContain('kiln-labadd');
  });
});
