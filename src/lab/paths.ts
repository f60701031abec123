/**
 * Where the lab keeps things, spelled in one place: machine-wide caches (CACHE_DIR, kept by
 * `down`), machine-wide runtime state (RUN_DIR, one directory per host under `hosts/`, deleted by
 * `down`), and the files of one lab directory (`.lab/` where `up` ran: the user's inventory and
 * SSH files, and the hosts' disks). Pure: it computes paths and touches nothing.
 */
import { join } from 'node:path';

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
    inventory: join(labDir, 'inventory.yml'),
    knownHosts: join(labDir, 'known_hosts'),
    sshConfig: join(labDir, 'ssh_config'),
    key: join(labDir, 'id_ed25519'),
    pubKey: join(labDir, 'id_ed25519.pub'),
    disks: join(labDir, 'disks'),
  };
}

/** A host's disk: the overlay upper/work dirs and its SSH host key, kept across `up`s. */
export function diskFiles(labDir: string, host: string) {
  const dir = join(labDir, 'disks', host);
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    hostKeyPub: join(dir, 'ssh_host_ed25519_key.pub'),
    /** Which mirror's apt lists were seeded into this disk. */
    seeded: join(dir, 'seeded-mirror'),
  };
}

export function hostRunFiles(host: string) {
  const dir = join(RUN_DIR, 'hosts', host);
  return {
    dir,
    state: join(dir, 'host.json'),
    launch: join(dir, 'launch.sh'),
    init: join(dir, 'init.sh'),
    log: join(dir, 'console.log'),
    root: join(dir, 'root'),
    authorizedKeys: join(dir, 'authorized_keys'),
    hosts: join(dir, 'hosts'),
    /** The current boot's id, bound over the host's /proc/sys/kernel/random/boot_id. */
    bootId: join(dir, 'boot_id'),
  };
}
