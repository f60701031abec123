import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expandCount,
  inventoryTopology,
  inventoryVars,
  pruneChildren,
  removeAdded,
  separateInventories,
  validateAddition,
  type Additions,
} from '../../../src/lab/added.ts';
import { renderInventory, writeLabFiles } from '../../../src/lab/files.ts';
import { DEFAULT_TOPOLOGY, parseTopology } from '../../../src/lab/topology.ts';

const none: Additions = { added: [], children: {} };
const one = (name: string, address: string, groups: string[] = []) => ({ hosts: [{ name, address, groups }], children: {} });

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
}

describe('kiln lab add: expanding --count', () => {
  it('numbers hosts from 1 at consecutive addresses', () => {
    expect(expandCount('bench', '10.77.0.100', 3)).toEqual([
      { name: 'bench1', address: '10.77.0.100' },
      { name: 'bench2', address: '10.77.0.101' },
      { name: 'bench3', address: '10.77.0.102' },
    ]);
    expect(expandCount('solo', '10.77.0.7', 1)).toEqual([{ name: 'solo', address: '10.77.0.7' }]);
    expect(expandCount('b', '10.77.0.100', 50).at(-1)).toEqual({ name: 'b50', address: '10.77.0.149' });
  });

  it('refuses ranges that leave the subnet and bad counts', () => {
    expect(message(() => expandCount('b', '10.77.0.250', 6))).toContain('run past 10.77.0.254');
    expect(message(() => expandCount('b', '10.77.1.2', 2))).toContain('outside the lab subnet');
    expect(message(() => expandCount('b', '10.77.0.2', 0))).toContain('positive integer');
    expect(message(() => expandCount('b', '10.77.0.2', Number('x')))).toContain('positive integer');
  });
});

describe('kiln lab add: validation against the running lab', () => {
  it('accepts a new host in an existing nested group', () => {
    expect(validateAddition(DEFAULT_TOPOLOGY, none, one('db3', '10.77.0.33', ['db_replica']), undefined)).toEqual([
      { name: 'db3', address: '10.77.0.33', groups: ['db_replica'] },
    ]);
    expect(validateAddition(DEFAULT_TOPOLOGY, none, one('b1', '10.77.0.100'), '/p/bench.yml')).toEqual([
      { name: 'b1', address: '10.77.0.100', groups: [], inventory: '/p/bench.yml' },
    ]);
  });

  it('reports every problem at once: taken names and addresses, subnet, group names', () => {
    const prior: Additions = { added: [{ name: 'b1', address: '10.77.0.100', groups: [] }], children: {} };
    const msg = message(() =>
      validateAddition(
        DEFAULT_TOPOLOGY,
        prior,
        {
          hosts: [
            { name: 'web1', address: '10.77.0.90', groups: [] },
            { name: 'b2', address: '10.77.0.100', groups: [] },
            { name: 'b3', address: '10.77.0.21', groups: [] },
            { name: 'b4', address: '10.77.1.4', groups: [] },
            { name: 'b5', address: '10.77.0.1', groups: [] },
            { name: 'Bad', address: '10.77.0.107', groups: ['all'] },
          ],
          children: {},
        },
        undefined,
      ),
    );
    expect(msg).toContain('host "web1" is already in the lab (10.77.0.21)');
    expect(msg).toContain('host "b2": address 10.77.0.100 is already used by host "b1"');
    expect(msg).toContain('host "b3": address 10.77.0.21 is already used by host "web1"');
    expect(msg).toContain('10.77.1.4 is outside the lab subnet');
    expect(msg).toContain("controller's address");
    expect(msg).toContain('host "Bad": invalid name');
    expect(msg).toContain('group "all" is reserved');
  });

  it('checks groups against the lab: no group named like a host', () => {
    expect(message(() => validateAddition(DEFAULT_TOPOLOGY, none, one('b6', '10.77.0.106', ['lb1']), undefined))).toContain(
      '"lb1" is both a host and a group name',
    );
    expect(message(() => validateAddition(DEFAULT_TOPOLOGY, none, one('web', '10.77.0.106'), undefined))).toContain(
      '"web" is both a host and a group name',
    );
  });

  it('keeps nesting of an added topology and drops nesting whose hosts are gone', () => {
    const t = parseTopology('hosts:\n  a1: { address: 10.77.0.120, groups: [x] }\ngroups:\n  xs: [x]\n');
    const added = validateAddition(DEFAULT_TOPOLOGY, none, t, undefined);
    const state: Additions = { added, children: t.children };
    expect(inventoryTopology(DEFAULT_TOPOLOGY, state, undefined).children).toEqual({ db: ['db_primary', 'db_replica'], xs: ['x'] });
    const { rest, removed } = removeAdded(DEFAULT_TOPOLOGY, state, ['a1']);
    expect(removed.map((h) => h.name)).toEqual(['a1']);
    expect(rest).toEqual({ added: [], children: {} });
    // a later host may then use x as a plain group again
    expect(validateAddition(DEFAULT_TOPOLOGY, rest, one('a2', '10.77.0.121', ['x']), undefined)).toHaveLength(1);
  });
});

describe('kiln lab add: which inventory lists which host', () => {
  const state: Additions = {
    added: [
      { name: 'db3', address: '10.77.0.33', groups: ['db_replica'] },
      { name: 'b1', address: '10.77.0.100', groups: ['bench'], inventory: '/p/.lab/bench.yml' },
      { name: 'b2', address: '10.77.0.101', groups: ['db_replica'], inventory: '/p/.lab/bench.yml' },
      { name: 'c1', address: '10.77.0.110', groups: [], inventory: '/p/c.yml' },
    ],
    children: {},
  };

  it('puts hosts without --inventory into the lab inventory, nested like the others', () => {
    const inv = parse(renderInventory(inventoryTopology(DEFAULT_TOPOLOGY, state, undefined)));
    expect(inv.all.children.db.children.db_replica.hosts).toEqual({ db2: { address: '10.77.0.32' }, db3: { address: '10.77.0.33' } });
    expect(JSON.stringify(inv)).not.toContain('"b1"');
    expect(inv.all.vars).toEqual({
      user: 'deploy',
      become: true,
      identity_file: 'id_ed25519',
      known_hosts: 'known_hosts',
      controller_address: '10.77.0.1',
    });
  });

  it('writes a separate inventory with only its hosts, existing nesting and paths relative to it', () => {
    const t = inventoryTopology(DEFAULT_TOPOLOGY, state, '/p/.lab/bench.yml');
    expect(t.hosts.map((h) => h.name)).toEqual(['b1', 'b2']);
    const inv = parse(renderInventory(t, '/p/.lab/bench.yml', '/p/.lab'));
    expect(inv.all.children).toEqual({
      bench: { hosts: { b1: { address: '10.77.0.100' } } },
      db: { children: { db_replica: { hosts: { b2: { address: '10.77.0.101' } } } } },
    });
    expect(inv.all.vars).toEqual({
      user: 'deploy',
      become: true,
      identity_file: 'id_ed25519',
      known_hosts: 'known_hosts',
      controller_address: '10.77.0.1',
    });
    expect(inventoryVars('/p/.lab', '/p/test/tmp/c.yml')).toMatchObject({
      identity_file: '../../.lab/id_ed25519',
      known_hosts: '../../.lab/known_hosts',
    });
    expect(inventoryVars('/p/.lab', '/tmp/x/c.yml')).toMatchObject({
      identity_file: '/p/.lab/id_ed25519',
      known_hosts: '/p/.lab/known_hosts',
    });
    expect(separateInventories(state)).toEqual(['/p/.lab/bench.yml', '/p/c.yml']);
    expect(inventoryTopology(DEFAULT_TOPOLOGY, state, '/p/c.yml').hosts).toEqual([{ name: 'c1', address: '10.77.0.110', groups: [] }]);
  });

  it('prunes nesting to groups that have hosts', () => {
    expect(
      pruneChildren({ db: ['db_primary', 'db_replica'], top: ['db'], e: ['none'] }, [
        { name: 'x', address: '10.77.0.5', groups: ['db_replica'] },
      ]),
    ).toEqual({
      db: ['db_replica'],
      top: ['db'],
    });
  });

  it('removes only added hosts, naming the problem', () => {
    const msg = message(() => removeAdded(DEFAULT_TOPOLOGY, state, ['lb1', 'zz']));
    expect(msg).toContain("lb1 is one of the lab's own hosts");
    expect(msg).toContain('no added host "zz" (added hosts: db3, b1, b2, c1)');
    const { rest } = removeAdded(DEFAULT_TOPOLOGY, state, ['b1', 'b2']);
    expect(separateInventories(rest)).toEqual(['/p/c.yml']);
  });

  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it('writes every host into known_hosts and ssh_config, separate inventories, and deletes emptied ones', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-lab-add-'));
    tmp.push(dir);
    const labDir = path.join(dir, '.lab');
    const bench = path.join(labDir, 'bench.yml');
    const adds: Additions = { added: [{ name: 'b1', address: '10.77.0.100', groups: [], inventory: bench }], children: {} };
    const lines = [...DEFAULT_TOPOLOGY.hosts.map((h) => `${h.address} ssh-ed25519 K${h.name}`), '10.77.0.100 ssh-ed25519 Kb1'];
    await writeLabFiles(labDir, DEFAULT_TOPOLOGY, lines, adds);
    expect(await readFile(path.join(labDir, 'known_hosts'), 'utf8')).toContain('10.77.0.100 ssh-ed25519 Kb1\n');
    expect((await readFile(path.join(labDir, 'ssh_config'), 'utf8')).match(/^Host /gm)).toHaveLength(8);
    expect(parse(await readFile(bench, 'utf8')).all.hosts).toEqual({ b1: { address: '10.77.0.100' } });
    expect(await readFile(path.join(labDir, 'inventory.yml'), 'utf8')).not.toMatch(/\bb1:/);
    await writeLabFiles(labDir, DEFAULT_TOPOLOGY, lines.slice(0, 7), undefined, [bench]);
    await expect(stat(bench)).rejects.toThrow('ENOENT');
    expect((await readFile(path.join(labDir, 'ssh_config'), 'utf8')).match(/^Host /gm)).toHaveLength(7);
  });
});
