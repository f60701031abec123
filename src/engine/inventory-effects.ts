/**
 * add_host and group_by at run time: an in-memory change of the inventory for the rest of the run,
 * as Ansible's InventoryData.add_host/add_group/add_child do. A group that does not exist is
 * created (a child of `all`, or of group_by's `parents`); a host added to no group but `all` is
 * in `ungrouped`; add_host's variables are the host's (above its inventory vars). Each host's
 * `groups` (the closure, in precedence order) is computed again, like the inventory builder's.
 * The caller then invalidates what was computed from the inventory (VarsBuilder, plays' hosts).
 */
import type { Loc } from '../core/diagnostic.ts';
import type { Inventory, InventoryGroup } from '../input/inventory/index.ts';

function ensureGroup(inv: Inventory, name: string, parents: readonly string[], loc: Loc): InventoryGroup {
  let g = inv.groups.get(name);
  if (!g) {
    g = { name, children: [], parents: [], hosts: [], vars: {}, varLayers: [], loc, depth: 1 };
    inv.groups.set(name, g);
    if (!parents.length) parents = ['all'];
  }
  for (const p of parents) {
    if (p === name) continue;
    const parent = ensureGroup(inv, p, [], loc);
    if (!parent.children.includes(name)) parent.children.push(name);
    if (!g.parents.includes(p)) g.parents.push(p);
  }
  // A group with another parent than `all` is no longer a direct child of it (as the builder keeps it).
  if (g.parents.length > 1 && g.parents.includes('all')) {
    g.parents = g.parents.filter((p) => p !== 'all');
    const all = inv.groups.get('all')!;
    all.children = all.children.filter((c) => c !== name);
  }
  return g;
}

function depths(inv: Inventory): void {
  const memo = new Map<string, number>();
  const depthOf = (name: string, seen: Set<string>): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const g = inv.groups.get(name)!;
    const d = name === 'all' || seen.has(name) ? 0 : Math.max(0, ...g.parents.map((p) => depthOf(p, new Set([...seen, name])) + 1));
    memo.set(name, d);
    return d;
  };
  for (const g of inv.groups.values()) g.depth = depthOf(g.name, new Set());
}

function recomputeHost(inv: Inventory, host: string): void {
  const h = inv.hosts.get(host)!;
  const byPrecedence = (a: string, b: string) => inv.groups.get(a)!.depth - inv.groups.get(b)!.depth || (a < b ? -1 : a > b ? 1 : 0);
  const closure = new Set<string>();
  const visit = (g: string) => {
    if (closure.has(g)) return;
    closure.add(g);
    for (const p of inv.groups.get(g)!.parents) visit(p);
  };
  h.directGroups.forEach(visit);
  visit('all');
  h.groups = [...closure].sort(byPrecedence);
}

function joinGroup(inv: Inventory, host: string, group: string, loc: Loc): void {
  const g = ensureGroup(inv, group, [], loc);
  if (!g.hosts.includes(host)) g.hosts.push(host);
  const h = inv.hosts.get(host)!;
  if (!h.directGroups.includes(group)) h.directGroups.push(group);
  // A host in a real group leaves `ungrouped`.
  if (group !== 'all' && group !== 'ungrouped' && h.directGroups.includes('ungrouped')) {
    h.directGroups = h.directGroups.filter((x) => x !== 'ungrouped');
    const u = inv.groups.get('ungrouped');
    if (u) u.hosts = u.hosts.filter((x) => x !== host);
  }
}

function refresh(inv: Inventory): void {
  depths(inv);
  for (const h of inv.hosts.keys()) recomputeHost(inv, h);
}

/** add_host: a new host (or an existing one) in `groups`, with `vars`. */
export function addHost(inv: Inventory, name: string, groups: readonly string[], vars: Record<string, unknown>, loc: Loc): void {
  let h = inv.hosts.get(name);
  if (!h) {
    h = { name, groups: [], directGroups: [], vars: {}, varLayers: [], loc };
    inv.hosts.set(name, h);
    const all = ensureGroup(inv, 'all', [], loc);
    if (!all.hosts.includes(name)) all.hosts.push(name);
  }
  if (Object.keys(vars).length) {
    h.varLayers = [...h.varLayers, { source: `add_host ${loc.file}:${loc.line}`, vars }];
    h.vars = { ...h.vars, ...vars };
  }
  for (const g of groups) joinGroup(inv, name, g, loc);
  if (!h.directGroups.some((g) => g !== 'all' && g !== 'ungrouped')) joinGroup(inv, name, 'ungrouped', loc);
  refresh(inv);
}

/** group_by: `host` joins `groups`, created under `parents` (default `all`) when new. */
export function groupBy(inv: Inventory, host: string, groups: readonly string[], parents: readonly string[], loc: Loc): void {
  for (const g of groups) {
    ensureGroup(inv, g, inv.groups.has(g) ? [] : parents, loc);
    joinGroup(inv, host, g, loc);
  }
  refresh(inv);
}
