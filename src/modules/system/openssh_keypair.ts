/**
 * `openssh_keypair`: an OpenSSH key pair on the host, made by ssh-keygen
 * (community.crypto.openssh_keypair with its `opensshbin` backend, which `auto` selects when no
 * passphrase is given).
 *
 * As Ansible: the private key is read with `ssh-keygen -l -f PATH` (size, fingerprint, type) and
 * `ssh-keygen -P '' -y -f PATH` (the matching public key). A key that cannot be read (broken, or
 * protected by a passphrase) fails the task with `regenerate` never/fail/partial_idempotence and
 * is regenerated with full_idempotence/always. A key of the wrong type or size is regenerated
 * (partial/full_idempotence), fails (fail) or is kept (never). `force: true` is `regenerate:
 * always`: a new key on every run (planned as an action). When the key is kept but PATH.pub does
 * not match it (or its comment differs from `comment`), PATH.pub is rewritten and the comment set
 * with `ssh-keygen -o -c -C`. owner/group/mode apply to both files. A new pair is generated in a
 * temp directory beside PATH and moved into place (private key first).
 *
 * `passphrase` is refused: ssh-keygen takes a new key's passphrase only in its argv (-N) or from
 * a terminal, and Kiln never puts a secret in a remote argv. The result is Ansible's: filename,
 * fingerprint, public_key, size, type, comment.
 */
import { type AttrOp, applyAttrOps, attrSchema, planAttrs, type StatState } from '../files/attrs.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: {
      type: 'string',
      pattern: '^/.*[^/]$',
      description: 'absolute path of the private key; the public key is PATH.pub',
    },
    type: {
      enum: ['rsa', 'dsa', 'ecdsa', 'ed25519'],
      description: 'key algorithm (default rsa); rsa1 (SSH protocol 1) is refused: OpenSSH no longer makes such keys',
    },
    size: {
      type: 'integer',
      description: 'bits: rsa at least 1024 (default 4096), dsa exactly 1024, ecdsa 256 (default), 384 or 521; ignored for ed25519 (256)',
    },
    comment: { type: 'string', description: "the public key's comment (a different comment is set without regenerating the key)" },
    regenerate: {
      enum: ['never', 'fail', 'partial_idempotence', 'full_idempotence', 'always'],
      description:
        'when an existing key is replaced: never; fail (fail on a wrong type/size); partial_idempotence (default: wrong type/size, but an unreadable key fails); full_idempotence (also an unreadable or passphrase-protected key); always (every run)',
    },
    force: { type: 'boolean', description: 'regenerate the key on every run (regenerate: always)' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent (both files removed)' },
    backend: {
      enum: ['auto', 'opensshbin'],
      description:
        "auto (default) or opensshbin: Kiln runs ssh-keygen (Ansible's auto picks it without a passphrase); cryptography is refused",
    },
    private_key_format: {
      enum: ['auto'],
      description: "auto only: ssh-keygen's OpenSSH format (as Ansible's opensshbin backend, which refuses other formats)",
    },
    ...attrSchema,
  },
} as const;

export type OpensshKeypairParams = FromSchema<typeof schema>;

export interface KeyInfo {
  size: number;
  type: string;
  fingerprint: string;
}

export interface OpensshKeypairState {
  isDir: boolean;
  parentExists: boolean;
  privExists: boolean;
  pubExists: boolean;
  /** `ssh-keygen -l` of the private key, when it parses. */
  info?: KeyInfo;
  /** `ssh-keygen -P '' -y` succeeded. */
  readable: boolean;
  /** The public key derived from the private one: "type data [comment]". */
  derived?: string;
  /** PATH.pub's content (trimmed). */
  pub?: string;
  privStat: StatState;
  pubStat: StatState;
}

export type OpensshKeypairOp =
  | { kind: 'generate'; size: number; type: string; overwrite: boolean }
  | { kind: 'restore-public'; comment?: string }
  | { kind: 'remove' }
  | { kind: 'attrs'; file: 'private' | 'public'; attr: AttrOp };

function keySize(type: string, size: number | undefined): number {
  if (type === 'rsa') {
    const r = size ?? 4096;
    if (r < 1024) throw new Error('openssh_keypair: for RSA keys, the minimum size is 1024 bits and the default is 4096 bits');
    return r;
  }
  if (type === 'dsa') {
    if ((size ?? 1024) !== 1024) throw new Error('openssh_keypair: DSA keys must be exactly 1024 bits as specified by FIPS 186-2');
    return 1024;
  }
  if (type === 'ecdsa') {
    const r = size ?? 256;
    if (![256, 384, 521].includes(r)) throw new Error('openssh_keypair: for ECDSA keys, size must be 256, 384 or 521 bits');
    return r;
  }
  return 256;
}

const statLine = (path: string, tag: string) =>
  `if [ -e ${path} ]; then echo ${tag}_exists=1; printf '${tag}_mode=%s\\n${tag}_owner=%s\\n${tag}_group=%s\\n' "$(stat -c %a ${path} | awk '{printf "%04d", $1}')" "$(stat -c %U ${path})" "$(stat -c %G ${path})"; else echo ${tag}_exists=0; fi`;

export function keypairProbe(p: OpensshKeypairParams): string {
  const k = q(p.path);
  const pub = q(`${p.path}.pub`);
  return [
    `[ -d ${k} ] && echo isdir=1`,
    `[ -d "$(dirname -- ${k})" ] && echo parent=1`,
    statLine(k, 'priv'),
    statLine(pub, 'pub'),
    `if [ -f ${k} ]; then`,
    `  printf 'info=%s\\n' "$(ssh-keygen -l -f ${k} </dev/null 2>/dev/null | head -n1)"`,
    `  if y=$(ssh-keygen -P '' -y -f ${k} </dev/null 2>/dev/null); then echo readable=1; printf 'derived_b64=%s\\n' "$(printf %s "$y" | base64 -w0)"; fi`,
    'fi',
    `[ -f ${pub} ] && printf 'pub_b64=%s\\n' "$(base64 -w0 < ${pub})"`,
    'true',
  ].join('\n');
}

/** `ssh-keygen -l` output: "4096 SHA256:… comment (RSA)" → size, fingerprint, type (Ansible's PrivateKey.from_string). */
export function parseInfo(line: string | undefined): KeyInfo | undefined {
  const parts = (line ?? '').trim().split(/\s+/);
  if (parts.length < 3 || !/^\d+$/.test(parts[0]) || !/^\(.+\)$/.test(parts.at(-1)!)) return undefined;
  return { size: Number(parts[0]), fingerprint: parts[1], type: parts.at(-1)!.slice(1, -1).toLowerCase() };
}

function stat(kv: Record<string, string>, tag: string): StatState {
  return kv[`${tag}_exists`] === '1'
    ? { exists: true, type: 'file', mode: kv[`${tag}_mode`], owner: kv[`${tag}_owner`], group: kv[`${tag}_group`] }
    : { exists: false };
}

export function keypairParse(out: ExecResult): OpensshKeypairState {
  const kv = parseKv(out.stdout);
  return {
    isDir: kv.isdir === '1',
    parentExists: kv.parent === '1',
    privExists: kv.priv_exists === '1',
    pubExists: kv.pub_exists === '1',
    info: parseInfo(kv.info),
    readable: kv.readable === '1',
    derived: kv.derived_b64 !== undefined ? fromB64(kv.derived_b64).trim() : undefined,
    pub: kv.pub_b64 !== undefined ? fromB64(kv.pub_b64).trim() : undefined,
    privStat: stat(kv, 'priv'),
    pubStat: stat(kv, 'pub'),
  };
}

interface PublicKey {
  type: string;
  data: string;
  comment: string;
}
function parsePublic(s: string | undefined): PublicKey | undefined {
  if (s === undefined) return undefined;
  const parts = s.trim().split(' ');
  if (parts.length < 2) return undefined;
  return { type: parts[0], data: parts[1], comment: parts.slice(2).join(' ') };
}

/** Ansible's _public_key_valid: PATH.pub has the derived key, and `comment` when one is given. */
export function publicKeyValid(s: OpensshKeypairState, comment: string | undefined): boolean {
  const file = parsePublic(s.pub);
  const derived = parsePublic(s.derived);
  if (!file || !derived) return false;
  return file.type === derived.type && file.data === derived.data && (comment === undefined || file.comment === comment);
}

export function keypairPlan(p: OpensshKeypairParams, s: OpensshKeypairState): Planned<OpensshKeypairOp>[] {
  if (s.isDir) throw new Error(`openssh_keypair: ${p.path} is a directory. Please specify a path to a file.`);
  if ((p.state ?? 'present') === 'absent') {
    return s.privExists || s.pubExists
      ? [{ summary: `remove key pair ${p.path}${s.pubExists ? ' and .pub' : ''}`, op: { kind: 'remove' } }]
      : [];
  }
  if (!s.parentExists) throw new Error(`openssh_keypair: the directory of ${p.path} does not exist`);
  const type = p.type ?? 'rsa';
  const size = keySize(type, p.size);
  const regenerate = p.force ? 'always' : (p.regenerate ?? 'partial_idempotence');
  const original = s.readable ? s.info : undefined;
  if (s.privExists && ['never', 'fail', 'partial_idempotence'].includes(regenerate) && (!s.info || !s.readable))
    throw new Error(
      `openssh_keypair: unable to read the key ${p.path}. The key is protected with a passphrase or broken. Will not proceed. To force regeneration, set regenerate to full_idempotence or always, or force: true`,
    );
  const valid = original !== undefined && original.size === size && original.type === type;
  let generate: boolean;
  if (!original) generate = true;
  else if (regenerate === 'never') generate = false;
  else if (regenerate === 'fail') {
    if (!valid)
      throw new Error(
        `openssh_keypair: key ${p.path} has wrong type and/or size (${original.type} ${original.size}, want ${type} ${size}). Will not proceed. To force regeneration, set regenerate to partial_idempotence, full_idempotence or always, or force: true`,
      );
    generate = false;
  } else if (regenerate === 'always') generate = true;
  else generate = !valid;
  const out: Planned<OpensshKeypairOp>[] = [];
  const attrsWanted = { owner: p.owner, group: p.group, mode: p.mode };
  if (generate) {
    const why = !s.privExists
      ? ''
      : !original
        ? ' (the existing key cannot be read)'
        : regenerate === 'always'
          ? ' (regenerate: always)'
          : ` (was ${original.type} ${original.size})`;
    out.push({
      summary: `generate ${type} ${size}-bit key pair ${p.path}${why}`,
      op: { kind: 'generate', size, type, overwrite: s.privExists || s.pubExists },
      action: regenerate === 'always' && s.privExists ? true : undefined,
    });
    // The new files get the wanted attributes after the move (ssh-keygen makes them 0600 and 0644).
    for (const [file, st] of [
      ['private', { exists: true, mode: '0600' }],
      ['public', { exists: true, mode: '0644' }],
    ] as const) {
      const fresh: StatState = { ...st, owner: undefined, group: undefined };
      for (const c of planAttrs(file === 'private' ? p.path : `${p.path}.pub`, attrsWanted, fresh))
        if (c.op.kind !== 'mode' || c.op.mode !== st.mode)
          out.push({ ...c, summary: c.summary.replace(/: undefined → /, ': → '), op: { kind: 'attrs', file, attr: c.op } });
    }
    return out;
  }
  if (!publicKeyValid(s, p.comment))
    out.push({
      summary: `${s.pubExists ? 'rewrite' : 'restore'} ${p.path}.pub from the private key${p.comment !== undefined ? ` (comment ${JSON.stringify(p.comment)})` : ''}`,
      op: { kind: 'restore-public', comment: p.comment },
    });
  for (const [file, st] of [
    ['private', s.privStat],
    ['public', s.pubExists ? s.pubStat : { exists: true, mode: '0644', owner: undefined, group: undefined }],
  ] as const)
    for (const c of planAttrs(file === 'private' ? p.path : `${p.path}.pub`, attrsWanted, st))
      out.push({ ...c, op: { kind: 'attrs', file, attr: c.op } });
  return out;
}

export function keypairApply(p: OpensshKeypairParams, ops: OpensshKeypairOp[]): string {
  const k = q(p.path);
  const pub = q(`${p.path}.pub`);
  const lines = ['set -e'];
  for (const op of ops) {
    switch (op.kind) {
      case 'remove':
        lines.push(`rm -f -- ${k} ${pub}`);
        break;
      case 'generate':
        lines.push(
          `t=$(mktemp -d "$(dirname -- ${k})/.kiln.keypair.XXXXXX")`,
          `trap 'rm -rf "$t"' EXIT`,
          `ssh-keygen -q -N '' -b ${op.size} -t ${op.type} -f "$t/key" -C ${q(p.comment ?? '')} </dev/null`,
          `mv -f -- "$t/key" ${k}`,
          `mv -f -- "$t/key.pub" ${pub}`,
          'rm -rf "$t"; trap - EXIT',
        );
        break;
      case 'restore-public':
        // The private key's comment first (ssh-keygen -c rewrites PATH.pub only when the comment
        // changes), then PATH.pub itself: "type data" as Ansible writes it, plus the comment when
        // one is given (Ansible writes it without and relies on -c, which never converges when the
        // private key already has that comment).
        if (op.comment !== undefined) lines.push(`ssh-keygen -q -o -c -C ${q(op.comment)} -P '' -f ${k} </dev/null >/dev/null`);
        lines.push(
          `y=$(ssh-keygen -P '' -y -f ${k} </dev/null | awk '{print $1" "$2}')`,
          `t=$(mktemp "$(dirname -- ${k})/.kiln.pub.XXXXXX")`,
          op.comment !== undefined ? `printf '%s %s\n' "$y" ${q(op.comment)} > "$t"` : `printf '%s\n' "$y" > "$t"`,
          `if [ -f ${pub} ]; then chmod --reference=${pub} "$t"; chown --reference=${pub} "$t"; else chmod 0644 "$t"; fi`,
          `mv -f -- "$t" ${pub}`,
        );
        break;
      case 'attrs':
        break;
    }
  }
  for (const file of ['private', 'public'] as const) {
    const attrs = ops.flatMap((o) => (o.kind === 'attrs' && o.file === file ? [o.attr] : []));
    const sh = applyAttrOps(file === 'private' ? k : pub, attrs);
    if (sh) lines.push(sh);
  }
  if (!ops.some((o) => o.kind === 'remove'))
    lines.push(`printf 'info=%s\\n' "$(ssh-keygen -l -f ${k} </dev/null | head -n1)"`, `printf 'pub_b64=%s\\n' "$(base64 -w0 < ${pub})"`);
  return lines.join('\n');
}

/** Ansible's result: what the files hold (after an apply: what it made). */
export function keypairResult(p: OpensshKeypairParams, info: KeyInfo | undefined, pub: string | undefined): Record<string, unknown> {
  const type = p.type ?? 'rsa';
  const pk = parsePublic(pub);
  return {
    size: keySize(type, p.size),
    type,
    filename: p.path,
    fingerprint: info?.fingerprint ?? '',
    public_key: pk ? `${pk.type} ${pk.data}` : '',
    comment: pk?.comment ?? '',
  };
}

export default defineModule<OpensshKeypairParams, OpensshKeypairState, OpensshKeypairOp>({
  name: 'openssh_keypair',
  description: 'Generate (or remove) an OpenSSH key pair with ssh-keygen; fix its public key, comment and permissions.',
  schema,
  probe: (p) => keypairProbe(p),
  parse: (out) => keypairParse(out),
  plan: (p, _prep, s) => keypairPlan(p, s),
  apply: (p, _prep, _s, ops) => keypairApply(p, ops),
  interpret(p, _prep, out) {
    const kv = parseKv(out.stdout);
    if (kv.pub_b64 === undefined) return { result: keypairResult(p, undefined, undefined) };
    return { result: keypairResult(p, parseInfo(kv.info), fromB64(kv.pub_b64)) };
  },
  registerData: (p, _prep, s) =>
    (p.state ?? 'present') === 'absent' ? keypairResult(p, s.info, s.pub) : keypairResult(p, s.readable ? s.info : undefined, s.pub),
});
