/**
 * Ansible's configuration, where it would change what a playbook means. ansible-playbook reads the
 * first of $ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg, and ANSIBLE_*
 * environment variables over it. Kiln does not apply Ansible's configuration, so a setting that
 * would make Ansible read the same playbook differently from Kiln (hash_behaviour=merge,
 * private_role_vars, a custom ansible_managed, become by default, …) is refused; `roles_path` is
 * honoured (its directories are searched for roles).
 */
import { existsSync } from 'node:fs';
import { readInputBytes } from '../../core/limits.ts';
import { decodeUtf8 } from '../../core/text.ts';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Diagnostic, InputError } from '../../core/diagnostic.ts';

/** A setting: its ini section and key, its environment variable, and the values that mean what Kiln does. */
interface Setting {
  section: string;
  key: string;
  /** Its environment variable, if it has one. */
  env?: string;
  /** Values (lower case) with Kiln's meaning; any other is refused. Undefined: any value is refused. */
  same?: string[];
  why: string;
}

const TRUE = ['true', 'yes', 'on', '1', 't', 'y'];
const FALSE = ['false', 'no', 'off', '0', 'f', 'n'];

const SETTINGS: Setting[] = [
  {
    section: 'defaults',
    key: 'strategy',
    env: 'ANSIBLE_STRATEGY',
    same: ['linear', 'ansible.builtin.linear'],
    why: "Kiln's default strategy is linear: write `strategy: free` (or host_pinned) on the plays instead",
  },
  {
    section: 'defaults',
    key: 'hash_behaviour',
    env: 'ANSIBLE_HASH_BEHAVIOUR',
    same: ['replace'],
    why: 'Kiln replaces whole dict values (hash_behaviour=replace)',
  },
  {
    section: 'defaults',
    key: 'private_role_vars',
    env: 'ANSIBLE_PRIVATE_ROLE_VARS',
    same: FALSE,
    why: "Kiln makes a play's role vars visible to the whole play",
  },
  {
    section: 'defaults',
    key: 'jinja2_native',
    env: 'ANSIBLE_JINJA2_NATIVE',
    same: FALSE,
    why: 'Kiln renders templates as Ansible does without jinja2_native',
  },
  { section: 'defaults', key: 'jinja2_extensions', env: 'ANSIBLE_JINJA2_EXTENSIONS', same: [''], why: 'Kiln enables no Jinja2 extension' },
  {
    section: 'defaults',
    key: 'error_on_undefined_vars',
    env: 'ANSIBLE_ERROR_ON_UNDEFINED_VARS',
    same: TRUE,
    why: 'an undefined variable is always an error in Kiln',
  },
  {
    section: 'defaults',
    key: 'ansible_managed',
    same: ['ansible managed'],
    why: "Kiln's ansible_managed is Ansible's default, 'Ansible managed'",
  },
  { section: 'defaults', key: 'precedence', env: 'ANSIBLE_PRECEDENCE', why: "Kiln uses Ansible's default variable precedence" },
  { section: 'defaults', key: 'playbook_vars_root', env: 'ANSIBLE_PLAYBOOK_VARS_ROOT', same: ['top'], why: 'not supported' },
  { section: 'defaults', key: 'yaml_valid_extensions', env: 'ANSIBLE_YAML_FILENAME_EXT', why: 'Kiln reads .yml, .yaml, .json' },
  {
    section: 'defaults',
    key: 'invalid_task_attribute_failed',
    env: 'ANSIBLE_INVALID_TASK_ATTRIBUTE_FAILED',
    same: TRUE,
    why: 'Kiln refuses an invalid attribute',
  },
  { section: 'defaults', key: 'remote_user', env: 'ANSIBLE_REMOTE_USER', why: 'set ansible_user in the inventory' },
  {
    section: 'defaults',
    key: 'gathering',
    env: 'ANSIBLE_GATHERING',
    same: ['implicit'],
    why: "Kiln gathers facts unless a play says gather_facts: false (Ansible's default, implicit)",
  },
  {
    section: 'privilege_escalation',
    key: 'become',
    env: 'ANSIBLE_BECOME',
    same: FALSE,
    why: 'set become: true on plays or tasks (or ansible_become in the inventory)',
  },
  {
    section: 'privilege_escalation',
    key: 'become_user',
    env: 'ANSIBLE_BECOME_USER',
    same: ['root'],
    why: 'set become_user on plays or tasks',
  },
  { section: 'privilege_escalation', key: 'become_method', env: 'ANSIBLE_BECOME_METHOD', same: ['sudo'], why: 'Kiln becomes with sudo' },
];

export interface AnsibleConfig {
  /** The configuration file Ansible would read, if any. */
  file?: string;
  /** roles_path, resolved (relative to the file's directory). */
  rolesPath: string[];
  problems: Diagnostic[];
}

/** The ini file's keys per section (`key = value`, `;`/`#` comments). */
function parseIni(text: string): { section: string; key: string; value: string; line: number }[] {
  const out: { section: string; key: string; value: string; line: number }[] = [];
  let section = '';
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      return;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (kv) out.push({ section, key: kv[1]!.trim(), value: kv[2]!.trim(), line: i + 1 });
  });
  return out;
}

/** The configuration ansible-playbook would use when run from `cwd`, checked against Kiln. */
export function ansibleConfig(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): AnsibleConfig {
  const candidates = [env.ANSIBLE_CONFIG, resolve(cwd, 'ansible.cfg'), resolve(homedir(), '.ansible.cfg'), '/etc/ansible/ansible.cfg'];
  const file = candidates.find((f): f is string => typeof f === 'string' && f !== '' && existsSync(f));
  const problems: Diagnostic[] = [];
  let rolesPath: string[] = [];
  let entries: ReturnType<typeof parseIni> = [];
  if (file) {
    // The input size limit, then strict UTF-8 (a byte-order mark stays: configparser would not skip it).
    try {
      entries = parseIni(decodeUtf8(readInputBytes(file), file));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push(...err.diagnostics);
    }
  }
  for (const s of SETTINGS) {
    const fromEnv = s.env ? env[s.env] : undefined;
    const entry = entries.find((e) => e.section === s.section && e.key === s.key);
    const value = fromEnv ?? entry?.value;
    if (value === undefined) continue;
    if (s.same?.includes(value.toLowerCase())) continue;
    const where: Diagnostic =
      fromEnv !== undefined
        ? { file: `environment variable ${s.env}`, message: '' }
        : { file: file!, line: entry!.line, col: 1, message: '' };
    problems.push({ ...where, message: `Ansible setting ${s.key} = ${value}: not supported (${s.why})` });
  }
  const rp = env.ANSIBLE_ROLES_PATH ?? entries.find((e) => e.section === 'defaults' && e.key === 'roles_path')?.value;
  if (rp) {
    const base = env.ANSIBLE_ROLES_PATH !== undefined || !file ? cwd : dirname(file);
    rolesPath = rp
      .split(':')
      .filter(Boolean)
      .map((p) => (p.startsWith('~') ? resolve(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolve(base, p)));
  }
  return { file, rolesPath, problems };
}
