import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSshConfig, lookupSshConfig, matchPatternList, parseSshConfig } from '../../../../src/transport/ssh/sshconfig.ts';

const HOME = '/home/tester';
const parse = (text: string) => parseSshConfig(text, '/home/tester/.ssh/config', { homeDir: HOME });
const look = (text: string, host: string | string[]) => lookupSshConfig(parse(text), host, { homeDir: HOME, localUser: 'me' });

describe('ssh config lookup', () => {
  it('first obtained value wins; IdentityFile accumulates in order', () => {
    const cfg = [
      'Host web1',
      '  User alice',
      '  IdentityFile ~/.ssh/web',
      'Host web*',
      '  User bob',
      '  Port 2222',
      '  IdentityFile ~/.ssh/all',
      'Host *',
      '  Port 22',
      '  User carol',
      '',
    ].join('\n');
    expect(look(cfg, 'web1')).toEqual({ user: 'alice', port: 2222, identityFiles: [`${HOME}/.ssh/web`, `${HOME}/.ssh/all`] });
    expect(look(cfg, 'db1')).toEqual({ user: 'carol', port: 22, identityFiles: [] });
  });

  it('global options before any Host apply to every host and win over later blocks', () => {
    expect(look('User global\nHost x\n  User specific\n', 'x').user).toBe('global');
  });

  it('negated patterns exclude a host even if another pattern matches', () => {
    const cfg = 'Host *.prod !bastion.prod\n  User deploy\nHost *\n  User other\n';
    expect(look(cfg, 'web.prod').user).toBe('deploy');
    expect(look(cfg, 'bastion.prod').user).toBe('other');
    expect(matchPatternList(['!a', '*'], 'a')).toBe(false);
    expect(matchPatternList(['!a'], 'b')).toBe(false); // only negations never match
  });

  it('multiple patterns, ? wildcard, case-insensitive keywords and hosts, Key=Value form', () => {
    const cfg = 'HOST db? cache\n  hostname=10.0.0.%h\n  PORT = 2200\n  user "quoted user"\n';
    expect(look(cfg, 'DB1')).toMatchObject({ hostName: '10.0.0.DB1', port: 2200, user: 'quoted user' });
    expect(look(cfg, 'cache').port).toBe(2200);
    expect(look(cfg, 'db10').port).toBeUndefined();
  });

  it('expands %h %p %r %% tokens and ~ in HostName / IdentityFile / UserKnownHostsFile', () => {
    const cfg = [
      'Host web1',
      '  HostName %h.example.com',
      '  Port 2022',
      '  User ops',
      '  IdentityFile ~/.ssh/id_%h_%p_%r_100%%',
      '  UserKnownHostsFile ~/.ssh/kh_%h /etc/ssh/kh2',
      '',
    ].join('\n');
    expect(look(cfg, 'web1')).toEqual({
      hostName: 'web1.example.com',
      port: 2022,
      user: 'ops',
      identityFiles: [`${HOME}/.ssh/id_web1.example.com_2022_ops_100%`],
      userKnownHostsFiles: [`${HOME}/.ssh/kh_web1.example.com`, '/etc/ssh/kh2'],
    });
  });

  it('skips Match blocks until the next Host line', () => {
    const cfg = 'Match host web1\n  User fromMatch\nHost web1\n  User fromHost\n';
    expect(look(cfg, 'web1').user).toBe('fromHost');
  });

  it('matches a block by any of several names (inventory name and address)', () => {
    const cfg = 'Host 10.9.*\n  User byaddr\n  ProxyJump gw\nHost *\n  User fallback\n';
    expect(look(cfg, ['web1', '10.9.0.5'])).toMatchObject({ user: 'byaddr', proxyJump: 'gw' });
    expect(look(cfg, ['web1']).user).toBe('fallback');
  });

  it('ignores comments, reports bad Port values with their location', () => {
    const cfg = parse('# comment\nHost a # trailing comment\n  Port nope\n  User u\n');
    expect(cfg.diagnostics).toEqual([
      { file: '/home/tester/.ssh/config', line: 3, col: 8, message: "bad Port value 'nope' (expected 1-65535)" },
    ]);
    expect(lookupSshConfig(cfg, 'a', { homeDir: HOME })).toMatchObject({ user: 'u' });
    expect(lookupSshConfig(cfg, 'a', { homeDir: HOME }).port).toBeUndefined();
  });

  it('supports Include with globs relative to ~/.ssh, inside a Host block too', () => {
    const home = mkdtempSync(join(tmpdir(), 'kiln-ssh-'));
    const ssh = join(home, '.ssh');
    mkdirSync(join(ssh, 'config.d'), { recursive: true });
    writeFileSync(join(ssh, 'config'), 'Include config.d/*.conf\nHost web1\n  Include web-extra\n  User late\n');
    writeFileSync(join(ssh, 'config.d', '10-a.conf'), 'Host db1\n  User from-a\n');
    writeFileSync(join(ssh, 'config.d', '20-b.conf'), 'Host db1 web1\n  User from-b\n  Port 2201\n');
    writeFileSync(join(ssh, 'web-extra'), 'IdentityFile ~/.ssh/web-key\n');
    const cfg = loadSshConfig(join(ssh, 'config'), { homeDir: home });
    expect(cfg.files.map((f) => f.slice(ssh.length + 1))).toEqual(['config', 'config.d/10-a.conf', 'config.d/20-b.conf', 'web-extra']);
    expect(lookupSshConfig(cfg, 'db1', { homeDir: home })).toMatchObject({ user: 'from-a', port: 2201 });
    expect(lookupSshConfig(cfg, 'web1', { homeDir: home })).toMatchObject({ user: 'from-b', identityFiles: [join(ssh, 'web-key')] });
    // The included file's lines are in the including Host block: other hosts don't get them.
    expect(lookupSshConfig(cfg, 'other', { homeDir: home }).identityFiles).toEqual([]);
  });

  it('a config or Include past the input size limit, or not UTF-8, is a located diagnostic, not read', () => {
    const home = mkdtempSync(join(tmpdir(), 'kiln-ssh-'));
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { recursive: true });
    writeFileSync(join(ssh, 'config'), 'Include big.conf latin1.conf\nHost web1\n  User u1\n');
    writeFileSync(join(ssh, 'big.conf'), `Host web1\n  User from-big\n# ${'x'.repeat(2000)}\n`);
    writeFileSync(join(ssh, 'latin1.conf'), Buffer.from('Host web1\n  # caf\xe9\n  User from-latin1\n', 'latin1'));
    const before = process.env.KILN_MAX_INPUT_BYTES;
    process.env.KILN_MAX_INPUT_BYTES = '1000';
    try {
      const cfg = loadSshConfig(join(ssh, 'config'), { homeDir: home });
      expect(cfg.diagnostics).toEqual([
        expect.objectContaining({
          file: join(ssh, 'big.conf'),
          line: 1,
          col: 1,
          message: expect.stringMatching(/larger than Kiln's input limit of 1000 bytes/),
        }),
        expect.objectContaining({
          file: join(ssh, 'latin1.conf'),
          line: 2,
          col: 8,
          message: expect.stringMatching(/not valid UTF-8: byte 0xe9/),
        }),
      ]);
      expect(lookupSshConfig(cfg, 'web1', { homeDir: home }).user).toBe('u1');
      writeFileSync(join(ssh, 'config'), `# ${'y'.repeat(2000)}\n`);
      expect(loadSshConfig(join(ssh, 'config'), { homeDir: home }).diagnostics).toEqual([
        expect.objectContaining({ file: join(ssh, 'config'), line: 1, col: 1, message: expect.stringMatching(/input limit/) }),
      ]);
    } finally {
      if (before === undefined) delete process.env.KILN_MAX_INPUT_BYTES;
      else process.env.KILN_MAX_INPUT_BYTES = before;
    }
  });

  it('a missing config file is an empty config', () => {
    expect(loadSshConfig('/nonexistent/ssh_config')).toEqual({ options: [], diagnostics: [], files: [] });
  });
});
