/**
 * `get_url`: download a file over HTTP(S) with curl on the host, verified by SHA-256.
 *
 * With `checksum`, the checksum is the file's identity: a present file with the right sum is
 * converged and the URL is not contacted at all (a converged run needs no network). A missing
 * file, or one with another sum, is downloaded to a temp file in the destination's directory,
 * checked with sha256sum, given its owner and mode, and only then renamed into place. A checksum
 * mismatch fails the task, removes the temp file and leaves the old file (if any) untouched.
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
      pattern: '^sha256:[0-9a-fA-F]{64}$',
      description: '"sha256:<64 hex digits>": the download must match it, and a present file with this sum is not downloaded again',
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
export type GetUrlOp = AttrOp | { kind: 'download'; sha256?: string; existing: boolean };

export interface GetUrlState {
  stat: StatState;
  /** sha256 of dest (probed only when a checksum is given). */
  sha256?: string;
  curl: boolean;
}

function wanted(p: GetUrlParams): string | undefined {
  return p.checksum?.slice('sha256:'.length).toLowerCase();
}

/** The URL without user:password (for messages). */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1');
}

export function getUrlProbe(p: GetUrlParams): string {
  const lines = [`kiln_stat ${q(p.dest)}`];
  if (wanted(p)) lines.push(`[ -f ${q(p.dest)} ] && [ ! -L ${q(p.dest)} ] && echo "sha256=$(sha256sum < ${q(p.dest)} | cut -d' ' -f1)"`);
  lines.push('kiln_has curl && echo curl=1 || echo curl=0');
  return lines.join('\n');
}

export function getUrlParse(out: ExecResult): GetUrlState {
  const kv = parseKv(out.stdout);
  return { stat: statFromKv(kv), sha256: kv.sha256 || undefined, curl: kv.curl === '1' };
}

export function getUrlPlan(p: GetUrlParams, s: GetUrlState): Planned<GetUrlOp>[] {
  normMode(p.mode); // a bad mode fails in plan, before anything is downloaded
  const url = displayUrl(p.url);
  const want = wanted(p);
  if (s.stat.exists && s.stat.type !== 'file') {
    throw new Error(`${p.dest} is a ${s.stat.type}: get_url's dest must be the path of a file`);
  }
  const download: GetUrlOp = { kind: 'download', sha256: want, existing: s.stat.exists };
  const sum = want ? `, sha256 ${want.slice(0, 12)}…` : '';
  if (!s.stat.exists) return [{ summary: `download ${url} → ${p.dest}${describeAttrs(p)}${sum}`, op: download }];
  if (want) {
    if (s.sha256 !== want) {
      return [
        {
          summary: `download ${url} → ${p.dest}${describeAttrs(p)} (sha256 on the host ${s.sha256?.slice(0, 12) ?? '?'}… ≠ wanted ${want.slice(0, 12)}…)`,
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
  if (op.sha256) {
    lines.push(
      'got=$(sha256sum < "$tmp" | cut -d\' \' -f1)',
      `if [ "$got" != ${q(op.sha256)} ]; then`,
      `  echo ${q(`checksum mismatch for ${url}: expected sha256:${op.sha256}, downloaded sha256:`)}"$got; ${p.dest} left unchanged" >&2; exit 3`,
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
    'Download a file with curl on the host, verified by SHA-256, atomically (no download when the file already has the checksum).',
  schema,
  probe: (p) => getUrlProbe(p),
  parse: (out) => getUrlParse(out),
  plan: (p, _prep, s) => getUrlPlan(p, s),
  apply: (p, _prep, _s, ops) => getUrlApply(p, ops),
  interpret: (_p, _prep, out) => getUrlInterpret(out),
  registerData: (p, _prep, s) => ({ dest: p.dest, url: displayUrl(p.url), ...s.stat, ...(s.sha256 ? { sha256: s.sha256 } : {}) }),
});
