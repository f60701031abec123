/** Bench host names, addresses and inventories, and which lab hosts count as bench hosts (expected values taken from bin/kiln-bench.js before the move). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostAddr, hostName, inBenchRange, range } from '../../../bench/driver/addresses.ts';
import { benchHostsOf, type LabStatus } from '../../../bench/driver/hosts.ts';
import { ansibleInventoryText, kilnInventoryText } from '../../../bench/driver/inventories.ts';
import { LAB_DIR, REPO } from '../../../bench/driver/paths.ts';

describe('addresses', () => {
  const cases: [number, string, string][] = [
    [1, 'bench1', '10.77.0.100'],
    [2, 'bench2', '10.77.0.101'],
    [50, 'bench50', '10.77.0.149'],
  ];
  it.each(cases)('host %d is %s at %s', (i, name, addr) => {
    expect(hostName(i)).toBe(name);
    expect(hostAddr(i)).toBe(addr);
  });

  it('range is 1..n', () => {
    expect(range(3)).toEqual([1, 2, 3]);
    expect(range(0)).toEqual([]);
  });

  const inRange: [string, boolean][] = [
    ['10.77.0.100', true],
    ['10.77.0.149', true],
    ['10.77.0.99', false],
    ['10.77.0.150', false],
    ['10.77.0.11', false],
    ['10.78.0.120', false],
    ['10.77.0.120x', false],
  ];
  it.each(inRange)('%s in the bench range: %s', (addr, expected) => {
    expect(inBenchRange(addr)).toBe(expected);
  });
});

describe('inventories', () => {
  it('Kiln: YAML with the lab key and known_hosts', () => {
    expect(kilnInventoryText([1, 2, 50], '/lab')).toBe(
      'all:\n  vars:\n    user: deploy\n    become: true\n    identity_file: /lab/id_ed25519\n    known_hosts: /lab/known_hosts\n  hosts:\n' +
        '    bench1: { address: 10.77.0.100 }\n    bench2: { address: 10.77.0.101 }\n    bench50: { address: 10.77.0.149 }\n',
    );
  });

  it('Ansible: INI with strict host key checking', () => {
    expect(ansibleInventoryText([1, 2, 50], '/lab')).toBe(
      '[bench]\nbench1 ansible_host=10.77.0.100\nbench2 ansible_host=10.77.0.101\nbench50 ansible_host=10.77.0.149\n\n[all:vars]\nansible_user=deploy\n' +
        'ansible_ssh_private_key_file=/lab/id_ed25519\n' +
        "ansible_ssh_common_args='-o UserKnownHostsFile=/lab/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n",
    );
  });

  it("default to the repository's .lab", () => {
    expect(LAB_DIR).toBe(path.join(REPO, '.lab'));
    expect(REPO).toBe(path.resolve(import.meta.dirname, '../../..'));
    expect(kilnInventoryText([1])).toContain(`identity_file: ${path.join(REPO, '.lab/id_ed25519')}\n`);
  });
});

describe('benchHostsOf', () => {
  const INV = '/r/.lab/bench-inventory.yml';
  const host = (name: string, address: string, state: string, inventory?: string) => ({
    host: name,
    address,
    state,
    ...(inventory ? { added: { inventory } } : {}),
  });

  it('lists the running and degraded hosts of the bench inventory only', () => {
    const s: LabStatus = {
      labDir: '/r/.lab',
      hosts: [
        host('web1', '10.77.0.11', 'running'),
        host('extra1', '10.77.0.60', 'running', '/r/.lab/inventory.yml'),
        host('bench1', '10.77.0.100', 'running', INV),
        host('bench2', '10.77.0.101', 'degraded', INV),
        host('bench3', '10.77.0.102', 'stopped', INV),
      ],
    };
    expect([...benchHostsOf(s, INV)]).toEqual(['bench1', 'bench2']);
  });

  it('throws when no lab is up', () => {
    expect(() => benchHostsOf({ labDir: null, hosts: [] }, INV)).toThrow(
      new Error('no lab is up: run `kiln lab up` first (the benchmark adds its own hosts to it)'),
    );
  });

  it('throws when other hosts hold bench addresses', () => {
    const s: LabStatus = {
      labDir: '/r/.lab',
      hosts: [
        host('x', '10.77.0.100', 'running'),
        host('y', '10.77.0.149', 'stopped', '/r/.lab/other.yml'),
        host('z', '10.77.0.150', 'running'),
      ],
    };
    expect(() => benchHostsOf(s, INV)).toThrow(
      new Error('addresses of the bench range are taken by other hosts: x=10.77.0.100, y=10.77.0.149'),
    );
  });
});
