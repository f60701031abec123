/**
 * `user`: a local account (getent passwd/shadow, id; useradd / usermod / userdel / chpasswd -e).
 *
 * `password` is a crypt hash and a secret: the probe prints only the sha256 of the hash in
 * /etc/shadow, the controller compares it with the sha256 of the wanted hash, and apply feeds
 * "name:hash" to `chpasswd -e` through a heredoc (never argv). Summaries say "password of X".
 */
import { isSecret, type Secret } from '../../core/secret/secret.ts';
import { q } from '../../sh/quote.ts';
import { sha256 } from '../../sh/bytes.ts';
import { type Change, defineLegacyModule, type ExecResult, type FromSchema, type ModuleContext } from '../contract.ts';

const NAME = '^[a-z_][a-z0-9_.-]*\\$?$';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: NAME, maxLength: 32, description: 'user name' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent' },
    uid: { type: 'integer', minimum: 0, description: 'numeric user id' },
    group: { type: 'string', minLength: 1, description: 'primary group (name or gid); default on creation: a new group named like the user' },
    groups: { type: 'array', items: { type: 'string', pattern: NAME }, description: 'supplementary groups (see append)' },
    append: { type: 'boolean', description: 'false (default): groups is the exact supplementary list; true: only add the user to groups' },
    shell: { type: 'string', pattern: '^/', description: 'login shell' },
    home: { type: 'string', pattern: '^/', description: 'home directory (an existing user’s files are not moved)' },
    create_home: { type: 'boolean', description: 'create the home directory when creating the user (default true)' },
    system: { type: 'boolean', description: 'create a system account (uid from the system range); no effect on an existing user' },
    comment: { type: 'string', pattern: '^[^:\\n]*$', description: 'GECOS field (full name)' },
    password: {
      type: 'string',
      description: 'crypt hash (e.g. from `mkpasswd -m yescrypt`), never plaintext; "!" or "*" lock the password; treated as a secret',
    },
    remove: { type: 'boolean', description: 'state: absent also removes the home directory and mail spool (userdel -r)' },
  },
} as const;

export type UserParams = Omit<FromSchema<typeof schema>, 'password'> & { password?: string | Secret };

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
    "  printf 'passwd=%s\\n' \"$line\"",
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
  if (p.password === undefined) return undefined;
  const v = isSecret(p.password) ? p.password.reveal() : p.password;
  if (typeof v !== 'string') throw new Error('password must be a string (a crypt hash)');
  if (!/^(\$[0-9a-z]+\$[^:\n]+|[!*][^:\n]*)$/.test(v)) {
    throw new Error('password must be a crypt hash such as $y$… or $6$… (mkpasswd -m yescrypt), or "!"/"*" to lock; Kiln never hashes plaintext');
  }
  return v;
}

function primaryDiffers(want: string, s: UserState): boolean {
  return /^\d+$/.test(want) ? Number(want) !== s.gid : want !== s.primary;
}

export function userPlan(p: UserParams, s: UserState, _ctx?: ModuleContext): Change[] {
  const name = p.name;
  const pw = revealPassword(p);
  if ((p.state ?? 'present') === 'absent') {
    return s.exists ? [{ summary: `remove user ${name}${p.remove ? ' and its home directory' : ''}` }] : [];
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
    return [{ summary: `create user ${name}${parts.length ? ` (${parts.join(', ')})` : ''}` }];
  }
  const out: Change[] = [];
  if (p.uid !== undefined && p.uid !== s.uid) out.push({ summary: `uid of ${name}: ${s.uid} → ${p.uid}` });
  if (p.group && primaryDiffers(p.group, s)) out.push({ summary: `primary group of ${name}: ${s.primary} → ${p.group}` });
  if (p.groups) {
    const want = [...new Set(p.groups.filter((g) => g !== (p.group ?? s.primary)))].sort();
    const have = s.groups ?? [];
    if (p.append) {
      const missing = want.filter((g) => !have.includes(g));
      if (missing.length) out.push({ summary: `add ${name} to groups ${missing.join(',')}` });
    } else if (want.join(',') !== have.join(',')) {
      out.push({ summary: `groups of ${name}: ${have.join(',') || '(none)'} → ${want.join(',') || '(none)'}` });
    }
  }
  if (p.shell && p.shell !== s.shell) out.push({ summary: `shell of ${name}: ${s.shell} → ${p.shell}` });
  if (p.home && p.home !== s.home) out.push({ summary: `home of ${name}: ${s.home} → ${p.home} (files are not moved)` });
  if (p.comment !== undefined && p.comment !== s.comment) out.push({ summary: `comment of ${name}: ${JSON.stringify(s.comment)} → ${JSON.stringify(p.comment)}` });
  if (pw !== undefined) {
    if (!s.shadowReadable) out.push({ summary: `password of ${name} (cannot compare: /etc/shadow is not readable; use become)`, unpredictable: true });
    else if (sha256(pw) !== s.shadowSha) out.push({ summary: `password of ${name}` });
  }
  return out;
}

export function userApply(p: UserParams, s: UserState, changes: Change[]): string {
  const n = q(p.name);
  const lines = ['set -e'];
  const has = (prefix: string) => changes.some((c) => c.summary.startsWith(prefix));
  if ((p.state ?? 'present') === 'absent') {
    lines.push(`userdel${p.remove ? ' -r' : ''} -- ${n}`);
    return lines.join('\n');
  }
  if (!s.exists) {
    const a: string[] = [];
    if (p.uid !== undefined) a.push(`-u ${p.uid}`);
    if (p.group) a.push(`-g ${q(p.group)}`);
    if (p.groups?.length) a.push(`-G ${q(p.groups.join(','))}`);
    if (p.shell) a.push(`-s ${q(p.shell)}`);
    if (p.home) a.push(`-d ${q(p.home)}`);
    a.push(p.create_home === false ? '-M' : '-m');
    if (p.system) a.push('-r');
    if (p.comment !== undefined) a.push(`-c ${q(p.comment)}`);
    lines.push(`useradd ${a.join(' ')} -- ${n}`);
  } else {
    const a: string[] = [];
    if (has(`uid of `)) a.push(`-u ${p.uid}`);
    if (has(`primary group of `)) a.push(`-g ${q(p.group!)}`);
    if (has(`groups of `)) a.push(`-G ${q([...new Set(p.groups ?? [])].join(','))}`);
    else if (has(`add ${p.name} to groups `)) {
      const missing = changes.find((c) => c.summary.startsWith(`add ${p.name} to groups `))!.summary.slice(`add ${p.name} to groups `.length);
      a.push(`-a -G ${q(missing)}`);
    }
    if (has(`shell of `)) a.push(`-s ${q(p.shell!)}`);
    if (has(`home of `)) a.push(`-d ${q(p.home!)}`);
    if (has(`comment of `)) a.push(`-c ${q(p.comment ?? '')}`);
    if (a.length) lines.push(`usermod ${a.join(' ')} -- ${n}`);
  }
  const pw = revealPassword(p);
  if (pw !== undefined && (!s.exists || has(`password of `))) {
    // name:hash through a heredoc: the hash is never in a command's argv.
    const body = Buffer.from(`${p.name}:${pw}\n`).toString('base64');
    const tag = `KILN_PW_${sha256(body).slice(0, 12)}`;
    lines.push(`base64 -d <<'${tag}' | chpasswd -e\n${body}\n${tag}`);
  }
  return lines.join('\n');
}

export default defineLegacyModule<UserParams, UserState>({
  name: 'user',
  description: 'Create, change or remove a local user: uid, groups, shell, home, comment and password hash.',
  schema,
  secretParams: ['password'],
  probe: (p) => userProbe(p),
  parse: (out) => userParse(out),
  plan: userPlan,
  apply: userApply,
  describe: (p, s) => ({
    name: p.name,
    exists: s.exists,
    uid: s.uid ?? null,
    group: s.primary ?? null,
    groups: s.groups ?? [],
    home: s.home ?? null,
    shell: s.shell ?? null,
  }),
});
