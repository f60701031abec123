/**
 * `kiln inventory from-vagrant`: the lab's topology on Vagrant machines instead of namespaces.
 * Parses `vagrant ssh-config` output into a Kiln inventory with the topology's groups (connecting
 * as Vagrant says, or as `deploy` over the 10.77.0.x private network) and known_hosts lines from
 * `ssh-keyscan` output. Text in, text out: it runs neither vagrant nor ssh-keyscan. A host without
 * a scanned key is reported (missingKeys), never given one; parent groups with no present host are
 * dropped.
 */
import { stringify } from 'yaml';
import { LabError } from './errors.ts';
import { inventoryObject, type InventoryVars } from './files.ts';
import { CONTROLLER_ADDRESS, type Topology } from './topology.ts';

/** One `Host` block of `vagrant ssh-config` output. */
export interface VagrantSshHost {
  name: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Every option of the block, keys lower-cased, last value wins (IdentityFile: see identityFiles). */
  options: Record<string, string>;
}

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parses the output of `vagrant ssh-config` (one Host block per machine). */
export function parseVagrantSshConfig(text: string): VagrantSshHost[] {
  const hosts: VagrantSshHost[] = [];
  let cur: { name: string; options: Record<string, string>; identityFiles: string[]; line: number } | undefined;
  const finish = (): void => {
    if (!cur) return;
    const o = cur.options;
    if (!o.hostname) throw new LabError(`vagrant ssh-config: Host ${cur.name} (line ${cur.line}) has no HostName`);
    const port = o.port === undefined ? 22 : Number(o.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new LabError(`vagrant ssh-config: Host ${cur.name} has an invalid Port "${o.port}"`);
    hosts.push({ name: cur.name, hostName: o.hostname, port, user: o.user ?? 'vagrant', identityFiles: cur.identityFiles, options: o });
  };
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) throw new LabError(`vagrant ssh-config: line ${i + 1}: cannot parse "${line}"`);
    const key = m[1].toLowerCase();
    const value = unquote(m[2]);
    if (key === 'host') {
      finish();
      const names = value.split(/\s+/);
      cur = { name: names[0], options: {}, identityFiles: [], line: i + 1 };
      return;
    }
    if (!cur)
      throw new LabError(
        `vagrant ssh-config: line ${i + 1}: "${m[1]}" before the first Host line (is this \`vagrant ssh-config\` output?)`,
      );
    if (key === 'identityfile') cur.identityFiles.push(value);
    cur.options[key] = value;
  });
  finish();
  if (!hosts.length) throw new LabError('vagrant ssh-config: no Host entries found (are the machines up? run `vagrant up` first)');
  const seen = new Set<string>();
  for (const h of hosts) {
    if (seen.has(h.name)) throw new LabError(`vagrant ssh-config: Host ${h.name} appears twice`);
    seen.add(h.name);
  }
  return hosts;
}

/** known_hosts host field for an address and port (OpenSSH writes [addr]:port for non-22 ports). */
export function knownHostsHost(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export interface FromVagrantOptions {
  topology: Topology;
  /**
   * 'ssh-config': connect as vagrant says (HostName/Port/User/IdentityFile, e.g. 127.0.0.1:2222).
   * 'private-network': connect to the topology's 10.77.0.x address as `deploy` (the user the
   * Vagrantfile's provision step creates) with `identityFile`.
   */
  via: 'ssh-config' | 'private-network';
  /** For via=private-network: the private key matching the provisioned authorized key. */
  identityFile?: string;
  /** `ssh-keyscan` output for the machines, if available. */
  keyscan?: string;
}

export interface FromVagrantResult {
  inventory: string;
  knownHosts: string;
  /** Hosts without a scanned host key: need --accept-new-host-keys on first connect. */
  missingKeys: string[];
  /** Hosts in the vagrant output that are not in the topology (written ungrouped). */
  notInTopology: string[];
  /** Topology hosts vagrant did not report (left out of the inventory). */
  notRunning: string[];
}

/** Converts parsed `vagrant ssh-config` output to a Kiln inventory and known_hosts lines. */
export function vagrantToInventory(hosts: readonly VagrantSshHost[], opts: FromVagrantOptions): FromVagrantResult {
  const topoByName = new Map(opts.topology.hosts.map((h) => [h.name, h]));
  if (opts.via === 'private-network' && !opts.identityFile) {
    throw new LabError('--private-network needs --identity FILE (the private key whose public half the Vagrantfile provisioned)');
  }
  const entries = hosts.map((h) => {
    const t = topoByName.get(h.name);
    if (opts.via === 'private-network') {
      if (!t) throw new LabError(`vagrant machine ${h.name} is not in the topology, so its private-network address is unknown`);
      return { name: h.name, address: t.address, port: 22, user: 'deploy', identity: opts.identityFile as string, groups: t.groups };
    }
    return { name: h.name, address: h.hostName, port: h.port, user: h.user, identity: h.identityFiles[0], groups: t?.groups ?? [] };
  });
  // Reuse the lab's group structure; per-host connection settings go into host vars.
  const topo: Topology = {
    hosts: entries.map((e) => ({ name: e.name, address: e.address, groups: e.groups })),
    children: opts.topology.children,
  };
  // Drop parent groups whose children are all absent (keeps the inventory valid).
  const present = new Set(topo.hosts.flatMap((h) => h.groups));
  const prune = (g: string): boolean => present.has(g) || (topo.children[g] ?? []).some(prune);
  topo.children = Object.fromEntries(
    Object.entries(topo.children)
      .map(([p, kids]) => [p, kids.filter(prune)] as const)
      .filter(([, kids]) => kids.length),
  );
  const vars: InventoryVars =
    opts.via === 'private-network'
      ? {
          user: 'deploy',
          become: true,
          identity_file: opts.identityFile,
          known_hosts: 'known_hosts',
          controller_address: CONTROLLER_ADDRESS,
        }
      : { user: 'vagrant', become: true, known_hosts: 'known_hosts' };
  const inv = inventoryObject(topo, vars);
  const byName = new Map(entries.map((e) => [e.name, e]));
  // add per-host connection details
  const decorate = (node: { hosts?: Record<string, Record<string, unknown>>; children?: Record<string, unknown> }): void => {
    for (const [name, hv] of Object.entries(node.hosts ?? {})) {
      const e = byName.get(name);
      if (!e) continue;
      if (e.port !== 22) hv.port = e.port;
      if (opts.via === 'ssh-config') {
        if (e.user !== 'vagrant') hv.user = e.user;
        if (e.identity) hv.identity_file = e.identity;
      }
    }
    for (const child of Object.values(node.children ?? {})) decorate(child as typeof node);
  };
  decorate(inv.all as unknown as Parameters<typeof decorate>[0]);

  const scanned = new Map<string, string[]>();
  for (const line of (opts.keyscan ?? '').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [hostField, type, key] = t.split(/\s+/);
    if (!type || !key) continue;
    for (const hf of hostField.split(',')) {
      const list = scanned.get(hf) ?? [];
      list.push(`${type} ${key}`);
      scanned.set(hf, list);
    }
  }
  const known: string[] = [];
  const missingKeys: string[] = [];
  for (const e of entries) {
    const hf = knownHostsHost(e.address, e.port);
    const keys = scanned.get(hf);
    if (!keys || !keys.length) missingKeys.push(e.name);
    else for (const k of keys) known.push(`${hf} ${k}`);
  }
  const header =
    opts.via === 'private-network'
      ? '# Written by `kiln inventory from-vagrant --private-network`: the Vagrant machines over their 10.77.0.x addresses.\n'
      : '# Written by `kiln inventory from-vagrant` from `vagrant ssh-config`.\n';
  return {
    inventory: `${header}${stringify(inv)}`,
    knownHosts: known.length ? `${[...new Set(known)].join('\n')}\n` : '',
    missingKeys,
    notInTopology: hosts.filter((h) => !topoByName.has(h.name)).map((h) => h.name),
    notRunning: opts.topology.hosts.filter((t) => !hosts.some((h) => h.name === t.name)).map((t) => t.name),
  };
}
