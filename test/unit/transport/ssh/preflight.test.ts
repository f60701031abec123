/**
 * Connect-time inputs checked before contact (src/transport/ssh/preflight.ts): identity files,
 * known_hosts, proxy_jump; each located at the inventory variable (its key) that set the value.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { connectionProblems } from '../../../../src/transport/ssh/preflight.ts';
import { jumpHopProblem, parseJumpHop } from '../../../../src/transport/ssh/resolve.ts';
import { parseSshConfig } from '../../../../src/transport/ssh/sshconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-preflight-'));
const home = join(dir, 'home');
mkdirSync(home);
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
writeFileSync(join(dir, 'kh'), '');

/** Problems of every host of an inventory written from `text` (its path is `inv.yml` in messages' file). */
function problems(text: string, opts: Parameters<typeof connectionProblems>[2] = {}) {
  const f = join(dir, `inv-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(f, text);
  const { inventory } = loadInventory(f);
  return connectionProblems(inventory, inventory.hosts.keys(), { homeDir: home, etcHosts: new Set(), ...opts }).map((d) => ({
    at: `${d.line}:${d.col}`,
    message: d.message,
  }));
}

describe('connection inputs checked before contact', () => {
  it('a fine inventory has no problems', () => {
    expect(
      problems(
        `all:\n  hosts:\n    h1: { identity_file: ${dir}/key, known_hosts: ${dir}/kh, proxy_jump: "me@10.0.0.1:2222,h2" }\n    h2: {}\n`,
      ),
    ).toEqual([]);
  });

  it('identity files: missing, a directory, a public key; located at the variable, one error for the hosts that share it', () => {
    const p = problems(
      `all:\n  vars:\n    ansible_ssh_private_key_file: ${dir}/nokey\n  hosts:\n    h1: {}\n    h2: {}\n    h3: { identity_file: ${dir} }\n    h4: { identity_file: [${dir}/key, ${dir}/key.pub] }\n`,
    );
    expect(p).toEqual([
      { at: '3:5', message: `identity file ${dir}/nokey does not exist (hosts h1, h2)` },
      { at: '7:11', message: `identity file ${dir} is not a file (host h3)` },
      { at: '8:11', message: `identity file ${dir}/key.pub is a public key: give the private key file (host h4)` },
    ]);
  });

  it('known_hosts: missing and the only file, unless new keys are accepted (then it is created)', () => {
    const text = `all:\n  hosts:\n    h1: { known_hosts: ${dir}/kh-missing }\n`;
    expect(problems(text)).toEqual([{ at: '3:11', message: expect.stringContaining(`known_hosts file ${dir}/kh-missing does not exist`) }]);
    expect(problems(text, { acceptNewHostKeys: true })).toEqual([]);
    // Another known_hosts file that exists (the default ~/.ssh/known_hosts) is a source: fine.
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'known_hosts'), '');
    expect(problems(text)).toEqual([]);
    expect(problems(`all:\n  hosts:\n    h1: { known_hosts: ${dir} }\n`)).toEqual([
      { at: '3:11', message: `known_hosts file ${dir} is not a file (host h1)` },
    ]);
  });

  it('proxy_jump: malformed hops, unknown single-label hosts, loops', () => {
    const p = problems(
      `all:\n  hosts:\n    a: { proxy_jump: "gw:99999" }\n    b: { proxy_jump: "@gw" }\n    c: { proxy_jump: "nosuchbastion" }\n    d: { proxy_jump: e }\n    e: { proxy_jump: d }\n    f: { proxy_jump: "gw.example.com,,x.example.com" }\n    g: { proxy_jump: "fe80::1:22" }\n`,
    );
    expect(p.map((x) => `${x.at} ${x.message}`)).toEqual([
      '3:10 proxy_jump: "gw:99999": the port must be a number from 1 to 65535, got "99999" (host a)',
      `4:10 proxy_jump: "@gw" has an empty user before '@' (host b)`,
      expect.stringMatching(/^5:10 proxy_jump: unknown host "nosuchbastion": not an inventory host/),
      '6:10 proxy_jump loop: d -> e -> d (host d)',
      '7:10 proxy_jump loop: e -> d -> e (host e)',
      '8:10 proxy_jump: an empty hop (host f)',
      '9:10 proxy_jump: "fe80::1:22": write an IPv6 address in brackets, e.g. [::1]:22 (host g)',
    ]);
  });

  it('a hop named by an ssh_config Host, /etc/hosts, or an address is known', () => {
    const ssh = parseSshConfig('Host bastion\n  User jump\n', '/cfg');
    const text = `all:\n  hosts:\n    a: { proxy_jump: bastion }\n    b: { proxy_jump: "gwhost" }\n    c: { proxy_jump: "[::1]:22" }\n    d: { proxy_jump: "ssh://u@10.1.1.1:22" }\n`;
    expect(problems(text, { sshConfig: ssh, etcHosts: new Set(['gwhost']) })).toEqual([]);
  });

  it('-e connection variables are checked and located at -e', () => {
    const f = join(dir, 'inv-e.yml');
    writeFileSync(f, 'all:\n  hosts:\n    h1: {}\n');
    const { inventory } = loadInventory(f);
    const p = connectionProblems(inventory, ['h1'], { homeDir: home, extraVars: { ansible_ssh_private_key_file: `${dir}/gone` } });
    expect(p).toEqual([{ file: '-e', line: 0, col: 0, message: `identity file ${dir}/gone does not exist (host h1)` }]);
  });

  it('jump hops: what ssh -J accepts', () => {
    for (const ok of ['gw', 'u@gw', 'gw:2222', 'u@gw:22', '[::1]', '[::1]:22', 'ssh://u@gw:22', '10.0.0.1'])
      expect(jumpHopProblem(ok), ok).toBeUndefined();
    for (const bad of ['', ' ', 'gw:', 'gw:0', 'gw:ssh', '@gw', 'u@', 'g w', 'gw;rm', '::1'])
      expect(jumpHopProblem(bad), bad).toBeDefined();
    expect(parseJumpHop('ssh://u@gw:2200')).toEqual({ user: 'u', host: 'gw', port: 2200 });
  });
});
