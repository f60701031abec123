/**
 * tls_cert: planning (pure), the check/real contract with a real controller-side PKI (openssl in
 * temp dirs), the bundle written by the apply script (run locally in a temp dir), secrets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import mod, { expiringNote, planTlsCert, resetIssuedThisRun, resolvePkiDir, type TlsCertParams, type TlsCertState } from '../../../../src/modules/tls/tls_cert.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import type { Change, PrepareContext } from '../../../../src/modules/contract.ts';
import { isSecret, redact } from '../../../../src/core/secret/secret.ts';
import { certPaths, DAY_MS } from '../../../../src/modules/tls/pki.ts';
import { ctx, outsideHeredocs, runProbe, shSyntax } from '../helpers.ts';

const me = userInfo().username;
const grp = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();

function pctx(host: string, check: boolean, files: Record<string, string> = {}): PrepareContext {
  return {
    ...ctx({ host, check, diff: true }),
    taskFile: '/proj/roles/tls/tasks/main.yml',
    sensitive: false,
    readFile: (p) => {
      if (!(p in files)) throw new Error(`file not found: ${p}`);
      return Buffer.from(files[p]!);
    },
    renderTemplate: () => '',
  };
}

/** One task on one host the way the engine runs it: prepare → probe → plan → (apply → probe → verify). */
function run(params: TlsCertParams, host: string, check: boolean): { changes: Change[]; problems?: string[]; script?: string } {
  const p = mod.prepare!(params, pctx(host, check)) as TlsCertParams;
  const state = mod.parse(runProbe(mod.probe(p, ctx())), p);
  const changes = mod.plan(p, state, ctx({ host, check }));
  if (check || !changes.length) return { changes };
  const script = mod.apply(p, state, changes, ctx({ host }));
  const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const after = mod.parse(runProbe(mod.probe(p, ctx())), p);
  return { changes, problems: mod.verify!(p, after, ctx({ host })), script };
}
const summaries = (c: Change[]) => c.map((x) => x.summary);

describe('planTlsCert (pure)', () => {
  const base: TlsCertParams = { dest: '/etc/haproxy/certs/site.pem', _actions: [], _sha: 'abc' };
  const st = (over: Partial<TlsCertState['stat']> = {}, sha = 'abc'): TlsCertState => ({
    stat: { exists: true, type: 'file', mode: '0600', owner: 'root', group: 'root', ...over },
    sha256: sha,
  });
  it('converged → nothing; missing → install with 0600 root:root', () => {
    expect(planTlsCert(base, st())).toEqual([]);
    expect(summaries(planTlsCert(base, { stat: { exists: false } }))).toEqual(['install certificate bundle /etc/haproxy/certs/site.pem (0600 root:root)']);
  });
  it('controller work is reported as actions, and a pending issue always replaces the host file', () => {
    const ch = planTlsCert({ ...base, _sha: undefined, _actions: ['renew certificate for x: expires in 12 days'] }, st());
    expect(ch).toEqual([
      { summary: 'renew certificate for x: expires in 12 days', action: true },
      { summary: 'update certificate bundle /etc/haproxy/certs/site.pem' },
    ]);
  });
  it('content and attribute drift', () => {
    expect(summaries(planTlsCert(base, st({ mode: '0644' }, 'other')))).toEqual([
      'update certificate bundle /etc/haproxy/certs/site.pem',
      'mode of /etc/haproxy/certs/site.pem: 0644 → 0600',
    ]);
  });
});

describe('resolvePkiDir', () => {
  it('relative to the directory holding roles/, or the task file dir; absolute kept', () => {
    expect(resolvePkiDir(undefined, '/proj/roles/tls/tasks/main.yml')).toBe('/proj/.kiln/pki');
    expect(resolvePkiDir('pki', '/proj/playbooks/site.yml')).toBe('/proj/playbooks/pki');
    expect(resolvePkiDir('/srv/pki', '/proj/roles/tls/tasks/main.yml')).toBe('/srv/pki');
  });
});

describe('tls_cert with a real controller PKI', () => {
  let work: string;
  let params: TlsCertParams;
  beforeEach(() => {
    resetIssuedThisRun();
    work = mkdtempSync(join(tmpdir(), 'kiln-tlsmod-'));
    mkdirSync(join(work, 'h1'));
    mkdirSync(join(work, 'h2'));
    params = {
      dest: join(work, 'h1/site.pem'),
      owner: me,
      group: grp,
      pki_dir: join(work, 'pki'),
      common_name: 'site.lab',
      ips: ['10.77.0.11', '10.77.0.12'],
    };
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('check predicts, writes nothing on the controller; the real run issues and installs; then 0 changes', () => {
    const check = run(params, 'lb1', true);
    expect(summaries(check.changes)).toEqual([
      `create internal CA "Kiln internal CA" in ${work}/pki (exported as ${work}/pki/ca.crt)`,
      'issue certificate for site.lab: no certificate yet',
      `install certificate bundle ${work}/h1/site.pem (0600 ${me}:${grp})`,
    ]);
    expect(existsSync(join(work, 'pki'))).toBe(false);
    const real = run(params, 'lb1', false);
    expect(summaries(real.changes)).toEqual(summaries(check.changes));
    expect(real.problems).toEqual([]);
    const pem = readFileSync(join(work, 'h1/site.pem'), 'utf8');
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN PRIVATE KEY-----/);
    expect(statSync(join(work, 'h1/site.pem')).mode & 0o777).toBe(0o600);
    // The key travels only inside the heredoc, never on a command line.
    const key = readFileSync(certPaths(join(work, 'pki'), 'site.lab').key, 'utf8');
    const keyLine = key.split('\n')[1]!;
    expect(real.script).not.toContain(keyLine); // base64 of the bundle, not the PEM itself
    expect(outsideHeredocs(real.script!)).not.toMatch(/BEGIN|[A-Za-z0-9+/]{60,}/);
    expect(redact(`leak ${keyLine}`)).not.toContain(keyLine);
    expect(shSyntax(real.script!)).toBe('');
    expect(run(params, 'lb1', false).changes).toEqual([]);
  });

  it('two hosts sharing a certificate both report the issue, in check and in the real run (issued once)', () => {
    const p2 = { ...params, dest: join(work, 'h2/site.pem') };
    const c1 = summaries(run(params, 'lb1', true).changes);
    const c2 = summaries(run(p2, 'lb2', true).changes);
    const r1 = run(params, 'lb1', false);
    const crt = readFileSync(certPaths(join(work, 'pki'), 'site.lab').crt, 'utf8');
    const r2 = run(p2, 'lb2', false); // prepared after lb1 issued
    expect(summaries(r1.changes)).toEqual(c1);
    expect(summaries(r2.changes)).toEqual(c2);
    expect(readFileSync(certPaths(join(work, 'pki'), 'site.lab').crt, 'utf8')).toBe(crt);
    expect(readFileSync(join(work, 'h1/site.pem'), 'utf8')).toBe(readFileSync(join(work, 'h2/site.pem'), 'utf8'));
    // A later task/play in the same run on the same host sees a converged state.
    expect(run(params, 'lb1', false).changes).toEqual([]);
    expect(run(p2, 'lb2', false).changes).toEqual([]);
  });

  it('a certificate expiring in ~10 days: check predicts the renewal, the real run renews, then 0 changed', () => {
    run({ ...params, valid_days: 10 }, 'lb1', false);
    const old = readFileSync(join(work, 'h1/site.pem'), 'utf8');
    resetIssuedThisRun(); // a new kiln run
    const check = run(params, 'lb1', true);
    expect(summaries(check.changes)).toEqual([expect.stringMatching(/^renew certificate for site.lab: expires in (9|10) days$/), `update certificate bundle ${work}/h1/site.pem`]);
    expect(readFileSync(join(work, 'h1/site.pem'), 'utf8')).toBe(old);
    const real = run(params, 'lb1', false);
    expect(summaries(real.changes)).toEqual(summaries(check.changes));
    expect(real.problems).toEqual([]);
    expect(readFileSync(join(work, 'h1/site.pem'), 'utf8')).not.toBe(old);
    resetIssuedThisRun();
    expect(run(params, 'lb1', true).changes).toEqual([]);
    expect(run(params, 'lb1', false).changes).toEqual([]);
  });

  it('provided certificate: key is a secret, a mismatched key is refused', () => {
    run({ ...params, pki_dir: join(work, 'other') }, 'lb1', false);
    const dir = join(work, 'other');
    const cert = readFileSync(certPaths(dir, 'site.lab').crt, 'utf8');
    const key = readFileSync(certPaths(dir, 'site.lab').key, 'utf8');
    const prov: TlsCertParams = { dest: join(work, 'h2/own.pem'), owner: me, group: grp, cert, chain: readFileSync(join(dir, 'ca.crt'), 'utf8'), key };
    const p = mod.prepare!(prov, pctx('lb1', false)) as TlsCertParams;
    expect(isSecret(p.key)).toBe(true);
    expect(JSON.stringify(p)).not.toContain(key.split('\n')[1]!);
    const r = run(prov, 'lb1', false);
    expect(summaries(r.changes)).toEqual([`install certificate bundle ${work}/h2/own.pem (0600 ${me}:${grp})`]);
    expect(readFileSync(join(work, 'h2/own.pem'), 'utf8')).toBe(cert + readFileSync(join(dir, 'ca.crt'), 'utf8') + key);
    // From controller files too (role files/), and a key from another certificate is refused.
    const files = { 'site.crt': cert, 'wrong.key': readFileSync(join(dir, 'ca.key'), 'utf8') };
    expect(() => mod.prepare!({ dest: '/x.pem', cert_file: 'site.crt', key_file: 'wrong.key' }, pctx('lb1', false, files))).toThrow(
      'the private key does not belong to the certificate',
    );
    expect(() => mod.prepare!({ dest: '/x.pem', cert, cert_file: 'site.crt', key }, pctx('lb1', false, files))).toThrow(/either inline/);
    expect(() => mod.prepare!({ dest: '/x.pem' }, pctx('lb1', false))).toThrow(/common_name is required/);
  });

  it('provided certificate near or past its expiry: a warning on every run; an expired one is refused', () => {
    run({ ...params, pki_dir: join(work, 'other') }, 'lb1', false); // a 365-day certificate
    const dir = join(work, 'other');
    const cert = readFileSync(certPaths(dir, 'site.lab').crt, 'utf8');
    const key = readFileSync(certPaths(dir, 'site.lab').key, 'utf8');
    const prov: TlsCertParams = { dest: join(work, 'h2/own.pem'), owner: me, group: grp, cert, key };
    const notAfter = new Date(new X509Certificate(cert).validTo);
    const day = notAfter.toISOString().slice(0, 10);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      // Outside the window: no warning.
      vi.setSystemTime(new Date(notAfter.getTime() - 40 * DAY_MS));
      expect(expiringNote(mod.prepare!(prov, pctx('lb1', false)) as TlsCertParams)).toBeUndefined();
      // 12 days left: the install says so, and so does every converged run after it.
      vi.setSystemTime(new Date(notAfter.getTime() - 12 * DAY_MS - 3_600_000));
      const first = run(prov, 'lb1', false);
      const warning = `the provided certificate expires in 12 days (${day}): Kiln cannot renew it; renew it with its CA and update the certificate and key`;
      expect(summaries(first.changes)).toEqual([`install certificate bundle ${work}/h2/own.pem (0600 ${me}:${grp}) (${warning})`]);
      const p = mod.prepare!(prov, pctx('lb1', false)) as TlsCertParams;
      expect(run(prov, 'lb1', false).changes).toEqual([]);
      expect(mod.note!(p, undefined as never)).toBe(warning);
      // A shorter window (renew_before_days) silences it.
      expect(expiringNote(mod.prepare!({ ...prov, renew_before_days: 7 }, pctx('lb1', false)) as TlsCertParams)).toBeUndefined();
      // Expired: refused, and the bundle on the host stays as it was.
      vi.setSystemTime(new Date(notAfter.getTime() + DAY_MS));
      expect(() => mod.prepare!(prov, pctx('lb1', false))).toThrow(`expired on ${day}: Kiln cannot renew a provided certificate`);
    } finally {
      vi.useRealTimers();
    }
  });
});
