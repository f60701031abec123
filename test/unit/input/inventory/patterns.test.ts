import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { patternErrors, selectHosts } from '../../../../src/input/inventory/patterns.ts';
import { fixture } from './helpers.ts';

describe('host patterns', () => {
  // lb1 web1 web2 web3 db1 db2 bastion; web3 also in db_replica; web1 also in monitoring
  const { inventory: inv } = loadInventory(fixture('basic', 'inventory.yml'));
  const sel = (p: string) => selectHosts(inv, p);

  it('all and * select every host in inventory order', () => {
    expect(sel('all')).toEqual(['lb1', 'web1', 'web2', 'web3', 'db1', 'db2', 'bastion']);
    expect(sel('*')).toEqual(sel('all'));
  });

  it('a group selects its hosts and its descendants hosts', () => {
    expect(sel('db')).toEqual(['web3', 'db1', 'db2']);
    expect(sel('ungrouped')).toEqual(['bastion']);
  });

  it('a host name selects the host', () => {
    expect(sel('db2')).toEqual(['db2']);
  });

  it('union with : and , (result in inventory order)', () => {
    expect(sel('db:lb')).toEqual(['lb1', 'web3', 'db1', 'db2']);
    expect(sel('db2,lb1')).toEqual(['lb1', 'db2']);
  });

  it('intersection with :&', () => {
    expect(sel('web:&db')).toEqual(['web3']);
    expect(sel('web:&monitoring')).toEqual(['web1']);
  });

  it('exclusion with :!', () => {
    expect(sel('web:!web2')).toEqual(['web1', 'web3']);
    expect(sel('!db')).toEqual(['lb1', 'web1', 'web2', 'bastion']);
  });

  it('evaluates unions, then intersections, then exclusions, whatever the order written', () => {
    // Left to right this would be ((web ! web3) & db) : lb = lb1; Ansible order gives (web:lb) & db ! web3 = nothing
    expect(sel('web:!web3:&db:lb')).toEqual([]);
    expect(sel('!web1:web:&monitoring:lb')).toEqual([]);
    expect(sel('&web:db')).toEqual(['web3']);
  });

  it('globs on host and group names; a glob matching nothing is no error', () => {
    expect(sel('web*')).toEqual(['web1', 'web2', 'web3']);
    expect(sel('db_*')).toEqual(['web3', 'db1', 'db2']);
    expect(sel('?b1')).toEqual(['lb1', 'db1']);
    expect(sel('zz*')).toEqual([]);
    expect(patternErrors(inv, 'zz*')).toEqual([]);
  });

  it('regex and subscript terms', () => {
    expect(sel('~^db\\d$')).toEqual(['db1', 'db2']);
    expect(sel('web[0]')).toEqual(['web1']);
    expect(sel('web[1:2]')).toEqual(['web2', 'web3']);
  });

  it('an undefined plain name is an error, with a suggestion', () => {
    expect(() => sel('webb')).toThrow("host pattern 'webb' matches no group or host in the inventory (did you mean 'web'?)");
    expect(patternErrors(inv, 'web:nope:!alsonope')).toEqual([
      "host pattern 'nope' matches no group or host in the inventory",
      "host pattern 'alsonope' matches no group or host in the inventory",
    ]);
    expect(patternErrors(inv, 'web:&db:!lb')).toEqual([]);
    expect(patternErrors(inv, '')).toEqual(['empty host pattern']);
  });
});
