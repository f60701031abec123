/**
 * `user`: a local account (getent passwd/shadow, id; useradd / usermod / userdel / chpasswd -e).
 *
 * `password` is a crypt hash and a secret: the probe prints only the sha256 of the hash in
 * /etc/shadow, the controller compares it with the sha256 of the wanted hash, and apply feeds
 * "name:hash" to `chpasswd -e` through a heredoc (never argv). Summaries say "password of X",
 * and no op carries the hash: apply reads it from the params. The password param arrives as a
 * `Secret` (secretParams) although its schema type is string.
 *
 * Plan compares each field and emits one typed op per drifted field; apply turns them into one
 * useradd/usermod/userdel command (plus chpasswd), never looking at the summaries.
 */
import { isSecret } from '../../core/secret/secret.ts';
import { q } from '../../sh/quote.ts';
import { sha256 } from '../../sh/bytes.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const NAME = '^[a-z_][a-z0-9_.-]*\\$?$';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, maxLength: 32, description: 'user name' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent' },
    uid: { type: 'integer', minimum: 0, description: 'numeric user id' },
    group: {
      type: 'string',
      minLength: 1,
      description: 'primary group (name or gid); default on creation: a new group named like the user',
    },
    groups: { type: 'array', items: { type: 'string', pattern: NAME }, description: 'supplementary groups (see append)' },
    append: { type: 'boolean', description: 'false (default): groups is the exact supplementary list; true: only add the user to groups' },
    shell: { type: 'string', pattern: '^/', description: 'login shell' },
    home: { type: 'string', pattern: '^/', description: 'home directory (an existing user’s files are not moved)' },
    create_home: { type: 'boolean', description: 'create the home directory when creating the user (default true)' },
    system: { type: 'boolean', description: 'create a system account (uid from the system range); no effect on an existing user' },
    comment: { type: 'string', pattern: '^[^:\\n]*$', description: 'GECOS field (full name)' },
    password: {
      'x-secret': true,
      type: 'string',
      description: 'crypt hash (e.g. from `mkpasswd -m yescrypt`), never plaintext; "!" or "*" lock the password; treated as a secret',
    },
    remove: { type: 'boolean', description: 'state: absent also removes the home directory and mail spool (userdel -r)' },
  },
} as const;

export type UserParams = FromSchema<typeof schema>;

/** What apply does: create or remove the account, or change one field of it with usermod. */
export type UserOp =
  | { kind: 'create' }
  | { kind: 'remove' }
  | { kind: 'set-uid'; uid: number }
  | { kind: 'set-primary-group'; group: string }
  /** The exact supplementary list (usermod -G). */
  | { kind: 'set-groups'; groups: string[] }
  /** Only add to these groups (usermod -a -G). */
  | { kind: 'add-groups'; groups: string[] }
  | { kind: 'set-shell'; shell: string }
  | { kind: 'set-home'; home: string }
  | { kind: 'set-comment'; comment: string }
  /** Set the password hash from the params (the op never holds it). */
  | { kind: 'set-password' };

export interface UserState {
  exists: boolean;
  uid?: number;
  gid?: number;
  comment?: string;
  home?: string;
  shell?: string;
  primary?: string;
  /** Supplementary groups (primary excluded). */
  groups?: string[];
  /** sha256 of the shadow password field; undefined when /etc/shadow was not readable. */
  shadowSha?: string;
  shadowReadable?: boolean;
}

export function userProbe(p: UserParams): string {
  const n = q(p.name);
  return [
    `if line=$(getent passwd -- ${n} </dev/null); then`,
    '  printf \'passwd=%s\\n\' "$line"',
    '  printf \'primary=%s\\n\' "$(getent group "$(printf %s "$line" | cut -d: -f4)" </dev/null | cut -d: -f1)"',
    `  printf 'groups=%s\\n' "$(id -Gn -- ${n} 2>/dev/null)"`,
    // Only a digest of the hash leaves the host.
    `  if sh=$(getent shadow -- ${n} 2>/dev/null </dev/null); then printf 'shadow_sha=%s\\n' "$(printf %s "$sh" | cut -d: -f2 | tr -d '\\n' | sha256sum | cut -d' ' -f1)"; else echo shadow=unreadable; fi`,
    'fi',
    'true',
  ].join('\n');
}

export function userParse(out: ExecResult): UserState {
  const kv: Record<string, string> = {};
  for (const line of out.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  if (!kv.passwd) return { exists: false };
  const [, , uid, gid, comment, home, shell] = kv.passwd.split(':');
  const all = (kv.groups ?? '').split(/\s+/).filter(Boolean);
  const primary = kv.primary || all[0];
  return {
    exists: true,
    uid: Number(uid),
    gid: Number(gid),
    comment,
    home,
    shell,
    primary,
    groups: [...new Set(all.filter((g) => g !== primary))].sort(),
    shadowSha: kv.shadow_sha,
    shadowReadable: kv.shadow !== 'unreadable',
  };
}

function revealPassword(p: UserParams): string | undefined {
  const raw: unknown = p.password;
  if (raw === undefined) return undefined;
  const v = isSecret(raw) ? raw.reveal() : raw;
  if (typeof v !== 'string') throw new Error('password must be a string (a crypt hash)');
  if (!/^(\$[0-9a-z]+\$[^:\n]+|[!*][^:\n]*)$/.test(v)) {
    throw new Error(
      'password must be a crypt hash such as $y$… or $6$… (mkpasswd -m yescrypt), or "!"/"*" to lock; Kiln never hashes plaintext',
    );
  }
  return v;
}

function primaryDiffers(want: string, s: UserState): boolean {
  return /^\d+$/.test(want) ? Number(want) !== s.gid : want !== s.primary;
}

export function userPlan(p: UserParams, s: UserState, _ctx?: ModuleContext): Planned<UserOp>[] {
  const name = p.name;
  const pw = revealPassword(p);
  if ((p.state ?? 'present') === 'absent') {
    return s.exists ? [{ summary: `remove user ${name}${p.remove ? ' and its home directory' : ''}`, op: { kind: 'remove' } }] : [];
  }
  if (!s.exists) {
    const parts = [
      p.uid !== undefined ? `uid ${p.uid}` : '',
      p.group ? `group ${p.group}` : '',
      p.groups?.length ? `groups ${p.groups.join(',')}` : '',
      p.shell ? `shell ${p.shell}` : '',
      p.home ? `home ${p.home}` : '',
      p.system ? 'system' : '',
      p.create_home === false ? 'no home directory' : '',
      pw !== undefined ? 'with password' : '',
    ].filter(Boolean);
    return [{ summary: `create user ${name}${parts.length ? ` (${parts.join(', ')})` : ''}`, op: { kind: 'create' } }];
  }
  const out: Planned<UserOp>[] = [];
  if (p.uid !== undefined && p.uid !== s.uid)
    out.push({ summary: `uid of ${name}: ${s.uid} → ${p.uid}`, op: { kind: 'set-uid', uid: p.uid } });
  if (p.group && primaryDiffers(p.group, s))
    out.push({ summary: `primary group of ${name}: ${s.primary} → ${p.group}`, op: { kind: 'set-primary-group', group: p.group } });
  if (p.groups) {
    const want = [...new Set(p.groups.filter((g) => g !== (p.group ?? s.primary)))].sort();
    const have = s.groups ?? [];
    if (p.append) {
      const missing = want.filter((g) => !have.includes(g));
      if (missing.length) out.push({ summary: `add ${name} to groups ${missing.join(',')}`, op: { kind: 'add-groups', groups: missing } });
    } else if (want.join(',') !== have.join(',')) {
      // usermod -G gets the list as given (deduplicated); a primary group in it is harmless.
      out.push({
        summary: `groups of ${name}: ${have.join(',') || '(none)'} → ${want.join(',') || '(none)'}`,
        op: { kind: 'set-groups', groups: [...new Set(p.groups)] },
      });
    }
  }
  if (p.shell && p.shell !== s.shell)
    out.push({ summary: `shell of ${name}: ${s.shell} → ${p.shell}`, op: { kind: 'set-shell', shell: p.shell } });
  if (p.home && p.home !== s.home)
    out.push({ summary: `home of ${name}: ${s.home} → ${p.home} (files are not moved)`, op: { kind: 'set-home', home: p.home } });
  if (p.comment !== undefined && p.comment !== s.comment) {
    out.push({
      summary: `comment of ${name}: ${JSON.stringify(s.comment)} → ${JSON.stringify(p.comment)}`,
      op: { kind: 'set-comment', comment: p.comment },
    });
  }
  if (pw !== undefined) {
    const op: UserOp = { kind: 'set-password' };
    if (!s.shadowReadable)
      out.push({ summary: `password of ${name} (cannot compare: /etc/shadow is not readable; use become)`, unpredictable: true, op });
    else if (sha256(pw) !== s.shadowSha) out.push({ summary: `password of ${name}`, op });
  }
  return out;
}

function useraddArgs(p: UserParams): string {
  const a: string[] = [];
  if (p.uid !== undefined) a.push(`-u ${p.uid}`);
  if (p.group) a.push(`-g ${q(p.group)}`);
  if (p.groups?.length) a.push(`-G ${q(p.groups.join(','))}`);
  if (p.shell) a.push(`-s ${q(p.shell)}`);
  if (p.home) a.push(`-d ${q(p.home)}`);
  a.push(p.create_home === false ? '-M' : '-m');
  if (p.system) a.push('-r');
  if (p.comment !== undefined) a.push(`-c ${q(p.comment)}`);
  return a.join(' ');
}

export function userApply(p: UserParams, _s: UserState, ops: readonly UserOp[]): string {
  const n = q(p.name);
  const lines = ['set -e'];
  const mod: string[] = [];
  let password = false;
  for (const op of ops) {
    switch (op.kind) {
      case 'remove':
        lines.push(`userdel${p.remove ? ' -r' : ''} -- ${n}`);
        break;
      case 'create':
        lines.push(`useradd ${useraddArgs(p)} -- ${n}`);
        password = true;
        break;
      case 'set-uid':
        mod.push(`-u ${op.uid}`);
        break;
      case 'set-primary-group':
        mod.push(`-g ${q(op.group)}`);
        break;
      case 'set-groups':
        mod.push(`-G ${q(op.groups.join(','))}`);
        break;
      case 'add-groups':
        mod.push(`-a -G ${q(op.groups.join(','))}`);
        break;
      case 'set-shell':
        mod.push(`-s ${q(op.shell)}`);
        break;
      case 'set-home':
        mod.push(`-d ${q(op.home)}`);
        break;
      case 'set-comment':
        mod.push(`-c ${q(op.comment)}`);
        break;
      case 'set-password':
        password = true;
        break;
    }
  }
  if (mod.length) lines.push(`usermod ${mod.join(' ')} -- ${n}`);
  const pw = revealPassword(p);
  if (password && pw !== undefined) {
    // name:hash through a heredoc: the hash is never in a command's argv.
    const body = Buffer.from(`${p.name}:${pw}\n`).toString('base64');
    const tag = `KILN_PW_${sha256(body).slice(0, 12)}`;
    lines.push(`base64 -d <<'${tag}' | chpasswd -e\n${body}\n${tag}`);
  }
  return lines.join('\n');
}

export default defineModule<UserParams, UserState, UserOp>({
  name: 'user',
  description: 'Create, change or remove a local user: uid, groups, shell, home, comment and password hash.',
  schema,
  probe: (p) => userProbe(p),
  parse: (out) => userParse(out),
  plan: (p, _prep, s, ctx) => userPlan(p, s, ctx),
  apply: (p, _prep, s, ops) => userApply(p, s, ops),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    name: p.name,
    exists: s.exists,
    uid: s.uid ?? null,
    group: s.primary ?? null,
    groups: s.groups ?? [],
    home: s.home ?? null,
    shell: s.shell ?? null,
  }),
});
