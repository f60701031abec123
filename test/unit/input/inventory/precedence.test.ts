import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { inventoryVarLayers, mergeVarLayers } from '../../../../src/input/inventory/layers.ts';
import { fixture } from './helpers.ts';

// Fixture: test/fixtures/inventory/precedence. h1 is in web (depth 1) and db_replica (depth 2, child of db).
describe('variable precedence (one test per boundary: value and source)', () => {
  const { inventory: inv } = loadInventory(fixture('precedence', 'inventory.yml'));
  const layers = inventoryVarLayers(inv, 'h1');
  const inventoryOnly = mergeVarLayers(layers);
  const expectVar = (m: ReturnType<typeof mergeVarLayers>, key: string, value: unknown, source: string) => {
    expect(m.vars[key]).toEqual(value);
    expect(m.sources[key]).toBe(source);
  };

  it('orders the layers low → high: groups by depth then name, inline < file < dir, host last', () => {
    expect(layers.map((l) => l.source)).toEqual([
      'inventory.yml: group all',
      'group_vars/all.yml',
      'inventory.yml: group db',
      'group_vars/db.yml',
      'group_vars/db/10-a.yml',
      'group_vars/db/20-b.yml',
      'inventory.yml: group web',
      'inventory.yml: group db_replica',
      'inventory.yml: host h1',
      'host_vars/h1.yml',
      'host_vars/h1/extra.yml',
    ]);
  });

  it('role defaults < all vars', () => {
    const m = mergeVarLayers([{ source: 'role web defaults', vars: { a1: 'role-default', only_default: 1 } }, ...layers]);
    expectVar(m, 'a1', 'all-file', 'group_vars/all.yml');
    expectVar(m, 'only_default', 1, 'role web defaults');
  });

  it("all's inline vars < group_vars/all.yml", () => {
    expectVar(inventoryOnly, 'a1', 'all-file', 'group_vars/all.yml');
  });

  it('all < parent group', () => {
    expectVar(inventoryOnly, 'a2', 'db', 'inventory.yml: group db');
  });

  it('parent group < child group', () => {
    expectVar(inventoryOnly, 'a3', 'db_replica', 'inventory.yml: group db_replica');
  });

  it('groups of the same depth: ordered by name (web > db)', () => {
    expectVar(inventoryOnly, 'a4', 'web', 'inventory.yml: group web');
  });

  it("a group's inline vars < its group_vars file", () => {
    expectVar(inventoryOnly, 'a9', 'db-file', 'group_vars/db.yml');
  });

  it('group_vars file form < directory form, directory files in name order', () => {
    expectVar(inventoryOnly, 'a7', 'db-dir-10', 'group_vars/db/10-a.yml');
    expectVar(inventoryOnly, 'a8', '20', 'group_vars/db/20-b.yml');
  });

  it('child group < host inline vars', () => {
    expectVar(inventoryOnly, 'a5', 'host-inline', 'inventory.yml: host h1');
  });

  it('host inline vars < host_vars file < host_vars directory', () => {
    expectVar(inventoryOnly, 'a6', 'host-file', 'host_vars/h1.yml');
    expectVar(inventoryOnly, 'a10', 'host-dir', 'host_vars/h1/extra.yml');
  });

  it('host vars < play vars < extra vars', () => {
    const m = mergeVarLayers([
      ...layers,
      { source: 'play site.yml', vars: { a6: 'play', a10: 'play' } },
      { source: 'extra vars (-e)', vars: { a10: 'extra' } },
    ]);
    expectVar(m, 'a6', 'play', 'play site.yml');
    expectVar(m, 'a10', 'extra', 'extra vars (-e)');
  });

  it('replaces whole values (hash_behaviour=replace), no deep merge', () => {
    expectVar(inventoryOnly, 'nested', { x: 10 }, 'group_vars/all.yml');
  });

  it('skips undefined values when merging', () => {
    const m = mergeVarLayers([
      { source: 'a', vars: { k: 1 } },
      { source: 'b', vars: { k: undefined } },
    ]);
    expectVar(m, 'k', 1, 'a');
  });
});
