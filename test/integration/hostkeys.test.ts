/**
 * Integration: host key checking against a real loopback OpenSSH server (ed25519 host key only),
 * with OpenSSH's own client as the oracle. For each known_hosts file in the table, `ssh -o
 * StrictHostKeyChecking=accept-new` and `kiln facts --accept-new-host-keys` run against copies of
 * the same file: both must log in (and record the key) or both refuse, and the table states which
 * (checked with OpenSSH 9.2). A known_hosts entry of ANY key type for the host makes the ed25519
 * key a changed key: "REMOTE HOST IDENTIFICATION HAS CHANGED", naming the file:line of the entry.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;
let ecdsa: string;
let otherEd: string;
let ca: string;

const pub = (dir: string, name: string, type: string): string => {
  const f = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f]);
  return readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
};

const hashed = (host: string): string => {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(host).digest('base64')}`;
};

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-hostkeys-'));
  ecdsa = pub(work, 'other_ecdsa', 'ecdsa');
  otherEd = pub(work, 'other_ed25519', 'ed25519');
  ca = pub(work, 'ca', 'ed25519');
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The host key line the server presents (type and base64). */
const hostKey = () => sshd.hostKeyPub.split(' ').slice(0, 2).join(' ');
const hs = () => `[127.0.0.1]:${sshd.port}`;

/** OpenSSH's verdict on a known_hosts file: did `ssh` log in, did it append to the file. */
function sshVerdict(kh: string, strict: 'accept-new' | 'yes', port = sshd.port): { loggedIn: boolean; appended: boolean; output: string } {
  const before = readFileSync(kh, 'utf8');
  const r = spawnSync(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-i',
      sshd.identityFile,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      `StrictHostKeyChecking=${strict}`,
      '-o',
      `UserKnownHostsFile=${kh}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-p',
      String(port),
      `${sshd.user}@127.0.0.1`,
      'echo LOGGED-IN',
    ],
    { encoding: 'utf8', timeout: 20000 },
  );
  return { loggedIn: r.stdout.includes('LOGGED-IN'), appended: readFileSync(kh, 'utf8') !== before, output: r.stdout + r.stderr };
}

/** Kiln's verdict on a known_hosts file (`kiln facts`, one connection). */
function kilnVerdict(dir: string, kh: string, accept: boolean, port = sshd.port): { loggedIn: boolean; appended: boolean; output: string } {
  const before = readFileSync(kh, 'utf8');
  const inventory = join(dir, `hosts-${port}.yml`);
  writeFileSync(
    inventory,
    `all:\n  hosts:\n    loop1: { address: 127.0.0.1, port: ${port}, user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${kh} }\n`,
  );
  const r = kiln(['facts', 'loop1', '-i', inventory, ...(accept ? ['--accept-new-host-keys'] : [])], {
    env: { HOME: dir, SSH_AUTH_SOCK: '' },
  });
  return { loggedIn: r.code === 0, appended: readFileSync(kh, 'utf8') !== before, output: r.output };
}

type Row = [name: string, lines: () => string[], verdict: 'changed' | 'new' | 'match' | 'revoked', line?: number];

const TABLE: Row[] = [
  ['ECDSA key for [host]:port, server offers ed25519', () => [`${hs()} ${ecdsa}`], 'changed', 1],
  ['hashed |1| ECDSA entry for [host]:port', () => [`${hashed(hs())} ${ecdsa}`], 'changed', 1],
  ['ECDSA key under a wildcard pattern', () => [`* ${ecdsa}`], 'changed', 1],
  ['ECDSA key on the second line, after a comment', () => ['# lab', `${hs()} ${ecdsa}`], 'changed', 2],
  ['another ed25519 key', () => [`${hs()} ${otherEd}`], 'changed', 1],
  ['ECDSA key for the address without the port (port 22)', () => [`127.0.0.1 ${ecdsa}`], 'new'],
  ['@cert-authority only (the server has no certificate)', () => [`@cert-authority ${hs()} ${ca}`], 'new'],
  ['@revoked ECDSA key only', () => [`@revoked ${hs()} ${ecdsa}`], 'new'],
  ['unknown @marker', () => [`@foo ${hs()} ${ecdsa}`], 'new'],
  ['pattern negating the host', () => [`*,!${hs()} ${ecdsa}`], 'new'],
  ['empty file', () => [], 'new'],
  ['the host key besides an ECDSA key', () => [`${hs()} ${ecdsa}`, `${hs()} ${hostKey()}`], 'match'],
  ['the host key, @revoked everywhere', () => [`@revoked * ${hostKey()}`, `${hs()} ${hostKey()}`], 'revoked', 1],
];

describe('host keys: Kiln decides as OpenSSH does on the same known_hosts', () => {
  it.each(TABLE)(
    '%s',
    (name, lines, verdict, line) => {
      const dir = join(work, name.replace(/[^a-z0-9]+/gi, '-'));
      mkdirSync(dir, { recursive: true });
      const text = lines()
        .map((l) => `${l}\n`)
        .join('');
      const files = {
        sshNew: join(dir, 'kh-ssh-new'),
        sshYes: join(dir, 'kh-ssh-yes'),
        kilnNew: join(dir, 'kh-kiln-new'),
        kilnNo: join(dir, 'kh-kiln'),
      };
      for (const f of Object.values(files)) writeFileSync(f, text);

      // The oracle: OpenSSH on the same file (accept-new, then strict).
      const sshNew = sshVerdict(files.sshNew, 'accept-new');
      const sshYes = sshVerdict(files.sshYes, 'yes');
      const k = kilnVerdict(dir, files.kilnNo, false);
      const kNew = kilnVerdict(dir, files.kilnNew, true);

      // Kiln without the flag = ssh with StrictHostKeyChecking=yes; with it = accept-new.
      expect({ loggedIn: k.loggedIn, appended: k.appended }, k.output).toEqual({ loggedIn: sshYes.loggedIn, appended: sshYes.appended });
      expect({ loggedIn: kNew.loggedIn, appended: kNew.appended }, kNew.output).toEqual({
        loggedIn: sshNew.loggedIn,
        appended: sshNew.appended,
      });

      // And the table (what OpenSSH 9.2 did when this test was written).
      const expected = {
        changed: {
          sshNew: /REMOTE HOST IDENTIFICATION HAS CHANGED/,
          kiln: /REMOTE HOST IDENTIFICATION HAS CHANGED/,
          loggedIn: false,
          appended: false,
        },
        new: { sshNew: /Permanently added/, kiln: /unknown host key .*SHA256:[A-Za-z0-9+/]{43}/, loggedIn: true, appended: true },
        match: { sshNew: /LOGGED-IN/, kiln: /"round_trips": 1/, loggedIn: true, appended: false },
        revoked: { sshNew: /REVOKED HOST KEY/, kiln: /REVOKED HOST KEY/, loggedIn: false, appended: false },
      }[verdict];
      expect(sshNew.output).toMatch(expected.sshNew);
      expect({ loggedIn: kNew.loggedIn, appended: kNew.appended }).toEqual({ loggedIn: expected.loggedIn, appended: expected.appended });
      expect(verdict === 'new' ? k.output : kNew.output).toMatch(expected.kiln);
      if (verdict === 'new') expect(k.loggedIn).toBe(false); // no flag: an unknown key is refused
      if (line) {
        // Both name the known_hosts line that decided it.
        expect(kNew.output).toContain(`${files.kilnNew}:${line}`);
        if (verdict === 'changed') expect(sshNew.output).toContain(`${files.sshNew}:${line}`);
      }
    },
    60000,
  );

  it('an ECDSA entry in a second known_hosts file of the host is a changed key too', () => {
    const dir = join(work, 'two-files');
    mkdirSync(dir, { recursive: true });
    const first = join(dir, 'kh1');
    const second = join(dir, 'kh2');
    writeFileSync(first, '');
    writeFileSync(second, `${hs()} ${ecdsa}\n`);
    writeFileSync(
      join(dir, 'hosts.yml'),
      `all:\n  hosts:\n    loop1: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: [${first}, ${second}] }\n`,
    );
    const r = kiln(['facts', 'loop1', '-i', join(dir, 'hosts.yml'), '--accept-new-host-keys'], { env: { HOME: dir, SSH_AUTH_SOCK: '' } });
    expect(r.code, r.output).toBe(4);
    expect(r.output).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(r.output).toContain(`${second}:1`);
    expect(readFileSync(first, 'utf8')).toBe('');
  });

  it('kiln apply refuses the changed key too, and runs no task', () => {
    const dir = join(work, 'apply');
    mkdirSync(dir, { recursive: true });
    const kh = join(dir, 'known_hosts');
    writeFileSync(kh, `${hashed(hs())} ${ecdsa}\n`);
    const marker = join(dir, 'ran');
    writeFileSync(join(dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: touch ${marker}\n`);
    writeFileSync(
      join(dir, 'hosts.yml'),
      `all:\n  hosts:\n    loop1: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${kh} }\n`,
    );
    const r = kiln(['apply', join(dir, 'site.yml'), '-i', join(dir, 'hosts.yml'), '--accept-new-host-keys'], {
      env: { HOME: dir, SSH_AUTH_SOCK: '' },
    });
    expect(r.code, r.output).toBe(4);
    expect(r.output).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(r.output).toContain(`${kh}:1`);
    expect(readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    expect(() => readFileSync(marker)).toThrow();
  });
});

/**
 * A second sshd (same client key and authorized_keys) with ed25519, ECDSA and RSA host keys: the
 * type known_hosts holds must be the one negotiated, so a host known by its ECDSA or RSA key
 * (negotiated as rsa-sha2-512/256) is a match, not a changed key. Started and stopped by PID here.
 */
describe('host key algorithms: the known type is negotiated', () => {
  let child: ChildProcess | undefined;
  let port = 0;
  const keys: Record<string, string> = {};
  let dir: string;

  beforeAll(async () => {
    dir = join(work, 'multi');
    mkdirSync(dir, { recursive: true });
    for (const t of ['ed25519', 'ecdsa', 'rsa']) {
      execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', join(dir, `host_${t}`)]);
      keys[t] = readFileSync(join(dir, `host_${t}.pub`), 'utf8')
        .trim()
        .split(/\s+/)
        .slice(0, 2)
        .join(' ');
    }
    port = await new Promise<number>((resolvePort, reject) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolvePort(p));
      });
      srv.on('error', reject);
    });
    const base = readFileSync(join(sshd.dir, 'sshd_config'), 'utf8')
      .split('\n')
      .filter((l) => !/^(Port|HostKey|PidFile) /.test(l));
    const cfg = [
      `Port ${port}`,
      ...['ed25519', 'ecdsa', 'rsa'].map((t) => `HostKey ${join(dir, `host_${t}`)}`),
      `PidFile ${join(dir, 'pid')}`,
      ...base,
    ];
    writeFileSync(join(dir, 'sshd_config'), `${cfg.join('\n')}\n`);
    child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
    const deadline = Date.now() + 10000;
    for (;;) {
      const r = spawnSync('ssh-keyscan', ['-p', String(port), '127.0.0.1'], { timeout: 2000, encoding: 'utf8' });
      if (r.stdout?.includes('ssh-')) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('the second sshd did not start');
      await new Promise((r2) => setTimeout(r2, 100));
    }
  }, 30000);

  afterAll(() => {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  });

  it.each(['ecdsa', 'rsa', 'ed25519'])(
    'known_hosts holds only its %s key: a match (ssh agrees)',
    (t) => {
      const kh = join(dir, `kh-${t}`);
      writeFileSync(kh, `[127.0.0.1]:${port} ${keys[t]}\n`);
      const k = kilnVerdict(dir, kh, false, port);
      expect(k.loggedIn, k.output).toBe(true);
      expect(k.appended).toBe(false);
      const ssh = sshVerdict(kh, 'yes', port);
      expect(ssh.loggedIn, ssh.output).toBe(true);
    },
    60000,
  );
});
