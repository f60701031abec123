/**
 * `deb822_repository` (ansible-core 2.15's module; Ansible 2.14 itself lacks it): one apt source in
 * the deb822 format, /etc/apt/sources.list.d/<slug>.sources, written as Ansible's module writes it:
 * the fields in the order the task gives them (then Types, when left to its default), booleans yes/no, lists space-separated,
 * `name` as X-Repolib-Name, a multi-line value indented with `.` for empty lines; the slug is the
 * name lower-cased, `_` and blanks turned into `-`, anything else but [a-z0-9-] dropped.
 *
 * signed_by, as Ansible: the path of a file on the host is used as it is; a URL is fetched (on the
 * host, by the probe, every run) into /etc/apt/keyrings/<slug>.asc (ASCII-armored) or .gpg, and
 * that path is the Signed-By value; anything else (an armored key block, fingerprints) is written
 * inline. The file's mode is `mode` (default 0644) on every run. absent removes the .sources file
 * and the keyrings <slug>.asc and <slug>.gpg. Like Ansible's module, it does not update the apt
 * cache (use package's update_cache when it changed).
 */
import { sha256 } from '../../sh/bytes.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64Bytes } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { normMode } from '../files/attrs.ts';
import { contentDiff } from '../files/content.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const KEYRINGS_DIR = '/etc/apt/keyrings';
const strList = (description: string) => ({ type: 'array', items: { type: 'string', minLength: 1 }, description }) as const;
const bool = (description: string) => ({ type: 'boolean', description }) as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: '[A-Za-z0-9]',
      description: 'name of the repository: X-Repolib-Name, and the slug of /etc/apt/sources.list.d/<slug>.sources and of its keyring',
    },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default); absent removes the .sources file and the keyrings <slug>.asc/.gpg',
    },
    types: { type: 'array', items: { enum: ['deb', 'deb-src'] }, description: 'Types: deb (default) and/or deb-src' },
    uris: strList('URIs: the base of the Debian archive(s)'),
    suites: strList('Suites: a codename (bookworm) or, with no components, an exact path ending in /'),
    components: strList('Components: main, contrib, …'),
    architectures: strList('Architectures to take from the repository'),
    languages: strList('Languages of the translations to download'),
    targets: strList('Targets apt acquires from this source'),
    signed_by: {
      type: 'string',
      description:
        'Signed-By: the path of a keyring on the host (used as is), a URL (fetched on the host into /etc/apt/keyrings/<slug>.asc or .gpg), or an ASCII-armored key block or fingerprints (written inline)',
    },
    enabled: bool('Enabled: whether apt uses the source'),
    trusted: bool('Trusted: a source apt trusts without signatures'),
    by_hash: bool('By-Hash: acquire indexes by their hash'),
    allow_insecure: bool('Allow-Insecure: allow an unsigned repository'),
    allow_weak: bool('Allow-Weak: allow a weak digest algorithm'),
    allow_downgrade_to_insecure: bool('Allow-Downgrade-To-Insecure: allow a signed repository to become unsigned'),
    check_date: bool("Check-Date: consider the machine's time correct (Release file dates)"),
    check_valid_until: bool('Check-Valid-Until: detect replay attacks'),
    pdiffs: bool('PDiffs: update indexes with diffs'),
    date_max_future: { type: 'integer', description: 'Date-Max-Future: how far in the future a Release file may be dated, seconds' },
    inrelease_path: { type: 'string', description: 'InRelease-Path: the InRelease file, relative to its normal place' },
    mode: {
      type: ['string', 'integer'],
      pattern: '^0?[0-7]{3,4}$',
      minimum: 0,
      maximum: 0o7777,
      description: 'octal mode of the .sources file, set on every run (default 0644, as in Ansible)',
    },
  },
} as const;

export type Deb822Params = FromSchema<typeof schema>;

export interface Deb822Prep {
  slug: string;
  dest: string;
  /** signed_by's URL scheme, when it has one (Python's urlparse). */
  url: boolean;
}

interface FileState {
  exists: boolean;
  sha256?: string;
  mode?: string;
  content?: Buffer;
  /** uid, gid, owner, group of the file. */
  ids?: [number, number, string, string];
}

export interface Deb822State {
  sources: FileState;
  asc: FileState;
  gpg: FileState;
  keyringsDir?: { mode: string; owner: string };
  /** signed_by names a regular file on the host. */
  signedByFile: boolean;
  /** The key fetched from signed_by's URL; an error message when the fetch failed. */
  fetched?: Buffer;
  fetchError?: string;
}

export type Deb822Op =
  | { kind: 'keyrings-dir' }
  | { kind: 'write'; path: string; content: Buffer; expect?: string; mode: string }
  | { kind: 'chmod'; path: string; mode: string }
  | { kind: 'delete'; path: string };

/** Ansible's slug: lower-case, runs of `_`/blanks → `-`, anything but [a-z0-9-] dropped. */
export function slugOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[_\s]+/g, '-')
    .replace(/[^a-z0-9-]+/g, '');
}

/** Python's str.title() on an option name with `-`: each run of letters capitalised. */
function title(s: string): string {
  return s.replace(/[A-Za-z]+/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase());
}

export function fieldName(option: string): string {
  if (option === 'name') return 'X-Repolib-Name';
  if (option === 'uris') return 'URIs';
  return title(option.replace(/_/g, '-'));
}

function formatMultiline(v: string): string {
  const lines = v
    .trim()
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim() || '.');
  return `\n${lines.map((l) => `    ${l}`).join('\n')}`;
}

const DEB822_OPTIONS = [
  'allow_downgrade_to_insecure',
  'allow_insecure',
  'allow_weak',
  'architectures',
  'by_hash',
  'check_date',
  'check_valid_until',
  'components',
  'date_max_future',
  'enabled',
  'inrelease_path',
  'languages',
  'name',
  'pdiffs',
  'signed_by',
  'suites',
  'targets',
  'trusted',
  'types',
  'uris',
] as const;

/**
 * The .sources file as Ansible's module dumps it (python-debian's Deb822.dump): the fields in the
 * order the task gives its options (Ansible's module.params keeps the arguments' order), then
 * Types when the task leaves it to its default; Signed-By with its resolved value.
 */
export function renderSources(p: Deb822Params, signedBy: string | undefined): string {
  const keys = Object.keys(p).filter((k): k is (typeof DEB822_OPTIONS)[number] => (DEB822_OPTIONS as readonly string[]).includes(k));
  if (!keys.includes('types')) keys.push('types');
  const params: Record<string, unknown> = { ...p, types: p.types ?? ['deb'], signed_by: signedBy };
  let out = '';
  for (const key of keys) {
    const v = params[key];
    if (v === undefined || v === null) continue;
    let value = typeof v === 'boolean' ? (v ? 'yes' : 'no') : Array.isArray(v) ? v.join(' ') : String(v);
    if (value.includes('\n')) value = formatMultiline(value);
    out += value === '' || value.startsWith('\n') ? `${fieldName(key)}:${value}\n` : `${fieldName(key)}: ${value}\n`;
  }
  return out;
}

export function deb822Prepare(p: Deb822Params): Deb822Prep {
  const slug = slugOf(p.name);
  if (!slug) throw new Error(`name ${JSON.stringify(p.name)} leaves an empty file name once reduced to [a-z0-9-]`);
  return {
    slug,
    dest: `/etc/apt/sources.list.d/${slug}.sources`,
    url: p.signed_by !== undefined && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(p.signed_by),
  };
}

const fileProbe = (key: string, path: string) =>
  [
    `if [ -f ${q(path)} ]; then echo "${key}_sha=$(sha256sum < ${q(path)} | cut -d' ' -f1)"; echo "${key}_mode=$(stat -c %a ${q(path)})"; echo "${key}_ids=$(stat -c '%u:%g:%U:%G' ${q(path)})"`,
    `  printf '${key}_b64='; base64 -w0 < ${q(path)}; echo`,
    'fi',
  ].join('\n');

/** Fetches a URL to stdout with what the host has: curl, wget, or python3's urllib (file:// too). */
const FETCH = [
  'kiln_fetch() {',
  '  if command -v curl >/dev/null 2>&1; then curl -fsSL --max-time 60 -- "$1"',
  '  elif command -v wget >/dev/null 2>&1; then wget -q -T 60 -O - -- "$1"',
  '  elif command -v python3 >/dev/null 2>&1; then python3 -c \'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=60).read())\' "$1"',
  '  else echo "no curl, wget or python3 on the host to fetch it" >&2; return 1; fi',
  '}',
].join('\n');

export function deb822Probe(p: Deb822Params, prep: Deb822Prep): string {
  const lines = [
    fileProbe('sources', prep.dest),
    fileProbe('asc', `${KEYRINGS_DIR}/${prep.slug}.asc`),
    fileProbe('gpg', `${KEYRINGS_DIR}/${prep.slug}.gpg`),
    `[ -d ${KEYRINGS_DIR} ] && echo "keyrings=$(stat -c %a:%U:%G ${KEYRINGS_DIR})"`,
  ];
  if (p.signed_by !== undefined && (p.state ?? 'present') === 'present') {
    lines.push(`if [ -f ${q(p.signed_by)} ]; then echo sb_file=1`);
    if (prep.url) {
      lines.push(
        'else',
        FETCH,
        `  if kf=$(mktemp) && err=$(kiln_fetch ${q(p.signed_by)} 2>&1 >"$kf"); then printf 'sb_b64='; base64 -w0 < "$kf"; echo`,
        `  else printf 'sb_err=%s\\n' "$(printf %s "$err" | tr '\\n' ' ')"; fi; rm -f "$kf"`,
      );
    }
    lines.push('fi');
  }
  lines.push('true');
  return lines.join('\n');
}

function idsOf(v: string): [number, number, string, string] {
  const [u, g, o, gr] = v.split(':');
  return [Number(u), Number(g), o, gr];
}

function fileState(kv: Record<string, string>, key: string): FileState {
  if (kv[`${key}_sha`] === undefined) return { exists: false };
  return {
    exists: true,
    sha256: kv[`${key}_sha`],
    mode: normMode(kv[`${key}_mode`]),
    content: fromB64Bytes(kv[`${key}_b64`] ?? ''),
    ids: kv[`${key}_ids`] ? idsOf(kv[`${key}_ids`]) : undefined,
  };
}

export function deb822Parse(out: ExecResult): Deb822State {
  const kv = parseKv(out.stdout);
  const [mode, owner, group] = (kv.keyrings ?? '').split(':');
  return {
    sources: fileState(kv, 'sources'),
    asc: fileState(kv, 'asc'),
    gpg: fileState(kv, 'gpg'),
    keyringsDir: kv.keyrings ? { mode: normMode(mode) ?? mode, owner: `${owner}:${group}` } : undefined,
    signedByFile: kv.sb_file === '1',
    fetched: kv.sb_b64 !== undefined ? fromB64Bytes(kv.sb_b64) : undefined,
    fetchError: kv.sb_err,
  };
}

const isArmored = (b: Buffer) => b.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----');

/** Signed-By's value and the keyring file written from a URL (Ansible's write_signed_by_key). */
function resolveSignedBy(p: Deb822Params, prep: Deb822Prep, s: Deb822State): { value?: string; keyring?: { path: string; data: Buffer } } {
  const v = p.signed_by;
  if (v === undefined) return {};
  if (s.signedByFile) return { value: v };
  if (!prep.url) return { value: v };
  if (s.fetchError !== undefined) throw new Error(`Could not fetch signed_by key: ${s.fetchError.trim()}`);
  const data = s.fetched ?? Buffer.alloc(0);
  if (!data.length) return { value: v };
  const path = `${KEYRINGS_DIR}/${prep.slug}.${isArmored(data) ? 'asc' : 'gpg'}`;
  return { value: path, keyring: { path, data } };
}

export function deb822Plan(p: Deb822Params, prep: Deb822Prep, s: Deb822State, ctx: ModuleContext): Planned<Deb822Op>[] {
  const out: Planned<Deb822Op>[] = [];
  if ((p.state ?? 'present') === 'absent') {
    if (s.sources.exists) out.push({ summary: `remove ${prep.dest}`, op: { kind: 'delete', path: prep.dest } });
    for (const [ext, f] of [
      ['asc', s.asc],
      ['gpg', s.gpg],
    ] as const) {
      const path = `${KEYRINGS_DIR}/${prep.slug}.${ext}`;
      if (f.exists) out.push({ summary: `remove ${path}`, op: { kind: 'delete', path } });
    }
    return out;
  }
  const sb = resolveSignedBy(p, prep, s);
  if (sb.keyring) {
    const { path, data } = sb.keyring;
    const have = path.endsWith('.asc') ? s.asc : s.gpg;
    if (have.sha256 !== sha256(data)) {
      if (!s.keyringsDir || s.keyringsDir.mode !== '0755' || s.keyringsDir.owner !== 'root:root') {
        out.push({
          summary: s.keyringsDir
            ? `${KEYRINGS_DIR}: ${s.keyringsDir.mode} ${s.keyringsDir.owner} → 0755 root:root`
            : `create ${KEYRINGS_DIR} (0755 root:root)`,
          op: { kind: 'keyrings-dir' },
        });
      }
      out.push({
        summary: `${have.exists ? 'update' : 'create'} keyring ${path} from ${p.signed_by} (${data.length} bytes)`,
        diff: ctx.diff ? contentDiff(path, have.content, data, false) : undefined,
        op: { kind: 'write', path, content: data, expect: have.sha256, mode: '0644' },
      });
    } else if (have.mode !== '0644') {
      out.push({ summary: `${path}: mode ${have.mode} → 0644`, op: { kind: 'chmod', path, mode: '0644' } });
    }
  }
  const text = renderSources(p, sb.value);
  const mode = normMode(p.mode ?? '0644')!;
  if (s.sources.sha256 !== sha256(text)) {
    out.push({
      summary: s.sources.exists ? `update ${prep.dest}` : `create ${prep.dest} (${mode})`,
      diff: ctx.diff ? contentDiff(prep.dest, s.sources.content, text, false) : undefined,
      op: { kind: 'write', path: prep.dest, content: Buffer.from(text), expect: s.sources.sha256, mode },
    });
  } else if (s.sources.mode !== mode) {
    out.push({ summary: `${prep.dest}: mode ${s.sources.mode} → ${mode}`, op: { kind: 'chmod', path: prep.dest, mode } });
  }
  return out;
}

export function deb822Apply(ops: readonly Deb822Op[]): string {
  const lines = ['set -e'];
  for (const op of ops) {
    switch (op.kind) {
      case 'keyrings-dir':
        lines.push(`install -d -m 0755 -o root -g root ${KEYRINGS_DIR}`);
        break;
      case 'write':
        lines.push(
          ...atomicWrite({
            dest: op.path,
            bytes: op.content,
            parent: 'create',
            expect: op.expect !== undefined ? { sha256: op.expect } : 'absent',
            keepAttrs: op.expect !== undefined,
            attrs: op.expect !== undefined ? { mode: op.mode } : { owner: 'root', group: 'root', mode: op.mode },
          }),
        );
        break;
      case 'chmod':
        lines.push(`chmod ${op.mode} -- ${q(op.path)}`);
        break;
      case 'delete':
        lines.push(`rm -f -- ${q(op.path)}`);
        break;
    }
  }
  return lines.join('\n');
}

export default defineModule<Deb822Params, Deb822State, Deb822Op, Deb822Prep>({
  name: 'deb822_repository',
  description:
    "An apt source in the deb822 format (/etc/apt/sources.list.d/NAME.sources), written as ansible-core 2.15's deb822_repository writes it, with its signing key under /etc/apt/keyrings.",
  schema,
  prepare: (p) => deb822Prepare(p),
  probe: (p, prep) => deb822Probe(p, prep),
  parse: (out) => deb822Parse(out),
  plan: (p, prep, s, ctx) => deb822Plan(p, prep, s, ctx),
  apply: (_p, _prep, _s, ops) => deb822Apply(ops),
  registerData: (p, prep, s) => {
    if ((p.state ?? 'present') === 'absent') return { repo: null, dest: prep.dest, key_filename: `${KEYRINGS_DIR}/${prep.slug}.gpg` };
    let sb: ReturnType<typeof resolveSignedBy> = {};
    try {
      sb = resolveSignedBy(p, prep, s);
    } catch {
      // The plan reported the fetch error.
    }
    const keyFilename = sb.keyring?.path ?? (s.signedByFile ? p.signed_by : null);
    const repo = renderSources(p, sb.value);
    // Ansible's exit_json adds the file's attributes (add_path_info) as they are after the task.
    const [uid, gid, owner, group] = s.sources.ids ?? [0, 0, 'root', 'root'];
    const attrs = { uid, gid, owner, group, mode: normMode(p.mode ?? '0644'), state: 'file', size: Buffer.byteLength(repo) };
    return { repo, dest: prep.dest, key_filename: keyFilename ?? null, ...attrs };
  },
});
