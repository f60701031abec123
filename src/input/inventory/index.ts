/** Inventory: loading (YAML and INI), variable layers, host patterns, connection resolution. */
export type { Inventory, InventoryGroup, InventoryHost, VarLayer } from './types.ts';
export { loadInventory } from './load.ts';
export { inventoryVarLayers, mergeVarLayers, hostVarsOf, groupHosts, magicVars, type MergedVars, type MagicVars } from './layers.ts';
export { selectHosts, patternErrors } from './patterns.ts';
export { renderInventoryList, renderInventoryGraph, renderHostVars, formatVarValue } from './render.ts';
export { CONNECTION_KEYS, CONNECTION_ALIASES, checkConnectionValue, extraConnectionVars } from './connection-keys.ts';
export { expandHostRange } from './ranges.ts';
