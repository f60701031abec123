/**
 * Accumulates groups, hosts and inline vars from any number of inventory sources (YAML, INI),
 * then checks and freezes them into an Inventory (cycles, depths, `all`/`ungrouped`).
 */
import type { Diagnostic, Loc } from '../../core/diagnostic.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Inventory, InventoryGroup, InventoryHost, VarLayer } from './types.ts';

interface GroupBuild {
  name: string;
  children: string[];
  parents: string[];
  hosts: string[];
  /** The same names as `hosts`, for a constant-time membership test (a group may hold 100,000 hosts). */
  hostSet: Set<string>;
  layers: VarLayer[];
  loc?: Loc;
  /** Where each child edge was declared (for cycle errors). */
  childLocs: Map<string, Loc>;
}

interface HostBuild {
  name: string;
  groups: string[];
  layers: VarLayer[];
  loc: Loc;
}

export class InventoryBuilder {
  readonly groups = new Map<string, GroupBuild>();
  readonly hosts = new Map<string, HostBuild>();
  /** The host limit was hit: the inventory is refused without further work on its hosts. */
  tooMany = false;

  group(name: string, loc?: Loc): GroupBuild {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, children: [], parents: [], hosts: [], hostSet: new Set(), layers: [], childLocs: new Map() };
      this.groups.set(name, g);
    }
    if (!g.loc && loc) g.loc = loc;
    return g;
  }

  host(name: string, loc: Loc): HostBuild {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, groups: [], layers: [], loc };
      this.hosts.set(name, h);
    }
    return h;
  }

  /**
   * A diagnostic message when adding `names` would take the inventory past LIMITS.hostsTotal
   * hosts, else undefined.
   */
  tooManyHosts(names: string[]): string | undefined {
    const fresh = names.reduce((n, h) => n + (this.hosts.has(h) ? 0 : 1), 0);
    const total = this.hosts.size + fresh;
    if (total <= LIMITS.hostsTotal) return undefined;
    this.tooMany = true;
    return `the inventory would hold ${total.toLocaleString('en-US')} hosts: more than Kiln's limit of ${LIMITS.hostsTotal.toLocaleString('en-US')}`;
  }

  addHostToGroup(host: string, group: string, loc: Loc): void {
    const g = this.group(group, loc);
    const h = this.host(host, loc);
    if (!g.hostSet.has(host)) {
      g.hostSet.add(host);
      g.hosts.push(host);
    }
    if (!h.groups.includes(group)) h.groups.push(group);
  }

  addChild(parent: string, child: string, loc: Loc): void {
    const p = this.group(parent);
    const c = this.group(child, loc);
    if (!p.children.includes(child)) {
      p.children.push(child);
      p.childLocs.set(child, loc);
    }
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  /** Inline vars from one source; several mappings from the same source merge into one layer. */
  addVars(target: { layers: VarLayer[] }, source: string, vars: Record<string, unknown>, locs: Record<string, Loc>): void {
    let layer = target.layers.find((l) => l.source === source);
    if (!layer) {
      layer = { source, vars: {}, locs: {} };
      target.layers.push(layer);
    }
    Object.assign(layer.vars, vars);
    Object.assign(layer.locs!, locs);
  }

  /** Checks the structure and freezes it. Errors go to `errors`, warnings to `warnings`. */
  finish(meta: { file: string; files: string[]; dir: string; dirs: string[] }, errors: Diagnostic[], warnings: Diagnostic[]): Inventory {
    const top: Loc = { file: meta.file, line: 1, col: 1 };
    const all = this.group('all', top);
    this.group('ungrouped', top);

    // `all` can't be anyone's child.
    for (const p of [...all.parents]) {
      const g = this.groups.get(p)!;
      errors.push({ ...(g.childLocs.get('all') ?? top), message: `group 'all' cannot be a child of group '${p}'` });
      this.removeEdge(p, 'all');
    }
    this.breakCycles(errors);
    // Every group is (directly or not) a child of `all`.
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name, g.loc ?? top);
    }
    // Hosts in no group but `all` are in `ungrouped`.
    for (const h of this.hosts.values()) {
      if (h.groups.every((g) => g === 'all')) this.addHostToGroup(h.name, 'ungrouped', h.loc);
    }
    for (const h of this.hosts.values()) {
      if (this.groups.has(h.name))
        warnings.push({ ...h.loc, message: `host '${h.name}' has the same name as a group; patterns will select the group` });
    }

    const depth = new Map<string, number>();
    const depthOf = (name: string): number => {
      const known = depth.get(name);
      if (known !== undefined) return known;
      const g = this.groups.get(name)!;
      const d = name === 'all' ? 0 : Math.max(...g.parents.map((p) => depthOf(p) + 1));
      depth.set(name, d);
      return d;
    };

    const groups = new Map<string, InventoryGroup>();
    const order = ['all', 'ungrouped', ...[...this.groups.keys()].filter((n) => n !== 'all' && n !== 'ungrouped')];
    for (const name of order) {
      const g = this.groups.get(name)!;
      groups.set(name, {
        name,
        children: [...g.children],
        parents: [...g.parents],
        hosts: [...g.hosts],
        vars: mergeLayerVars(g.layers),
        varLayers: g.layers,
        loc: g.loc ?? top,
        depth: depthOf(name),
      });
    }
    const byPrecedence = (a: string, b: string) => depth.get(a)! - depth.get(b)! || (a < b ? -1 : a > b ? 1 : 0);
    const hosts = new Map<string, InventoryHost>();
    for (const h of this.hosts.values()) {
      const closure = new Set<string>();
      const visit = (g: string) => {
        if (closure.has(g)) return;
        closure.add(g);
        for (const p of groups.get(g)!.parents) visit(p);
      };
      h.groups.forEach(visit);
      visit('all');
      hosts.set(h.name, {
        name: h.name,
        groups: [...closure].sort(byPrecedence),
        directGroups: [...h.groups],
        vars: mergeLayerVars(h.layers),
        varLayers: h.layers,
        loc: h.loc,
      });
    }
    return { ...meta, hosts, groups };
  }

  private removeEdge(parent: string, child: string): void {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    p.children = p.children.filter((x) => x !== child);
    c.parents = c.parents.filter((x) => x !== parent);
  }

  /** Reports each cycle in `children` once (at the edge that closes it) and removes that edge. */
  private breakCycles(errors: Diagnostic[]): void {
    const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
    const stack: string[] = [];
    const visit = (name: string) => {
      state.set(name, 1);
      stack.push(name);
      const g = this.groups.get(name)!;
      for (const child of [...g.children]) {
        const s = state.get(child);
        if (s === 1) {
          const cycle = [...stack.slice(stack.indexOf(child)), child].join(' -> ');
          errors.push({ ...(g.childLocs.get(child) ?? g.loc!), message: `cycle in group children: ${cycle}` });
          this.removeEdge(name, child);
        } else if (s === undefined) {
          visit(child);
        }
      }
      stack.pop();
      state.set(name, 2);
    };
    for (const name of this.groups.keys()) if (!state.has(name)) visit(name);
  }
}

function mergeLayerVars(layers: VarLayer[]): Record<string, unknown> {
  return Object.assign({}, ...layers.map((l) => l.vars)) as Record<string, unknown>;
}
