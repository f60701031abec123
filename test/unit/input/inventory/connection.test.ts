import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { resolveConnection, parseJumpHop } from '../../../../src/transport/ssh/resolve.ts';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { hostVarsOf } from '../../../../src/input/inventory/layers.ts';
import { parseSshConfig } from '../../../../src/transport/ssh/sshconfig.ts';
import { isSecret } from '../../../../src/core/secret/secret.ts';
import { tmpTree } from './helpers.ts';

const HOME = '/home/tester';
const base = { inventoryDir: '/srv/inv', localUser: 'me', homeDir: HOME };
const ssh = parseSshConfig(
  [
    'Host web1',
    '  HostName web1.internal',
    '  User sshuser',
    '  Port 2200',
    '  IdentityFile ~/.ssh/web1',
    'Host 10.50.*',
    '  User byaddress',
    '  ProxyJump gw',
    'Host gw',
    '  HostName gw.example.com',
    '  User gwuser',
    'Host strict',
    '  StrictHostKeyChecking accept-new',
    '  UserKnownHostsFile ~/.ssh/kh_%h',
    '',
  ].join('\n'),
  '/home/tester/.ssh/config',
  { homeDir: HOME },
);

describe('resolveConnection', () => {
  it('defaults: address = host name, port 22, current user, root become user', () => {
    expect(resolveConnection('plain', {}, base)).toEqual({
      name: 'plain',
      host: 'plain',
      port: 22,
      user: 'me',
      identityFiles: [],
      become: false,
      becomeUser: 'root',
      knownHostsFiles: [`${HOME}/.ssh/known_hosts`, `${HOME}/.ssh/known_hosts2`],
    });
  });

  it('ssh config > defaults (matched by inventory host name)', () => {
    expect(resolveConnection('web1', {}, { ...base, sshConfig: ssh })).toMatchObject({
      host: 'web1.internal',
      port: 2200,
      user: 'sshuser',
      identityFiles: [`${HOME}/.ssh/web1`],
    });
  });

  it('inventory vars > ssh config; identity_file relative to the inventory dir, ~ expanded', () => {
    const c = resolveConnection(
      'web1',
      {
        address: '10.0.0.1',
        port: 2222,
        user: 'deploy',
        identity_file: ['keys/deploy', '~/.ssh/other'],
        become: true,
        become_user: 'postgres',
      },
      { ...base, sshConfig: ssh },
    );
    expect(c).toMatchObject({ host: '10.0.0.1', port: 2222, user: 'deploy', become: true, becomeUser: 'postgres' });
    expect(c.identityFiles).toEqual(['/srv/inv/keys/deploy', `${HOME}/.ssh/other`]);
  });

  it('ssh config is also matched by the address', () => {
    const c = resolveConnection('db1', { address: '10.50.0.7' }, { ...base, sshConfig: ssh });
    expect(c).toMatchObject({ host: '10.50.0.7', user: 'byaddress' });
    // ProxyJump from ssh config, the jump host itself resolved through ssh config
    expect(c.proxyJump).toEqual({ host: 'gw.example.com', port: 22, user: 'gwuser', identityFiles: [] });
  });

  it('become_password becomes a Secret', () => {
    const c = resolveConnection('h', { become_password: 'pw123' }, base);
    expect(isSecret(c.becomePassword)).toBe(true);
    expect(c.becomePassword!.reveal()).toBe('pw123');
    expect(JSON.stringify(c)).not.toContain('pw123');
  });

  it('known_hosts: inventory files first (relative to the inventory dir), then ssh config UserKnownHostsFile', () => {
    const c = resolveConnection('strict', { known_hosts: 'known_hosts' }, { ...base, sshConfig: ssh });
    expect(c.knownHostsFiles).toEqual(['/srv/inv/known_hosts', `${HOME}/.ssh/kh_strict`]);
    expect(c.strictHostKeyChecking).toBe('accept-new');
  });

  it('proxy_jump: user@host:port, chains, none/null, and inventory host names', () => {
    expect(parseJumpHop('ops@bastion:2022')).toEqual({ user: 'ops', host: 'bastion', port: 2022 });
    expect(parseJumpHop('[fd00::1]:22')).toEqual({ host: 'fd00::1', port: 22 });
    const chain = resolveConnection('t', { proxy_jump: 'a@first,second:2200' }, base).proxyJump;
    expect(chain).toEqual({
      host: 'second',
      port: 2200,
      user: 'me',
      identityFiles: [],
      proxyJump: { host: 'first', port: 22, user: 'a', identityFiles: [] },
    });
    expect(resolveConnection('db1', { address: '10.50.0.7', proxy_jump: null }, { ...base, sshConfig: ssh }).proxyJump).toBeUndefined();
    expect(resolveConnection('db1', { address: '10.50.0.7', proxy_jump: 'none' }, { ...base, sshConfig: ssh }).proxyJump).toBeUndefined();

    const dir = tmpTree({
      'inv.yml':
        'all:\n  hosts:\n    bastion: { address: 1.2.3.4, port: 2022, user: jump, identity_file: keys/j }\n    app: { address: 10.0.0.2, proxy_jump: bastion }\n    loop1: { proxy_jump: loop2 }\n    loop2: { proxy_jump: loop1 }\n',
    });
    const inv = loadInventory(join(dir, 'inv.yml')).inventory;
    const opts = { ...base, inventoryDir: inv.dir, inventory: inv };
    expect(resolveConnection('app', hostVarsOf(inv, 'app'), opts).proxyJump).toEqual({
      host: '1.2.3.4',
      port: 2022,
      user: 'jump',
      identityFiles: [join(dir, 'keys/j')],
    });
    expect(() => resolveConnection('loop1', hostVarsOf(inv, 'loop1'), opts)).toThrow('proxy_jump loop: loop1 -> loop2 -> loop1');
  });
});
