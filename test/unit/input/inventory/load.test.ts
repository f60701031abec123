import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { hostVarsOf, inventoryVarLayers, magicVars } from '../../../../src/input/inventory/layers.ts';
import { isSecret } from '../../../../src/core/secret/secret.ts';
import { fixture, tmpTree } from './helpers.ts';

describe('YAML inventory', () => {
  const { inventory: inv, warnings } = loadInventory(fixture('basic', 'inventory.yml'));

  it('loads hosts in inventory order, including nested children and null host entries', () => {
    expect([...inv.hosts.keys()]).toEqual(['lb1', 'web1', 'web2', 'web3', 'db1', 'db2', 'bastion']); // document order
    expect(inv.hosts.get('web3')!.varLayers).toEqual([]);
  });

  it('builds the group tree with parents, children, direct hosts and depth', () => {
    const db = inv.groups.get('db')!;
    expect(db.children).toEqual(['db_primary', 'db_replica']);
    expect(db.parents).toEqual(['all']);
    expect(db.hosts).toEqual([]);
    expect(db.depth).toBe(1);
    expect(inv.groups.get('db_replica')!.depth).toBe(2);
    expect(inv.groups.get('db_replica')!.hosts).toEqual(['db2', 'web3']);
    expect(inv.groups.get('all')!.depth).toBe(0);
    expect(inv.groups.get('all')!.children).toEqual(expect.arrayContaining(['lb', 'web', 'db', 'monitoring', 'ungrouped']));
    expect(inv.groups.get('db')!.loc).toMatchObject({ line: 11, col: 5 });
  });

  it('puts a host in several groups, with ancestors and all, ordered by precedence', () => {
    expect(inv.hosts.get('web3')!.groups).toEqual(['all', 'db', 'web', 'db_replica']);
    expect(inv.hosts.get('web1')!.groups).toEqual(['all', 'monitoring', 'web']);
    expect(inv.hosts.get('web3')!.directGroups).toEqual(['web', 'db_replica']);
  });

  it('puts hosts that are in no group into ungrouped', () => {
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['bastion']);
    expect(inv.hosts.get('bastion')!.groups).toEqual(['all', 'ungrouped']);
  });

  it('maps Ansible aliases to Kiln connection keys', () => {
    expect(hostVarsOf(inv, 'bastion')).toMatchObject({ address: '10.77.0.5', user: 'jump' });
    expect(hostVarsOf(inv, 'bastion')).not.toHaveProperty('ansible_host');
  });

  it('merges the vars of every group a host is in', () => {
    const v = hostVarsOf(inv, 'web3');
    expect(v).toMatchObject({ http_port: 8080, replica: true, pg_version: 16, user: 'deploy', become: true });
  });

  it('makes become_password a Secret even when written in plain text', () => {
    const v = hostVarsOf(inv, 'web1');
    expect(isSecret(v.become_password)).toBe(true);
    expect((v.become_password as { reveal(): string }).reveal()).toBe('plain-text-pw');
  });

  it('warns (does not fail) about group_vars for an unknown group', () => {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.file).toMatch(/group_vars\/nosuchgroup\.yml$/);
    expect(warnings[0]!.message).toContain("'nosuchgroup'");
  });

  it('computes magic vars', () => {
    const m = magicVars(inv, 'web3');
    expect(m.inventory_hostname).toBe('web3');
    expect(m.group_names).toEqual(['db', 'db_replica', 'web']);
    expect(m.groups.db).toEqual(['db1', 'db2', 'web3']);
    expect(m.groups.all).toEqual(['bastion', 'db1', 'db2', 'lb1', 'web1', 'web2', 'web3']);
    expect(m.groups.ungrouped).toEqual(['bastion']);
    expect(magicVars(inv, 'bastion').group_names).toEqual([]);
  });
});

describe('INI inventory', () => {
  const { inventory: inv } = loadInventory(fixture('ini', 'hosts.ini'));

  it('expands numeric (zero-padded) and alphabetic ranges', () => {
    expect(inv.groups.get('web')!.hosts).toEqual(['web01', 'web02', 'web03', 'app1', 'jumper']);
    expect(inv.groups.get('db')!.hosts).toEqual(['db-a', 'db-b', 'db-c']);
  });

  it('reads host vars with YAML-typed values, aliases and quoted strings', () => {
    const v = hostVarsOf(inv, 'app1');
    expect(v).toMatchObject({ address: '10.0.0.9', port: 2200, become: true, note: 'two words' });
    expect(hostVarsOf(inv, 'web02').user).toBe('www');
    expect(hostVarsOf(inv, 'db-b').become).toBe(false); // become=no
    expect(hostVarsOf(inv, 'jumper').port).toBe(5555); // host:port form
  });

  it('reads [group:vars] with typed values and keeps quoted values (with #) as strings', () => {
    expect(inv.groups.get('web')!.vars).toEqual({ http_port: 8080, motd: 'hello # not a comment', ratio: 0.5, empty_ok: null });
  });

  it('reads [group:children] and group vars of parents', () => {
    expect(inv.groups.get('prod')!.children).toEqual(['web', 'db']);
    expect(inv.hosts.get('db-a')!.groups).toEqual(['all', 'prod', 'db']);
    expect(hostVarsOf(inv, 'db-a').env).toBe('prod');
  });

  it('puts hosts before the first section into ungrouped', () => {
    expect(inv.groups.get('ungrouped')!.hosts).toEqual(['lonely.example.com']);
  });
});

describe('inventory sources', () => {
  it('reads a directory: yml, ini and extensionless files merged, other files ignored, its group_vars', () => {
    const { inventory: inv } = loadInventory(fixture('dir-inv'));
    expect(inv.files.map((f) => f.split('/').pop())).toEqual(['01-hosts.yml', '02-more.ini', '03-extensionless']);
    expect([...inv.hosts.keys()]).toEqual(['web1', 'web2', 'db1', 'db2']);
    expect(hostVarsOf(inv, 'web2')).toMatchObject({ address: '10.1.0.2', dir_var: 'from-dir-group-vars', from_extensionless: true });
    expect(inventoryVarLayers(inv, 'web1').map((l) => l.source)).toEqual([
      '03-extensionless: group web',
      'group_vars/web.yml',
      '01-hosts.yml: host web1',
    ]);
  });

  it('merges several -i sources, each with its own group_vars', () => {
    const { inventory: inv } = loadInventory([fixture('basic', 'inventory.yml'), fixture('dir-inv')]);
    expect(inv.hosts.has('lb1')).toBe(true);
    expect(inv.hosts.has('db2')).toBe(true);
    // web1 is in both: vars of both inventories and both group_vars/web.yml apply
    expect(hostVarsOf(inv, 'web1')).toMatchObject({ address: '10.1.0.1', http_port: 9090, dir_var: 'from-dir-group-vars' });
    expect(inv.dirs).toHaveLength(2);
  });

  it('reads the directory form of group_vars and host_vars, in file name order', () => {
    const layers = inventoryVarLayers(loadInventory(fixture('basic', 'inventory.yml')).inventory, 'db1').map((l) => l.source);
    expect(layers).toEqual([
      'inventory.yml: group all',
      'group_vars/all.yml',
      'inventory.yml: group db',
      'group_vars/db/10-main.yml',
      'group_vars/db/20-tuning.yml',
      'inventory.yml: host db1',
    ]);
  });

  it('reports a missing inventory path', () => {
    expect(() => loadInventory('/nonexistent/inventory.yml')).toThrow(/inventory not found/);
  });

  it('treats an empty YAML inventory as having no hosts', () => {
    const dir = tmpTree({ 'inv.yml': '# nothing yet\n' });
    const { inventory } = loadInventory(`${dir}/inv.yml`);
    expect(inventory.hosts.size).toBe(0);
    expect([...inventory.groups.keys()]).toEqual(['all', 'ungrouped']);
  });
});
