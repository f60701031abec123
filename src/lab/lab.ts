/**
 * The `kiln lab` commands (up, down, status, reset, add, remove), composed from the other files;
 * src/cli/lab.ts only parses arguments and prints.
 *
 * Invariants: one lab per machine (one bridge, one subnet, one state file); every command that
 * changes the lab holds the machine-wide lock (lock.ts); the lab state is written before anything
 * is created, so `down` can always clean up after a failed `up` or `add`; `up` is repeatable (a
 * host still running is kept, any other is started again on its disk) but changing the hosts or
 * their addresses needs `down` while one runs; `add` is all or nothing. `down` removes everything
 * the lab created (hosts, namespaces, veths, bridge, cgroups, RUN_DIR, the lab's files, and the
 * disks unless --keep-disks) and restores a raised limit; it never touches the caches in CACHE_DIR.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  allLabHosts,
  expandCount,
  mergeChildren,
  removeAdded,
  separateInventories,
  validateAddition,
  type AddedHost,
  type Additions,
} from './added.ts';
import { hostMemory } from './cgroups.ts';
import { sealClockWarp } from './clock.ts';
import { ensureTools, manualCommand, onPath, planTools } from './deps.ts';
import { LabError } from './errors.ts';
import { mapLimit, run, tryRun } from './exec.ts';
import { writeLabFiles } from './files.ts';
import { hostRunState, knownHostsLine, startHost, stopHost, waitForSsh, type HostContext, type HostRunState } from './host.ts';
import { ensureInotifyLimit, restoreLimit } from './limits.ts';
import { withLabLock } from './lock.ts';
import { ensureMirror, type Mirror } from './mirror.ts';
import { bridgeState, checkNetworkFree, ensureBridge, labNamespaces, removeBridge } from './network.ts';
import { BRIDGE, RUN_DIR, diskFiles, labFiles } from './paths.ts';
import { ensureRootfs, readDeployIds, type Rootfs } from './rootfs.ts';
import { isLabProcess, readHostState, readLabState, recordedHosts, removeRunDir, writeLabState, type LabState } from './state.ts';
import { loadTopology, sameMachines, type LabHost, type Topology } from './topology.ts';

export type Log = (msg: string) => void;

/**
 * kiln lab needs Linux and root; anything else gets a clear message. With `needTools`, a non-root
 * user is also told the exact command that installs the Debian packages the lab lacks (as root,
 * `checkTools` installs them itself).
 */
export function preflight(needTools = true): void {
  if (process.platform !== 'linux') {
    throw new LabError(
      `kiln lab needs Linux (network namespaces, overlayfs, systemd); this is ${process.platform}. Use the Vagrantfile instead (see docs/lab.md).`,
    );
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    const plan = needTools ? planTools((cmd) => onPath(cmd)) : undefined;
    const tools = plan?.packages.length
      ? ` It also needs Debian packages this machine lacks (${plan.packages.map((p) => `${p.name} for ${p.commands.join(', ')}`).join('; ')}): \`sudo kiln lab up\` installs them itself, or run:\n  ${manualCommand(plan)}`
      : '';
    throw new LabError(`kiln lab needs root (it creates network namespaces, a bridge and mounts); run it with sudo.${tools}`);
  }
}

/** As root: installs the Debian packages whose commands are missing, saying what and why (deps.ts). */
export async function checkTools(log: Log): Promise<void> {
  await ensureTools({ log, install: true });
}

export function labDirFor(cwd: string): string {
  return resolve(cwd, '.lab');
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
  await checkTools(opts.log);
  const labDir = labDirFor(opts.cwd);
  return withLabLock(
    async () => {
      const t0 = Date.now();
      const existing = await readLabState();
      let carriedLimit = existing?.labDir === labDir ? existing.raisedInotify : undefined;
      let carriedAdditions = existing?.labDir === labDir ? existing.additions : undefined;
      if (existing) {
        const running = await anyRunning(existing);
        if (existing.labDir !== labDir) {
          if (running.length) {
            throw new LabError(
              `a lab is already up from ${existing.labDir} (hosts ${running.join(', ')}); there is one lab per machine: run \`kiln lab down\` in ${dirname(existing.labDir)} first`,
            );
          }
          opts.log(`cleaning up the remains of a stopped lab from ${existing.labDir}`);
          await teardown(existing, { keepDisks: true, log: opts.log, removeLabDir: false });
          carriedLimit = undefined;
          carriedAdditions = undefined;
        } else if (!sameMachines(existing.topology, topology)) {
          if (running.length) {
            throw new LabError(
              `the lab is up with other hosts (${existing.topology.hosts.map((h) => `${h.name}=${h.address}`).join(', ')}); run \`kiln lab down\` first to change its hosts or addresses`,
            );
          }
          await teardown(existing, { keepDisks: true, log: opts.log, removeLabDir: false });
          carriedLimit = undefined;
          carriedAdditions = undefined;
        }
      } else if (recordedHosts().length || (await bridgeState()) === 'ours') {
        await teardown(undefined, { keepDisks: true, log: opts.log, removeLabDir: false });
      }
      await checkNetworkFree();
      // Lab hosts share this kernel: a time zone set in one must not move this machine's clock.
      await sealClockWarp();
      const rootfs = await ensureRootfs(opts.log);
      const mirror = await ensureMirror(rootfs, topology.mirrorPackages ?? [], opts.log);
      const state: LabState = {
        version: 1,
        labDir,
        topology,
        rootfs: { key: rootfs.key, root: rootfs.root },
        mirror: { key: mirror.key, repo: mirror.repo, lists: mirror.lists },
        createdAt: existing?.labDir === labDir ? existing.createdAt : new Date().toISOString(),
        raisedInotify: carriedLimit,
        additions: carriedAdditions,
      };
      // hosts added with `kiln lab add` stay (and are restarted if stopped)
      const everyHost = allLabHosts(topology, state.additions);
      await writeLabState(state); // before anything is created, so `down` can always clean up
      state.raisedInotify = await ensureInotifyLimit(everyHost.length, state.raisedInotify, opts.log);
      await writeLabState(state);
      await ensureBridge();
      const authorizedKey = await ensureClientKey(labDir);
      const ctx: HostContext = { labDir, topology: { hosts: everyHost, children: {} }, rootfs, mirror, authorizedKey };
      const started: string[] = [];
      const kept: string[] = [];
      const tStart = Date.now();
      await mapLimit(everyHost, 8, async (host) => {
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
      if (started.length) opts.log(`${started.length} host(s) booted in ${((Date.now() - tStart) / 1000).toFixed(1)} s`);
      if (kept.length && existing?.labDir === labDir && existing.mirror.key !== mirror.key) {
        opts.log(
          `the mirror's package list changed: the hosts already running (${kept.sort().join(', ')}) keep the mirror they booted with until \`kiln lab down\` and \`up\``,
        );
      }
      await writeFilesOf(state);
      return { labDir, started: started.sort(), kept: kept.sort(), seconds: (Date.now() - t0) / 1000 };
    },
    undefined,
    (pid) => opts.log(`waiting for another kiln lab command (pid ${pid})…`),
  );
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
  for (const h of state ? allLabHosts(state.topology, state.additions) : []) hosts.set(h.name, h.address);
  const results = await mapLimit([...hosts.entries()], 16, ([name, address]) => stopHost(name, address));
  notes.push(...results.flat());
  await removeBridge();
  await restoreLimit(state?.raisedInotify, opts.log);
  await removeRunDir();
  for (const inv of separateInventories(state?.additions)) await rm(inv, { force: true });
  if (state && opts.removeLabDir && existsSync(state.labDir)) {
    const f = labFiles(state.labDir);
    for (const file of [f.inventory, f.knownHosts, f.sshConfig, f.key, f.pubKey]) await rm(file, { force: true });
    if (!opts.keepDisks) {
      await rm(f.disks, { recursive: true, force: true });
      if (!(await readdir(state.labDir)).length) await rm(state.labDir, { recursive: true, force: true });
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
  if (ns.length) out.push(`network namespaces: ${ns.join(', ')}`);
  if ((await bridgeState()) !== 'absent') out.push(`bridge ${BRIDGE}`);
  if (existsSync(RUN_DIR)) out.push(RUN_DIR);
  const links = await tryRun('ip', ['-j', 'link', 'show']);
  if (links.code === 0) {
    const veths = (JSON.parse(links.stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => /^kvh\d+$/.test(n));
    if (veths.length) out.push(`veth interfaces: ${veths.join(', ')}`);
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/kiln-lab/') || (state !== undefined && l.includes(state.labDir)))
    .map((l) => l.split(' ')[4]);
  if (mounts.length) out.push(`mounts: ${mounts.join(', ')}`);
  return out;
}

export interface HostStatus {
  host: string;
  address: string;
  state: HostRunState;
  uptimeSeconds: number | null;
  pid: number | null;
  memoryBytes: number | null;
  /** Only for hosts added with `kiln lab add`: the inventory file listing it. */
  added?: { inventory: string };
}

export async function status(): Promise<{ labDir: string | null; hosts: HostStatus[] }> {
  preflight(false);
  const state = await readLabState();
  if (!state) return { labDir: null, hosts: [] };
  const inventory = labFiles(state.labDir).inventory;
  const hosts = await mapLimit(allLabHosts(state.topology, state.additions), 8, async (h: AddedHost): Promise<HostStatus> => {
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
      ...(state.topology.hosts.includes(h) ? {} : { added: { inventory: h.inventory ?? inventory } }),
    };
  });
  return { labDir: state.labDir, hosts };
}

/** Discards one host's disk and boots it fresh (new machine-id, new host key). */
export async function reset(hostName: string, log: Log): Promise<void> {
  preflight();
  await checkTools(log);
  await withLabLock(async () => {
    const state = await readLabState();
    if (!state) throw new LabError('no lab is up; run `kiln lab up` first');
    const everyHost = allLabHosts(state.topology, state.additions);
    const host = everyHost.find((h) => h.name === hostName);
    if (!host) throw new LabError(`no host "${hostName}" in the lab (hosts: ${everyHost.map((h) => h.name).join(', ')})`);
    const notes = await stopHost(host.name, host.address);
    notes.forEach(log);
    await rm(diskFiles(state.labDir, host.name).dir, { recursive: true, force: true });
    const rootfs = await ensureRootfs(log);
    if (rootfs.key !== state.rootfs.key) log('note: the base root filesystem changed since `up`; the reset host uses the new one');
    const mirror = await ensureMirror(rootfs, state.topology.mirrorPackages ?? [], log);
    await ensureBridge();
    const authorizedKey = await ensureClientKey(state.labDir);
    const hs = await startHost({ labDir: state.labDir, topology: { hosts: everyHost, children: {} }, rootfs, mirror, authorizedKey }, host);
    await waitForSsh(hs, 120000);
    await writeFilesOf(state);
  });
}

/**
 * Powers one host off (`kiln lab stop`): a clean halt (SIGRTMIN+3 to its systemd: services stop,
 * as on a machine's power button), or with `hard` a pulled cord (SIGKILL: nothing stops cleanly).
 * Its network goes with it; its disk, its place in the lab and its known_hosts line stay, so
 * `start` powers it on again as the same machine.
 */
export async function stop(hostName: string, hard: boolean, log: Log): Promise<void> {
  preflight(false);
  await withLabLock(async () => {
    const host = await labHost(hostName);
    const notes = await stopHost(host.name, host.address, 20000, hard);
    notes.forEach(log);
  });
}

/** Powers a stopped host on again (`kiln lab start`) on its own disk, and waits for its sshd. */
export async function start(hostName: string, log: Log): Promise<void> {
  preflight();
  await checkTools(log);
  await withLabLock(async () => {
    const state = await readLabState();
    const host = await labHost(hostName);
    if (!state) throw new LabError('no lab is up; run `kiln lab up` first');
    const h = await readHostState(host.name);
    if (h && isLabProcess(h.pid, h.pidStart)) throw new LabError(`${host.name} is running; \`kiln lab stop ${host.name}\` first`);
    const everyHost = allLabHosts(state.topology, state.additions);
    const { rootfs, mirror } = await labCaches(state);
    await ensureBridge();
    const authorizedKey = await ensureClientKey(state.labDir);
    await stopHost(host.name, host.address); // remains (namespace, cgroups) of a host that died by itself
    const hs = await startHost({ labDir: state.labDir, topology: { hosts: everyHost, children: {} }, rootfs, mirror, authorizedKey }, host);
    await waitForSsh(hs, 120000);
  });
}

async function labHost(hostName: string): Promise<LabHost> {
  const state = await readLabState();
  if (!state) throw new LabError('no lab is up; run `kiln lab up` first');
  const everyHost = allLabHosts(state.topology, state.additions);
  const host = everyHost.find((h) => h.name === hostName);
  if (!host) throw new LabError(`no host "${hostName}" in the lab (hosts: ${everyHost.map((h) => h.name).join(', ')})`);
  return host;
}

/** Rewrites the lab's files (and separate inventories) for every host the state records. */
async function writeFilesOf(state: LabState, emptied: readonly string[] = []): Promise<void> {
  const known = await Promise.all(allLabHosts(state.topology, state.additions).map((h) => knownHostsLine(state.labDir, h)));
  await writeLabFiles(state.labDir, state.topology, known, state.additions, emptied);
}

/** The caches the running lab was started from (added hosts use the same root filesystem and mirror). */
async function labCaches(state: LabState): Promise<{ rootfs: Rootfs; mirror: Mirror }> {
  for (const dir of [state.rootfs.root, state.mirror.repo, state.mirror.lists]) {
    if (!existsSync(dir))
      throw new LabError(`${dir}, a cache the running lab was started from, is gone; \`kiln lab down\` and \`up\` again`);
  }
  const ids = await readDeployIds(state.rootfs.root);
  return { rootfs: { ...state.rootfs, deployUid: ids.uid, deployGid: ids.gid }, mirror: state.mirror };
}

export interface AddOptions {
  cwd: string;
  /** Hosts to add (with optional nesting), from `NAME --address` (+ `--count`) or `--topology FILE`. */
  hosts: Topology;
  /** A separate inventory file for them instead of the lab's inventory.yml. */
  inventory?: string;
  log: Log;
  bootTimeoutMs?: number;
}

/** What `kiln lab add NAME --address A [--groups g1,g2] [--count N]` asks for. */
export function additionFromArgs(name: string, address: string, groups: string[], count: number): Topology {
  return { hosts: expandCount(name, address, count).map((h): LabHost => ({ ...h, groups })), children: {} };
}

/**
 * Boots more hosts on the running lab (its caches, own disks) without touching the running ones,
 * records them, and rewrites known_hosts, ssh_config and the inventory they go into. All or
 * nothing: if one does not come up, the new hosts are stopped and forgotten again.
 */
export async function add(opts: AddOptions): Promise<{ labDir: string; added: AddedHost[]; inventory: string; seconds: number }> {
  preflight();
  await checkTools(opts.log);
  return withLabLock(
    async () => {
      const t0 = Date.now();
      const state = await readLabState();
      if (!state) throw new LabError('no lab is up; run `kiln lab up` first');
      const mainInventory = labFiles(state.labDir).inventory;
      const invAbs = opts.inventory === undefined ? undefined : resolve(opts.cwd, opts.inventory);
      const inventory = invAbs === mainInventory ? undefined : invAbs;
      const prior: Additions = state.additions ?? { added: [], children: {} };
      const newHosts = validateAddition(state.topology, prior, opts.hosts, inventory);
      const { rootfs, mirror } = await labCaches(state);
      state.additions = { added: [...prior.added, ...newHosts], children: mergeChildren(prior.children, opts.hosts.children) };
      const everyHost = allLabHosts(state.topology, state.additions);
      await writeLabState(state); // before anything is created, so `down` can always clean up
      state.raisedInotify = await ensureInotifyLimit(everyHost.length, state.raisedInotify, opts.log);
      await writeLabState(state);
      await ensureBridge();
      const authorizedKey = await ensureClientKey(state.labDir);
      const ctx: HostContext = { labDir: state.labDir, topology: { hosts: everyHost, children: {} }, rootfs, mirror, authorizedKey };
      try {
        await mapLimit(newHosts, 8, async (host) => {
          await stopHost(host.name, host.address); // remains of an earlier host of that name
          const hs = await startHost(ctx, host);
          await waitForSsh(hs, opts.bootTimeoutMs ?? 120000);
        });
      } catch (err) {
        await mapLimit(newHosts, 16, (h) => stopHost(h.name, h.address));
        state.additions = prior;
        await writeLabState(state);
        throw err;
      }
      await writeFilesOf(state);
      return { labDir: state.labDir, added: newHosts, inventory: inventory ?? mainInventory, seconds: (Date.now() - t0) / 1000 };
    },
    undefined,
    (pid) => opts.log(`waiting for another kiln lab command (pid ${pid})…`),
  );
}

export interface RemoveOptions {
  cwd: string;
  names: string[];
  /** Also remove every host listed in this separate inventory. */
  inventory?: string;
  /** Keep their disks (default: deleted, so a host added again under that name starts fresh). */
  keepDisks?: boolean;
  log: Log;
}

/** Stops added hosts and forgets them: lab state, known_hosts, ssh_config, their inventory. */
export async function remove(opts: RemoveOptions): Promise<{ removed: string[]; notes: string[]; seconds: number }> {
  preflight(false);
  return withLabLock(async () => {
    const t0 = Date.now();
    const state = await readLabState();
    if (!state) throw new LabError('no lab is up');
    const prior: Additions = state.additions ?? { added: [], children: {} };
    const names = [...opts.names];
    if (opts.inventory !== undefined) {
      const inv = resolve(opts.cwd, opts.inventory);
      const listed = prior.added.filter((h) => h.inventory === inv).map((h) => h.name);
      if (!listed.length && !names.length) throw new LabError(`no added hosts are listed in ${inv}`);
      names.push(...listed.filter((n) => !names.includes(n)));
    }
    if (!names.length) throw new LabError('name the hosts to remove (or --inventory FILE)');
    const { rest, removed } = removeAdded(state.topology, prior, names);
    const notes = (await mapLimit(removed, 16, (h) => stopHost(h.name, h.address))).flat();
    if (!opts.keepDisks) for (const h of removed) await rm(diskFiles(state.labDir, h.name).dir, { recursive: true, force: true });
    state.additions = rest.added.length ? rest : undefined;
    await writeLabState(state);
    await writeFilesOf(state, [...new Set(removed.flatMap((h) => (h.inventory === undefined ? [] : [h.inventory])))]);
    return { removed: removed.map((h) => h.name), notes, seconds: (Date.now() - t0) / 1000 };
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
