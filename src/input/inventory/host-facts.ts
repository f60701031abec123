/**
 * The hosts' facts for the whole run: Ansible's fact cache (VariableManager._fact_cache).
 *
 * A module result carrying `ansible_facts` (the setup module, gather_facts, set_fact with
 * `cacheable: true`) is merged into its host's facts with `merge`: a shallow update, as
 * `VariableManager.set_host_facts` does. What a task sees (ansible-core 2.14's `get_vars`, with
 * INJECT_FACTS_AS_VARS on, its default):
 *   - `ansible_facts`: every fact, with the `ansible_` prefix taken off (`namespace_facts`;
 *     `ansible_local` keeps its name);
 *   - every fact under its own name (`ansible_distribution`), less the names Ansible refuses to
 *     take from a module's data (`clean_facts`: connection variables, `ansible_*_interpreter`, …),
 * at the "host facts" precedence level: above the inventory, below play vars.
 */

/** Facts Ansible's clean_facts drops from the top-level variables (connection and magic variable names). */
const RESTRICTED = new Set([
  'ansible_connection',
  'ansible_module_compression',
  'ansible_shell_type',
  'ansible_shell_executable',
  'ansible_ssh_host',
  'ansible_host',
  'ansible_ssh_user',
  'ansible_user',
  'ansible_ssh_pass',
  'ansible_password',
  'ansible_ssh_port',
  'ansible_port',
  'ansible_ssh_pipelining',
  'ansible_pipelining',
  'ansible_ssh_timeout',
  'ansible_timeout',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_network_os',
  'ansible_connection_user',
  'ansible_ssh_executable',
  'ansible_ssh_common_args',
  'ansible_sftp_extra_args',
  'ansible_scp_extra_args',
  'ansible_ssh_extra_args',
  'ansible_ssh_transfer_method',
  'ansible_become',
  'ansible_become_method',
  'ansible_become_user',
  'ansible_become_pass',
  'ansible_become_password',
  'ansible_become_exe',
  'ansible_become_flags',
  'ansible_sudo_pass',
  'ansible_remote_tmp',
  'ansible_facts',
  'ansible_ssh_args',
  'ansible_user_known_hosts_file',
  // RESTRICTED_RESULT_KEYS and INTERNAL_RESULT_KEYS
  'ansible_rsync_path',
  'ansible_playbook_python',
  'add_host',
  'add_group',
]);

/** Connection plugins whose `ansible_<name>_*` variables clean_facts drops (Kiln's and ansible-core's). */
const CONNECTION_PREFIXES = ['ansible_local_', 'ansible_paramiko_ssh_', 'ansible_psrp_', 'ansible_ssh_', 'ansible_winrm_'];

/** The fact names clean_facts keeps as top-level variables. */
export function cleanFacts(facts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(facts)) {
    if (k.startsWith('ansible_ssh_host_key_')) {
      out[k] = v;
      continue;
    }
    if (RESTRICTED.has(k) || k.startsWith('ansible_become_') || /^ansible_.*_interpreter$/.test(k)) continue;
    if (CONNECTION_PREFIXES.some((p) => k.startsWith(p)) && !k.endsWith('_bridge') && !k.endsWith('_gwbridge')) continue;
    if (k.startsWith('_ansible_')) continue;
    out[k] = v;
  }
  return out;
}

/** `ansible_facts`: the facts without their `ansible_` prefix (Ansible's namespace_facts). */
export function namespaceFacts(facts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(facts)) out[k.startsWith('ansible_') && k !== 'ansible_local' ? k.slice(8) : k] = v;
  return out;
}

export class HostFacts {
  private readonly cache = new Map<string, Record<string, unknown>>();
  private readonly versions = new Map<string, number>();

  /** Merges a module's `ansible_facts` into the host's facts (a shallow update, as Ansible's set_host_facts). */
  merge(host: string, facts: Record<string, unknown>): void {
    this.cache.set(host, { ...(this.cache.get(host) ?? {}), ...facts });
    this.versions.set(host, (this.versions.get(host) ?? 0) + 1);
  }

  /** The host's facts as a module returned them (`ansible_`-prefixed keys), or undefined. */
  of(host: string): Record<string, unknown> | undefined {
    return this.cache.get(host);
  }

  /** Changes with every merge into the host's facts (for caches of variables built over them). */
  version(host: string): number {
    return this.versions.get(host) ?? 0;
  }

  /** The variables the host's facts give a task: `ansible_facts` and the injected names (none before any gathering). */
  vars(host: string): Record<string, unknown> {
    const facts = this.cache.get(host);
    if (!facts) return {};
    return { ...cleanFacts(facts), ansible_facts: namespaceFacts(facts) };
  }
}
