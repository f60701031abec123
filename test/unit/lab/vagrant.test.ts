import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY } from '../../../src/lab/topology.ts';
import { knownHostsHost, parseVagrantSshConfig, vagrantToInventory } from '../../../src/lab/vagrant.ts';

const fixture = readFileSync(new URL('./fixtures/vagrant-ssh-config.txt', import.meta.url), 'utf8');
const keyscan = readFileSync(new URL('./fixtures/keyscan.txt', import.meta.url), 'utf8');

describe('vagrant ssh-config parser', () => {
  it('parses recorded `vagrant ssh-config` output', () => {
    const hosts = parseVagrantSshConfig(fixture);
    expect(hosts.map((h) => [h.name, h.hostName, h.port, h.user])).toEqual([
      ['lb1', '127.0.0.1', 2222, 'vagrant'],
      ['lb2', '127.0.0.1', 2200, 'vagrant'],
      ['web1', '127.0.0.1', 2201, 'vagrant'],
      ['db1', '192.168.121.57', 22, 'vagrant'],
    ]);
    expect(hosts[2].identityFiles).toEqual(['/home/alice/src/my kiln/.vagrant/machines/web1/virtualbox/private_key']);
    expect(hosts[0].options.stricthostkeychecking).toBe('no');
  });

  it('handles CRLF, "Key=Value" and comments', () => {
    const hosts = parseVagrantSshConfig('# generated\r\nHost a\r\n  HostName=10.0.0.5\r\n  Port=2022\r\n');
    expect(hosts).toMatchObject([{ name: 'a', hostName: '10.0.0.5', port: 2022, user: 'vagrant' }]);
  });

  it('rejects output that is not ssh-config', () => {
    expect(() => parseVagrantSshConfig('')).toThrow('no Host entries');
    expect(() => parseVagrantSshConfig('The provider could not be found\n')).toThrow('before the first Host line');
    expect(() => parseVagrantSshConfig('Host a\n  User x\n')).toThrow('has no HostName');
    expect(() => parseVagrantSshConfig('Host a\n  HostName b\n  Port 99999\n')).toThrow('invalid Port');
    expect(() => parseVagrantSshConfig('Host a\n  HostName b\nHost a\n  HostName c\n')).toThrow('appears twice');
  });

  it('converts to a Kiln inventory with the lab groups and keyscan host keys', () => {
    const r = vagrantToInventory(parseVagrantSshConfig(fixture), { topology: DEFAULT_TOPOLOGY, via: 'ssh-config', keyscan });
    const inv = parse(r.inventory);
    expect(inv.all.vars).toEqual({ user: 'vagrant', become: true, known_hosts: 'known_hosts' });
    expect(inv.all.children.lb.hosts.lb1).toEqual({
      address: '127.0.0.1',
      port: 2222,
      identity_file: '/home/alice/src/kiln/.vagrant/machines/lb1/virtualbox/private_key',
    });
    expect(inv.all.children.db.children.db_primary.hosts.db1).toEqual({
      address: '192.168.121.57',
      identity_file: '/home/alice/src/kiln/.vagrant/machines/db1/libvirt/private_key',
    });
    expect(inv.all.children.db.children.db_replica).toBeUndefined();
    expect(r.knownHosts.split('\n').filter(Boolean)).toEqual([
      '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0Lb1KeyLb1KeyLb1KeyLb1KeyLb1KeyLb1KeyLb1',
      '[127.0.0.1]:2200 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0Lb2KeyLb2KeyLb2KeyLb2KeyLb2KeyLb2KeyLb2',
      '192.168.121.57 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0Db1KeyDb1KeyDb1KeyDb1KeyDb1KeyDb1KeyDb1',
    ]);
    expect(r.missingKeys).toEqual(['web1']);
    expect(r.notRunning).toEqual(['web2', 'db2', 'mon1']);
  });

  it('without keyscan output leaves known_hosts empty and lists every host as missing', () => {
    const r = vagrantToInventory(parseVagrantSshConfig(fixture), { topology: DEFAULT_TOPOLOGY, via: 'ssh-config' });
    expect(r.knownHosts).toBe('');
    expect(r.missingKeys).toEqual(['lb1', 'lb2', 'web1', 'db1']);
  });

  it('can target the private network as deploy', () => {
    const r = vagrantToInventory(parseVagrantSshConfig(fixture), {
      topology: DEFAULT_TOPOLOGY,
      via: 'private-network',
      identityFile: '/home/alice/.ssh/kiln_lab',
    });
    const inv = parse(r.inventory);
    expect(inv.all.vars).toMatchObject({ user: 'deploy', identity_file: '/home/alice/.ssh/kiln_lab', controller_address: '10.77.0.1' });
    expect(inv.all.children.web.hosts).toEqual({ web1: { address: '10.77.0.21' } });
    expect(() => vagrantToInventory(parseVagrantSshConfig(fixture), { topology: DEFAULT_TOPOLOGY, via: 'private-network' })).toThrow(
      '--identity',
    );
  });

  it('formats known_hosts host fields like OpenSSH', () => {
    expect(knownHostsHost('10.77.0.11', 22)).toBe('10.77.0.11');
    expect(knownHostsHost('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });
});
