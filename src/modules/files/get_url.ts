/**
 * `get_url`: download a file over HTTP(S) with curl on the host, verified by its checksum.
 *
 * `checksum` is Ansible's `<algorithm>:<hex digest>` or `<algorithm>:<URL of a checksum file>`
 * (md5, sha1, sha224, sha256, sha384, sha512, blake2b: the coreutils digests of a Debian host).
 * A checksum file is read as Ansible's get_url reads it (`checksumFromFile`): a lone digest, or
 * `<digest> <name>` lines (a leading ` `/`*` mode character and leading `./` dropped), the first
 * whose name is the URL's file name; the digest is cleaned of non-word characters and must be hex.
 * The probe fetches that file on the host (read-only, as Ansible does in check mode).
 *
 * With `checksum`, the checksum is the file's identity: a present file with the right sum is
 * converged and the URL is not contacted at all (a converged run needs no network, unless the
 * checksum itself is a URL). A missing file, or one with another sum, is downloaded to a temp
 * file in the destination's directory, checked with the algorithm's digest, given its owner and
 * mode, and only then renamed into place. A checksum mismatch fails the task, removes the temp
 * file and leaves the old file (if any) untouched.
 *
 * Without `checksum`, a present file is left alone (`force: false`, the default), or, with
 * `force: true`, downloaded every time and replaced only when its content differs (a dry run
 * cannot know that: the change is flagged unpredictable).
 *
 * The URL travels on curl's stdin (`curl -K -`), never in argv, so a token in a URL does not
 * show in `ps` on the host.
 *
 * Contract v2: plan pairs each summary with a `GetUrlOp`; apply switches on `op.kind` only. The
 * download is the `fill` of `atomicWrite` (temp file, attributes, rename in one place).
 */
import {
  type AttrOp,
  applyAttrOps,
  applyAttrs,
  attrSchema,
  describeAttrs,
  newFileAttrs,
  normMode,
  planAttrs,
  type StatState,
  statFromKv,
} from './attrs.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'dest'],
  properties: {
    url: {
      type: 'string',
      pattern: '^(https?|ftp|file)://[^\\s]+$',
      description: 'http(s):// (or ftp://, file://) URL of the file; fetched with curl on the host',
    },
    dest: {
      type: 'string',
      minLength: 1,
      pattern: '^/.*[^/]$',
      description: 'absolute path of the file on the host (not a directory); its directory must exist',
    },
    checksum: {
      type: 'string',
      pattern: '^[^:]+:.+$',
      description:
        '"<algorithm>:<hex digest>" or "<algorithm>:<URL of a checksum file>" (algorithm md5, sha1, sha224, sha256, sha384, sha512 or blake2b): the download must match it, and a present file with this sum is not downloaded again',
    },
    force: {
      type: 'boolean',
      description:
        'without checksum: download even when dest exists, replacing it when the content differs (default false: only when missing)',
    },
    timeout: { type: 'integer', minimum: 1, description: 'seconds for the whole download (curl --max-time; default 300)' },
    ...attrSchema,
  },
} as const;

export type GetUrlParams = FromSchema<typeof schema>;

/**
 * What get_url does: download (checked against `sha256` when a checksum is given; over an
 * `existing` file, whose owner and mode are kept), or set attributes.
 */
export type GetUrlOp = AttrOp | { kind: 'download'; checksum?: Checksum; existing: boolean };

/** A digest of the algorithm's (lower-case hex). */
export interface Checksum {
  algorithm: Algorithm;
  hex: string;
}

/** The algorithms Kiln checks with, and the coreutils command of each on the host. */
const ALGORITHMS = {
  md5: 'md5sum',
  sha1: 'sha1sum',
  sha224: 'sha224sum',
  sha256: 'sha256sum',
  sha384: 'sha384sum',
  sha512: 'sha512sum',
  blake2b: 'b2sum',
} as const;
type Algorithm = keyof typeof ALGORITHMS;

export interface GetUrlState {
  stat: StatState;
  /** The digest of dest with the checksum's algorithm (probed only when a checksum is given). */
  digest?: string;
  /** The checksum wanted (from the task, or read from its checksum file). */
  wanted?: Checksum;
  curl: boolean;
}

/** Hex digits of each algorithm's digest. */
const DIGEST_HEX: Record<Algorithm, number> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128, blake2b: 128 };

/**
 * The checksum's problems Ansible would only meet on the host (an algorithm Kiln cannot check
 * with, a digest that is not hex or of the wrong length, so never matches): refused before the run.
 */
export function checksumProblem(checksum: string | undefined): string | undefined {
  if (checksum === undefined) return undefined;
  const i = checksum.indexOf(':');
  const algorithm = checksum.slice(0, i);
  const value = checksum.slice(i + 1);
  if (!Object.hasOwn(ALGORITHMS, algorithm))
    return `checksum: algorithm '${algorithm}' is not one Kiln checks with (${Object.keys(ALGORITHMS).join(', ')})`;
  if (/^(https?|ftp|file):\/\//.test(value)) return undefined;
  const hex = cleanDigest(value);
  if (hex === undefined) return 'checksum: The checksum format is invalid (the digest must be hexadecimal)';
  const n = DIGEST_HEX[algorithm as Algorithm];
  if (hex.length !== n) return `checksum: a ${algorithm} digest has ${n} hex digits; this one has ${hex.length}, so no file could match it`;
  return undefined;
}

/** The task's checksum split as Ansible splits it: algorithm, and a digest or a checksum file's URL. */
function checksumSpec(p: GetUrlParams): { algorithm: Algorithm; value: string; url: boolean } | undefined {
  if (!p.checksum) return undefined;
  const i = p.checksum.indexOf(':');
  const value = p.checksum.slice(i + 1);
  return { algorithm: p.checksum.slice(0, i) as Algorithm, value, url: /^(https?|ftp|file):\/\//.test(value) };
}

/** Ansible's clean-up of a digest: non-word characters removed, lower case; it must then be hex. */
function cleanDigest(d: string): string | undefined {
  const c = d.replace(/[^\p{L}\p{N}_]+/gu, '').toLowerCase();
  return /^[0-9a-f]+$/.test(c) ? c : undefined;
}

/** The file name Ansible looks for in a checksum file: the URL path's last part (url_filename). */
export function urlFilename(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const base = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  return base === '' ? 'index.html' : base;
}

/**
 * The digest a checksum file gives for `filename`, read as Ansible's get_url reads it; undefined
 * when it has none.
 */
export function checksumFromFile(text: string, filename: string): string | undefined {
  // Python's `[line.rstrip('\n') for line in f]` over a text file in universal-newline mode.
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const map: [string, string][] = [];
  if (lines.length === 1 && lines[0]!.trim().split(/\s+/).filter(Boolean).length === 1) map.push([lines[0]!, filename]);
  else
    for (const line of lines) {
      const i = line.indexOf(' ');
      if (i < 0) continue;
      let name = line.slice(i + 1);
      if (name.startsWith(' ') || name.startsWith('*')) name = name.slice(1);
      map.push([line.slice(0, i), name.replace(/^[./]+/, '')]);
    }
  return map.find(([, f]) => f === filename)?.[0];
}

function wanted(p: GetUrlParams, s?: Pick<GetUrlState, 'wanted'>): Checksum | undefined {
  const spec = checksumSpec(p);
  if (!spec) return undefined;
  if (spec.url) return s?.wanted;
  return { algorithm: spec.algorithm, hex: cleanDigest(spec.value)! };
}

/** The URL without user:password (for messages). */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1');
}

/** A checksum file larger than this is refused (a checksum list, not a download). */
const CHECKSUM_FILE_MAX = 1024 * 1024;

export function getUrlProbe(p: GetUrlParams): string {
  const lines = [`kiln_stat ${q(p.dest)}`];
  const spec = checksumSpec(p);
  if (spec) {
    const cmd = ALGORITHMS[spec.algorithm];
    lines.push(`[ -f ${q(p.dest)} ] && [ ! -L ${q(p.dest)} ] && echo "digest=$(${cmd} < ${q(p.dest)} | cut -d' ' -f1)"`);
    if (spec.url) {
      // The checksum file, fetched on the host as Ansible's module fetches it (its URL on curl's stdin).
      const tag = 'KILN_CURL_CONFIG';
      lines.push(
        `if kiln_has curl; then`,
        `  if cks=$(curl -fsSL --max-time ${p.timeout ?? 300} --max-filesize ${CHECKSUM_FILE_MAX} -K - 2>&1 <<'${tag}'`,
        `url = ${curlQuote(spec.value)}`,
        tag,
        `  ); then printf 'checksum_file_b64=%s\n' "$(printf '%s' "$cks" | base64 -w0)"; else printf 'checksum_err_b64=%s\n' "$(printf '%s' "$cks" | base64 -w0)"; fi`,
        'fi',
      );
    }
  }
  lines.push('kiln_has curl && echo curl=1 || echo curl=0');
  return lines.join('\n');
}

export function getUrlParse(out: ExecResult, p?: GetUrlParams): GetUrlState {
  const kv = parseKv(out.stdout);
  const state: GetUrlState = { stat: statFromKv(kv), digest: kv.digest || undefined, curl: kv.curl === '1' };
  const spec = p ? checksumSpec(p) : undefined;
  if (p && spec?.url && state.curl) {
    const url = displayUrl(spec.value);
    if (kv.checksum_err_b64 !== undefined)
      throw new Error(
        `the checksum file ${url} could not be fetched: ${Buffer.from(kv.checksum_err_b64, 'base64').toString('utf8').trim()}`,
      );
    // $(…) drops trailing newlines; they do not change which line names the file.
    const text = Buffer.from(kv.checksum_file_b64 ?? '', 'base64').toString('utf8');
    const filename = urlFilename(p.url);
    const found = checksumFromFile(text, filename);
    if (found === undefined) throw new Error(`Unable to find a checksum for file '${filename}' in '${url}'`);
    const hex = cleanDigest(found);
    if (hex === undefined) throw new Error('The checksum format is invalid');
    state.wanted = { algorithm: spec.algorithm, hex };
  }
  return state;
}

export function getUrlPlan(p: GetUrlParams, s: GetUrlState): Planned<GetUrlOp>[] {
  normMode(p.mode); // a bad mode fails in plan, before anything is downloaded
  const url = displayUrl(p.url);
  if (checksumSpec(p)?.url && !s.curl)
    throw new Error('get_url needs curl on the host to fetch its checksum file: install the curl package first');
  const want = wanted(p, s);
  if (s.stat.exists && s.stat.type !== 'file') {
    throw new Error(`${p.dest} is a ${s.stat.type}: get_url's dest must be the path of a file`);
  }
  const download: GetUrlOp = { kind: 'download', checksum: want, existing: s.stat.exists };
  const sum = want ? `, ${want.algorithm} ${want.hex.slice(0, 12)}…` : '';
  if (!s.stat.exists) return [{ summary: `download ${url} → ${p.dest}${describeAttrs(p)}${sum}`, op: download }];
  if (want) {
    if (s.digest !== want.hex) {
      return [
        {
          summary: `download ${url} → ${p.dest}${describeAttrs(p)} (${want.algorithm} on the host ${s.digest?.slice(0, 12) ?? '?'}… ≠ wanted ${want.hex.slice(0, 12)}…)`,
          op: download,
        },
      ];
    }
  } else if (p.force) {
    return [
      {
        summary: `download ${url} → ${p.dest}, replaced if its content differs (no checksum to compare before downloading)`,
        action: true,
        unpredictable: true,
        op: download,
      },
      ...planAttrs(p.dest, p, s.stat),
    ];
  }
  return planAttrs(p.dest, p, s.stat);
}

/** A value inside double quotes in a curl config file. */
function curlQuote(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

/** Shell that downloads `p.url` into "$tmp" and checks it (the `fill` of the atomic write). */
function downloadInto(p: GetUrlParams, op: Extract<GetUrlOp, { kind: 'download' }>, ops: GetUrlOp[]): string {
  const url = displayUrl(p.url);
  const tag = 'KILN_CURL_CONFIG';
  const lines = [
    `command -v curl >/dev/null 2>&1 || { echo "get_url needs curl on the host: install the curl package first" >&2; exit 3; }`,
    // The URL is read from stdin (-K -): not in any argv.
    `if ! err=$(curl -fsSL --max-time ${p.timeout ?? 300} -o "$tmp" -K - 2>&1 <<'${tag}'`,
    `url = ${curlQuote(p.url)}`,
    tag,
    `); then echo ${q(`download of ${url} failed:`)} "$err" >&2; exit 3; fi`,
  ];
  if (op.checksum) {
    const { algorithm, hex } = op.checksum;
    lines.push(
      `got=$(${ALGORITHMS[algorithm]} < "$tmp" | cut -d' ' -f1)`,
      `if [ "$got" != ${q(hex)} ]; then`,
      `  echo ${q(`checksum mismatch for ${url}: expected ${algorithm}:${hex}, downloaded ${algorithm}:`)}"$got; ${p.dest} left unchanged" >&2; exit 3`,
      'fi',
    );
  } else {
    // No checksum: identical content is no change; only the attributes are set (those that
    // differ, or all of the task's on a file that appeared since the probe).
    const attrs = op.existing ? applyAttrOps('"$dest"', ops) : applyAttrs('"$dest"', p);
    lines.push(`if [ -f "$dest" ] && cmp -s -- "$tmp" "$dest"; then`, `  ${attrs || ':'}`, '  echo changed=0; exit 0', 'fi');
  }
  return lines.join('\n');
}

export function getUrlApply(p: GetUrlParams, ops: GetUrlOp[]): string {
  const download = ops.find((o) => o.kind === 'download');
  if (!download) return `set -e\n${applyAttrOps(q(p.dest), ops)}\necho changed=1`;
  // The whole file is replaced: the task's attributes go on the temp file, the attribute ops are included.
  const write = atomicWrite({ dest: p.dest, fill: downloadInto(p, download, ops), ...newFileAttrs(p, download.existing) });
  return ['set -e', ...write, 'echo changed=1'].join('\n');
}

export function getUrlInterpret(out: ExecResult): ApplyResult {
  if (out.code !== 0) return { failed: out.stderr.trim() || out.stdout.trim() || `exit code ${out.code}` };
  return { changed: parseKv(out.stdout).changed !== '0' };
}

export default defineModule<GetUrlParams, GetUrlState, GetUrlOp>({
  name: 'get_url',
  description:
    'Download a file with curl on the host, verified by its checksum (md5 … sha512, blake2b; a digest or a checksum file), atomically (no download when the file already has the checksum).',
  schema,
  prepare: (p) => {
    const problem = checksumProblem(p.checksum);
    if (problem) throw new Error(problem);
  },
  probe: (p) => getUrlProbe(p),
  parse: (out, p) => getUrlParse(out, p),
  plan: (p, _prep, s) => getUrlPlan(p, s),
  apply: (p, _prep, _s, ops) => getUrlApply(p, ops),
  interpret: (_p, _prep, out) => getUrlInterpret(out),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    dest: p.dest,
    url: displayUrl(p.url),
    ...s.stat,
    ...(s.digest ? { [wanted(p, s)?.algorithm ?? 'digest']: s.digest } : {}),
  }),
});
