/**
 * The bench hosts in the running lab: which are up (and that no other host holds a bench
 * address), adding them with `kiln lab add --inventory .lab/bench-inventory.yml`, removing them,
 * re-creating them fresh, preparing new ones (python3-apt, untimed), and closing Ansible's SSH
 * control masters to them. Never touches the lab's own hosts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostAddr, hostName, inBenchRange, range } from './addresses.ts';
import { kilnCli, timed } from './exec.ts';
import { kilnInventory } from './inventories.ts';
import { log } from './log.ts';
import { BENCH_INV, CP_DIR, KILN, REPO, WORK } from './paths.ts';

/** What the driver reads of `kiln lab status --json`. */
export interface LabStatus {
  labDir: string | null;
  hosts: { host: string; address: string; state: string; added?: { inventory: string } }[];
}

/**
 * The names of the running (or degraded) hosts listed in the bench inventory. Throws when no lab
 * is up, or when a host not in the bench inventory holds an address of the bench range.
 */
export function benchHostsOf(s: LabStatus, benchInv: string = BENCH_INV): Set<string> {
  if (!s.labDir) throw new Error('no lab is up: run `kiln lab up` first (the benchmark adds its own hosts to it)');
  const mine = new Set(
    s.hosts.filter((h) => h.added?.inventory === benchInv && (h.state === 'running' || h.state === 'degraded')).map((h) => h.host),
  );
  const clash = s.hosts.filter((h) => h.added?.inventory !== benchInv && inBenchRange(h.address));
  if (clash.length > 0)
    throw new Error(`addresses of the bench range are taken by other hosts: ${clash.map((h) => `${h.host}=${h.address}`).join(', ')}`);
  return mine;
}

export function benchHostsUp(): Set<string> {
  return benchHostsOf(JSON.parse(kilnCli(['lab', 'status', '--json'])) as LabStatus);
}

function addHosts(indices: readonly number[]): void {
  if (indices.length === 0) return;
  const topo = path.join(WORK, 'add-topology.yml');
  writeFileSync(topo, `hosts:\n${indices.map((i) => `  ${hostName(i)}: { address: ${hostAddr(i)}, groups: [bench] }`).join('\n')}\n`);
  log(`adding ${indices.length} bench host(s) ${hostName(indices[0])}..${hostName(indices[indices.length - 1])}`);
  kilnCli(['lab', 'add', '--topology', topo, '--inventory', BENCH_INV]);
}

function removeHosts(indices: readonly number[]): void {
  if (indices.length === 0) return;
  kilnCli(['lab', 'remove', ...indices.map(hostName)]);
}

/** bench1..benchN running (adds what is missing; new hosts get python3-apt, untimed). */
export async function ensureHosts(n: number): Promise<void> {
  const up = benchHostsUp();
  const missing = range(n).filter((i) => !up.has(hostName(i)));
  addHosts(missing);
  if (missing.length > 0) await prep(missing);
}

/** Fresh disks for bench1..benchN: removed (disks deleted) and added again, then prepared. */
export async function freshHosts(n: number): Promise<void> {
  const up = benchHostsUp();
  closeAnsibleMasters(n);
  removeHosts(range(n).filter((i) => up.has(hostName(i))));
  addHosts(range(n));
  await prep(range(n));
}

/** At the end: removes every host of the bench inventory that is still up (failures ignored). */
export function removeAllBenchHosts(): void {
  const up = benchHostsUp();
  if (up.size > 0) {
    log(`removing ${up.size} bench host(s)`);
    kilnCli(['lab', 'remove', '--inventory', BENCH_INV], { allowFail: true });
  }
}

/** Untimed: python3-apt, which Ansible's apt module needs (else it installs it itself on its first run). */
async function prep(indices: readonly number[]): Promise<void> {
  const inv = kilnInventory(indices, 'prep');
  const r = await timed(
    process.execPath,
    [KILN, 'apply', path.join(REPO, 'bench/kiln/prep.yml'), '-i', inv, '-f', String(indices.length), '--progress', 'plain'],
    {
      logFile: path.join(WORK, 'prep.log'),
    },
  );
  if (r.code !== 0) throw new Error(`preparing bench hosts failed (see ${path.join(WORK, 'prep.log')})`);
}

/** Ends the ControlPersist masters of bench hosts (before their hosts are replaced, and at the end). */
export function closeAnsibleMasters(n: number): void {
  for (const i of range(n)) {
    const sock = path.join(CP_DIR, `${hostAddr(i)}-deploy`);
    if (!existsSync(sock)) continue;
    try {
      execFileSync('ssh', ['-o', `ControlPath=${sock}`, '-O', 'exit', hostAddr(i)], { stdio: 'ignore', timeout: 10000 });
    } catch {
      rmSync(sock, { force: true });
    }
  }
}
