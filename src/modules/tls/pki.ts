/**
 * Controller-side internal PKI for `tls_cert`: an internal CA and server certificates kept in a
 * directory on the controller (`<dir>/ca.crt`, `ca.key`, `<name>.crt`, `<name>.key`).
 *
 * Reading and deciding (`inspectPki`, `decide`) are pure with respect to the file system: they
 * never write, so `--check` and `kiln validate` can call them. Only `issue` writes.
 *
 * Keys are made with Node's crypto (written 0600 through a temp file + rename); certificates are
 * signed with the `openssl` CLI (Node cannot create X.509 certificates). Key material never goes
 * through openssl's argv: openssl reads key files.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export const DAY_MS = 86_400_000;

export interface PkiWant {
  /** Directory on the controller. */
  dir: string;
  /** File stem of the server certificate (`<name>.crt`, `<name>.key`). */
  name: string;
  commonName: string;
  dns: string[];
  ips: string[];
  caCommonName: string;
  validDays: number;
  caValidDays: number;
  renewBeforeDays: number;
  keyType: 'ec' | 'rsa';
  /** Only the CA (for clients that verify servers): no server certificate is looked at or issued. */
  caOnly?: boolean;
}

export interface CertInfo {
  notAfter: Date;
  dns: string[];
  ips: string[];
  /** Signed by the CA currently in the directory. */
  signedByCa: boolean;
  /** The key file matches the certificate. */
  keyMatches: boolean;
  /** PEM of the certificate (public). */
  pem: string;
}

export interface PkiState {
  ca?: { notAfter: Date; keyMatches: boolean; pem: string };
  cert?: CertInfo;
  /** Unreadable or corrupt files, each a reason to re-create. */
  problems: string[];
}

export interface Decision {
  createCa: boolean;
  /** Why the server certificate is (re-)issued; undefined = keep it. */
  issue?: string;
  /** Human summaries of the controller-side work, in order. */
  summaries: string[];
}

export const caPaths = (dir: string) => ({ crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') });
export const certPaths = (dir: string, name: string) => ({ crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

/** SANs of a certificate from Node's `subjectAltName` string ("DNS:a, IP Address:1.2.3.4"). */
export function parseSans(san: string | undefined): { dns: string[]; ips: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (san ?? '').split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.*)$/.exec(part.trim());
    if (!m) continue;
    if (m[1] === 'DNS') dns.push(m[2]!.toLowerCase());
    else ips.push(normIp(m[2]!));
  }
  return { dns, ips };
}

function normIp(ip: string): string {
  return ip.trim().toLowerCase();
}

const uniqSorted = (xs: string[]) => [...new Set(xs)].sort();

/** Reads the PKI directory. Never writes. */
export function inspectPki(dir: string, name: string): PkiState {
  const problems: string[] = [];
  const ca = caPaths(dir);
  const srv = certPaths(dir, name);
  let caCert: X509Certificate | undefined;
  let state: PkiState = { problems };
  if (existsSync(ca.crt) && existsSync(ca.key)) {
    try {
      const pem = readFileSync(ca.crt, 'utf8');
      caCert = new X509Certificate(pem);
      const keyMatches = caCert.checkPrivateKey(createPrivateKey(readFileSync(ca.key)));
      state = { ...state, ca: { notAfter: new Date(caCert.validTo), keyMatches, pem } };
    } catch (err) {
      problems.push(`CA unreadable: ${(err as Error).message}`);
      caCert = undefined;
    }
  }
  if (name !== '' && existsSync(srv.crt) && existsSync(srv.key)) {
    try {
      const pem = readFileSync(srv.crt, 'utf8');
      const c = new X509Certificate(pem);
      let keyMatches = false;
      try {
        keyMatches = c.checkPrivateKey(createPrivateKey(readFileSync(srv.key)));
      } catch {
        keyMatches = false;
      }
      const signedByCa = caCert ? c.checkIssued(caCert) && c.verify(caCert.publicKey) : false;
      state.cert = { notAfter: new Date(c.validTo), ...parseSans(c.subjectAltName), signedByCa, keyMatches, pem };
    } catch (err) {
      problems.push(`certificate unreadable: ${(err as Error).message}`);
    }
  }
  return state;
}

function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

function sanDiff(have: { dns: string[]; ips: string[] }, want: { dns: string[]; ips: string[] }): string | undefined {
  const h = [...have.dns.map((d) => `DNS:${d}`), ...have.ips.map((i) => `IP:${i}`)];
  const w = [...want.dns.map((d) => `DNS:${d.toLowerCase()}`), ...want.ips.map((i) => `IP:${normIp(i)}`)];
  const add = uniqSorted(w.filter((x) => !h.includes(x)));
  const del = uniqSorted(h.filter((x) => !w.includes(x)));
  if (!add.length && !del.length) return undefined;
  return [add.length ? `add ${add.join(' ')}` : '', del.length ? `remove ${del.join(' ')}` : ''].filter(Boolean).join(', ');
}

/** Pure: what must happen on the controller, given what is there and what is wanted. */
export function decide(state: PkiState, want: PkiWant, now: Date): Decision {
  const summaries: string[] = [];
  const ca = state.ca;
  let createCa = false;
  if (!ca) {
    createCa = true;
    summaries.push(`create internal CA "${want.caCommonName}" in ${want.dir} (exported as ${caPaths(want.dir).crt})`);
  } else if (!ca.keyMatches) {
    createCa = true;
    summaries.push(`re-create internal CA in ${want.dir}: ca.key does not match ca.crt`);
  } else if (daysLeft(ca.notAfter, now) < want.renewBeforeDays) {
    createCa = true;
    summaries.push(
      `renew internal CA in ${want.dir}: expires in ${daysLeft(ca.notAfter, now)} days (clients must trust the new ${caPaths(want.dir).crt})`,
    );
  }
  if (want.caOnly) return { createCa, summaries };
  const c = state.cert;
  let issue: string | undefined;
  if (!c) issue = 'no certificate yet';
  else if (createCa) issue = 'new CA';
  else if (!c.signedByCa) issue = 'not signed by the current CA';
  else if (!c.keyMatches) issue = 'key does not match the certificate';
  else {
    const d = sanDiff(c, { dns: want.dns, ips: want.ips });
    const left = daysLeft(c.notAfter, now);
    if (d) issue = `SANs changed (${d})`;
    else if (left < want.renewBeforeDays) issue = left < 0 ? `expired ${-left} days ago` : `expires in ${left} days`;
  }
  if (issue) {
    const verb = !c ? 'issue' : /^expire/.test(issue) ? 'renew' : 're-issue';
    summaries.push(`${verb} certificate for ${want.commonName}: ${issue}`);
  }
  return { createCa, issue, summaries };
}

function writeSecretFile(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function newKeyPem(type: 'ec' | 'rsa'): string {
  const pair =
    type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/** A DN component for `-subj` (escapes / and +). */
function subj(cn: string): string {
  return `/CN=${cn.replace(/[/+\\]/g, '\\$&')}`;
}

/**
 * Makes the directory match `want` (the work `decide` describes). Writes only when needed;
 * returns the decision it acted on. Idempotent: a second call right after is a no-op.
 */
export function issue(want: PkiWant, now = new Date()): Decision {
  const before = decide(inspectPki(want.dir, want.name), want, now);
  if (!before.createCa && !before.issue) return before;
  mkdirSync(want.dir, { recursive: true, mode: 0o700 });
  // Two controllers (or two runs) issuing into one directory at once would mix one's CA key with
  // the other's certificate: the work, and the decision it acts on, happen under a lock.
  const unlock = lockPki(want.dir);
  try {
    return issueLocked(want, now);
  } finally {
    unlock();
  }
}

function issueLocked(want: PkiWant, now: Date): Decision {
  const d = decide(inspectPki(want.dir, want.name), want, now);
  if (!d.createCa && !d.issue) return d;
  const ca = caPaths(want.dir);
  const srv = certPaths(want.dir, want.name);
  const work = mkdtempSync(join(want.dir, '.issue-'));
  try {
    if (d.createCa) {
      const key = join(work, 'ca.key');
      writeSecretFile(key, newKeyPem(want.keyType));
      const crt = join(work, 'ca.crt');
      openssl([
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-sha256',
        '-days',
        String(want.caValidDays),
        '-subj',
        subj(want.caCommonName),
        '-addext',
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        crt,
      ]);
      chmodSync(crt, 0o644);
      renameSync(key, ca.key);
      renameSync(crt, ca.crt);
    }
    if (want.caOnly) return d;
    const key = join(work, 'srv.key');
    writeSecretFile(key, newKeyPem(want.keyType));
    const crt = join(work, 'srv.crt');
    const sans = [
      ...uniqSorted(want.dns.map((x) => x.toLowerCase())).map((x) => `DNS:${x}`),
      ...uniqSorted(want.ips.map(normIp)).map((x) => `IP:${x}`),
    ];
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-sha256',
      '-days',
      String(want.validDays),
      '-subj',
      subj(want.commonName),
      '-CA',
      ca.crt,
      '-CAkey',
      ca.key,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext',
      'extendedKeyUsage=serverAuth',
      ...(sans.length ? ['-addext', `subjectAltName=${sans.join(',')}`] : []),
      '-out',
      crt,
    ]);
    chmodSync(crt, 0o644);
    // Key first: a crash between the two renames leaves a mismatch, which the next run re-issues.
    renameSync(key, srv.key);
    renameSync(crt, srv.crt);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return d;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes `<dir>/.lock` (created exclusively; it holds "<pid> <hostname>"). A lock left by a
 * process of this machine that no longer runs is taken over; a live one is waited for, up to
 * `waitMs`, then the error names its holder. Returns the release function.
 */
export function lockPki(dir: string, waitMs = 120_000): () => void {
  const path = join(dir, '.lock');
  const me = `${process.pid} ${hostname()}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      return () => {
        // Only our own lock is removed.
        if (readIfExists(path) === me) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readIfExists(path);
    if (holder === undefined) continue; // released meanwhile
    const [pidText, host] = holder.trim().split(' ');
    const pid = Number(pidText);
    if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      // Stale: rename it away first, so two processes cannot both remove a fresh lock.
      const aside = `${path}.stale.${process.pid}`;
      try {
        renameSync(path, aside);
        if (readIfExists(aside) === holder) rmSync(aside, { force: true });
        else renameSync(aside, path); // someone else's fresh lock: put it back
      } catch {
        /* another process got there first */
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `the PKI directory ${dir} is locked by process ${pidText} on ${host ?? '?'} (${path}); another kiln run is issuing there. If no kiln runs, remove the file`,
      );
    }
    sleepSync(100);
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Validates wanted SANs: DNS names and IP addresses. Returns problems. */
export function sanProblems(dns: string[], ips: string[]): string[] {
  const out: string[] = [];
  for (const d of dns)
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(d))
      out.push(`not a DNS name: ${JSON.stringify(d)}`);
  for (const i of ips) if (!isIP(i)) out.push(`not an IP address: ${JSON.stringify(i)}`);
  return out;
}
