/**
 * The base root filesystem every host boots from (the read-only overlay lower layer): a minimal
 * Debian from mmdebstrap with BASE_PACKAGES, then made to look like a freshly installed server: a
 * `deploy` user with passwordless sudo and key-only login, sshd with no host key (each host's own
 * is installed at boot), apt pointed only at the offline mirror, no per-host identity (empty
 * machine-id, hostname localhost), and the units in MASKED_UNITS masked.
 *
 * Cached in CACHE_DIR/rootfs-<key>, the key hashing RECIPE_VERSION, the suite, the sorted package
 * list and the machine's apt sources. A directory is used only once its `complete` marker exists;
 * it is built in `<dir>.tmp-<pid>` and renamed into place.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SUITE, hashKey, machineAptOptionFiles, machineSources } from './cache.ts';
import { LabError } from './errors.ts';
import { run } from './exec.ts';
import { BASE_PACKAGES } from './packages.ts';
import { CACHE_DIR, HOST_MIRROR_PATH } from './paths.ts';

/** Bump when the post-processing below changes, so cached root filesystems are rebuilt. */
const RECIPE_VERSION = 4;

/**
 * Units masked in every host: no console to run a getty on; apt timers would grab the dpkg lock
 * behind a role's back; nvmf-autoconnect (nvme-cli, pulled in by Recommends of monitoring
 * packages) fails without NVMe hardware and would leave every host "degraded".
 */
const MASKED_UNITS = [
  'console-getty.service',
  'getty@tty1.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'nvmf-autoconnect.service',
];

export interface Rootfs {
  key: string;
  /** The root directory, used read-only as the overlay lower layer of every host. */
  root: string;
  /** uid/gid of the `deploy` user inside it. */
  deployUid: number;
  deployGid: number;
}

export function rootfsKey(): string {
  const sources = machineSources();
  return hashKey({ recipe: RECIPE_VERSION, suite: SUITE, packages: [...BASE_PACKAGES].sort(), sources: readFileSyncSafe(sources) });
}

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export async function readDeployIds(root: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('deploy:'));
  if (!line) throw new LabError(`root filesystem ${root} has no deploy user; delete ${dirname(root)} to rebuild it`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Returns the cached base root filesystem, building it with mmdebstrap first if needed. */
export async function ensureRootfs(log: (msg: string) => void): Promise<Rootfs> {
  const key = rootfsKey();
  const dir = join(CACHE_DIR, `rootfs-${key}`);
  const root = join(dir, 'root');
  if (!existsSync(join(dir, 'complete'))) {
    await buildRootfs(dir, log);
  }
  const ids = await readDeployIds(root);
  return { key, root, deployUid: ids.uid, deployGid: ids.gid };
}

async function buildRootfs(finalDir: string, log: (msg: string) => void): Promise<void> {
  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = `${finalDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const root = join(tmp, 'root');
  const started = Date.now();
  log(`building the base root filesystem (Debian ${SUITE}, ${BASE_PACKAGES.length} packages) in ${finalDir} — about a minute`);
  const args = [
    '--mode=root',
    '--variant=minbase',
    `--include=${BASE_PACKAGES.join(',')}`,
    ...machineAptOptionFiles().map((f) => `--aptopt=${f}`),
    '--quiet',
    SUITE,
    root,
    machineSources(),
  ];
  try {
    await run('mmdebstrap', args, { inherit: true });
    await customize(root);
    await writeFile(join(tmp, 'packages.txt'), `${[...BASE_PACKAGES].join('\n')}\n`);
    await writeFile(join(tmp, 'complete'), `${new Date().toISOString()}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  log(`base root filesystem ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Turns mmdebstrap's output into what a fresh Debian server install looks like, minus per-host identity. */
async function customize(root: string): Promise<void> {
  const p = (rel: string): string => join(root, rel);
  // Each host gets its own ed25519 host key at first boot.
  for (const f of await readdir(p('etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await rm(p(`etc/ssh/${f}`));
  }
  await writeFile(
    p('etc/ssh/sshd_config.d/50-kiln-lab.conf'),
    '# kiln lab: key-only logins, one ed25519 host key per host\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n',
  );
  // The deploy user: passwordless sudo, key-only login (password field "*" = no password, not locked).
  await run('chroot', [
    root,
    'useradd',
    '--create-home',
    '--shell',
    '/bin/bash',
    '--groups',
    'sudo',
    '--comment',
    'Kiln deploy user',
    'deploy',
  ]);
  await run('chroot', [root, 'usermod', '--password', '*', 'deploy']);
  await writeFile(p('etc/sudoers.d/90-kiln-deploy'), 'deploy ALL=(ALL:ALL) NOPASSWD: ALL\n', { mode: 0o440 });
  await chmod(p('etc/sudoers.d/90-kiln-deploy'), 0o440);
  for (const user of ['root', 'home/deploy']) {
    await mkdir(p(`${user}/.ssh`), { recursive: true, mode: 0o700 });
  }
  await run('chroot', [root, 'chown', 'deploy:deploy', '/home/deploy/.ssh']);
  // Offline apt: only the lab mirror, mounted read-only by each host.
  await rm(p('etc/apt/sources.list.d'), { recursive: true, force: true });
  await mkdir(p('etc/apt/sources.list.d'));
  await writeFile(
    p('etc/apt/sources.list'),
    `# kiln lab offline mirror (read-only bind mount)\ndeb [trusted=yes] file:${HOST_MIRROR_PATH} ./\n`,
  );
  await rm(p('etc/apt/apt.conf.d/99mmdebstrap'), { force: true });
  await mkdir(p(HOST_MIRROR_PATH.slice(1)), { recursive: true });
  for (const f of await readdir(p('var/lib/apt/lists')).catch(() => [] as string[])) {
    if (f !== 'partial' && f !== 'lock') await rm(p(`var/lib/apt/lists/${f}`), { recursive: true, force: true });
  }
  for (const f of ['pkgcache.bin', 'srcpkgcache.bin']) await rm(p(`var/cache/apt/${f}`), { force: true });
  // Identity is per host (written at boot).
  await writeFile(p('etc/resolv.conf'), '# kiln lab: hosts have no DNS server (offline network)\n');
  await writeFile(p('etc/hostname'), 'localhost\n');
  await writeFile(
    p('etc/hosts'),
    '127.0.0.1\tlocalhost\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n',
  );
  await writeFile(p('etc/machine-id'), '');
  for (const unit of MASKED_UNITS) {
    await rm(p(`etc/systemd/system/${unit}`), { force: true });
    await symlink('/dev/null', p(`etc/systemd/system/${unit}`));
  }
  await rm(p('etc/systemd/system/getty.target.wants/getty@tty1.service'), { force: true });
}
