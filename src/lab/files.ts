import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { labFiles } from './paths.ts';
import { CONTROLLER_ADDRESS, allGroups, type Topology } from './topology.ts';

/** Connection settings for every host in a written inventory (paths relative to the inventory file). */
export interface InventoryVars {
  user: string;
  become: boolean;
  identity_file?: string;
  known_hosts?: string;
  controller_address?: string;
  [key: string]: unknown;
}

type HostMap = Record<string, { address: string }>;
interface GroupNode {
  hosts?: HostMap;
  children?: Record<string, GroupNode>;
}

/**
 * Builds a Kiln inventory (Ansible YAML inventory structure with Kiln's connection keys): groups
 * nest through `children:` as declared in the topology's `groups:` section.
 */
export function inventoryObject(topology: Topology, vars: InventoryVars): { all: { vars: InventoryVars; hosts?: HostMap; children?: Record<string, GroupNode> } } {
  const childSet = new Set(Object.values(topology.children).flat());
  const node = (group: string, seen: string[]): GroupNode => {
    const n: GroupNode = {};
    const members = topology.hosts.filter((h) => h.groups.includes(group));
    if (members.length > 0) n.hosts = Object.fromEntries(members.map((h) => [h.name, { address: h.address }]));
    const kids = topology.children[group] ?? [];
    if (kids.length > 0 && !seen.includes(group)) {
      n.children = Object.fromEntries(kids.map((k) => [k, node(k, [...seen, group])]));
    }
    return n;
  };
  const top = allGroups(topology).filter((g) => !childSet.has(g));
  const all: { vars: InventoryVars; hosts?: HostMap; children?: Record<string, GroupNode> } = { vars };
  const ungrouped = topology.hosts.filter((h) => h.groups.length === 0);
  if (ungrouped.length > 0) all.hosts = Object.fromEntries(ungrouped.map((h) => [h.name, { address: h.address }]));
  if (top.length > 0) all.children = Object.fromEntries(top.map((g) => [g, node(g, [])]));
  return { all };
}

export function renderInventory(topology: Topology): string {
  const inv = inventoryObject(topology, {
    user: 'deploy',
    become: true,
    identity_file: 'id_ed25519',
    known_hosts: 'known_hosts',
    controller_address: CONTROLLER_ADDRESS,
  });
  return `# Written by \`kiln lab up\`: the lab's hosts. Paths are relative to this file.\n${stringify(inv)}`;
}

function sshQuote(p: string): string {
  return /[\s"]/.test(p) ? `"${p.replace(/"/g, '')}"` : p;
}

/** ssh_config for `ssh -F .lab/ssh_config HOST` (absolute paths: works from any directory). */
export function renderSshConfig(topology: Topology, labDir: string): string {
  const f = labFiles(path.resolve(labDir));
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

/** Writes inventory.yml, ssh_config and known_hosts into the lab directory. */
export async function writeLabFiles(labDir: string, topology: Topology, knownHostsLines: readonly string[]): Promise<void> {
  const f = labFiles(labDir);
  await mkdir(f.dir, { recursive: true });
  await writeAtomic(f.knownHosts, renderKnownHosts(knownHostsLines));
  await writeAtomic(f.sshConfig, renderSshConfig(topology, labDir));
  await writeAtomic(f.inventory, renderInventory(topology));
}
