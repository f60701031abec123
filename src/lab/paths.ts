import path from 'node:path';

/** Caches shared by every lab on this machine (root filesystem, apt mirror). */
export const CACHE_DIR = process.env.KILN_LAB_CACHE ?? '/var/cache/kiln/lab';
/** Runtime state: PIDs, generated init scripts, logs. Machine-global: there is one lab per machine. */
export const RUN_DIR = '/run/kiln-lab';
/** The machine side of the lab network. */
export const BRIDGE = 'kiln-br0';
/** Marker set as the bridge's alias, so a bridge the lab did not create is never touched. */
export const BRIDGE_ALIAS = 'kiln-lab';
/** Where the offline mirror is mounted (read-only) inside each host. */
export const HOST_MIRROR_PATH = '/opt/kiln-mirror';

/** Files of one lab directory (`.lab/` in the working directory of `kiln lab up`). */
export function labFiles(labDir: string) {
  return {
    dir: labDir,
    inventory: path.join(labDir, 'inventory.yml'),
    knownHosts: path.join(labDir, 'known_hosts'),
    sshConfig: path.join(labDir, 'ssh_config'),
    key: path.join(labDir, 'id_ed25519'),
    pubKey: path.join(labDir, 'id_ed25519.pub'),
    disks: path.join(labDir, 'disks'),
  };
}

/** A host's disk: the overlay upper/work dirs and its SSH host key, kept across `up`s. */
export function diskFiles(labDir: string, host: string) {
  const dir = path.join(labDir, 'disks', host);
  return {
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    hostKeyPub: path.join(dir, 'ssh_host_ed25519_key.pub'),
    /** Which mirror's apt lists were seeded into this disk. */
    seeded: path.join(dir, 'seeded-mirror'),
  };
}

export function hostRunFiles(host: string) {
  const dir = path.join(RUN_DIR, 'hosts', host);
  return {
    dir,
    state: path.join(dir, 'host.json'),
    launch: path.join(dir, 'launch.sh'),
    init: path.join(dir, 'init.sh'),
    log: path.join(dir, 'console.log'),
    root: path.join(dir, 'root'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    hosts: path.join(dir, 'hosts'),
  };
}
