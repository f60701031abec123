/** The inventory model: hosts, groups and the variable layers attached to them. */
import type { Loc } from '../../core/diagnostic.ts';
import type { Secret } from '../../core/secret/secret.ts';

/** One source of variables. Layers are always ordered from lowest to highest precedence. */
export interface VarLayer {
  /** Where the vars come from, e.g. `inventory.yml: group all`, `group_vars/web.yml`. */
  source: string;
  vars: Record<string, unknown>;
  /** Location of each variable's key, when known. */
  locs?: Record<string, Loc>;
}

export interface InventoryGroup {
  name: string;
  /** Direct child groups, in declaration order. */
  children: string[];
  /** Direct parent groups (`all` for top-level groups; empty for `all`). */
  parents: string[];
  /** Hosts declared directly in this group, in inventory order. */
  hosts: string[];
  /** The group's own vars (inline < group_vars files), merged. */
  vars: Record<string, unknown>;
  /** The group's own var layers, low → high. */
  varLayers: VarLayer[];
  /** First declaration (implicit `all`/`ungrouped`: line 1 col 1 of the first inventory file). */
  loc: Loc;
  /** Longest distance from `all` (all = 0, its children 1, …). */
  depth: number;
}

export interface InventoryHost {
  name: string;
  /** All groups the host belongs to, ancestors and `all` included, ordered low → high precedence (depth, then name). */
  groups: string[];
  /** Groups that list the host directly. */
  directGroups: string[];
  /** The host's own vars (inline < host_vars files), merged. */
  vars: Record<string, unknown>;
  varLayers: VarLayer[];
  /** First place the host appears. */
  loc: Loc;
}

export interface Inventory {
  /** First inventory file read. */
  file: string;
  /** Every inventory file read, in order. */
  files: string[];
  /** Directory of the first inventory source (var sources are shown relative to it). */
  dir: string;
  /** Every inventory directory (group_vars/host_vars are read beside each). */
  dirs: string[];
  /** In inventory order (the order hosts first appear). */
  hosts: Map<string, InventoryHost>;
  groups: Map<string, InventoryGroup>;
}
