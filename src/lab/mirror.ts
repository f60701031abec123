/**
 * The offline apt mirror every host installs from (the hosts have no internet access): a flat
 * repository of MIRROR_PACKAGES and their dependency closure (Recommends included) resolved
 * against the base root filesystem's dpkg status, plus the list files a host's `apt-get update`
 * would write.
 *
 * Cached in CACHE_DIR/mirror-<key>, the key hashing the recipe version, the suite, the base root
 * filesystem's key and the sorted package list. A directory is used only once its `complete`
 * marker exists; it is built in `<dir>.tmp-<pid>` and renamed into place, so a failed build never
 * leaves a cache that looks usable. Hosts get the repository bind-mounted read-only at
 * HOST_MIRROR_PATH, and the lists copied into their disk whenever the mirror key changed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SUITE, hashKey } from './cache.ts';
import { LabError } from './errors.ts';
import { run, tryRun } from './exec.ts';
import { MIRROR_PACKAGES } from './packages.ts';
import { CACHE_DIR, HOST_MIRROR_PATH } from './paths.ts';
import type { Rootfs } from './rootfs.ts';

const RECIPE_VERSION = 2;

export interface Mirror {
  key: string;
  /** Flat apt repository (debs + Packages + Release), bind-mounted read-only into hosts. */
  repo: string;
  /** apt list files as a host's `apt-get update` would write them, seeded into fresh disks. */
  lists: string;
}

/** apt's file name for a list of the flat repository at `uriPath` (e.g. _opt_kiln-mirror_._Packages). */
export function aptListName(uriPath: string, file: string): string {
  return `${uriPath.replace(/^\/+/, '').split('/').join('_').replace(/^/, '_')}_._${file}`;
}

/** Parses `apt-cache policy` output: the packages that have no installable candidate. */
export function missingFromPolicy(requested: readonly string[], policyOutput: string): string[] {
  const candidates = new Map<string, string>();
  let current: string | undefined;
  for (const line of policyOutput.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      current = head[1];
      continue;
    }
    const cand = /^\s+Candidate:\s*(.+)$/.exec(line);
    if (cand && current !== undefined) candidates.set(current.replace(/:amd64$/, ''), cand[1].trim());
  }
  return requested.filter((p) => {
    const c = candidates.get(p);
    return c === undefined || c === '(none)';
  });
}

/** The packages a mirror carries: MIRROR_PACKAGES, then the topology's extra ones (no duplicates). */
export function mirrorPackageList(extra: readonly string[] = []): string[] {
  return [...new Set([...MIRROR_PACKAGES, ...extra])];
}

/**
 * The mirror's cache key. Without extra packages it is the key the mirror always had (caches built
 * before `mirror_packages:` existed stay valid); the rootfs key does not depend on the list, so a
 * changed list rebuilds only the mirror.
 */
export function mirrorKey(rootfs: Pick<Rootfs, 'key'>, extra: readonly string[] = []): string {
  return hashKey({ recipe: RECIPE_VERSION, suite: SUITE, base: rootfs.key, packages: mirrorPackageList(extra).sort() });
}

/** Returns the cached offline apt mirror for `rootfs` (+ `extra` packages), building it first if needed. */
export async function ensureMirror(rootfs: Rootfs, extra: readonly string[], log: (msg: string) => void): Promise<Mirror> {
  const key = mirrorKey(rootfs, extra);
  const dir = join(CACHE_DIR, `mirror-${key}`);
  const mirror: Mirror = { key, repo: join(dir, 'repo'), lists: join(dir, 'lists') };
  if (!existsSync(join(dir, 'complete'))) await buildMirror(dir, rootfs, mirrorPackageList(extra), log);
  return mirror;
}

async function buildMirror(finalDir: string, rootfs: Rootfs, packages: string[], log: (msg: string) => void): Promise<void> {
  const started = Date.now();
  log(`building the offline apt mirror (${packages.length} packages + dependencies) in ${finalDir}`);
  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${finalDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const state = join(tmp, 'apt-state');
  const cache = join(tmp, 'apt-cache');
  const repo = join(tmp, 'repo');
  for (const d of [join(state, 'lists/partial'), join(cache, 'archives/partial'), join(repo, 'partial')]) {
    await mkdir(d, { recursive: true });
  }
  // Resolve against the base's own dpkg status (only what a host lacks is downloaded), Recommends on
  // like a default Debian install, using the machine's sources and registry settings.
  const aptOpts = [
    '-o',
    `Dir::State=${state}`,
    '-o',
    `Dir::State::status=${join(rootfs.root, 'var/lib/dpkg/status')}`,
    '-o',
    `Dir::Cache=${cache}`,
    '-o',
    `Dir::Cache::archives=${repo}`,
    '-o',
    'APT::Install-Recommends=true',
    '-o',
    'Debug::NoLocking=true',
    '-o',
    'APT::Architecture=amd64',
    '-q',
  ];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', [...aptOpts, 'update'], { env });
    const policy = await run('apt-cache', [...aptOpts, 'policy', ...packages], { env });
    const missing = missingFromPolicy(packages, policy.stdout);
    if (missing.length) {
      throw new LabError(
        `these mirror packages are not available in Debian ${SUITE}: ${missing.join(', ')}\n` +
          `(edit the topology's mirror_packages, or MIRROR_PACKAGES in src/lab/packages.ts)`,
      );
    }
    // The packages may conflict with each other (they are never all installed on one host, e.g.
    // ntpsec and chrony): a set apt cannot install together is split in halves, down to single
    // packages, each resolved against the base (a handful of apt runs instead of one per package).
    let splits = 0;
    const download = async (set: readonly string[]): Promise<void> => {
      const r = await tryRun('apt-get', [...aptOpts, 'install', '-y', '--download-only', ...set], { env });
      if (r.code === 0) return;
      if (set.length === 1) {
        await run('apt-get', [...aptOpts, 'install', '-y', '--download-only', ...set], { env }); // fails with apt's message
        return;
      }
      splits++;
      const half = Math.ceil(set.length / 2);
      await download(set.slice(0, half));
      await download(set.slice(half));
    };
    await download(packages);
    if (splits) log(`the mirror packages cannot all be installed together; resolved them in parts (${splits} splits)`);
    await rm(join(repo, 'partial'), { recursive: true, force: true });
    await rm(join(repo, 'lock'), { force: true });
    const debs = (await readdir(repo)).filter((f) => f.endsWith('.deb'));
    const packagesIndex = await run('apt-ftparchive', ['packages', '.'], { cwd: repo });
    await writeFile(join(repo, 'Packages'), packagesIndex.stdout);
    // Release is written outside the folder and moved in: otherwise it would list (hash) itself.
    const release = await run('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Origin=kiln-lab', 'release', '.'], { cwd: repo });
    await writeFile(join(tmp, 'Release'), release.stdout);
    await rename(join(tmp, 'Release'), join(repo, 'Release'));
    await seedLists(tmp, repo);
    await rm(state, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
    await writeFile(join(tmp, 'packages.txt'), `${packages.join('\n')}\n`);
    await writeFile(join(tmp, 'complete'), `${debs.length} debs, ${new Date().toISOString()}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
    log(`offline mirror ready: ${debs.length} .deb files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Produces the apt list files a host gets from `apt-get update` against the mirror, so a fresh host
 * can `apt-get install` at once like a freshly installed server (its lists are already populated).
 */
async function seedLists(tmp: string, repo: string): Promise<void> {
  const lists = join(tmp, 'lists');
  const work = join(tmp, 'seed');
  await mkdir(join(work, 'lists/partial'), { recursive: true });
  await mkdir(join(work, 'cache/archives/partial'), { recursive: true });
  await writeFile(join(work, 'sources.list'), `deb [trusted=yes] file:${repo} ./\n`);
  await run('apt-get', [
    '-o',
    `Dir::State=${work}`,
    '-o',
    `Dir::State::Lists=${join(work, 'lists')}`,
    '-o',
    `Dir::State::status=/dev/null`,
    '-o',
    `Dir::Cache=${join(work, 'cache')}`,
    '-o',
    `Dir::Etc::SourceList=${join(work, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/nonexistent',
    '-o',
    'Debug::NoLocking=true',
    '-q',
    'update',
  ]);
  await mkdir(lists, { recursive: true });
  const prefix = aptListName(repo, '');
  for (const f of await readdir(join(work, 'lists'))) {
    if (!f.startsWith(prefix)) continue;
    await rename(join(work, 'lists', f), join(lists, aptListName(HOST_MIRROR_PATH, f.slice(prefix.length))));
  }
  if (!(await readdir(lists)).length) throw new LabError(`apt-get update against ${repo} produced no list files`);
  await rm(work, { recursive: true, force: true });
}
