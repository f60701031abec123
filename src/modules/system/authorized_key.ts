/**
 * `authorized_key`: SSH public keys in a user's authorized_keys, as ansible.posix.authorized_key
 * (the `ansible` 7.7 collection) edits it, so a file Ansible wrote converges under Kiln and the
 * other way round.
 *
 * The probe returns the file (and the user's home, uid and gid); the edit is a port of Ansible's
 * `enforce_state` (`authorizedKeysEdit`, pure): lines are keyed by the key's base64 blob; a key
 * whose options or comment differ is replaced and moves to the end; `exclusive` removes every other
 * line (comments and blank lines too); options compare as Ansible's dict of lists (the order of
 * different options does not matter). A write creates ~user/.ssh (0700) when `manage_dir`, sets it
 * 0700 and owned by the user, and writes the file atomically, 0600 and owned by the user.
 * A `key` that is a URL is refused: Kiln does not fetch keys (give the key's text, e.g. with
 * `lookup('url', …)` or `lookup('file', …)`).
 */
import { contentDiff } from '../files/content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['user', 'key'],
  properties: {
    user: { type: 'string', minLength: 1, description: 'the user whose authorized_keys is edited (its owner)' },
    key: {
      type: 'string',
      minLength: 1,
      description:
        'the public key line(s), e.g. "ssh-ed25519 AAAA… me@host"; several keys one per line (lines starting with # are ignored); a URL is refused (Kiln does not fetch keys: give the text)',
    },
    path: {
      type: 'string',
      pattern: '^/',
      description: 'absolute path of the authorized_keys file (default ~user/.ssh/authorized_keys)',
    },
    manage_dir: {
      type: 'boolean',
      description: "when writing, create the file's directory (0700) and set it 0700 and owned by the user (default true)",
    },
    state: { enum: ['present', 'absent'], description: 'present (default): the key(s) are there; absent: removed' },
    key_options: {
      type: 'string',
      minLength: 1,
      description: "options written before each key, e.g. 'no-port-forwarding,from=\"10.0.0.1\"' (replace the key's own)",
    },
    exclusive: {
      type: 'boolean',
      description: 'remove every other line of the file (other keys, comments, blank lines); only with state: present',
    },
    comment: { type: 'string', description: "the keys' comment (replaces the key's own)" },
    follow: { type: 'boolean', description: 'if the file is a symlink, write its target (default false: the link is replaced by a file)' },
    validate_certs: {
      type: 'boolean',
      description: "accepted for Ansible's sake: it only concerns a key fetched from a URL, which Kiln refuses",
    },
  },
} as const;

export type AuthorizedKeyParams = FromSchema<typeof schema>;

export interface AuthorizedKeyState {
  userExists: boolean;
  home?: string;
  uid?: string;
  gid?: string;
  /** Ansible's keyfile: path or ~/.ssh/authorized_keys (not resolved). */
  keyfile: string;
  /** The file read and written: keyfile, its symlinks resolved with follow. */
  target: string;
  /** The file as it is, '' when missing (as Ansible's readfile). */
  content: string;
  exists: boolean;
  sha256: string;
  notFile?: boolean;
  /** The user's primary group's name. */
  groupName?: string;
  /** lstat of keyfile (Ansible's add_path_info when path is given): uid gid owner group mode size type. */
  stat?: { uid: number; gid: number; owner: string; group: string; mode: string; size: number; type: string };
}

export type AuthorizedKeyOp = { kind: 'write'; keyfile: string; content: string; expect: { sha256: string } | 'absent' };

/** An option name → its values, in order (Ansible's keydict); `null` for a flag such as no-pty. */
type Options = [string, string | null][];

/** One line of the file as Ansible keeps it: a key, or a line it does not parse ("skipped"). */
interface Entry {
  /** The key's blob; for a skipped line the raw line (with its newline). */
  id: string;
  type: string | 'skipped';
  options: Options;
  comment: string;
  rank: number;
}

const KEY_TYPES = new Set([
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'webauthn-sk-ecdsa-sha2-nistp256@openssh.com',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'ssh-ed25519',
  'ssh-ed25519-cert-v01@openssh.com',
  'ssh-dss',
  'ssh-rsa',
  'ssh-xmss@openssh.com',
  'ssh-xmss-cert-v01@openssh.com',
  'rsa-sha2-256',
  'rsa-sha2-512',
  'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
]);

/** Ansible's parseoptions. */
export function parseOptions(options: string | undefined): Options {
  const out: Options = [];
  if (!options) return out;
  const parts = options.split(/((?:[^,"']|"[^"]*"|'[^']*')+)/).slice(1, -1);
  for (const part of parts) {
    const i = part.indexOf('=');
    if (i >= 0) out.push([part.slice(0, i), part.slice(i + 1)]);
    else if (part !== ',') out.push([part, null]);
  }
  return out;
}

/** Python's str.splitlines(True). */
function splitlinesKeep(s: string): string[] {
  return (
    s.match(/[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]|$)/g)?.filter((l) => l !== '') ?? []
  );
}

/** Ansible's parsekey: null when no key type is found. */
export function parseKey(raw: string, rank: number): Entry | null {
  const line = raw.replace(/\\#/g, '#');
  const parts = line.split(/[ \t\r\n]+/).filter((x) => x !== '');
  if (parts[0] === '#') return { id: line, type: 'skipped', options: [], comment: '', rank };
  const t = parts.findIndex((x) => KEY_TYPES.has(x));
  if (t < 0) return null;
  if (t + 1 >= parts.length) throw new Error(`invalid key specified: ${raw.trim()}`);
  return {
    id: parts[t + 1],
    type: parts[t],
    options: parseOptions(t > 0 ? parts.slice(0, t).join(' ') : undefined),
    comment: parts.slice(t + 2).join(' '),
    rank,
  };
}

/** Equality of two option lists as Python dicts of lists (key order does not matter, value order does). */
function sameOptions(a: Options, b: Options): boolean {
  const m = (o: Options) => {
    const d = new Map<string, (string | null)[]>();
    for (const [k, v] of o) d.set(k, [...(d.get(k) ?? []), v]);
    return d;
  };
  const x = m(a);
  const y = m(b);
  if (x.size !== y.size) return false;
  for (const [k, v] of x) {
    const w = y.get(k);
    if (!w || w.length !== v.length || v.some((e, i) => e !== w[i])) return false;
  }
  return true;
}

function serialize(entries: Map<string, Entry>): string {
  return [...entries.values()]
    .sort((a, b) => a.rank - b.rank)
    .map((e) => {
      if (e.type === 'skipped') return e.id;
      const opts = e.options.length ? `${e.options.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(',')} ` : '';
      return `${opts}${e.type} ${e.id} ${e.comment}\n`;
    })
    .join('');
}

/** The key's text is a URL for Ansible when it starts with "http". */
export const isUrlKey = (key: string) => key.startsWith('http');

/** Ansible's enforce_state on the file's content, pure: the new content, or undefined when nothing changes. */
export function authorizedKeysEdit(p: AuthorizedKeyParams, existing: string): string | undefined {
  const state = p.state ?? 'present';
  const entries = new Map<string, Entry>();
  splitlinesKeep(existing).forEach((line, rank) => {
    const e = parseKey(line, rank);
    entries.set(e ? e.id : line, e ?? { id: line, type: 'skipped', options: [], comment: '', rank });
  });
  const maxRank = entries.size;
  const newKeys = p.key.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).filter((s) => s && !s.startsWith('#'));
  const keep: string[] = [];
  let write = false;
  newKeys.forEach((raw, rank) => {
    let k = parseKey(raw, rank);
    if (!k || k.type === 'skipped') throw new Error(`invalid key specified: ${raw}`);
    if (p.key_options !== undefined) k = { ...k, options: parseOptions(p.key_options) };
    if (p.comment !== undefined) k = { ...k, comment: p.comment };
    const old = entries.get(k.id);
    let matched = false;
    let nonMatching = false;
    if (old) {
      const same = old.type === k.type && old.comment === k.comment && sameOptions(old.options, k.options);
      if (!same && state === 'present') nonMatching = true;
      else matched = true;
    }
    if (state === 'present') {
      keep.push(k.id);
      if (nonMatching) {
        entries.delete(k.id);
        write = true;
      }
      if (!matched) {
        entries.set(k.id, { ...k, rank: maxRank + k.rank });
        write = true;
      }
    } else if (matched) {
      entries.delete(k.id);
      write = true;
    }
  });
  if (state === 'present' && p.exclusive) {
    for (const id of [...entries.keys()]) {
      if (!keep.includes(id)) {
        entries.delete(id);
        write = true;
      }
    }
  }
  return write ? serialize(entries) : undefined;
}

export function authorizedKeyProbe(p: AuthorizedKeyParams): string {
  return [
    `if e=$(getent passwd -- ${q(p.user)}); then echo user=1`,
    "  printf 'home_b64='; printf %s \"$e\" | cut -d: -f6 | tr -d '\\n' | base64 -w0; echo",
    '  echo "uid=$(printf %s "$e" | cut -d: -f3)"; echo "gid=$(printf %s "$e" | cut -d: -f4)"',
    '  home=$(printf %s "$e" | cut -d: -f6)',
    '  g=$(getent group "$(printf %s "$e" | cut -d: -f4)" | cut -d: -f1); echo "groupname=$g"',
    'else echo user=0; home=; fi',
    p.path ? `f=${q(p.path)}` : 'f="$home/.ssh/authorized_keys"',
    'printf \'keyfile_b64=\'; printf %s "$f" | base64 -w0; echo',
    'if [ -e "$f" ] || [ -L "$f" ]; then echo "lstat=$(stat -c \'%u %g %U %G %a %s %F\' -- "$f")"; fi',
    p.follow ? 'r=$(realpath -m -- "$f") && f=$r' : '',
    'printf \'target_b64=\'; printf %s "$f" | base64 -w0; echo',
    'if [ -f "$f" ]; then echo exists=1; echo "sha256=$(sha256sum < "$f" | cut -d\' \' -f1)"',
    '  printf \'content_b64=\'; base64 -w0 < "$f"; echo',
    'elif [ -e "$f" ]; then echo notfile=1; else echo exists=0; fi',
  ]
    .filter(Boolean)
    .join('\n');
}

export function authorizedKeyParse(out: ExecResult): AuthorizedKeyState {
  const kv = parseKv(out.stdout);
  return {
    userExists: kv.user === '1',
    home: kv.user === '1' ? fromB64(kv.home_b64) : undefined,
    uid: kv.uid,
    gid: kv.gid,
    keyfile: fromB64(kv.keyfile_b64),
    target: fromB64(kv.target_b64),
    content: fromB64(kv.content_b64),
    exists: kv.exists === '1',
    sha256: kv.sha256 ?? '',
    notFile: kv.notfile === '1',
    groupName: kv.groupname,
    stat: kv.lstat ? lstatOf(kv.lstat) : undefined,
  };
}

function lstatOf(v: string): AuthorizedKeyState['stat'] {
  const [uid, gid, owner, group, mode, size, ...type] = v.split(' ');
  const t = type.join(' ');
  const kind = t === 'symbolic link' ? 'link' : t === 'directory' ? 'directory' : 'file';
  return { uid: Number(uid), gid: Number(gid), owner, group, mode: `0${mode.padStart(3, '0')}`, size: Number(size), type: kind };
}

/** Ansible's result: the module's params, keyfile, and (with path) the file's attributes after the run. */
export function authorizedKeyRegisterData(p: AuthorizedKeyParams, s: AuthorizedKeyState): Record<string, unknown> {
  const out: Record<string, unknown> = {
    user: p.user,
    key: p.key,
    path: p.path ?? null,
    manage_dir: p.manage_dir ?? true,
    state: p.state ?? 'present',
    key_options: p.key_options ?? null,
    exclusive: p.exclusive ?? false,
    comment: p.comment ?? null,
    validate_certs: p.validate_certs ?? true,
    follow: p.follow ?? false,
    keyfile: s.keyfile,
  };
  if (!p.path) return out;
  const after = authorizedKeysEdit(p, s.content);
  if (after !== undefined && s.uid !== undefined && s.gid !== undefined) {
    // What the write leaves: the user's file, 0600.
    return {
      ...out,
      uid: Number(s.uid),
      gid: Number(s.gid),
      owner: p.user,
      group: s.groupName ?? s.gid,
      mode: '0600',
      size: Buffer.byteLength(after),
      state: 'file',
    };
  }
  if (!s.stat) return out;
  const { type, ...st } = s.stat;
  return { ...out, ...st, state: type };
}

export function authorizedKeyPlan(p: AuthorizedKeyParams, s: AuthorizedKeyState, ctx: ModuleContext): Planned<AuthorizedKeyOp>[] {
  if (!s.userExists) {
    if (!p.path)
      throw new Error(
        ctx.check
          ? 'Either user must exist or you must provide full path to key file in check mode'
          : `Failed to lookup user ${p.user}: the user does not exist`,
      );
  }
  if (s.notFile) throw new Error(`${s.target} is not a file`);
  const after = authorizedKeysEdit(p, s.content);
  if (after === undefined) return [];
  if (!s.userExists && !ctx.check) throw new Error(`Failed to lookup user ${p.user}: the user does not exist`);
  const n = p.key.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const what = n === 1 ? 'key' : `${n} keys`;
  return [
    {
      summary:
        (p.state ?? 'present') === 'absent'
          ? `remove ${what} from ${s.target}`
          : `${s.exists ? 'update' : 'create'} ${s.target} with the ${what}${p.exclusive ? ' (exclusive)' : ''}`,
      diff: ctx.diff ? contentDiff(s.target, s.content, after, false) : undefined,
      op: { kind: 'write', keyfile: s.target, content: after, expect: s.exists ? { sha256: s.sha256 } : 'absent' },
    },
  ];
}

export function authorizedKeyApply(p: AuthorizedKeyParams, s: AuthorizedKeyState, ops: AuthorizedKeyOp[]): string {
  const lines = ['set -e'];
  const owner = `${s.uid}:${s.gid}`;
  for (const op of ops) {
    const dir = op.keyfile.replace(/\/[^/]*$/, '') || '/';
    if (p.manage_dir !== false) {
      // Ansible: the key file's directory (without path: ~/.ssh) is created 0700, then owned by the user and 0700.
      const sshdir = p.path ? p.path.replace(/\/[^/]*$/, '') || '/' : `${s.home}/.ssh`;
      lines.push(`d=${q(sshdir)}`, '[ -e "$d" ] || mkdir -m 0700 -- "$d"', `chown ${q(owner)} "$d"`, 'chmod 0700 "$d"');
    }
    lines.push(`mkdir -p -- ${q(dir)}`);
    lines.push(
      ...atomicWrite({ dest: op.keyfile, bytes: op.content, expect: op.expect, attrs: { owner: s.uid, group: s.gid, mode: '0600' } }),
    );
  }
  return lines.join('\n');
}

export default defineModule<AuthorizedKeyParams, AuthorizedKeyState, AuthorizedKeyOp, undefined>({
  name: 'authorized_key',
  description: "Add or remove SSH public keys in a user's authorized_keys (ansible.posix.authorized_key's format).",
  schema,
  prepare: (p) => {
    if (isUrlKey(p.key))
      throw new Error(
        "key: a URL is not supported (Kiln does not fetch keys on the host): give the key's text, e.g. \"{{ lookup('file', 'me.pub') }}\"",
      );
    for (const [i, raw] of p.key.split(/\r?\n/).entries()) {
      if (!raw || raw.startsWith('#')) continue;
      const k = parseKey(raw, i);
      if (!k || k.type === 'skipped') throw new Error(`invalid key specified: ${raw}`);
    }
    return undefined;
  },
  probe: (p) => authorizedKeyProbe(p),
  parse: (out) => authorizedKeyParse(out),
  plan: (p, _prep, s, ctx) => authorizedKeyPlan(p, s, ctx),
  apply: (p, _prep, s, ops) => authorizedKeyApply(p, s, ops),
  registerData: (p, _prep, s) => authorizedKeyRegisterData(p, s),
});
