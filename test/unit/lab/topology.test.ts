import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, allGroups, labOctet, parseTopology, sameMachines } from '../../../src/lab/topology.ts';

describe('lab topology', () => {
  it('parses hosts, groups and nesting', () => {
    const t = parseTopology(`
hosts:
  lb1: { address: 10.77.0.11, groups: [lb] }
  db1: { address: 10.77.0.31, groups: [db_primary] }
  db2: { address: 10.77.0.32, groups: [db_replica] }
  solo: { address: 10.77.0.99 }
groups:
  db: [db_primary, db_replica]
`);
    expect(t.hosts).toEqual([
      { name: 'lb1', address: '10.77.0.11', groups: ['lb'] },
      { name: 'db1', address: '10.77.0.31', groups: ['db_primary'] },
      { name: 'db2', address: '10.77.0.32', groups: ['db_replica'] },
      { name: 'solo', address: '10.77.0.99', groups: [] },
    ]);
    expect(t.children).toEqual({ db: ['db_primary', 'db_replica'] });
    expect(allGroups(t)).toEqual(['lb', 'db_primary', 'db_replica', 'db']);
  });

  it('has the default 7-host lab', () => {
    expect(DEFAULT_TOPOLOGY.hosts.map((h) => `${h.name}=${h.address}`)).toEqual([
      'lb1=10.77.0.11',
      'lb2=10.77.0.12',
      'web1=10.77.0.21',
      'web2=10.77.0.22',
      'db1=10.77.0.31',
      'db2=10.77.0.32',
      'mon1=10.77.0.41',
    ]);
  });

  it.each([
    ['10.77.1.5', 'outside the lab subnet 10.77.0.0/24'],
    ['192.168.0.10', 'outside the lab subnet'],
    ['10.77.0.1', "controller's address"],
    ['10.77.0.0', 'network or broadcast'],
    ['10.77.0.255', 'network or broadcast'],
    ['10.77.0.256', 'not a valid IPv4 address'],
    ['10.77.0.011', 'not a valid IPv4 address'],
    ['web', 'not an IPv4 address'],
  ])('rejects address %s', (address, message) => {
    expect(() => parseTopology(`hosts:\n  h1: { address: "${address}" }\n`)).toThrow(message);
  });

  it('rejects duplicate addresses, naming both hosts', () => {
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5 }\n  b: { address: 10.77.0.5 }\n')).toThrow(
      'host "b": address 10.77.0.5 is already used by host "a"',
    );
  });

  it('rejects duplicate host names with a line number', () => {
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5 }\n  a: { address: 10.77.0.6 }\n', 'lab.yml')).toThrow(
      /lab\.yml:3:\d+: duplicate key/,
    );
  });

  it('collects every problem in one error', () => {
    let msg = '';
    try {
      parseTopology('hosts:\n  Bad_Name: { address: 10.77.0.5, colour: red }\n  ok: { groups: [x] }\nextra: 1\n', 't.yml');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('t.yml is invalid');
    expect(msg).toContain('unknown top-level key "extra"');
    expect(msg).toContain('host "Bad_Name": invalid name');
    expect(msg).toContain('unknown key "colour"');
    expect(msg).toContain('host "ok": "address" is required');
  });

  it('rejects bad group structure', () => {
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [x] }\ngroups:\n  p: [missing]\n')).toThrow(
      'child group "missing" has no hosts and no children',
    );
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [x] }\ngroups:\n  p: [q]\n  q: [p, x]\n')).toThrow('cycle');
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [a] }\n')).toThrow('"a" is both a host and a group name');
    expect(() => parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [all] }\n')).toThrow('reserved');
    expect(() => parseTopology('hosts: {}\n')).toThrow('non-empty mapping');
  });

  it('labOctet and sameMachines', () => {
    expect(labOctet('10.77.0.149')).toBe(149);
    const t = parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [x] }\n');
    const u = parseTopology('hosts:\n  a: { address: 10.77.0.5, groups: [y] }\n');
    const v = parseTopology('hosts:\n  a: { address: 10.77.0.6 }\n');
    expect(sameMachines(t, u)).toBe(true);
    expect(sameMachines(t, v)).toBe(false);
  });
});

describe('lab topology: mirror_packages', () => {
  it('reads extra mirror packages from a topology file', () => {
    const t = parseTopology(`
hosts:
  a: { address: 10.77.0.11 }
mirror_packages: [apache2, redis-server, php8.2-fpm, libstdc++6]
`);
    expect(t.mirrorPackages).toEqual(['apache2', 'redis-server', 'php8.2-fpm', 'libstdc++6']);
    expect(parseTopology('hosts: { a: { address: 10.77.0.11 } }').mirrorPackages).toBeUndefined();
  });

  it('refuses names that are not Debian package names, duplicates and non-lists, all at once', () => {
    expect(() =>
      parseTopology(`
hosts:
  a: { address: 10.77.0.11 }
mirror_packages: [Apache2, redis-server, redis-server, "x y"]
`),
    ).toThrow(
      /mirror_packages: "Apache2" is not a Debian package name\n {2}- mirror_packages: "redis-server" listed twice\n {2}- mirror_packages: "x y" is not a Debian package name/,
    );
    expect(() => parseTopology('hosts: { a: { address: 10.77.0.11 } }\nmirror_packages: apache2\n')).toThrow(
      /"mirror_packages:" must be a list of Debian package names/,
    );
    expect(() => parseTopology('hosts: { a: { address: 10.77.0.11 } }\nmirror: [x]\n')).toThrow(
      /unknown top-level key "mirror" \(allowed: hosts, groups, mirror_packages\)/,
    );
  });

  it("the built-in lab's mirror carries the compatibility corpus roles' packages", () => {
    expect(DEFAULT_TOPOLOGY.mirrorPackages).toEqual(
      expect.arrayContaining(['apache2', 'redis-server', 'memcached', 'postgresql', 'php8.2-fpm']),
    );
  });
});
