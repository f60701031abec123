/**
 * Integration: connect-time inputs refused before any host is contacted (the real CLI; a TCP
 * listener counts connection attempts), and the valid counterpart reaching the real loopback sshd.
 * Inventory problems are located at the variable (file:line:col); CLI flags are named.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;
let counter: Server;
let connections = 0;
let counterPort: number;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-connect-inputs-'));
  counter = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => counter.listen(0, '127.0.0.1', () => r()));
  counterPort = (counter.address() as { port: number }).port;
  writeFileSync(join(work, 'site.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n');
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  await new Promise((r) => counter?.close(r));
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A HOME with no ~/.ssh (known_hosts defaults), and no agent. */
const env = () => ({ HOME: work, SSH_AUTH_SOCK: '' });

function inventory(name: string, hostVars: string): string {
  const f = join(work, `${name}.yml`);
  writeFileSync(f, `all:\n  vars:\n    user: ${sshd.user}\n  hosts:\n    h1: { address: 127.0.0.1, port: ${counterPort}, ${hostVars} }\n`);
  return f;
}

/** `file:line:col` of the first occurrence of `key` in an inventory file. */
function at(file: string, key: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(key));
  return `${file}:${i + 1}:${lines[i]!.indexOf(key) + 1}`;
}

/** Runs `kiln validate` and `kiln apply` on it: both exit 2 with `line` in stderr, and nothing is dialled. */
function refused(inv: string, line: string, extra: string[] = []) {
  const before = connections;
  for (const cmd of ['validate', 'apply']) {
    const r = kiln([cmd, join(work, 'site.yml'), '-i', inv, ...extra], { env: env() });
    expect(r.code, `${cmd}: ${r.output}`).toBe(2);
    expect(r.stderr.split('\n')).toContainEqual(expect.stringContaining(line));
  }
  expect(connections).toBe(before);
}

describe('connect-time inputs are refused before contact', () => {
  it('a missing identity file (ansible_ssh_private_key_file), located at the variable', () => {
    const inv = inventory('id-missing', `ansible_ssh_private_key_file: ${work}/nokey, known_hosts: ${sshd.dir}/known_hosts`);
    refused(inv, `${at(inv, 'ansible_ssh_private_key_file')}: identity file ${work}/nokey does not exist (host h1)`);
  });

  it('a public key given as the identity file', () => {
    const inv = inventory('id-pub', `identity_file: ${sshd.identityFile}.pub, known_hosts: ${sshd.dir}/known_hosts`);
    refused(inv, `${at(inv, 'identity_file')}: identity file ${sshd.identityFile}.pub is a public key`);
  });

  it('a missing known_hosts file that is the only one (no --accept-new-host-keys)', () => {
    const inv = inventory('kh-missing', `identity_file: ${sshd.identityFile}, known_hosts: ${work}/kh-missing`);
    refused(inv, `${at(inv, 'known_hosts')}: known_hosts file ${work}/kh-missing does not exist`);
  });

  it('a proxy_jump to an unknown host, and a malformed one', () => {
    const a = inventory(
      'jump-unknown',
      `identity_file: ${sshd.identityFile}, known_hosts: ${sshd.dir}/known_hosts, proxy_jump: nosuchbastion`,
    );
    refused(a, `${at(a, 'proxy_jump')}: proxy_jump: unknown host "nosuchbastion"`);
    const b = inventory('jump-bad', `identity_file: ${sshd.identityFile}, known_hosts: ${sshd.dir}/known_hosts, proxy_jump: "gw:port"`);
    refused(b, `${at(b, 'proxy_jump')}: proxy_jump: "gw:port": the port must be a number from 1 to 65535`);
  });

  it('an identity file set with -e is located at -e', () => {
    const inv = inventory('id-e', `identity_file: ${sshd.identityFile}, known_hosts: ${sshd.dir}/known_hosts`);
    refused(inv, `-e: identity file ${work}/gone does not exist`, ['-e', `ansible_ssh_private_key_file=${work}/gone`]);
  });

  it('--forks and the timeout flags with junk values, a missing --vault-password-file: exit 2 naming the flag', () => {
    const inv = inventory('flags', `identity_file: ${sshd.identityFile}, known_hosts: ${sshd.dir}/known_hosts`);
    const before = connections;
    const cases: [string[], string][] = [
      [['--forks', 'abc'], '--forks: must be a whole number of hosts from 1, got "abc"'],
      [['--forks', '0'], '--forks: must be a whole number of hosts from 1, got "0"'],
      [['--forks', '-3'], '--forks: must be a whole number of hosts from 1, got "-3"'],
      [['--connect-timeout', '10s'], '--connect-timeout: must be a whole number of seconds from 1 to 604800, got "10s"'],
      [['--keepalive-count', '1'], '--keepalive-count: must be a whole number from 2 to 100, got "1"'],
      [
        ['--vault-password-file', `${work}/no-pw`],
        `--vault-password-file: cannot read the vault password file "${work}/no-pw": no such file`,
      ],
    ];
    for (const [flags, line] of cases) {
      const r = kiln(['apply', join(work, 'site.yml'), '-i', inv, ...flags], { env: env() });
      expect(r.code, r.output).toBe(2);
      expect(r.stderr.split('\n')).toContain(line);
      expect(r.output).not.toContain('ENOENT');
    }
    expect(connections).toBe(before);
  });
});

describe('the valid counterparts reach the host', () => {
  it('a missing known_hosts with --accept-new-host-keys: created with the host key, the play runs', () => {
    const kh = join(work, 'kh-new', 'known_hosts');
    mkdirSync(join(work, 'kh-new'));
    const inv = join(work, 'accept.yml');
    writeFileSync(
      inv,
      `all:\n  vars: { user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${kh} }\n  hosts:\n    h1: { address: 127.0.0.1, port: ${sshd.port}, proxy_jump: bastion }\n  children:\n    jump:\n      hosts:\n        bastion: { address: 127.0.0.1, port: ${sshd.port} }\n`,
    );
    // The jump host is the same sshd: its key is recorded once, for [127.0.0.1]:port.
    const r = kiln(['apply', join(work, 'site.yml'), '-i', inv, '--accept-new-host-keys', '--forks', '3', '-l', 'h1'], { env: env() });
    expect(r.code, r.output).toBe(0);
    expect(existsSync(kh)).toBe(true);
    expect(readFileSync(kh, 'utf8')).toContain(sshd.hostKeyPub.split(' ')[1]);
  });
});
