/**
 * tls_cert: planning (pure), the check/real contract with a real controller-side PKI (openssl in
 * temp dirs), the bundle written by the apply script (run locally in a temp dir), secrets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import mod, {
  expiringNote,
  planTlsCert,
  resolvePkiDir,
  type TlsCertParams,
  type TlsCertPrep,
  type TlsCertState,
} from '../../../../src/modules/tls/tls_cert.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { type Change, type PrepareContext, RunMemory } from '../../../../src/modules/contract.ts';
import { isSecret, redact } from '../../../../src/core/secret/secret.ts';
import { certPaths, DAY_MS } from '../../../../src/modules/tls/pki.ts';
import { ctx, outsideHeredocs, runProbe, shSyntax } from '../helpers.ts';

const me = userInfo().username;
const grp = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();

/** The memory of the current kiln run: tasks and hosts in one run share it; a new run gets a new one. */
let memory = new RunMemory();
const newRun = () => {
  memory = new RunMemory();
};

function pctx(host: string, check: boolean, files: Record<string, string> = {}): PrepareContext {
  return {
    ...ctx({ host, check, diff: true, run: memory }),
    taskFile: '/proj/roles/tls/tasks/main.yml',
    sensitive: false,
    readFile: (p) => {
      if (!(p in files)) throw new Error(`file not found: ${p}`);
      return Buffer.from(files[p]!);
    },
    renderTemplate: () => '',
  };
}

/**
 * One task on one host the way the engine runs it, through the bound module: prepare → probe →
 * plan → (controllerApply + apply → probe → verify), in the current run.
 */
function run(params: TlsCertParams, host: string, check: boolean): { changes: Change[]; problems?: string[]; script?: string } {
  const c = ctx({ host, check, run: memory });
  const task = mod.bind(params, pctx(host, check));
  const plan = task.plan(runProbe(task.probe(c)), c);
  const changes = [...plan.changes];
  if (check || !changes.length) return { changes };
  const script = plan.apply(c);
  const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { changes, problems: task.verify(runProbe(task.probe(c)), c), script };
}
const summaries = (c: Change[]) => c.map((x) => x.summary);

describe('planTlsCert (pure)', () => {
  const base: TlsCertParams = { dest: '/etc/haproxy/certs/site.pem' };
  const prep: TlsCertPrep = { actions: [], sha: 'abc' };
  const st = (over: Partial<TlsCertState['stat']> = {}, sha = 'abc'): TlsCertState => ({
    stat: { exists: true, type: 'file', mode: '0600', owner: 'root', group: 'root', ...over },
    sha256: sha,
  });
  it('converged → nothing; missing → install with 0600 root:root', () => {
    expect(planTlsCert(base, prep, st())).toEqual([]);
    expect(summaries(planTlsCert(base, prep, { stat: { exists: false } }))).toEqual([
      'install certificate bundle /etc/haproxy/certs/site.pem (0600 root:root)',
    ]);
  });
  it('controller work is reported as actions, and a pending issue always replaces the host file', () => {
    const ch = planTlsCert(base, { ...prep, sha: undefined, actions: ['renew certificate for x: expires in 12 days'] }, st());
    expect(ch).toEqual([
      { summary: 'renew certificate for x: expires in 12 days', action: true, op: { kind: 'pki' } },
      { summary: 'update certificate bundle /etc/haproxy/certs/site.pem', op: { kind: 'update' } },
    ]);
  });
  it('content and attribute drift', () => {
    expect(summaries(planTlsCert(base, prep, st({ mode: '0644' }, 'other')))).toEqual([
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
    newRun();
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

  it('content cert, key and ca: separate files (MariaDB ssl_cert, ssl_key, ssl_ca) from one certificate; check = real; then 0 changed', () => {
    const parts = (['cert', 'key', 'ca'] as const).map((content) => ({ ...params, content, dest: join(work, `h1/${content}.pem`) }));
    const check = parts.map((p) => summaries(run(p, 'db1', true).changes));
    expect(check[1]).toEqual([
      `create internal CA "Kiln internal CA" in ${work}/pki (exported as ${work}/pki/ca.crt)`,
      'issue certificate for site.lab: no certificate yet',
      `install private key ${work}/h1/key.pem (0600 ${me}:${grp})`,
    ]);
    expect(existsSync(join(work, 'pki'))).toBe(false);
    // Each task prepared after the previous one issued (the engine may prepare later tasks again): the same lines.
    const real = parts.map((p) => run(p, 'db1', false));
    expect(real.map((r) => summaries(r.changes))).toEqual(check);
    expect(real.map((r) => r.problems)).toEqual([[], [], []]);
    const pki = certPaths(join(work, 'pki'), 'site.lab');
    const cert = readFileSync(join(work, 'h1/cert.pem'), 'utf8');
    expect(cert).toBe(readFileSync(pki.crt, 'utf8'));
    expect(cert).not.toContain('PRIVATE KEY');
    expect(readFileSync(join(work, 'h1/key.pem'), 'utf8')).toBe(readFileSync(pki.key, 'utf8'));
    const ca = readFileSync(join(work, 'h1/ca.pem'), 'utf8');
    expect(ca).toBe(readFileSync(join(work, 'pki/ca.crt'), 'utf8'));
    expect(new X509Certificate(cert).verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(parts.map((p) => run(p, 'db1', false).changes)).toEqual([[], [], []]);
  });

  it('content ca without common_name: only the CA (a client trust anchor); a CA created by another task in the run is reported the same in check and real', () => {
    const caOnly: TlsCertParams = {
      dest: join(work, 'h2/ca.crt'),
      owner: me,
      group: grp,
      mode: '0644',
      pki_dir: join(work, 'pki'),
      content: 'ca',
    };
    const c1 = summaries(run(params, 'db1', true).changes);
    const c2 = summaries(run(caOnly, 'web1', true).changes);
    expect(c2).toEqual([
      `create internal CA "Kiln internal CA" in ${work}/pki (exported as ${work}/pki/ca.crt)`,
      `install CA certificate ${work}/h2/ca.crt (0644 ${me}:${grp})`,
    ]);
    const r1 = run(params, 'db1', false);
    const r2 = run(caOnly, 'web1', false); // prepared after db1's task created the CA
    expect(summaries(r1.changes)).toEqual(c1);
    expect(summaries(r2.changes)).toEqual(c2);
    expect(r2.problems).toEqual([]);
    expect(readFileSync(join(work, 'h2/ca.crt'), 'utf8')).toBe(readFileSync(join(work, 'pki/ca.crt'), 'utf8'));
    // No server certificate was issued for the CA-only task.
    expect(
      readdirSync(join(work, 'pki'))
        .filter((f) => f.endsWith('.crt'))
        .sort(),
    ).toEqual(['ca.crt', 'site.lab.crt']);
    expect(run(caOnly, 'web1', false).changes).toEqual([]);
    newRun();
    expect(run(caOnly, 'web1', true).changes).toEqual([]);
  });

  it('a certificate is issued once per run: cert and key files match even when every issue is inside the renewal window', () => {
    // valid_days 10 < renew_before_days 30: deciding again after an issue would renew again.
    const parts = (['cert', 'key'] as const).map((content) => ({
      ...params,
      valid_days: 10,
      content,
      dest: join(work, `h1/${content}.pem`),
    }));
    for (const p of parts) run(p, 'db1', false);
    const cert = new X509Certificate(readFileSync(join(work, 'h1/cert.pem'), 'utf8'));
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(work, 'h1/key.pem'), 'utf8')))).toBe(true);
  });

  it('content ca needs the internal CA: refused for a provided certificate', () => {
    expect(() => mod.bind({ dest: '/x', content: 'ca', cert: 'x', key: 'y' }, pctx('h', true))).toThrow(
      /content: ca is only for a generated certificate/,
    );
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
    newRun(); // a new kiln run
    const check = run(params, 'lb1', true);
    expect(summaries(check.changes)).toEqual([
      expect.stringMatching(/^renew certificate for site.lab: expires in (9|10) days$/),
      `update certificate bundle ${work}/h1/site.pem`,
    ]);
    expect(readFileSync(join(work, 'h1/site.pem'), 'utf8')).toBe(old);
    const real = run(params, 'lb1', false);
    expect(summaries(real.changes)).toEqual(summaries(check.changes));
    expect(real.problems).toEqual([]);
    expect(readFileSync(join(work, 'h1/site.pem'), 'utf8')).not.toBe(old);
    newRun();
    expect(run(params, 'lb1', true).changes).toEqual([]);
    expect(run(params, 'lb1', false).changes).toEqual([]);
  });

  it('apply depends only on the ops: rewording every summary gives the same script; pki-only ops write nothing', () => {
    const c = ctx({ host: 'lb1', run: memory });
    const prep = mod.prepare!(params, pctx('lb1', false));
    for (const state of [
      { stat: { exists: false } },
      { stat: { exists: true, type: 'file', mode: '0644', owner: me, group: grp }, sha256: 'old' },
    ] as TlsCertState[]) {
      const planned = mod.plan(params, prep, state, c);
      const ops = planned.map((x) => x.op);
      mod.controllerApply!(params, prep, state, ops, c);
      const script = mod.apply(params, prep, state, ops, c);
      const reworded = planned.map((x) => ({ ...x, summary: 'x' }));
      expect(
        mod.apply(
          params,
          prep,
          state,
          reworded.map((x) => x.op),
          c,
        ),
      ).toBe(script);
      expect(script).toContain('mv -f -- "$tmp" "$dest"');
      expect(shSyntax(script)).toBe('');
    }
    expect(mod.apply(params, prep, { stat: { exists: false } }, [{ kind: 'pki' }], c)).toBe('true');
    // Issuing is controllerApply's job, in a real run only: without it, apply refuses.
    const other = ctx({ host: 'lb2', run: new RunMemory() });
    expect(mod.apply(params, prep, { stat: { exists: false } }, [{ kind: 'install' }], other)).toContain('controllerApply did not run');
    // A failed issue fails the task on the host side with the reason (the run goes on).
    writeFileSync(join(work, 'notadir'), '');
    const bad = { ...params, pki_dir: join(work, 'notadir') };
    const badPrep = mod.prepare!(bad, pctx('lb1', false));
    mod.controllerApply!(bad, badPrep, { stat: { exists: false } }, [{ kind: 'pki' }, { kind: 'install' }], c);
    expect(mod.apply(bad, badPrep, { stat: { exists: false } }, [{ kind: 'pki' }, { kind: 'install' }], c)).toMatch(
      /^echo 'tls_cert: issuing on the controller failed: .*' >&2\nexit 3$/s,
    );
  });

  it('provided certificate: key is a secret, a mismatched key is refused', () => {
    run({ ...params, pki_dir: join(work, 'other') }, 'lb1', false);
    const dir = join(work, 'other');
    const cert = readFileSync(certPaths(dir, 'site.lab').crt, 'utf8');
    const key = readFileSync(certPaths(dir, 'site.lab').key, 'utf8');
    const prov: TlsCertParams = {
      dest: join(work, 'h2/own.pem'),
      owner: me,
      group: grp,
      cert,
      chain: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      key,
    };
    // The key is held only as a secret (inside the prepared bundle), and nothing prepared prints it.
    const prep = mod.prepare!(prov, pctx('lb1', false));
    expect(isSecret(prep.bundle)).toBe(true);
    expect(prep.bundle!.reveal()).toContain(key.split('\n')[1]!);
    expect(JSON.stringify(prep)).not.toContain(key.split('\n')[1]!);
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
      expect(expiringNote(mod.prepare!(prov, pctx('lb1', false)))).toBeUndefined();
      // 12 days left: the install says so, and so does every converged run after it.
      vi.setSystemTime(new Date(notAfter.getTime() - 12 * DAY_MS - 3_600_000));
      const first = run(prov, 'lb1', false);
      const warning = `the provided certificate expires in 12 days (${day}): Kiln cannot renew it; renew it with its CA and update the certificate and key`;
      expect(summaries(first.changes)).toEqual([`install certificate bundle ${work}/h2/own.pem (0600 ${me}:${grp}) (${warning})`]);
      const prep = mod.prepare!(prov, pctx('lb1', false));
      expect(run(prov, 'lb1', false).changes).toEqual([]);
      expect(mod.note!(prov, prep, undefined as never)).toBe(warning);
      // A shorter window (renew_before_days) silences it.
      expect(expiringNote(mod.prepare!({ ...prov, renew_before_days: 7 }, pctx('lb1', false)))).toBeUndefined();
      // Expired: refused, and the bundle on the host stays as it was.
      vi.setSystemTime(new Date(notAfter.getTime() + DAY_MS));
      expect(() => mod.prepare!(prov, pctx('lb1', false))).toThrow(`expired on ${day}: Kiln cannot renew a provided certificate`);
    } finally {
      vi.useRealTimers();
    }
  });
});
