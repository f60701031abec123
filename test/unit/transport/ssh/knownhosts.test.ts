import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHosts,
  checkHostKey,
  checkHostKeyVerdict,
  fingerprintSha256,
  formatKnownHostsLine,
  keyTypeOfBlob,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
} from '../../../../src/transport/ssh/knownhosts.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kiln-kh-'));

/** A fresh ed25519 key pair from ssh-keygen; returns the public key's type and base64 blob. */
function genKey(name: string): { type: string; b64: string; pubFile: string } {
  const f = join(tmp, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', f]);
  const [type, b64] = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  return { type, b64, pubFile: `${f}.pub` };
}

/** A fresh ECDSA (nistp256) key from ssh-keygen. */
function genEcdsa(name: string): { type: string; b64: string } {
  const f = join(tmp, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-C', name, '-f', f]);
  const [type, b64] = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  return { type, b64 };
}

const k1 = genKey('k1');
const k2 = genKey('k2');

/** A hashed host field exactly as `ssh-keygen -H` writes it: |1|base64(salt)|base64(HMAC-SHA1(salt, host)). */
function hashed(host: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(host).digest('base64')}`;
}

describe('known_hosts', () => {
  it('match / mismatch / unknown for plain names and comma lists', () => {
    const e = parseKnownHosts(`web1,10.0.0.1 ${k1.type} ${k1.b64}\n# comment\n\ndb1 ${k2.type} ${k2.b64} db key\n`);
    expect(checkHostKey(e, 'web1', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, '10.0.0.1', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'WEB1', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'web1', 22, k2.type, k2.b64)).toBe('mismatch');
    expect(checkHostKey(e, 'web9', 22, k1.type, k1.b64)).toBe('unknown');
    // A key of another type for a known host is a CHANGED key (OpenSSH 9.2: "REMOTE HOST IDENTIFICATION HAS CHANGED").
    expect(checkHostKey(e, 'web1', 22, 'ssh-rsa', 'AAAA')).toBe('mismatch');
    expect(e[1]).toMatchObject({ comment: 'db key', line: 4 });
  });

  it('[host]:port entries only match that port', () => {
    const e = parseKnownHosts(`[web1]:2222 ${k1.type} ${k1.b64}\n`);
    expect(checkHostKey(e, 'web1', 2222, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'web1', 22, k1.type, k1.b64)).toBe('unknown');
    expect(checkHostKey(e, 'web1', 2223, k1.type, k1.b64)).toBe('unknown');
  });

  it('hashed entries (ssh-keygen -H), including [host]:port', () => {
    const e = parseKnownHosts(`${hashed('web1')} ${k1.type} ${k1.b64}\n${hashed('[web2]:2200')} ${k2.type} ${k2.b64}\n`);
    expect(checkHostKey(e, 'web1', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'web1', 22, k2.type, k2.b64)).toBe('mismatch');
    expect(checkHostKey(e, 'web2', 2200, k2.type, k2.b64)).toBe('match');
    expect(checkHostKey(e, 'web2', 22, k2.type, k2.b64)).toBe('unknown');
  });

  it('hashed entries written by ssh-keygen -H itself are recognised', () => {
    const f = join(tmp, 'kh-hash');
    writeFileSync(f, `web7 ${k1.type} ${k1.b64}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', f], { stdio: 'ignore' });
    const text = readFileSync(f, 'utf8');
    expect(text.startsWith('|1|')).toBe(true);
    expect(checkHostKey(parseKnownHosts(text), 'web7', 22, k1.type, k1.b64)).toBe('match');
  });

  it('@revoked wins over a match; @cert-authority lines are ignored', () => {
    const e = parseKnownHosts(
      `@revoked * ${k1.type} ${k1.b64}\nweb1 ${k1.type} ${k1.b64}\n@cert-authority *.example.com ${k2.type} ${k2.b64}\n`,
    );
    expect(checkHostKey(e, 'web1', 22, k1.type, k1.b64)).toBe('revoked');
    expect(checkHostKey(e, 'a.example.com', 22, k2.type, k2.b64)).toBe('unknown');
  });

  it('wildcards and negated patterns', () => {
    const e = parseKnownHosts(`*.prod,!bad.prod ${k1.type} ${k1.b64}\nweb? ${k2.type} ${k2.b64}\n`);
    expect(checkHostKey(e, 'a.prod', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'bad.prod', 22, k1.type, k1.b64)).toBe('unknown');
    expect(checkHostKey(e, 'web3', 22, k2.type, k2.b64)).toBe('match');
    expect(checkHostKey(e, 'web33', 22, k2.type, k2.b64)).toBe('unknown');
  });

  it('checks several names of one host (inventory name and address)', () => {
    const e = parseKnownHosts(`10.0.0.5 ${k1.type} ${k1.b64}\n`);
    expect(checkHostKey(e, ['web5', '10.0.0.5'], 22, k1.type, k1.b64)).toBe('match');
    expect(knownKeyTypes(e, ['web5', '10.0.0.5'], 22)).toEqual(['ssh-ed25519']);
    // A negated pattern for any of the names takes the line away for the machine.
    const neg = parseKnownHosts(`*,!10.0.0.5 ${k2.type} ${k2.b64}\n`);
    expect(checkHostKey(neg, ['web5', '10.0.0.5'], 22, k1.type, k1.b64)).toBe('unknown');
    expect(checkHostKey(neg, ['web5', '10.0.0.6'], 22, k1.type, k1.b64)).toBe('mismatch');
  });

  it('fingerprintSha256 equals ssh-keygen -lf', () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'key')]);
    const [type, b64] = readFileSync(join(tmp, 'key.pub'), 'utf8').split(/\s+/) as [string, string];
    const fromKeygen = execFileSync('ssh-keygen', ['-lf', join(tmp, 'key.pub')], { encoding: 'utf8' }).split(/\s+/)[1];
    const blob = Buffer.from(b64, 'base64');
    expect(fromKeygen).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprintSha256(blob)).toBe(fromKeygen);
    expect(keyTypeOfBlob(blob)).toBe(type);
  });

  it('formats lines and appends them to a new 0600 file, then an existing one', () => {
    const f = join(tmp, 'sub', 'known_hosts');
    const l1 = formatKnownHostsLine('web1', 22, k1.type, k1.b64);
    const l2 = formatKnownHostsLine('Web2', 2222, k2.type, k2.b64);
    expect(l1).toBe(`web1 ${k1.type} ${k1.b64}`);
    expect(l2).toBe(`[web2]:2222 ${k2.type} ${k2.b64}`);
    appendKnownHosts(f, l1);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    writeFileSync(f, readFileSync(f, 'utf8').trimEnd()); // no trailing newline: append must add one
    appendKnownHosts(f, l2);
    appendKnownHosts(f, formatKnownHostsLine('web3', 22, k1.type, k1.b64, { hash: true }));
    expect(readFileSync(f, 'utf8').split('\n')).toHaveLength(4);
    const e = loadKnownHosts([f, join(tmp, 'missing')]);
    expect(checkHostKey(e, 'web1', 22, k1.type, k1.b64)).toBe('match');
    expect(checkHostKey(e, 'web2', 2222, k2.type, k2.b64)).toBe('match');
    expect(checkHostKey(e, 'web3', 22, k1.type, k1.b64)).toBe('match');
    expect(e[2]!.hashed).toBeDefined();
  });

  describe('a key of ANY type known for the host makes another key a CHANGED key (OpenSSH 9.2, checked with ssh)', () => {
    const ec = genEcdsa('ec');
    const host = '127.0.0.1';
    const port = 2222;
    const hs = `[${host}]:${port}`;
    // Each row: the known_hosts text, and the verdict on the presented ed25519 key k1 (what ssh
    // with StrictHostKeyChecking=accept-new did on the same file: CHANGED → mismatch, added → unknown).
    const table: [string, string, string, number?][] = [
      ['plain [host]:port entry of another type', `${hs} ${ec.type} ${ec.b64}\n`, 'mismatch', 1],
      ['hashed entry of another type', `${hashed(hs)} ${ec.type} ${ec.b64}\n`, 'mismatch', 1],
      ['wildcard entry of another type', `* ${ec.type} ${ec.b64}\n`, 'mismatch', 1],
      ['same type, other key', `${hs} ${k2.type} ${k2.b64}\n`, 'mismatch', 1],
      ['port-22 form of the address (another port)', `${host} ${ec.type} ${ec.b64}\n`, 'unknown'],
      ['@cert-authority only', `@cert-authority ${hs} ${k2.type} ${k2.b64}\n`, 'unknown'],
      ['@revoked key of another type only', `@revoked ${hs} ${ec.type} ${ec.b64}\n`, 'unknown'],
      ['unknown marker', `@foo ${hs} ${ec.type} ${ec.b64}\n`, 'unknown'],
      ['negated pattern that does not exclude', `${hs},!${host} ${ec.type} ${ec.b64}\n`, 'mismatch', 1],
      ['negated pattern that excludes', `*,!${hs} ${ec.type} ${ec.b64}\n`, 'unknown'],
      ['the key itself besides another type', `${hs} ${ec.type} ${ec.b64}\n${hs} ${k1.type} ${k1.b64}\n`, 'match', 2],
      ['the key @revoked', `@revoked * ${k1.type} ${k1.b64}\n${hs} ${k1.type} ${k1.b64}\n`, 'revoked', 1],
    ];
    it.each(table)('%s', (_name, text, status, line) => {
      const v = checkHostKeyVerdict(parseKnownHosts(text, '/kh'), host, port, k1.b64);
      expect(v.status).toBe(status);
      if (line) expect(v.entry).toMatchObject({ file: '/kh', line });
      else expect(v.entry).toBeUndefined();
    });

    it('the offending entry named is one of the presented type when there is one', () => {
      const text = `${hs} ${ec.type} ${ec.b64}\n${hs} ${k2.type} ${k2.b64}\n`;
      expect(checkHostKeyVerdict(parseKnownHosts(text), host, port, k1.b64).entry?.line).toBe(2);
    });

    it('an entry in a second file counts (ssh reads every UserKnownHostsFile)', () => {
      const a = join(tmp, 'kh-a');
      const b = join(tmp, 'kh-b');
      writeFileSync(a, '');
      writeFileSync(b, `${hs} ${ec.type} ${ec.b64}\n`);
      expect(checkHostKeyVerdict(loadKnownHosts([a, b]), host, port, k1.b64)).toMatchObject({
        status: 'mismatch',
        entry: { file: b, line: 1 },
      });
    });

    it('known key types come from the key blob, not the type word on the line', () => {
      const e = parseKnownHosts(`${hs} rsa-sha2-512 ${ec.b64}\n`);
      expect(knownKeyTypes(e, host, port)).toEqual([ec.type]);
    });
  });
});
