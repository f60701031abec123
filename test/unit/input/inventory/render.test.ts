import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { inventoryVarLayers, mergeVarLayers } from '../../../../src/input/inventory/layers.ts';
import { renderHostVars, renderInventoryGraph, renderInventoryList } from '../../../../src/input/inventory/render.ts';
import { Secret } from '../../../../src/core/secret/secret.ts';
import { fixture } from './helpers.ts';

describe('inventory rendering', () => {
  const { inventory: inv } = loadInventory(fixture('basic', 'inventory.yml'));

  it('renders the graph like ansible-inventory --graph', () => {
    expect(renderInventoryGraph(inv)).toBe(
      [
        '@all:',
        '  |--@db:',
        '  |  |--@db_primary:',
        '  |  |  |--db1',
        '  |  |--@db_replica:',
        '  |  |  |--db2',
        '  |  |  |--web3',
        '  |--@lb:',
        '  |  |--lb1',
        '  |--@monitoring:',
        '  |  |--web1',
        '  |--@ungrouped:',
        '  |  |--bastion',
        '  |--@web:',
        '  |  |--web1',
        '  |  |--web2',
        '  |  |--web3',
        '',
      ].join('\n'),
    );
  });

  it('lists hosts with address (port when not 22) and groups', () => {
    const lines = renderInventoryList(inv).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+ADDRESS\s+GROUPS$/);
    expect(lines[1]).toMatch(/^lb1\s+10\.77\.0\.11\s+lb$/);
    expect(lines[3]).toMatch(/^web2\s+10\.77\.0\.22:2222\s+web$/);
    expect(lines[4]).toMatch(/^web3\s+web3\s+db,db_replica,web$/);
    expect(lines[7]).toMatch(/^bastion\s+10\.77\.0\.5\s+-$/);
  });

  it('shows each var with its value and source; secrets masked', () => {
    const out = renderHostVars(inventoryVarLayers(inv, 'web1'));
    expect(out).toMatch(/^http_port\s+9090\s+host_vars\/web1\.yml$/m);
    expect(out).toMatch(/^user\s+"deploy"\s+inventory\.yml: group all$/m);
    expect(out).toMatch(/^become_password\s+\*{8}\s+host_vars\/web1\.yml$/m);
    expect(out).not.toContain('plain-text-pw');
    const merged = mergeVarLayers([{ source: 'extra vars', vars: { token: new Secret('tok-abcdef'), list: [new Secret('in-a-list-1')] } }]);
    const out2 = renderHostVars(merged);
    expect(out2).toMatch(/^token\s+\*{8}\s+extra vars$/m);
    expect(out2).toMatch(/^list\s+\["\*{8}"\]\s+extra vars$/m);
    expect(out2).not.toMatch(/tok-abcdef|in-a-list-1/);
  });
});
