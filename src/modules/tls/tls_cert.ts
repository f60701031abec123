/**
 * `tls_cert`: a TLS certificate bundle (certificate + chain + private key in one PEM, as HAProxy
 * wants it) on the host, from operator-provided PEMs or from an internal CA kept on the controller.
 *
 * Generated mode (no `cert`/`cert_file`): the CA and the server certificate live in `pki_dir` on
 * the controller (pki.ts). `prepare` only READS that directory and decides (pure: it also
 * runs in `--check` and `kiln validate`); the decision goes into the typed `TlsCertPrep` and
 * becomes `pki` action changes such as "renew certificate for X: expires in 12 days". The
 * controller-side issuing is the explicit `controllerApply` hook: only in a real run, right before
 * `apply` builds the script writing the bundle to the host; `verify` compares the host's file with
 * the bundle now on the controller.
 *
 * Several hosts share one certificate: the first host's controllerApply issues it, and the other
 * hosts (whose prepare may run after that) report the same controller-side change once per run
 * (the run's memory, `ctx.run`, never a process global), so a dry run and the real run list the
 * same changes on every host.
 *
 * `apply` switches on the ops only, never on summaries. The bundle holds a private key: it is
 * written by `atomicWrite` (a 0600 temp file beside the destination, renamed over it) through a
 * base64 heredoc on the remote script's stdin (never argv); the probe reads only its sha256, and
 * no diff is ever produced.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { isSecret, Secret } from '../../core/secret/secret.ts';
import { DAY_MS, issue as issuePki, caPaths, certPaths, decide, inspectPki, type PkiWant, sanProblems } from './pki.ts';
import { attrSchema, describeAttrs, normMode, planAttrs, statFromKv, type StatState } from '../files/attrs.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { sha256 } from '../../sh/bytes.ts';
import {
  defineModule,
  type ExecResult,
  type FromSchema,
  type ModuleContext,
  type Planned,
  type PrepareContext,
  type RunMemory,
} from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['dest'],
  properties: {
    dest: {
      type: 'string',
      minLength: 1,
      pattern: '^/',
      description: 'absolute path of the PEM bundle (certificate, chain, key) on the host',
    },
    ...attrSchema,
    cert: { type: 'string', minLength: 1, description: 'provided mode: the certificate PEM (may be a vault secret)' },
    chain: { type: 'string', description: 'provided mode: intermediate certificates PEM, appended after the certificate' },
    key: {
      type: 'string',
      'x-secret': true,
      minLength: 1,
      description: 'provided mode: the private key PEM; always treated as a secret (use vault)',
    },
    cert_file: {
      type: 'string',
      minLength: 1,
      description: 'provided mode: certificate PEM file on the controller (role files/ or relative to the playbook)',
    },
    chain_file: { type: 'string', description: 'provided mode: chain PEM file on the controller ("" = none)' },
    key_file: { type: 'string', minLength: 1, description: 'provided mode: private key PEM file on the controller' },
    pki_dir: {
      type: 'string',
      minLength: 1,
      description:
        'generated mode: controller directory of the internal CA and certificates; a relative path is resolved against the project directory (the one holding roles/), default .kiln/pki',
    },
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
      description: 'generated mode: file stem of the certificate in pki_dir (default: common_name)',
    },
    common_name: { type: 'string', minLength: 1, maxLength: 64, description: 'generated mode: subject CN of the server certificate' },
    dns: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'generated mode: DNS subjectAltNames (default: [common_name])',
    },
    ips: {
      type: ['array', 'string'],
      items: { type: 'string', minLength: 1 },
      description:
        'generated mode: IP subjectAltNames: a list, or a string of addresses separated by spaces or commas (handy from a template loop)',
    },
    ca_common_name: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'generated mode: CN of the internal CA (default "Kiln internal CA")',
    },
    valid_days: {
      type: 'integer',
      minimum: 1,
      maximum: 3650,
      description: 'generated mode: validity of an issued certificate in days (default 365)',
    },
    ca_valid_days: {
      type: 'integer',
      minimum: 1,
      maximum: 36500,
      description: 'generated mode: validity of a new CA in days (default 3650)',
    },
    renew_before_days: {
      type: 'integer',
      minimum: 0,
      description:
        'generated mode: renew when the certificate expires in fewer days than this (default 30); provided mode: warn on every run inside that window (an expired provided certificate is refused)',
    },
    key_type: { enum: ['ec', 'rsa'], description: 'generated mode: ec (P-256, default) or rsa (2048 bits)' },
    content: {
      enum: ['bundle', 'cert', 'key', 'ca'],
      description:
        "what dest holds: bundle (default: certificate, chain and key in one PEM, as HAProxy reads it), cert (the certificate and its chain), key (the private key alone), ca (generated mode: the internal CA's certificate, for clients that verify the server). For servers that read separate files (MariaDB's ssl_cert, ssl_key, ssl_ca): one task per file, with the same certificate parameters",
    },
  },
} as const;

/**
 * The params as the user wrote them. `cert`, `chain` and `key` may hold a vault `Secret` at run
 * time (`key` always does: secretParams); read them through `reveal`.
 */
export type TlsCertParams = FromSchema<typeof schema>;

/** What `prepare` decided on the controller (never mixed into the params). */
export interface TlsCertPrep {
  /** Generated mode: the certificate the controller's PKI must hold. */
  want?: PkiWant;
  /** Summaries of the controller-side work to report (action changes), in order. */
  actions: string[];
  /** The bundle when it is known already (provided mode, or a generated certificate that is kept). */
  bundle?: Secret;
  sha?: string;
  /** Provided mode: the certificate's notAfter and whole days left, when inside renew_before_days. */
  expiring?: { notAfter: string; days: number };
}

/** What `controllerApply` and `apply` can do. */
export type TlsCertOp =
  /** Controller-side PKI work (create the CA, issue or renew the certificate): controllerApply. */
  | { kind: 'pki' }
  /** No file at dest yet: write the bundle. */
  | { kind: 'install' }
  /** Something other than a file at dest: replace it (a directory is refused). */
  | { kind: 'replace' }
  /** The file's content differs from the bundle: rewrite it. */
  | { kind: 'update' }
  /** Owner, group or mode drifted: the bundle is rewritten with its attributes. */
  | { kind: 'attrs' };

export interface TlsCertState {
  stat: StatState;
  sha256?: string;
}

/** Certificates issued in this run, per certificate file: lets every host report the same change once. */
interface Issued {
  certSha: string;
  summaries: string[];
  told: Set<string>;
}
/**
 * CAs created in this run, per CA file: a task of another certificate (or a CA-only task) that
 * would have created it in a dry run reports the same creation, once per host and file, so a dry
 * run and the real run list the same changes on every host.
 */
interface CaCreated {
  caSha: string;
  summary: string;
  told: Set<string>;
}
const caCreatedIn = (run: RunMemory) => run.get('tls_cert:ca-created', () => new Map<string, CaCreated>());

/** Who was told of an issue: per host and file, so each of a host's files (bundle, cert, key, ca) reports it once. */
const toldKey = (host: string, dest: string) => `${host}\n${dest}`;
const issuedIn = (run: RunMemory) => run.get('tls_cert:issued', () => new Map<string, Issued>());

/**
 * controllerApply's outcome for the apply right after it, per host and certificate file: the
 * bundle now on the controller, or why issuing failed (the task then fails on the host side,
 * like any apply, instead of aborting the run).
 */
type Outcome = { bundle: Secret } | { error: string };
const outcomesIn = (run: RunMemory) => run.get('tls_cert:controller', () => new Map<string, Outcome>());
const outcomeKey = (host: string, w: PkiWant, content: TlsContent) => `${host}\n${certPaths(w.dir, w.name).crt}\n${content}`;

export const DEFAULT_PKI_DIR = '.kiln/pki';

/** A relative pki_dir is resolved against the project directory: the parent of roles/ for a role task, else the task file's dir. */
export function resolvePkiDir(dir: string | undefined, taskFile: string): string {
  const d = dir ?? DEFAULT_PKI_DIR;
  if (isAbsolute(d)) return d;
  const file = resolve(taskFile);
  const parts = file.split(sep);
  const i = parts.lastIndexOf('roles');
  const base = i > 0 && i < parts.length - 2 ? parts.slice(0, i).join(sep) || sep : dirname(file);
  return resolve(base, d);
}

export function wantOf(p: TlsCertParams, taskFile: string): PkiWant {
  if (p.content === 'ca' && !p.common_name) {
    // Only the CA: a client's trust anchor; no server certificate is involved.
    return {
      dir: resolvePkiDir(p.pki_dir, taskFile),
      name: '',
      commonName: '',
      dns: [],
      ips: [],
      caCommonName: p.ca_common_name ?? 'Kiln internal CA',
      validDays: p.valid_days ?? 365,
      caValidDays: p.ca_valid_days ?? 3650,
      renewBeforeDays: p.renew_before_days ?? 30,
      keyType: p.key_type ?? 'ec',
      caOnly: true,
    };
  }
  if (!p.common_name) throw new Error('common_name is required when no certificate is provided (cert or cert_file)');
  const dns = p.dns ?? [p.common_name];
  const ips = typeof p.ips === 'string' ? p.ips.split(/[\s,]+/).filter(Boolean) : (p.ips ?? []);
  const problems = sanProblems(dns, ips);
  if (problems.length) throw new Error(problems.join('; '));
  return {
    dir: resolvePkiDir(p.pki_dir, taskFile),
    name: p.name ?? p.common_name.replace(/[^A-Za-z0-9_.-]/g, '_'),
    commonName: p.common_name,
    dns,
    ips,
    caCommonName: p.ca_common_name ?? 'Kiln internal CA',
    validDays: p.valid_days ?? 365,
    caValidDays: p.ca_valid_days ?? 3650,
    renewBeforeDays: p.renew_before_days ?? 30,
    keyType: p.key_type ?? 'ec',
  };
}

/** The text of a string param that may hold a vault Secret at run time. */
const reveal = (v: string | Secret | undefined): string | undefined => (v === undefined ? undefined : isSecret(v) ? v.reveal() : v);
const ensureNl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

/** The bundle HAProxy reads: certificate, chain, key. */
export function bundleOf(cert: string, chain: string | undefined, key: string): string {
  return [cert, chain, key]
    .filter((x) => x && x.trim())
    .map((x) => ensureNl(x!.trim()))
    .join('');
}

export type TlsContent = 'bundle' | 'cert' | 'key' | 'ca';

/** The PEM that dest holds for `content` (a Secret whenever it may hold the key). */
export function contentOf(content: TlsContent, cert: string, chain: string | undefined, key: string, ca?: string): Secret {
  switch (content) {
    case 'bundle':
      return new Secret(bundleOf(cert, chain, key), 'tls bundle');
    case 'cert':
      return new Secret(bundleOf(cert, chain, ''), 'tls certificate');
    case 'key':
      return new Secret(bundleOf('', undefined, key), 'tls key');
    case 'ca':
      if (ca === undefined)
        throw new Error('content: ca is only for a generated certificate (the internal CA); copy a provided CA with copy');
      return new Secret(ensureNl(ca.trim()), 'tls ca');
  }
}

const contentParam = (p: TlsCertParams): TlsContent => p.content ?? 'bundle';

/** What dest holds for a generated certificate, as it is on the controller now. */
function generatedBundle(w: PkiWant, content: TlsContent = 'bundle'): Secret {
  const ca = content === 'ca' ? readFileSync(caPaths(w.dir).crt, 'utf8') : undefined;
  if (ca !== undefined) return contentOf('ca', '', undefined, '', ca);
  const f = certPaths(w.dir, w.name);
  return contentOf(content, readFileSync(f.crt, 'utf8'), undefined, readFileSync(f.key, 'utf8'), ca);
}

/** "certificate bundle", "certificate", "private key", "CA certificate": what the summaries call dest. */
const what = (p: TlsCertParams) =>
  ({ bundle: 'certificate bundle', cert: 'certificate', key: 'private key', ca: 'CA certificate' })[contentParam(p)];

function prepareProvided(p: TlsCertParams, ctx: PrepareContext, now: Date): TlsCertPrep {
  const cert = reveal(p.cert) ?? ctx.readFile(p.cert_file!).toString('utf8');
  const chain = reveal(p.chain) ?? (p.chain_file ? ctx.readFile(p.chain_file).toString('utf8') : undefined);
  const keyText = reveal(p.key) ?? (p.key_file ? ctx.readFile(p.key_file).toString('utf8') : undefined);
  if (!keyText) throw new Error('a provided certificate needs its private key: key (vault) or key_file');
  const key = new Secret(keyText, 'tls key');
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`the certificate is not a PEM X.509 certificate: ${(err as Error).message}`);
  }
  let matches = false;
  try {
    matches = x.checkPrivateKey(createPrivateKey(key.reveal()));
  } catch {
    throw new Error('the private key is not a readable PEM key');
  }
  if (!matches) throw new Error('the private key does not belong to the certificate');
  // Kiln cannot renew a certificate it did not issue: refuse an expired one (deploying it would
  // break every client), and say so on every run inside the renewal window.
  const notAfter = new Date(x.validTo);
  const day = notAfter.toISOString().slice(0, 10);
  if (notAfter.getTime() <= now.getTime()) {
    throw new Error(
      `the provided certificate (${x.subject.replace(/\n/g, ', ')}) expired on ${day}: Kiln cannot renew a provided certificate; renew it with its CA and update the certificate and key`,
    );
  }
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const expiring = days < (p.renew_before_days ?? 30) ? { notAfter: day, days } : undefined;
  const bundle = contentOf(contentParam(p), cert, chain, key.reveal());
  return { actions: [], bundle, sha: sha256(bundle.reveal()), expiring };
}

/** The warning for a provided certificate inside its renewal window. */
export function expiringNote(prep: TlsCertPrep): string | undefined {
  const e = prep.expiring;
  return (
    e &&
    `the provided certificate expires in ${e.days} day${e.days === 1 ? '' : 's'} (${e.notAfter}): Kiln cannot renew it; renew it with its CA and update the certificate and key`
  );
}

function prepareGenerated(p: TlsCertParams, ctx: PrepareContext, now: Date): TlsCertPrep {
  const want = wantOf(p, ctx.taskFile);
  const state = inspectPki(want.dir, want.name);
  const memo = issuedIn(ctx.run).get(certPaths(want.dir, want.name).crt);
  if (memo && state.cert && sha256(state.cert.pem) === memo.certSha && !memo.told.has(toldKey(ctx.host, p.dest))) {
    // Another host's controllerApply issued it in this run: report the same controller-side change here too.
    const bundle = generatedBundle(want, contentParam(p));
    return { want, actions: memo.summaries, bundle, sha: sha256(bundle.reveal()) };
  }
  const d = decide(state, want, now);
  const ca = caCreatedIn(ctx.run).get(caPaths(want.dir).crt);
  const told = toldKey(ctx.host, p.dest);
  if (!d.createCa && ca && state.ca && sha256(state.ca.pem) === ca.caSha && !ca.told.has(told)) {
    // Another task created the CA in this run: report that creation here too.
    if (!d.summaries.length) {
      const bundle = generatedBundle(want, contentParam(p));
      return { want, actions: [ca.summary], bundle, sha: sha256(bundle.reveal()) };
    }
    return { want, actions: [ca.summary, ...d.summaries] };
  }
  if (d.summaries.length) return { want, actions: d.summaries };
  const bundle = generatedBundle(want, contentParam(p));
  return { want, actions: [], bundle, sha: sha256(bundle.reveal()) };
}

const attrsOf = (p: TlsCertParams) => ({ owner: p.owner ?? 'root', group: p.group ?? 'root', mode: p.mode ?? '0600' });

/** Pure: changes from the controller's decision (actions) and the host's file. */
export function planTlsCert(p: TlsCertParams, prep: TlsCertPrep, s: TlsCertState): Planned<TlsCertOp>[] {
  const out: Planned<TlsCertOp>[] = prep.actions.map((summary) => ({ summary, action: true, op: { kind: 'pki' } }));
  const attrs = attrsOf(p);
  const warn = prep.expiring ? ` (${expiringNote(prep)})` : '';
  if (!s.stat.exists) return [...out, { summary: `install ${what(p)} ${p.dest}${describeAttrs(attrs)}${warn}`, op: { kind: 'install' } }];
  if (s.stat.type !== 'file')
    return [...out, { summary: `replace ${s.stat.type} ${p.dest} with the ${what(p)}${warn}`, op: { kind: 'replace' } }];
  if (prep.sha === undefined || s.sha256 !== prep.sha) out.push({ summary: `update ${what(p)} ${p.dest}${warn}`, op: { kind: 'update' } });
  return [...out, ...planAttrs(p.dest, attrs, s.stat).map((c): Planned<TlsCertOp> => ({ ...c, op: { kind: 'attrs' } }))];
}

function failScript(msg: string): string {
  return `echo ${q(`tls_cert: ${msg}`)} >&2\nexit 3`;
}

export default defineModule<TlsCertParams, TlsCertState, TlsCertOp, TlsCertPrep>({
  name: 'tls_cert',
  description:
    'A TLS certificate bundle (cert + chain + key, one PEM, for HAProxy) from provided PEMs or an internal CA on the controller, renewed before expiry.',
  schema,
  prepare(p, ctx) {
    if (
      (p.cert !== undefined) === (p.cert_file !== undefined) &&
      (p.cert !== undefined || p.key !== undefined || p.key_file !== undefined)
    ) {
      throw new Error('give the certificate either inline (cert) or as a file (cert_file), with its key');
    }
    if (p.cert !== undefined || p.cert_file !== undefined) {
      if (p.content === 'ca')
        throw new Error('content: ca is only for a generated certificate (the internal CA); copy a provided CA with copy');
      return prepareProvided(p, ctx, new Date());
    }
    return prepareGenerated(p, ctx, new Date());
  },
  probe(p, prep) {
    // sha256 only (MAX 0): the private key never travels back to the controller.
    return `kiln_stat ${q(p.dest)}\nkiln_content ${q(p.dest)} ${prep.sha ?? '-'} 0`;
  },
  parse(out: ExecResult): TlsCertState {
    const kv = parseKv(out.stdout);
    return { stat: statFromKv(kv), sha256: kv.sha256 };
  },
  plan: (p, prep, s) => planTlsCert(p, prep, s),
  controllerApply(_p, prep, _s, _ops, ctx) {
    // Generated mode, real run only: issue (under the PKI's lock, deciding again) right before
    // the bundle is written. Runs whatever the ops, as the host may need a certificate another
    // host's task renewed meanwhile.
    const w = prep.want;
    if (!w) return;
    const crt = w.caOnly ? caPaths(w.dir).crt : certPaths(w.dir, w.name).crt;
    const issued = issuedIn(ctx.run);
    const told = toldKey(ctx.host, _p.dest);
    let outcome: Outcome;
    try {
      // Issued at most once per run: the host's other files (cert, key) of this certificate must
      // match it, even when renew_before_days is longer than valid_days (each issue would renew).
      const memo = issued.get(crt);
      const fresh = memo && existsSync(crt) && sha256(readFileSync(crt, 'utf8')) === memo.certSha;
      const d = fresh ? { createCa: false, summaries: [] } : issuePki(w);
      const cas = caCreatedIn(ctx.run);
      if (d.createCa)
        cas.set(caPaths(w.dir).crt, {
          caSha: sha256(readFileSync(caPaths(w.dir).crt, 'utf8')),
          summary: d.summaries[0]!,
          told: new Set([told]),
        });
      else cas.get(caPaths(w.dir).crt)?.told.add(told);
      if (d.summaries.length) {
        const pem = readFileSync(crt, 'utf8');
        issued.set(crt, {
          certSha: sha256(pem),
          summaries: prep.actions.length ? prep.actions : d.summaries,
          told: new Set([toldKey(ctx.host, _p.dest)]),
        });
      } else {
        issued.get(crt)?.told.add(toldKey(ctx.host, _p.dest));
      }
      outcome = { bundle: generatedBundle(w, contentParam(_p)) };
    } catch (err) {
      outcome = { error: `issuing on the controller failed: ${(err as Error).message}` };
    }
    outcomesIn(ctx.run).set(outcomeKey(ctx.host, w, contentParam(_p)), outcome);
  },
  apply(p, prep, _s, ops, ctx: ModuleContext) {
    let bundle: Secret;
    if (prep.want) {
      const o = outcomesIn(ctx.run).get(outcomeKey(ctx.host, prep.want, contentParam(p)));
      if (!o) return failScript('the certificate was not issued on the controller (controllerApply did not run)');
      if ('error' in o) return failScript(o.error);
      bundle = o.bundle;
    } else {
      bundle = prep.bundle!;
    }
    if (!ops.some((op) => op.kind !== 'pki')) return 'true';
    const attrs = attrsOf(p);
    // The temp file is 0600 (mktemp) before a byte of the key is written; a directory at dest is refused.
    const write = atomicWrite({ dest: p.dest, bytes: bundle.reveal(), attrs: { ...attrs, mode: normMode(attrs.mode) } });
    return ['set -e', ...write].join('\n');
  },
  verify(p, prep, s) {
    const want = prep.want ? sha256(generatedBundle(prep.want, contentParam(p)).reveal()) : prep.sha;
    const attrs = attrsOf(p);
    if (!s.stat.exists || s.stat.type !== 'file') return [`${p.dest} is missing`];
    const problems = planAttrs(p.dest, attrs, s.stat).map((c) => c.summary);
    if (s.sha256 !== want) problems.push(`${p.dest} differs from the ${what(p)} on the controller`);
    return problems;
  },
  note: (_p, prep) => expiringNote(prep),
  registerAfterApply: true,
  registerData: (p, prep, s) => ({
    dest: p.dest,
    ...s.stat,
    ...(prep.want ? { ca_cert: `${prep.want.dir}/ca.crt`, cert_file: certPaths(prep.want.dir, prep.want.name).crt } : {}),
  }),
});
