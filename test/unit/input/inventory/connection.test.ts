import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { resolveConnection, parseJumpHop } from '../../../../src/transport/ssh/resolve.ts';
import { DEFAULT_TIMEOUTS } from '../../../../src/transport/ssh/spec.ts';
import { sshTransport } from '../../../../src/transport/ssh/factory.ts';
import { parseTimeoutOptions } from '../../../../src/cli/timeouts.ts';
import { inputErrors } from './helpers.ts';
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
      timeouts: { connect: 15, keepaliveInterval: 5, keepaliveCount: 3, command: 1800 },
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

describe('timeouts', () => {
  it('kiln_* variables over the defaults', () => {
    const vars = { kiln_connect_timeout: 30, kiln_keepalive_interval: 2, kiln_keepalive_count: 4, kiln_command_timeout: 0 };
    expect(resolveConnection('h', vars, base).timeouts).toEqual({ connect: 30, keepaliveInterval: 2, keepaliveCount: 4, command: 0 });
    expect(resolveConnection('h', { kiln_command_timeout: 600 }, base).timeouts).toEqual({ ...DEFAULT_TIMEOUTS, command: 600 });
  });

  it("Ansible's ansible_timeout and ansible_ssh_timeout are the connect timeout; the host's value wins over the group's", () => {
    const dir = tmpTree({
      'inv.yml': 'all:\n  vars: { ansible_ssh_timeout: 40 }\n  hosts:\n    a: {}\n    b: { ansible_timeout: 7 }\n',
    });
    const { inventory } = loadInventory(join(dir, 'inv.yml'));
    expect(resolveConnection('a', hostVarsOf(inventory, 'a'), base).timeouts.connect).toBe(40);
    expect(resolveConnection('b', hostVarsOf(inventory, 'b'), base).timeouts.connect).toBe(7);
  });

  it('bad values in an inventory are located errors', () => {
    const dir = tmpTree({
      'inv.yml': [
        'all:',
        '  hosts:',
        '    a: { kiln_keepalive_count: 1, kiln_command_timeout: 2.5 }',
        '    b: { ansible_timeout: 0, kiln_keepalive_interval: 99999999 }',
        '',
      ].join('\n'),
    });
    expect(inputErrors(() => loadInventory(join(dir, 'inv.yml'))).map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      "3:32 'kiln_keepalive_count' must be a whole number from 2 to 100, got number 1",
      "3:57 'kiln_command_timeout' must be a whole number of seconds from 0 (no limit) to 604800, got number 2.5",
      "4:27 'ansible_timeout' (alias of 'kiln_connect_timeout') must be a whole number of seconds from 1 to 604800, got number 0",
      "4:55 'kiln_keepalive_interval' must be a whole number of seconds from 1 to 604800, got number 99999999",
    ]);
  });

  it('a template (connection settings are not rendered) is refused when the host is dialled', () => {
    expect(() => resolveConnection('h', { kiln_command_timeout: '{{ slow }}' }, base)).toThrow(
      `h: 'kiln_command_timeout' must be a whole number of seconds from 0 (no limit) to 604800, got string "{{ slow }}" (connection settings are not templated)`,
    );
  });
});

describe('timeouts given on the command line', () => {
  it('win over the inventory, setting by setting', () => {
    const dir = tmpTree({ 'inv.yml': 'all:\n  vars: { kiln_command_timeout: 1, kiln_keepalive_count: 5 }\n  hosts:\n    a: {}\n' });
    const { inventory } = loadInventory(join(dir, 'inv.yml'));
    const spec = sshTransport(inventory, { timeouts: parseTimeoutOptions({ commandTimeout: '30', connectTimeout: '4' }) }).spec('a');
    expect(spec.timeouts).toEqual({ connect: 4, keepaliveInterval: 5, keepaliveCount: 5, command: 30 });
  });

  it('are checked like the inventory values, each located at its option', () => {
    expect(inputErrors(() => parseTimeoutOptions({ keepaliveInterval: '1.5', connectTimeout: 'soon', commandTimeout: '0' }))).toEqual([
      { file: '--connect-timeout', message: 'must be a whole number of seconds from 1 to 604800, got "soon"' },
      { file: '--keepalive-interval', message: 'must be a whole number of seconds from 1 to 604800, got "1.5"' },
    ]);
  });
});
