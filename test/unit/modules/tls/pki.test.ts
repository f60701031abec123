/** The controller-side internal PKI: the pure decision, and real issuing with openssl in temp dirs. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DAY_MS,
  caPaths,
  certPaths,
  decide,
  inspectPki,
  issue,
  lockPki,
  parseSans,
  type PkiState,
  type PkiWant,
  sanProblems,
} from '../../../../src/modules/tls/pki.ts';

const NOW = new Date('2026-11-28T12:00:00Z');
const want = (dir = '/pki', over: Partial<PkiWant> = {}): PkiWant => ({
  dir,
  name: 'site',
  commonName: 'site.lab',
  dns: ['site.lab'],
  ips: ['10.77.0.11', '10.77.0.12'],
  caCommonName: 'Test CA',
  validDays: 365,
  caValidDays: 3650,
  renewBeforeDays: 30,
  keyType: 'ec',
  ...over,
});
const inDays = (n: number) => new Date(NOW.getTime() + n * DAY_MS + 3600_000);
const good = (over: Partial<NonNullable<PkiState['cert']>> = {}): PkiState => ({
  problems: [],
  ca: { notAfter: inDays(3000), keyMatches: true, pem: 'CA' },
  cert: {
    notAfter: inDays(200),
    dns: ['site.lab'],
    ips: ['10.77.0.12', '10.77.0.11'],
    signedByCa: true,
    keyMatches: true,
    pem: 'C',
    ...over,
  },
});

describe('decide (pure)', () => {
  it('empty directory: create the CA and issue', () => {
    const d = decide({ problems: [] }, want(), NOW);
    expect(d.createCa).toBe(true);
    expect(d.summaries).toEqual([
      'create internal CA "Test CA" in /pki (exported as /pki/ca.crt)',
      'issue certificate for site.lab: no certificate yet',
    ]);
  });

  it('a valid certificate with the wanted SANs (any order) is kept', () => {
    expect(decide(good(), want(), NOW)).toEqual({ createCa: false, issue: undefined, summaries: [] });
  });

  it('renews inside the window, not outside; the window is configurable', () => {
    expect(decide(good({ notAfter: inDays(12) }), want(), NOW).summaries).toEqual(['renew certificate for site.lab: expires in 12 days']);
    expect(decide(good({ notAfter: inDays(31) }), want(), NOW).summaries).toEqual([]);
    expect(decide(good({ notAfter: inDays(31) }), want('/pki', { renewBeforeDays: 60 }), NOW).summaries).toEqual([
      'renew certificate for site.lab: expires in 31 days',
    ]);
    expect(decide(good({ notAfter: inDays(-3) }), want(), NOW).summaries[0]).toMatch(
      /^renew certificate for site.lab: expired \d+ days ago$/,
    );
  });

  it('re-issues when the wanted SANs change, naming the difference', () => {
    const d = decide(good(), want('/pki', { ips: ['10.77.0.11', '10.77.0.13'], dns: ['site.lab', 'www.site.lab'] }), NOW);
    expect(d.summaries).toEqual([
      're-issue certificate for site.lab: SANs changed (add DNS:www.site.lab IP:10.77.0.13, remove IP:10.77.0.12)',
    ]);
  });

  it('re-issues a certificate from another CA or with a foreign key, and after a new CA', () => {
    expect(decide(good({ signedByCa: false }), want(), NOW).issue).toBe('not signed by the current CA');
    expect(decide(good({ keyMatches: false }), want(), NOW).issue).toBe('key does not match the certificate');
    const s = good();
    s.ca = { ...s.ca!, notAfter: inDays(5) };
    const d = decide(s, want(), NOW);
    expect(d.createCa).toBe(true);
    expect(d.summaries[1]).toBe('re-issue certificate for site.lab: new CA');
  });

  it('parses SANs and checks wanted names', () => {
    expect(parseSans('DNS:Site.lab, IP Address:10.0.0.1, email:x@y')).toEqual({ dns: ['site.lab'], ips: ['10.0.0.1'] });
    expect(sanProblems(['ok.example', '*.ok.example'], ['10.0.0.1', '::1'])).toEqual([]);
    expect(sanProblems(['bad name'], ['10.0.0.300'])).toHaveLength(2);
  });
});

describe('issue (real openssl, temp dirs)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'kiln-pki-'));
    dirs.push(d);
    return join(d, 'pki');
  };

  it('controllers issuing into one directory at once create one CA and a consistent certificate (a lock)', async () => {
    const dir = tmp();
    const w = JSON.stringify(want(dir));
    const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
    const code = `const { issue } = await import(${JSON.stringify(join(ROOT, 'src/modules/tls/pki.ts'))}); console.log(JSON.stringify(issue(JSON.parse(process.argv[1]))));`;
    // Four separate processes (four controllers), started together.
    const outs = await Promise.all(
      [1, 2, 3, 4].map(
        () =>
          new Promise<string>((res, rej) => {
            const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, w], { cwd: ROOT });
            let out = '';
            let err = '';
            c.stdout.on('data', (b) => (out += b));
            c.stderr.on('data', (b) => (err += b));
            c.on('close', (rc) => (rc === 0 ? res(out) : rej(new Error(`issuer exited ${rc}: ${err}`))));
          }),
      ),
    );
    const decisions = outs.map((o) => JSON.parse(o) as { createCa: boolean });
    expect(decisions.filter((d) => d.createCa)).toHaveLength(1); // the others found it made
    const st = inspectPki(dir, 'site');
    expect(st.problems).toEqual([]);
    expect(st.ca?.keyMatches).toBe(true);
    expect(st.cert).toMatchObject({ signedByCa: true, keyMatches: true });
    expect(execFileSync('openssl', ['verify', '-CAfile', caPaths(dir).crt, certPaths(dir, 'site').crt], { encoding: 'utf8' })).toContain(
      ': OK',
    );
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('a lock left by a process that ended is taken over; a live one is waited for, then named', () => {
    const dir = tmp();
    mkdirSync(dir, { recursive: true });
    const dead = spawnSync('true').pid!;
    writeFileSync(join(dir, '.lock'), `${dead} ${hostname()}\n`);
    expect(issue(want(dir)).createCa).toBe(true);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    // Held by a live process (this one): a short wait, then an error naming it.
    writeFileSync(join(dir, '.lock'), `${process.pid} ${hostname()}\n`);
    expect(() => lockPki(dir, 300)).toThrow(`the PKI directory ${dir} is locked by process ${process.pid} on ${hostname()}`);
    rmSync(join(dir, '.lock'));
    const release = lockPki(dir, 300);
    expect(readFileSync(join(dir, '.lock'), 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
    release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('creates a CA and a server certificate that openssl verifies, keys 0600, and is idempotent', () => {
    const dir = tmp();
    const w = want(dir);
    const d = issue(w);
    expect(d.createCa).toBe(true);
    const ca = caPaths(dir);
    const srv = certPaths(dir, 'site');
    expect(statSync(ca.key).mode & 0o777).toBe(0o600);
    expect(statSync(srv.key).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // openssl agrees: the chain verifies for the server purpose, and the SANs are there.
    const v = execFileSync('openssl', ['verify', '-CAfile', ca.crt, '-purpose', 'sslserver', srv.crt], { encoding: 'utf8' });
    expect(v.trim()).toBe(`${srv.crt}: OK`);
    const x = new X509Certificate(readFileSync(srv.crt));
    expect(parseSans(x.subjectAltName)).toEqual({ dns: ['site.lab'], ips: ['10.77.0.11', '10.77.0.12'] });
    expect(new X509Certificate(readFileSync(ca.crt)).ca).toBe(true);
    // Second call: nothing to do, nothing rewritten.
    const before = readFileSync(srv.crt, 'utf8');
    expect(issue(w).summaries).toEqual([]);
    expect(readFileSync(srv.crt, 'utf8')).toBe(before);
    expect(inspectPki(dir, 'site').cert?.signedByCa).toBe(true);
  });

  it('a certificate expiring in 10 days is renewed by the same CA; new SANs re-issue it', () => {
    const dir = tmp();
    issue(want(dir, { validDays: 10 }));
    const caBefore = readFileSync(caPaths(dir).crt, 'utf8');
    const d = decide(inspectPki(dir, 'site'), want(dir), new Date());
    expect(d.summaries).toEqual([expect.stringMatching(/^renew certificate for site.lab: expires in (9|10) days$/)]);
    expect(issue(want(dir)).issue).toMatch(/^expires in/);
    expect(readFileSync(caPaths(dir).crt, 'utf8')).toBe(caBefore);
    const left = (new Date(new X509Certificate(readFileSync(certPaths(dir, 'site').crt)).validTo).getTime() - Date.now()) / DAY_MS;
    expect(left).toBeGreaterThan(360);
    const d2 = issue(want(dir, { ips: ['10.77.0.11'] }));
    expect(d2.issue).toBe('SANs changed (remove IP:10.77.0.12)');
    expect(parseSans(new X509Certificate(readFileSync(certPaths(dir, 'site').crt)).subjectAltName).ips).toEqual(['10.77.0.11']);
  });

  it('inspect never writes (a missing directory stays missing); a corrupt key is re-issued', () => {
    const dir = tmp();
    expect(decide(inspectPki(dir, 'site'), want(dir), NOW).createCa).toBe(true);
    expect(existsSync(dir)).toBe(false);
    issue(want(dir, { keyType: 'rsa' }));
    writeFileSync(certPaths(dir, 'site').key, 'garbage');
    expect(decide(inspectPki(dir, 'site'), want(dir), new Date()).issue).toBe('key does not match the certificate');
  });
});
