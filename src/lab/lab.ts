import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { hostMemory } from './cgroups.ts';
import { LabError } from './errors.ts';
import { mapLimit, run, tryRun } from './exec.ts';
import { writeLabFiles } from './files.ts';
import { hostRunState, knownHostsLine, startHost, stopHost, waitForSsh, type HostContext, type HostRunState } from './host.ts';
import { ensureInotifyLimit, restoreLimit } from './limits.ts';
import { withLabLock } from './lock.ts';
import { ensureMirror } from './mirror.ts';
import { bridgeState, checkNetworkFree, ensureBridge, labNamespaces, removeBridge } from './network.ts';
import { BRIDGE, RUN_DIR, diskFiles, labFiles } from './paths.ts';
import { ensureRootfs } from './rootfs.ts';
import { isLabProcess, readHostState, readLabState, recordedHosts, removeRunDir, writeLabState, type LabState } from './state.ts';
import { loadTopology, sameMachines, type Topology } from './topology.ts';

export type Log = (msg: string) => void;

const REQUIRED_COMMANDS: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  'apt-get': 'apt',
  'apt-ftparchive': 'apt-utils',
  ip: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  'ssh-keygen': 'openssh-client',
  ssh: 'openssh-client',
  chroot: 'coreutils',
};

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])
    .some((d) => d && existsSync(path.join(d, cmd)));
}

/** kiln lab needs Linux, root and a few Debian tools; anything else gets a clear message. */
export function preflight(needTools = true): void {
  if (process.platform !== 'linux') {
    throw new LabError(`kiln lab needs Linux (network namespaces, overlayfs, systemd); this is ${process.platform}. Use the Vagrantfile instead (see docs/lab.md).`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('kiln lab needs root (it creates network namespaces, a bridge and mounts); run it with sudo.');
  }
  if (!needTools) return;
  const missing = Object.entries(REQUIRED_COMMANDS).filter(([cmd]) => !onPath(cmd));
  if (missing.length > 0) {
    throw new LabError(`kiln lab needs these commands: ${missing.map(([c, p]) => `${c} (apt package ${p})`).join(', ')}`);
  }
}

export function labDirFor(cwd: string): string {
  return path.resolve(cwd, '.lab');
}

async function anyRunning(state: LabState | undefined): Promise<string[]> {
  const names = new Set([...recordedHosts(), ...(state?.topology.hosts.map((h) => h.name) ?? [])]);
  const running: string[] = [];
  for (const n of names) {
    const h = await readHostState(n);
    if (h && isLabProcess(h.pid, h.pidStart)) running.push(n);
  }
  return running;
}

async function ensureClientKey(labDir: string): Promise<string> {
  const f = labFiles(labDir);
  await mkdir(labDir, { recursive: true, mode: 0o700 });
  if (!existsSync(f.key) || !existsSync(f.pubKey)) {
    await rm(f.key, { force: true });
    await rm(f.pubKey, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiln-lab', '-f', f.key]);
  }
  await chmod(f.key, 0o600);
  return (await readFile(f.pubKey, 'utf8')).trim();
}

export interface UpOptions {
  cwd: string;
  topologyFile?: string;
  log: Log;
  /** Per-host SSH wait. */
  bootTimeoutMs?: number;
}

export interface UpResult {
  labDir: string;
  started: string[];
  kept: string[];
  seconds: number;
}

export async function up(opts: UpOptions): Promise<UpResult> {
  preflight();
  const topology = await loadTopology(opts.topologyFile);
  const labDir = labDirFor(opts.cwd);
  return withLabLock(async () => {
    const t0 = Date.now();
    const existing = await readLabState();
    let carriedLimit = existing?.labDir === labDir ? existing.raisedInotify : undefined;
    if (existing) {
      const running = await anyRunning(existing);
      if (existing.labDir !== labDir) {
        if (running.length > 0) {
          throw new LabError(
            `a lab is already up from ${existing.labDir} (hosts ${running.join(', ')}); there is one lab per machine: run \`kiln lab down\` in ${path.dirname(existing.labDir)} first`,
          );
        }
        opts.log(`cleaning up the remains of a stopped lab from ${existing.labDir}`);
        await teardown(existing, { keepDisks: true, log: opts.log, removeLabDir: false });
        carriedLimit = undefined;
      } else if (!sameMachines(existing.topology, topology)) {
        if (running.length > 0) {
          throw new LabError(
            `the lab is up with other hosts (${existing.topology.hosts.map((h) => `${h.name}=${h.address}`).join(', ')}); run \`kiln lab down\` first to change its hosts or addresses`,
          );
        }
        await teardown(existing, { keepDisks: true, log: opts.log, removeLabDir: false });
        carriedLimit = undefined;
      }
    } else if (recordedHosts().length > 0 || (await bridgeState()) === 'ours') {
      await teardown(undefined, { keepDisks: true, log: opts.log, removeLabDir: false });
    }
    await checkNetworkFree();
    const rootfs = await ensureRootfs(opts.log);
    const mirror = await ensureMirror(rootfs, opts.log);
    const state: LabState = {
      version: 1,
      labDir,
      topology,
      rootfs: { key: rootfs.key, root: rootfs.root },
      mirror: { key: mirror.key, repo: mirror.repo, lists: mirror.lists },
      createdAt: existing?.labDir === labDir ? existing.createdAt : new Date().toISOString(),
      raisedInotify: carriedLimit,
    };
    await writeLabState(state); // before anything is created, so `down` can always clean up
    state.raisedInotify = await ensureInotifyLimit(topology.hosts.length, state.raisedInotify, opts.log);
    await writeLabState(state);
    await ensureBridge();
    const authorizedKey = await ensureClientKey(labDir);
    const ctx: HostContext = { labDir, topology, rootfs, mirror, authorizedKey };
    const started: string[] = [];
    const kept: string[] = [];
    const tStart = Date.now();
    await mapLimit(topology.hosts, 8, async (host) => {
      const h = await readHostState(host.name);
      if (h && isLabProcess(h.pid, h.pidStart)) {
        kept.push(host.name);
        return;
      }
      await stopHost(host.name, host.address); // remains of a stopped host
      const hs = await startHost(ctx, host);
      started.push(host.name);
      await waitForSsh(hs, opts.bootTimeoutMs ?? 120000);
    });
    if (started.length > 0) opts.log(`${started.length} host(s) booted in ${((Date.now() - tStart) / 1000).toFixed(1)} s`);
    const known = await Promise.all(topology.hosts.map((h) => knownHostsLine(labDir, h)));
    await writeLabFiles(labDir, topology, known);
    return { labDir, started: started.sort(), kept: kept.sort(), seconds: (Date.now() - t0) / 1000 };
  }, undefined, (pid) => opts.log(`waiting for another kiln lab command (pid ${pid})…`));
}

interface TeardownOptions {
  keepDisks: boolean;
  log: Log;
  removeLabDir: boolean;
}

/** Stops every host the lab knows of and removes everything it created (except caches). */
async function teardown(state: LabState | undefined, opts: TeardownOptions): Promise<string[]> {
  const notes: string[] = [];
  const hosts = new Map<string, string | undefined>();
  for (const n of recordedHosts()) hosts.set(n, undefined);
  for (const h of state?.topology.hosts ?? []) hosts.set(h.name, h.address);
  const results = await mapLimit([...hosts.entries()], 16, ([name, address]) => stopHost(name, address));
  notes.push(...results.flat());
  await removeBridge();
  await restoreLimit(state?.raisedInotify, opts.log);
  await removeRunDir();
  if (state && opts.removeLabDir && existsSync(state.labDir)) {
    const f = labFiles(state.labDir);
    for (const file of [f.inventory, f.knownHosts, f.sshConfig, f.key, f.pubKey]) await rm(file, { force: true });
    if (!opts.keepDisks) {
      await rm(f.disks, { recursive: true, force: true });
      if ((await readdir(state.labDir)).length === 0) await rm(state.labDir, { recursive: true, force: true });
    }
  }
  return notes;
}

export interface DownOptions {
  keepDisks: boolean;
  log: Log;
}

export async function down(opts: DownOptions): Promise<{ stopped: string[]; leftovers: string[]; notes: string[] }> {
  preflight(false);
  return withLabLock(async () => {
    const state = await readLabState();
    const stopped = await anyRunning(state);
    const notes = await teardown(state, { keepDisks: opts.keepDisks, log: opts.log, removeLabDir: true });
    return { stopped, leftovers: await leftovers(state), notes };
  });
}

/** What of the lab still exists on the machine (should be nothing after `down`). */
export async function leftovers(state?: LabState): Promise<string[]> {
  const out: string[] = [];
  const ns = await labNamespaces();
  if (ns.length > 0) out.push(`network namespaces: ${ns.join(', ')}`);
  if ((await bridgeState()) !== 'absent') out.push(`bridge ${BRIDGE}`);
  if (existsSync(RUN_DIR)) out.push(RUN_DIR);
  const links = await tryRun('ip', ['-j', 'link', 'show']);
  if (links.code === 0) {
    const veths = (JSON.parse(links.stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => /^kvh\d+$/.test(n));
    if (veths.length > 0) out.push(`veth interfaces: ${veths.join(', ')}`);
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/kiln-lab/') || (state !== undefined && l.includes(state.labDir)))
    .map((l) => l.split(' ')[4]);
  if (mounts.length > 0) out.push(`mounts: ${mounts.join(', ')}`);
  return out;
}

export interface HostStatus {
  host: string;
  address: string;
  state: HostRunState;
  uptimeSeconds: number | null;
  pid: number | null;
  memoryBytes: number | null;
}

export async function status(): Promise<{ labDir: string | null; hosts: HostStatus[] }> {
  preflight(false);
  const state = await readLabState();
  if (!state) return { labDir: null, hosts: [] };
  const hosts = await mapLimit(state.topology.hosts, 8, async (h): Promise<HostStatus> => {
    const hs = await readHostState(h.name);
    const st = await hostRunState(hs);
    const alive = st !== 'stopped' && hs !== undefined;
    return {
      host: h.name,
      address: h.address,
      state: st,
      uptimeSeconds: alive ? Math.round((Date.now() - hs.startedAt) / 1000) : null,
      pid: alive ? hs.pid : null,
      memoryBytes: alive ? (hostMemory(hs.cgroups) ?? null) : null,
    };
  });
  return { labDir: state.labDir, hosts };
}

/** Discards one host's disk and boots it fresh (new machine-id, new host key). */
export async function reset(hostName: string, log: Log): Promise<void> {
  preflight();
  await withLabLock(async () => {
    const state = await readLabState();
    if (!state) throw new LabError('no lab is up; run `kiln lab up` first');
    const host = state.topology.hosts.find((h) => h.name === hostName);
    if (!host) throw new LabError(`no host "${hostName}" in the lab (hosts: ${state.topology.hosts.map((h) => h.name).join(', ')})`);
    const notes = await stopHost(host.name, host.address);
    notes.forEach(log);
    await rm(diskFiles(state.labDir, host.name).dir, { recursive: true, force: true });
    const rootfs = await ensureRootfs(log);
    if (rootfs.key !== state.rootfs.key) log('note: the base root filesystem changed since `up`; the reset host uses the new one');
    const mirror = await ensureMirror(rootfs, log);
    await ensureBridge();
    const authorizedKey = await ensureClientKey(state.labDir);
    const hs = await startHost({ labDir: state.labDir, topology: state.topology, rootfs, mirror, authorizedKey }, host);
    await waitForSsh(hs, 120000);
    const known = await Promise.all(state.topology.hosts.map((h) => knownHostsLine(state.labDir, h)));
    await writeLabFiles(state.labDir, state.topology, known);
  });
}

/** The lab directory for commands run from `cwd`: ./.lab if it exists, else the running lab's. */
export async function activeLabDir(cwd: string): Promise<string> {
  const local = labDirFor(cwd);
  if (existsSync(labFiles(local).sshConfig)) return local;
  const state = await readLabState().catch(() => undefined);
  if (state && existsSync(labFiles(state.labDir).sshConfig)) return state.labDir;
  throw new LabError(`no lab files in ${local}; run \`kiln lab up\` first`);
}

export type { Topology };
