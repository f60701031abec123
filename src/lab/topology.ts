/**
 * Lab topologies: the hosts (name, address in 10.77.0.0/24, groups) and the group nesting, from
 * DEFAULT_TOPOLOGY or a YAML file. `validateTopology` is the one gate and reports every problem
 * at once in one LabError. In a valid topology host names and addresses are unique, addresses lie
 * in .2–.254 (.1 is the controller), group names are neither `all`/`ungrouped` nor host names,
 * child groups exist, and the nesting has no cycle. Pure except `loadTopology`, which reads a file.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { LabError } from './errors.ts';
import { CORPUS_PACKAGES } from './packages.ts';

/** The lab's network: every host address must lie in it; .1 is the controller (machine side). */
export const LAB_SUBNET = '10.77.0.0/24';
export const LAB_PREFIX = '10.77.0.';
export const CONTROLLER_ADDRESS = '10.77.0.1';

export interface LabHost {
  name: string;
  address: string;
  /** Groups the host is a direct member of (in file order). */
  groups: string[];
}

export interface Topology {
  hosts: LabHost[];
  /** parent group → child groups (nesting, like Ansible's `children:`). */
  children: Record<string, string[]>;
  /**
   * Extra Debian packages the offline mirror carries on top of MIRROR_PACKAGES (with their
   * dependency closure), from the file's `mirror_packages:`; part of the mirror's cache key.
   */
  mirrorPackages?: string[];
}

/** The default lab: 7 hosts shaped like a small web stack. */
export const DEFAULT_TOPOLOGY: Topology = {
  hosts: [
    { name: 'lb1', address: '10.77.0.11', groups: ['lb'] },
    { name: 'lb2', address: '10.77.0.12', groups: ['lb'] },
    { name: 'web1', address: '10.77.0.21', groups: ['web'] },
    { name: 'web2', address: '10.77.0.22', groups: ['web'] },
    { name: 'db1', address: '10.77.0.31', groups: ['db_primary'] },
    { name: 'db2', address: '10.77.0.32', groups: ['db_replica'] },
    { name: 'mon1', address: '10.77.0.41', groups: ['monitoring'] },
  ],
  children: { db: ['db_primary', 'db_replica'] },
  mirrorPackages: [...CORPUS_PACKAGES],
};

/** A Debian package name (policy §5.6.1): lowercase letters, digits, + - . ; at least 2 characters. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

const HOST_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Last octet of a lab address, or an error message explaining why it is not one. */
export function labOctet(address: string): number | string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return `"${address}" is not an IPv4 address`;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || String(p) !== m[i + 1])) return `"${address}" is not a valid IPv4 address`;
  if (`${parts[0]}.${parts[1]}.${parts[2]}.` !== LAB_PREFIX) return `${address} is outside the lab subnet ${LAB_SUBNET}`;
  const last = parts[3];
  if (last === 0 || last === 255) return `${address} is the network or broadcast address of ${LAB_SUBNET}`;
  if (last === 1) return `${address} is the controller's address (the machine side of the lab bridge)`;
  return last;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a topology object (already parsed from YAML). Collects every problem and throws one
 * LabError listing them all, prefixed with `source`.
 */
export function validateTopology(raw: unknown, source = 'topology'): Topology {
  const errors: string[] = [];
  const hosts: LabHost[] = [];
  const children: Record<string, string[]> = {};
  if (!isRecord(raw)) throw new LabError(`${source}: expected a mapping with "hosts:" (and optionally "groups:")`);
  for (const key of Object.keys(raw)) {
    if (key !== 'hosts' && key !== 'groups' && key !== 'mirror_packages')
      errors.push(`unknown top-level key "${key}" (allowed: hosts, groups, mirror_packages)`);
  }
  let mirrorPackages: string[] | undefined;
  if (raw.mirror_packages !== undefined) {
    const list = raw.mirror_packages;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
      errors.push('"mirror_packages:" must be a list of Debian package names, e.g. [apache2, redis-server]');
    } else {
      const seen = new Set<string>();
      for (const p of list as string[]) {
        if (!PACKAGE_NAME.test(p)) errors.push(`mirror_packages: "${p}" is not a Debian package name`);
        else if (seen.has(p)) errors.push(`mirror_packages: "${p}" listed twice`);
        seen.add(p);
      }
      mirrorPackages = [...seen];
    }
  }
  const rawHosts = raw.hosts;
  if (!isRecord(rawHosts) || !Object.keys(rawHosts).length) {
    errors.push('"hosts:" must be a non-empty mapping of host name → { address, groups }');
  } else {
    const byAddress = new Map<string, string>();
    for (const [name, spec] of Object.entries(rawHosts)) {
      const where = `host "${name}"`;
      if (!HOST_NAME.test(name)) {
        errors.push(`${where}: invalid name (lowercase letters, digits and "-", starting with a letter, at most 30 characters)`);
      }
      if (!isRecord(spec)) {
        errors.push(`${where}: expected a mapping like { address: 10.77.0.11, groups: [web] }`);
        continue;
      }
      for (const key of Object.keys(spec)) {
        if (key !== 'address' && key !== 'groups') errors.push(`${where}: unknown key "${key}" (allowed: address, groups)`);
      }
      const address = spec.address;
      if (typeof address !== 'string') {
        errors.push(`${where}: "address" is required and must be a string like 10.77.0.11`);
        continue;
      }
      const octet = labOctet(address);
      if (typeof octet === 'string') errors.push(`${where}: ${octet}`);
      const other = byAddress.get(address);
      if (other !== undefined) errors.push(`${where}: address ${address} is already used by host "${other}"`);
      else byAddress.set(address, name);
      let groups: string[] = [];
      if (spec.groups !== undefined) {
        if (!Array.isArray(spec.groups) || spec.groups.some((g) => typeof g !== 'string')) {
          errors.push(`${where}: "groups" must be a list of group names`);
        } else {
          groups = spec.groups as string[];
          const seen = new Set<string>();
          for (const g of groups) {
            if (!GROUP_NAME.test(g)) errors.push(`${where}: invalid group name "${g}"`);
            if (g === 'all' || g === 'ungrouped') errors.push(`${where}: group "${g}" is reserved`);
            if (seen.has(g)) errors.push(`${where}: group "${g}" listed twice`);
            seen.add(g);
          }
        }
      }
      hosts.push({ name, address, groups });
    }
  }
  if (raw.groups !== undefined) {
    if (!isRecord(raw.groups)) {
      errors.push('"groups:" must map a parent group to a list of child groups, e.g. { db: [db_primary, db_replica] }');
    } else {
      for (const [parent, kids] of Object.entries(raw.groups)) {
        if (!GROUP_NAME.test(parent)) errors.push(`group "${parent}": invalid group name`);
        if (parent === 'all' || parent === 'ungrouped') errors.push(`group "${parent}" is reserved`);
        if (!Array.isArray(kids) || kids.some((k) => typeof k !== 'string') || !kids.length) {
          errors.push(`group "${parent}": expected a non-empty list of child group names`);
          continue;
        }
        children[parent] = [...new Set(kids as string[])];
      }
    }
  }
  if (!errors.length) errors.push(...checkGroups({ hosts, children }));
  if (errors.length) throw new LabError(`${source} is invalid:\n  - ${errors.join('\n  - ')}`);
  return mirrorPackages === undefined ? { hosts, children } : { hosts, children, mirrorPackages };
}

function checkGroups(t: Topology): string[] {
  const errors: string[] = [];
  const hostNames = new Set(t.hosts.map((h) => h.name));
  const known = new Set<string>([...t.hosts.flatMap((h) => h.groups), ...Object.keys(t.children)]);
  for (const g of known) {
    if (hostNames.has(g)) errors.push(`"${g}" is both a host and a group name`);
  }
  for (const [parent, kids] of Object.entries(t.children)) {
    for (const k of kids) {
      if (!known.has(k)) errors.push(`group "${parent}": child group "${k}" has no hosts and no children`);
    }
  }
  // cycles
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (g: string, path: string[]): void => {
    if (state.get(g) === 'done') return;
    if (state.get(g) === 'visiting') {
      errors.push(`group nesting has a cycle: ${[...path, g].join(' → ')}`);
      return;
    }
    state.set(g, 'visiting');
    for (const k of t.children[g] ?? []) visit(k, [...path, g]);
    state.set(g, 'done');
  };
  for (const g of Object.keys(t.children)) visit(g, []);
  return errors;
}

/** Parses and validates topology YAML text. */
export function parseTopology(text: string, source = 'topology'): Topology {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const msg = e.code === 'DUPLICATE_KEY' ? 'duplicate key (a host or group is defined twice)' : e.message.split('\n')[0];
    throw new LabError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${msg}`);
  }
  return validateTopology(doc.toJS(), source);
}

export async function loadTopology(file: string | undefined): Promise<Topology> {
  if (file === undefined) return DEFAULT_TOPOLOGY;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LabError(`cannot read topology file ${file}: ${(err as Error).message}`);
  }
  return parseTopology(text, file);
}

/** All group names: those with hosts and those with children. */
export function allGroups(t: Topology): string[] {
  const out: string[] = [];
  const add = (g: string): void => {
    if (!out.includes(g)) out.push(g);
  };
  for (const h of t.hosts) h.groups.forEach(add);
  for (const [p, kids] of Object.entries(t.children)) {
    add(p);
    kids.forEach(add);
  }
  return out;
}

/** Same hosts with the same addresses (groups may differ). */
export function sameMachines(a: Topology, b: Topology): boolean {
  const key = (t: Topology): string =>
    t.hosts
      .map((h) => `${h.name}=${h.address}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}
