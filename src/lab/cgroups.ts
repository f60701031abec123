/**
 * Each host's systemd gets its own cgroup in every hierarchy (entered before its cgroup namespace
 * is created), so hosts never share the machine's cgroup roots, their services stay apart, and
 * memory per host can be read. Without this, every host's systemd would create init.scope and
 * system.slice in the same machine-level cgroups.
 *
 * Invariants: only `<own cgroup>/kiln-lab/<host>` directories are created and removed (own cgroup:
 * this process's, per /proc/self/cgroup; hierarchies where it is not visible are skipped), and
 * only with rmdir, which fails while a cgroup holds processes: nothing here kills. The shared
 * `kiln-lab` parent goes with its last host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

interface Hierarchy {
  mountPoint: string;
  /** "memory", "cpu,cpuacct", "name=systemd", or "" for cgroup2. */
  controllers: string;
  /** Directory of our own cgroup in this hierarchy. */
  ownDir: string;
}

export function hierarchies(): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const i1 = line.indexOf(':');
    const i2 = line.indexOf(':', i1 + 1);
    if (i1 < 0 || i2 < 0) continue;
    const ctrls = line.slice(i1 + 1, i2);
    const p = line.slice(i2 + 1);
    own.set(ctrls, p);
  }
  const out: Hierarchy[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const fields = pre.split(' ');
    const mountRoot = fields[3];
    const mountPoint = fields[4];
    let controllers = '';
    if (fstype === 'cgroup') {
      const known = [
        'cpu',
        'cpuacct',
        'cpuset',
        'memory',
        'devices',
        'freezer',
        'net_cls',
        'net_prio',
        'blkio',
        'perf_event',
        'hugetlb',
        'pids',
        'rdma',
        'misc',
      ];
      const opts = superOpts.split(',');
      controllers = opts.filter((o) => known.includes(o) || o.startsWith('name=')).join(',');
      if (!own.has(controllers)) {
        // /proc/self/cgroup may list the controllers in another order
        const set = new Set(controllers.split(','));
        const match = [...own.keys()].find((k) => k.split(',').length === set.size && k.split(',').every((c) => set.has(c)));
        if (match === undefined) continue;
        controllers = match;
      }
    } else if (!own.has('')) continue;
    const ownPath = own.get(controllers) ?? '/';
    const rel = relative(mountRoot, ownPath);
    if (rel.startsWith('..')) continue;
    out.push({ mountPoint, controllers, ownDir: join(mountPoint, rel) });
  }
  return out;
}

async function copyFromParent(dir: string, file: string): Promise<void> {
  const value = (await readFile(join(dirname(dir), file), 'utf8')).trim();
  if (value) await writeFile(join(dir, file), value);
}

/** Creates `<own cgroup>/kiln-lab/<host>` in every hierarchy; returns the directories. */
export async function createHostCgroups(host: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const h of hierarchies()) {
    const parent = join(h.ownDir, 'kiln-lab');
    const dir = join(parent, host);
    for (const d of [parent, dir]) {
      await mkdir(d, { recursive: true });
      if (h.controllers.split(',').includes('cpuset')) {
        await copyFromParent(d, 'cpuset.cpus');
        await copyFromParent(d, 'cpuset.mems');
      }
    }
    dirs.push(dir);
  }
  return dirs;
}

/** Removes a host's cgroup directories depth-first (they must be empty of processes). */
export async function removeCgroups(dirs: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  const removeTree = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[] = [];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    try {
      await rmdir(dir);
    } catch {
      failed.push(dir);
    }
  };
  for (const d of dirs) {
    await removeTree(d);
    // the shared kiln-lab parent goes once empty
    const parent = dirname(d);
    if (basename(parent) === 'kiln-lab') {
      try {
        await rmdir(parent);
      } catch {
        /* other hosts still there */
      }
    }
  }
  return failed;
}

/** Memory charged to a host's cgroup, in bytes (v1 memory or v2), if measurable. */
export function hostMemory(dirs: readonly string[]): number | undefined {
  for (const d of dirs) {
    for (const f of ['memory.usage_in_bytes', 'memory.current']) {
      const file = join(d, f);
      if (existsSync(file)) {
        const v = Number(readFileSync(file, 'utf8').trim());
        if (Number.isFinite(v)) return v;
      }
    }
  }
  return undefined;
}
