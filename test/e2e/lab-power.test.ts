/**
 * `kiln lab stop HOST [--kill]` / `kiln lab start HOST` on a host added to the running shared lab
 * (vippw1, 10.77.0.238 only): a power-off keeps the host's disk, its place in the lab and its host
 * key, and `start` boots the same machine again (a new boot id, the file written before still
 * there, known_hosts unchanged, services enabled at boot running). A clean stop halts systemd (its
 * services stop: the journal of the previous boot ends with the halt); --kill does not (no halt).
 * The running hosts are not disturbed (same PIDs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED lab power (stop/start) suite: ${skip}`);

interface Status {
  hosts: { host: string; address: string; state: string; pid: number | null }[];
}

describe.skipIf(skip)('kiln lab stop / start: power a host off and on', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  const H = 'vippw1';
  const status = async (): Promise<Status> => JSON.parse((await kiln(['lab', 'status', '--json'], SHARED_LAB_CWD)).stdout) as Status;
  const ssh = (cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), '-o', 'ConnectTimeout=3', H, cmd], { encoding: 'utf8' }).trim();

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-labpower-'));
    await kiln(['lab', 'remove', H], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', H, '--address', '10.77.0.238', '--inventory', join(work, 'inventory.yml')], SHARED_LAB_CWD);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', H], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('stop (clean halt) and --kill power the host off; start boots the same machine again', async () => {
    const others = Object.fromEntries((await status()).hosts.filter((h) => h.host !== H).map((h) => [h.host, h.pid]));
    ssh('echo kept | sudo tee /var/tmp/marker >/dev/null');
    const boot1 = ssh('cat /proc/sys/kernel/random/boot_id');
    const known = readFileSync(join(lab.dir, 'known_hosts'), 'utf8');

    const off = await kiln(['lab', 'stop', H], SHARED_LAB_CWD);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toBe(`${H} powered off\n`);
    expect((await status()).hosts.find((h) => h.host === H)?.state).toBe('stopped');
    expect(() => ssh('true')).toThrow();
    const again = await kiln(['lab', 'stop', H], SHARED_LAB_CWD); // already off: nothing to do
    expect(again.code).toBe(0);

    const on = await kiln(['lab', 'start', H], SHARED_LAB_CWD);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toBe(`${H} powered on (sshd answers)\n`);
    const twice = await kiln(['lab', 'start', H], SHARED_LAB_CWD);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`${H} is running`);
    expect(ssh('cat /var/tmp/marker')).toBe('kept');
    const boot2 = ssh('cat /proc/sys/kernel/random/boot_id');
    expect(boot2).not.toBe(boot1);
    expect(readFileSync(join(lab.dir, 'known_hosts'), 'utf8')).toBe(known);
    // The clean halt stopped the services: the previous boot's journal ends in systemd's halt.
    expect(ssh('sudo journalctl -b -1 --no-pager -o cat | grep -c "System Halt" || true')).not.toBe('0');

    const kill = await kiln(['lab', 'stop', H, '--kill'], SHARED_LAB_CWD);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toBe(`${H} powered off (killed)\n`);
    expect((await status()).hosts.find((h) => h.host === H)?.state).toBe('stopped');
    expect((await kiln(['lab', 'start', H], SHARED_LAB_CWD)).code).toBe(0);
    expect(ssh('cat /var/tmp/marker')).toBe('kept');
    // Killed: no halt was logged at the end of the previous boot.
    expect(ssh('sudo journalctl -b -1 --no-pager -o cat | grep -c "System Halt" || true')).toBe('0');

    const unknown = await kiln(['lab', 'stop', 'nosuchhost'], SHARED_LAB_CWD);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no host "nosuchhost" in the lab');
    for (const h of (await status()).hosts.filter((x) => x.host !== H)) expect(h.pid).toBe(others[h.host]);
  }, 300_000);
});
