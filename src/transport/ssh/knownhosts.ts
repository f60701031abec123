/**
 * known_hosts files, compatible with OpenSSH's format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 *
 * - Host field: comma-separated patterns with `*`/`?` wildcards and `!` negation (a matching
 *   negated pattern makes the line not apply), `[host]:port` for ports other than 22, or a hashed
 *   entry `|1|base64(salt)|base64(HMAC-SHA1(key=salt, data=host))` as written by `ssh-keygen -H` /
 *   `HashKnownHosts yes`. Host names are matched lower-cased, like ssh.
 * - `@revoked` lines: if the presented key is on a revoked line that matches the host, the result
 *   is 'revoked' (wins over a match). Use `*` as the host pattern to revoke a key everywhere.
 * - `@cert-authority` lines are IGNORED: Kiln does not verify host certificates, so a host
 *   known only through a CA is 'unknown' (OpenSSH 9.2 with StrictHostKeyChecking=accept-new
 *   likewise accepts and records the plain key of a host it knows only through a CA).
 * - A host with a plain (unmarked) entry of ANY key type, in any of the files, is known: a
 *   presented key that is on none of its entries is 'mismatch' (a CHANGED key), even when the
 *   entries are of another type: OpenSSH 9.2 says "REMOTE HOST IDENTIFICATION HAS CHANGED" and
 *   refuses there, also with StrictHostKeyChecking=accept-new. `@revoked` entries and entries
 *   with an unknown marker do not make a host known. The SSH layer prefers the known types
 *   (`knownKeyTypes`) when it negotiates host key algorithms, as ssh does, so a host that has a
 *   key of the known type presents that one.
 * - Key types are compared by the type written inside the key blob (what OpenSSH parses), so an
 *   RSA key negotiated as rsa-sha2-512 is the `ssh-rsa` key known_hosts holds.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { expandTilde, matchWildcard } from './sshconfig.ts';

export type HostKeyStatus = 'match' | 'mismatch' | 'unknown' | 'revoked';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** Plain patterns (absent for hashed entries). */
  patterns?: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** Base64 key blob. */
  key: string;
  comment?: string;
  file?: string;
  line: number;
}

export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (!t || t.startsWith('#')) continue;
    const fields = t.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // unknown marker: ignored, like ssh
    }
    if (fields.length < 3) continue; // malformed (or an RSA1 line): ignored, like ssh
    const [hostField, keyType, key, ...rest] = fields as [string, string, string, ...string[]];
    const e: KnownHostEntry = { keyType, key, line: i + 1 };
    if (marker) e.marker = marker;
    if (file) e.file = file;
    if (rest.length) e.comment = rest.join(' ');
    if (hostField.startsWith('|1|')) {
      const [, , salt, hash] = hostField.split('|');
      if (!salt || !hash) continue;
      e.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      e.patterns = hostField.split(',').filter(Boolean);
    }
    out.push(e);
  }
  return out;
}

/** Reads several known_hosts files (`~` expanded); missing files are skipped. */
export function loadKnownHosts(paths: string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const p of paths) {
    const f = expandTilde(p);
    if (!existsSync(f)) continue;
    out.push(...parseKnownHosts(readFileSync(f, 'utf8'), f));
  }
  return out;
}

/** The string ssh looks up: `host` for port 22, `[host]:port` otherwise. */
export function hostPortString(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `|1|salt|hash` for a host string, as `ssh-keygen -H` writes it (random salt unless given). */
export function hashHostName(hostString: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(hostString).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

function entryMatches(e: KnownHostEntry, hostStrings: string[]): boolean {
  if (e.hashed) {
    return hostStrings.some((h) => createHmac('sha1', e.hashed!.salt).update(h).digest().equals(e.hashed!.hash));
  }
  // The names are one machine: a negated pattern that matches any of them takes the line away
  // (ssh, which knows one name, would not use it for that name either).
  const pats = e.patterns ?? [];
  if (pats.some((p) => p.startsWith('!') && hostStrings.some((h) => matchWildcard(p.slice(1), h)))) return false;
  return pats.some((p) => !p.startsWith('!') && hostStrings.some((h) => matchWildcard(p, h)));
}

function sameKey(a: string, b: string): boolean {
  return Buffer.from(a, 'base64').equals(Buffer.from(b, 'base64'));
}

/** What checking a presented host key found, with the known_hosts entry that decided it. */
export interface HostKeyVerdict {
  status: HostKeyStatus;
  /** 'match': the matching entry; 'mismatch': the offending entry (the key known for the host); 'revoked': the @revoked line. */
  entry?: KnownHostEntry;
}

/** The key type inside an entry's blob (what OpenSSH goes by), else the type written on the line. */
export function entryKeyType(e: KnownHostEntry): string {
  try {
    return keyTypeOfBlob(Buffer.from(e.key, 'base64'));
  } catch {
    return e.keyType;
  }
}

/**
 * Checks a presented host key. `host` may list several names for the same machine (e.g. the
 * inventory name and its address): an entry for any of them counts.
 */
export function checkHostKeyVerdict(entries: KnownHostEntry[], host: string | string[], port: number, keyBase64: string): HostKeyVerdict {
  const hostStrings = (Array.isArray(host) ? host : [host]).map((h) => hostPortString(h, port));
  const relevant = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, hostStrings));
  const revoked = relevant.find((e) => e.marker === 'revoked' && sameKey(e.key, keyBase64));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = relevant.filter((e) => !e.marker);
  const same = plain.find((e) => sameKey(e.key, keyBase64));
  if (same) return { status: 'match', entry: same };
  if (!plain.length) return { status: 'unknown' };
  // Name an entry of the presented type if there is one (the key that changed), else the first.
  let presentedType: string | undefined;
  try {
    presentedType = keyTypeOfBlob(Buffer.from(keyBase64, 'base64'));
  } catch {
    presentedType = undefined;
  }
  return { status: 'mismatch', entry: plain.find((e) => entryKeyType(e) === presentedType) ?? plain[0] };
}

/** `checkHostKeyVerdict`'s status (`keyType` is the presented key's; the blob's own type is what counts). */
export function checkHostKey(
  entries: KnownHostEntry[],
  host: string | string[],
  port: number,
  _keyType: string,
  keyBase64: string,
): HostKeyStatus {
  return checkHostKeyVerdict(entries, host, port, keyBase64).status;
}

/** Key types known for a host (to prefer them when negotiating host key algorithms). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string | string[], port: number): string[] {
  const hostStrings = (Array.isArray(host) ? host : [host]).map((h) => hostPortString(h, port));
  const types = entries.filter((e) => !e.marker && entryMatches(e, hostStrings)).map(entryKeyType);
  return [...new Set(types)];
}

/** `file:line` of an entry, for messages. */
export function entryLocation(e: KnownHostEntry): string {
  return `${e.file ?? 'known_hosts'}:${e.line}`;
}

/** `SHA256:…` fingerprint of a public key blob, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(keyBlob: Buffer | string): string {
  const blob = typeof keyBlob === 'string' ? Buffer.from(keyBlob, 'base64') : keyBlob;
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The key type written at the start of an SSH public key blob (e.g. `ssh-ed25519`). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) throw new Error('key blob too short');
  const n = blob.readUInt32BE(0);
  if (n > blob.length - 4) throw new Error('malformed key blob');
  return blob.subarray(4, 4 + n).toString('latin1');
}

export function formatKnownHostsLine(
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
  opts: { hash?: boolean; comment?: string } = {},
): string {
  const hs = hostPortString(host, port);
  const field = opts.hash ? hashHostName(hs) : hs;
  return [field, keyType, keyBase64, ...(opts.comment ? [opts.comment] : [])].join(' ');
}

/** Appends a line to a known_hosts file, creating it (mode 0600, parent 0700) if missing. */
export function appendKnownHosts(file: string, line: string): void {
  const f = expandTilde(file);
  const text = line.endsWith('\n') ? line : line + '\n';
  if (!existsSync(f)) {
    mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(f, text, { mode: 0o600, flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  appendFileSync(f, (endsWithNewline(f) ? '' : '\n') + text);
}

function endsWithNewline(f: string): boolean {
  const fd = openSync(f, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}
