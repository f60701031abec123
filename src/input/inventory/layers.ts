/**
 * Variable precedence, lowest to highest (later layers override earlier ones):
 *
 *   1. role defaults                       (engine)
 *   2. group `all`                         inline vars, then group_vars/all.yml (file, then dir form)
 *   3. parent groups  ─┐ groups ordered by depth (all = 0, its children 1, …), groups of the same
 *   4. child groups   ─┘ depth by name; for each group: inline vars < group_vars/<group>.yml < group_vars/<group>/*.yml
 *   5. host vars                           inline vars < host_vars/<host>.yml < host_vars/<host>/*.yml
 *   6. play vars                           (engine)
 *   7. extra vars (-e)                     (engine)
 *
 * Merging replaces whole values per top-level key (Ansible's default `hash_behaviour=replace`):
 * a dict in a higher layer replaces the dict below it, it is not deep-merged.
 *
 * The engine calls `mergeVarLayers([roleDefaults, ...inventoryVarLayers(inv, host), playVars, extraVars])`.
 */
import type { Inventory, VarLayer } from './types.ts';

export interface MergedVars {
  vars: Record<string, unknown>;
  /** Source of the winning value of each var. */
  sources: Record<string, string>;
}

/** The inventory's var layers for a host, low → high precedence. Empty layers are left out. */
export function inventoryVarLayers(inv: Inventory, host: string): VarLayer[] {
  const h = inv.hosts.get(host);
  if (!h) throw new Error(`no host named '${host}' in the inventory`);
  const out: VarLayer[] = [];
  for (const g of h.groups) out.push(...inv.groups.get(g)!.varLayers);
  out.push(...h.varLayers);
  return out.filter((l) => Object.keys(l.vars).length > 0);
}

/** Merges layers (low → high) with whole-value replacement per top-level key; `undefined` values are skipped. */
export function mergeVarLayers(layers: VarLayer[]): MergedVars {
  const vars: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.vars)) {
      if (v === undefined) continue;
      vars[k] = v;
      sources[k] = layer.source;
    }
  }
  return { vars, sources };
}

/** The merged inventory vars of a host (what `hostvars[host]` holds before play/extra vars). */
export function hostVarsOf(inv: Inventory, host: string): Record<string, unknown> {
  return mergeVarLayers(inventoryVarLayers(inv, host)).vars;
}

/** All hosts of a group, descendants' hosts included, in inventory order. */
export function groupHosts(inv: Inventory, group: string): string[] {
  const seen = new Set<string>();
  const groups = new Set<string>();
  const visit = (g: string) => {
    if (groups.has(g)) return;
    groups.add(g);
    const grp = inv.groups.get(g);
    if (!grp) return;
    grp.hosts.forEach((h) => seen.add(h));
    grp.children.forEach(visit);
  };
  visit(group);
  if (group === 'all') return [...inv.hosts.keys()];
  return [...inv.hosts.keys()].filter((h) => seen.has(h));
}

export interface MagicVars {
  inventory_hostname: string;
  inventory_hostname_short: string;
  /** The host's groups except `all` and `ungrouped`, sorted. */
  group_names: string[];
  /** Every group (`all` and `ungrouped` included) → its hosts, sorted. */
  groups: Record<string, string[]>;
}

/** `groups` is the same for every host of an inventory: computed once, shared, frozen. */
const groupsCache = new WeakMap<Inventory, Record<string, string[]>>();

/** The inventory changed at run time (add_host, group_by): `groups` is computed again. */
export function inventoryChanged(inv: Inventory): void {
  groupsCache.delete(inv);
}

/** Magic vars for a host. `hostvars` is provided lazily by the engine through `hostVarsOf`. */
export function magicVars(inv: Inventory, host: string): MagicVars {
  const h = inv.hosts.get(host);
  if (!h) throw new Error(`no host named '${host}' in the inventory`);
  let groups = groupsCache.get(inv);
  if (!groups) {
    groups = {};
    for (const g of inv.groups.keys()) groups[g] = Object.freeze(groupHosts(inv, g).sort()) as string[];
    groupsCache.set(inv, Object.freeze(groups));
  }
  return {
    inventory_hostname: host,
    inventory_hostname_short: host.split('.')[0]!,
    group_names: h.groups.filter((g) => g !== 'all' && g !== 'ungrouped').sort(),
    groups,
  };
}
