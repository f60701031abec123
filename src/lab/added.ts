/**
 * Hosts added to a running lab with `kiln lab add` (pure logic: validation, which inventory a host
 * is listed in, inventory paths). The lab's own topology (from `up`) never changes; added hosts are
 * recorded beside it in the lab state.
 *
 * Invariants: an added host is checked against the topology and every earlier addition exactly
 * like a topology file (unique name and address, groups, nesting); only added hosts can be
 * removed, never the topology's own; group nesting that no longer leads to a host is pruned, so a
 * written inventory has no empty groups.
 */
import { dirname, relative, resolve } from 'node:path';
import { LabError } from './errors.ts';
import { labFiles } from './paths.ts';
import { CONTROLLER_ADDRESS, labOctet, validateTopology, type LabHost, type Topology } from './topology.ts';

export interface InventoryVars {
  user: string;
  become: boolean;
  identity_file?: string;
  known_hosts?: string;
  controller_address?: string;
  [key: string]: unknown;
}

/** A host added with `kiln lab add`: a topology host, and the inventory it is listed in. */
export interface AddedHost extends LabHost {
  /** Absolute path of the separate inventory file the host is listed in; absent = the lab's inventory.yml. */
  inventory?: string;
}

/** What the lab state records about added hosts. */
export interface Additions {
  added: AddedHost[];
  /** Group nesting declared by added topologies (merged with the lab topology's `children`). */
  children: Record<string, string[]>;
}

/** `NAME --address A --count N` → NAME1..NAMEN at A, A+1, … (count 1 → NAME at A). */
export function expandCount(name: string, address: string, count: number): { name: string; address: string }[] {
  if (!Number.isInteger(count) || count < 1) throw new LabError(`--count must be a positive integer (got ${count})`);
  if (count === 1) return [{ name, address }];
  const first = labOctet(address);
  if (typeof first === 'string') throw new LabError(first);
  if (first + count - 1 > 254) throw new LabError(`${count} hosts from ${address} run past 10.77.0.254`);
  const prefix = address.slice(0, address.lastIndexOf('.') + 1);
  return Array.from({ length: count }, (_, i) => ({ name: `${name}${i + 1}`, address: `${prefix}${first + i}` }));
}

/** Parent → children, union of several maps (order kept, no duplicates). */
export function mergeChildren(...maps: Record<string, string[]>[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of maps) {
    for (const [p, kids] of Object.entries(m)) out[p] = [...new Set([...(out[p] ?? []), ...kids])];
  }
  return out;
}

/**
 * Checks hosts to add against the lab (its topology and hosts added before) exactly like topology
 * validation does for a whole file: names, addresses in 10.77.0.0/24 and not taken, group names,
 * nesting. Returns the hosts to record.
 */
export function validateAddition(
  base: Topology,
  prior: Additions,
  additions: Topology,
  inventory: string | undefined,
  source = 'kiln lab add',
): AddedHost[] {
  const existing = [...base.hosts, ...prior.added];
  const taken = new Map(existing.map((h) => [h.name, h]));
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const h of additions.hosts) {
    const other = taken.get(h.name);
    if (other) errors.push(`host "${h.name}" is already in the lab (${other.address})`);
    if (seen.has(h.name)) errors.push(`host "${h.name}" is given twice`);
    seen.add(h.name);
  }
  const hostSpec = (h: LabHost): { address: string; groups: string[] } => ({ address: h.address, groups: h.groups });
  const fresh = additions.hosts.filter((h) => !taken.has(h.name));
  const raw = {
    hosts: Object.fromEntries([...existing, ...fresh].map((h) => [h.name, hostSpec(h)])),
    // nesting left behind by removed hosts is dropped; a new topology's own was validated on load
    groups: pruneChildren(mergeChildren(base.children, prior.children, additions.children), [...existing, ...additions.hosts]),
  };
  if (!Object.keys(raw.groups).length) delete (raw as { groups?: unknown }).groups;
  try {
    validateTopology(raw, source);
  } catch (err) {
    if (!(err instanceof LabError)) throw err;
    const parts = err.message.split('\n  - ');
    errors.push(...(parts.length > 1 ? parts.slice(1) : parts));
  }
  if (errors.length) throw new LabError(`${source} is invalid:\n  - ${errors.join('\n  - ')}`);
  return additions.hosts.map((h) => (inventory === undefined ? { ...h } : { ...h, inventory }));
}

/** Every host of the lab: the topology's, then the added ones. */
export function allLabHosts(base: Topology, additions: Additions | undefined): AddedHost[] {
  return [...base.hosts, ...(additions?.added ?? [])];
}

/** Keeps only nesting that leads to groups with hosts (no empty groups in a written inventory). */
export function pruneChildren(children: Record<string, string[]>, hosts: readonly LabHost[]): Record<string, string[]> {
  const direct = new Set(hosts.flatMap((h) => h.groups));
  const memo = new Map<string, boolean>();
  const nonEmpty = (g: string, stack: string[]): boolean => {
    if (direct.has(g)) return true;
    if (memo.has(g)) return memo.get(g) as boolean;
    if (stack.includes(g)) return false;
    const r = (children[g] ?? []).some((k) => nonEmpty(k, [...stack, g]));
    memo.set(g, r);
    return r;
  };
  const out: Record<string, string[]> = {};
  for (const [p, kids] of Object.entries(children)) {
    const keep = kids.filter((k) => nonEmpty(k, [p]));
    if (keep.length) out[p] = keep;
  }
  return out;
}

/** The hosts (and their nesting) listed in one inventory: `undefined` = the lab's inventory.yml. */
export function inventoryTopology(base: Topology, additions: Additions | undefined, inventory: string | undefined): Topology {
  const hosts =
    inventory === undefined
      ? [...base.hosts, ...(additions?.added ?? []).filter((h) => h.inventory === undefined)]
      : (additions?.added ?? []).filter((h) => h.inventory === inventory);
  const plain = hosts.map((h) => ({ name: h.name, address: h.address, groups: h.groups }));
  return { hosts: plain, children: pruneChildren(mergeChildren(base.children, additions?.children ?? {}), plain) };
}

/** Separate inventory files in use (absolute paths, sorted). */
export function separateInventories(additions: Additions | undefined): string[] {
  return [...new Set((additions?.added ?? []).flatMap((h) => (h.inventory === undefined ? [] : [h.inventory])))].sort();
}

/** Connection vars of an inventory at `inventoryFile`: key and known_hosts paths relative to it (absolute outside the project). */
export function inventoryVars(labDir: string, inventoryFile: string): InventoryVars {
  const f = labFiles(labDir);
  const dir = dirname(inventoryFile);
  // relative when the inventory is in the lab's project directory (movable with it), else absolute
  const project = dirname(resolve(labDir));
  const inside = !relative(project, resolve(dir)).startsWith('..');
  const ref = (p: string): string => (inside ? relative(dir, p) : resolve(p));
  return {
    user: 'deploy',
    become: true,
    identity_file: ref(f.key),
    known_hosts: ref(f.knownHosts),
    controller_address: CONTROLLER_ADDRESS,
  };
}

/**
 * Removes added hosts by name. Hosts of the lab's own topology cannot be removed (they are what
 * `up` was asked for: `down` or another topology). Returns the remaining additions and the removed
 * hosts.
 */
export function removeAdded(base: Topology, prior: Additions, names: readonly string[]): { rest: Additions; removed: AddedHost[] } {
  const errors: string[] = [];
  for (const n of names) {
    if (base.hosts.some((h) => h.name === n))
      errors.push(`${n} is one of the lab's own hosts (from \`kiln lab up\`), not an added one; only \`kiln lab down\` removes it`);
    else if (!prior.added.some((h) => h.name === n)) {
      const added = prior.added.map((h) => h.name);
      errors.push(`no added host "${n}"${added.length ? ` (added hosts: ${added.join(', ')})` : ' (no hosts were added)'}`);
    }
  }
  if (errors.length) throw new LabError(`kiln lab remove:\n  - ${errors.join('\n  - ')}`);
  const drop = new Set(names);
  const added = prior.added.filter((h) => !drop.has(h.name));
  return {
    rest: { added, children: pruneChildren(prior.children, [...base.hosts, ...added]) },
    removed: prior.added.filter((h) => drop.has(h.name)),
  };
}
