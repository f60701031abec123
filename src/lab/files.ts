/**
 * The files `kiln lab` writes for its user into the lab directory (`.lab/`): inventory.yml,
 * ssh_config and known_hosts, plus the separate inventories of hosts added with `--inventory`.
 *
 * Invariants: every file is written atomically (a temp file in the same directory, then rename);
 * `writeLabFiles` rewrites all of them for every host of the lab each time (no incremental edits)
 * and deletes a separate inventory once its last host is removed; under `sudo`, these files and
 * the lab's key belong to SUDO_UID/SUDO_GID (the disks stay root's). Inventory paths are relative
 * to the inventory file inside the project (see `inventoryVars`); ssh_config paths are absolute.
 */
import { chmod, lchown, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { allLabHosts, inventoryTopology, inventoryVars, separateInventories, type Additions, type InventoryVars } from './added.ts';
import { labFiles } from './paths.ts';
import { allGroups, type Topology } from './topology.ts';

/** Connection settings for every host in a written inventory (paths relative to the inventory file). */
export type { InventoryVars };

type HostMap = Record<string, { address: string }>;
interface GroupNode {
  hosts?: HostMap;
  children?: Record<string, GroupNode>;
}

/**
 * Builds a Kiln inventory (Ansible YAML inventory structure with Kiln's connection keys): groups
 * nest through `children:` as declared in the topology's `groups:` section.
 */
export function inventoryObject(
  topology: Topology,
  vars: InventoryVars,
): { all: { vars: InventoryVars; hosts?: HostMap; children?: Record<string, GroupNode> } } {
  const childSet = new Set(Object.values(topology.children).flat());
  const node = (group: string, seen: string[]): GroupNode => {
    const n: GroupNode = {};
    const members = topology.hosts.filter((h) => h.groups.includes(group));
    if (members.length) n.hosts = Object.fromEntries(members.map((h) => [h.name, { address: h.address }]));
    const kids = topology.children[group] ?? [];
    if (kids.length && !seen.includes(group)) {
      n.children = Object.fromEntries(kids.map((k) => [k, node(k, [...seen, group])]));
    }
    return n;
  };
  const top = allGroups(topology).filter((g) => !childSet.has(g));
  const all: { vars: InventoryVars; hosts?: HostMap; children?: Record<string, GroupNode> } = { vars };
  const ungrouped = topology.hosts.filter((h) => !h.groups.length);
  if (ungrouped.length) all.hosts = Object.fromEntries(ungrouped.map((h) => [h.name, { address: h.address }]));
  if (top.length) all.children = Object.fromEntries(top.map((g) => [g, node(g, [])]));
  return { all };
}

/** The lab's inventory.yml (or, with `inventoryFile`, a separate one for hosts added with --inventory). */
export function renderInventory(topology: Topology, inventoryFile?: string, labDir?: string): string {
  const sep = inventoryFile !== undefined && labDir !== undefined;
  const vars = sep ? inventoryVars(labDir, inventoryFile) : inventoryVars('.', 'inventory.yml');
  const header = sep
    ? `# Written by \`kiln lab add --inventory\`: hosts added to the lab at ${labDir}. Paths are relative to this file.`
    : "# Written by `kiln lab up`: the lab's hosts. Paths are relative to this file.";
  return `${header}\n${stringify(inventoryObject(topology, vars))}`;
}

function sshQuote(p: string): string {
  return /[\s"]/.test(p) ? `"${p.replace(/"/g, '')}"` : p;
}

/** ssh_config for `ssh -F .lab/ssh_config HOST` (absolute paths: works from any directory). */
export function renderSshConfig(topology: Topology, labDir: string): string {
  const f = labFiles(resolve(labDir));
  const blocks = topology.hosts.map(
    (h) => `Host ${h.name}
  HostName ${h.address}
  User deploy
  IdentityFile ${sshQuote(f.key)}
  IdentitiesOnly yes
  UserKnownHostsFile ${sshQuote(f.knownHosts)}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  HostKeyAlgorithms ssh-ed25519
  BatchMode yes
  ConnectTimeout 10
`,
  );
  return `# Written by \`kiln lab up\`. Usage: ssh -F ${f.sshConfig} HOST\n\n${blocks.join('\n')}`;
}

export function renderKnownHosts(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}

async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/**
 * Writes inventory.yml, ssh_config and known_hosts into the lab directory (every host, added ones
 * too), each separate inventory of added hosts, and removes the separate inventories in `emptied`
 * (their last host was removed). `knownHostsLines` covers every host.
 */
export async function writeLabFiles(
  labDir: string,
  topology: Topology,
  knownHostsLines: readonly string[],
  additions?: Additions,
  emptied: readonly string[] = [],
): Promise<void> {
  const f = labFiles(labDir);
  await mkdir(f.dir, { recursive: true });
  await writeAtomic(f.knownHosts, renderKnownHosts(knownHostsLines));
  await writeAtomic(f.sshConfig, renderSshConfig({ hosts: allLabHosts(topology, additions), children: {} }, labDir));
  await writeAtomic(f.inventory, renderInventory(inventoryTopology(topology, additions, undefined)));
  for (const inv of separateInventories(additions)) {
    await mkdir(dirname(inv), { recursive: true });
    await writeAtomic(inv, renderInventory(inventoryTopology(topology, additions, inv), inv, labDir));
  }
  const inUse = new Set(separateInventories(additions));
  for (const inv of emptied) if (!inUse.has(inv)) await rm(inv, { force: true });
  await handToInvokingUser([f.dir, f.inventory, f.sshConfig, f.knownHosts, f.key, f.pubKey, ...separateInventories(additions)]);
}

/** The user who ran `sudo kiln lab …` (SUDO_UID/SUDO_GID), when root runs on their behalf. */
export function invokingUser(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): { uid: number; gid: number } | undefined {
  const u = Number(env.SUDO_UID),
    g = Number(env.SUDO_GID);
  if (uid !== 0 || !Number.isInteger(u) || !Number.isInteger(g) || env.SUDO_UID === undefined || env.SUDO_GID === undefined || u === 0)
    return undefined;
  return { uid: u, gid: g };
}

/**
 * `sudo kiln lab up` then `kiln apply … -i .lab/inventory.yml` as yourself: the files apply needs
 * (inventory, ssh_config, known_hosts, the key) belong to the sudo user, not root. The hosts'
 * disks under .lab/disks stay root's.
 */
async function handToInvokingUser(files: readonly string[]): Promise<void> {
  const who = invokingUser();
  if (!who) return;
  for (const f of files) await lchown(f, who.uid, who.gid).catch(() => undefined);
}
