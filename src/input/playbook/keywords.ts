/**
 * Every keyword Ansible accepts on a play, a task (or handler), a role entry, a role's meta/main.yml,
 * `loop_control` and `import_role`, and what Kiln does with it: supported with Ansible's meaning,
 * or refused by name with a hint. The loader reads keys only through these tables, so a keyword
 * can never be silently ignored; test/unit/input/playbook/keywords.test.ts checks them against
 * Ansible's own lists (test/fixtures/ansible/keywords.json) and that each supported one is
 * exercised by a test.
 */

export type KeywordRule = { use: 'supported' } | { use: 'refused'; hint: string };

const ok: KeywordRule = { use: 'supported' };
const no = (hint: string): KeywordRule => ({ use: 'refused', hint });

const ISSUE_16 = 'not supported yet (issue 16)';

/** Refused wherever they appear (play, task, role entry). */
const COMMON_REFUSED: Record<string, KeywordRule> = {
  become_exe: no('not supported: become_exe (Kiln becomes with sudo)'),
  become_flags: no('not supported: become_flags (Kiln becomes with sudo -n)'),
  collections: no('not supported: collections (Kiln has its own modules; write module names without a collection)'),
  debugger: no('not supported: debugger'),
  module_defaults: no('not supported: module_defaults'),
  port: no('not supported: port (set ansible_port in the inventory)'),
  remote_user: no('not supported: remote_user (set ansible_user in the inventory)'),
  timeout: no('not supported: timeout'),
};

/** Keywords of where and when a task runs (issue 16, part G): supported on plays, role entries, blocks and tasks. */
const WHERE_AND_WHEN: Record<string, KeywordRule> = {
  any_errors_fatal: ok,
  environment: ok,
  ignore_unreachable: ok,
  run_once: ok,
  throttle: ok,
};

/** delegate_to is a task (and block) keyword: on a play or a role entry Ansible has no such keyword. */
const NOT_DELEGATABLE: Record<string, KeywordRule> = {
  delegate_to: no('not supported here: delegate_to (set it on tasks or blocks)'),
  delegate_facts: no('not supported: delegate_facts (facts of a delegated task stay with the host it runs for)'),
};

/** `become_method` means the same as Kiln's only when it is sudo (Ansible's default). */
export const ONLY_VALUE: Record<string, string> = { become_method: 'sudo', connection: 'ssh', strategy: 'linear' };

export const PLAY_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  ...COMMON_REFUSED,
  ...WHERE_AND_WHEN,
  ...NOT_DELEGATABLE,
  name: ok,
  hosts: ok,
  vars: ok,
  vars_files: ok,
  roles: ok,
  pre_tasks: ok,
  tasks: ok,
  post_tasks: ok,
  handlers: ok,
  serial: ok,
  max_fail_percentage: ok,
  tags: ok,
  become: ok,
  become_user: ok,
  become_method: ok,
  check_mode: ok,
  diff: ok,
  ignore_errors: ok,
  no_log: ok,
  gather_facts: ok,
  connection: ok,
  strategy: ok,
  order: ok,
  fact_path: ok,
  gather_subset: ok,
  gather_timeout: ok,
  force_handlers: no('not supported: force_handlers (handlers left pending by a failed run run at the next one)'),
  vars_prompt: no('not supported: vars_prompt (pass values with -e)'),
};

export const TASK_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  ...COMMON_REFUSED,
  ...WHERE_AND_WHEN,
  delegate_to: ok,
  delegate_facts: NOT_DELEGATABLE.delegate_facts!,
  local_action: ok,
  name: ok,
  when: ok,
  loop: ok,
  loop_control: ok,
  register: ok,
  notify: ok,
  tags: ok,
  become: ok,
  become_user: ok,
  become_method: ok,
  connection: ok,
  check_mode: ok,
  changed_when: ok,
  failed_when: ok,
  ignore_errors: ok,
  no_log: ok,
  diff: ok,
  vars: ok,
  args: ok,
  action: ok,
  // Any with_<lookup> key (keys-check.ts looks them up here): with-loop.ts checks the lookup.
  loop_with: ok,
  async: no('not supported: async'),
  async_val: no('not supported: async'),
  poll: no('not supported: poll (async is not supported)'),
  until: ok,
  retries: ok,
  delay: ok,
};

/** Handlers take the task keywords and `listen`. */
export const HANDLER_KEYWORDS: Readonly<Record<string, KeywordRule>> = { ...TASK_KEYWORDS, listen: ok };

/** Task-list entries that are not modules: blocks, imports and includes. */
export const TASK_ACTIONS: Readonly<Record<string, KeywordRule>> = {
  import_tasks: ok,
  import_role: ok,
  include_tasks: ok,
  include_role: ok,
  include: ok,
  include_vars: ok,
  import_playbook: no('import_playbook is only valid as a play of its own'),
  block: ok,
  rescue: ok,
  always: ok,
};

/**
 * A block's keywords (Ansible's Block class): the sections, and its other attributes with the
 * task's row for each (the block's tasks inherit what it sets: read by `taskKeywords`).
 */
export const BLOCK_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  ...Object.fromEntries(
    [
      'any_errors_fatal',
      'become',
      'become_exe',
      'become_flags',
      'become_method',
      'become_user',
      'check_mode',
      'collections',
      'connection',
      'debugger',
      'delegate_facts',
      'delegate_to',
      'diff',
      'environment',
      'ignore_errors',
      'ignore_unreachable',
      'module_defaults',
      'name',
      'no_log',
      'notify',
      'port',
      'remote_user',
      'run_once',
      'tags',
      'throttle',
      'timeout',
      'vars',
      'when',
    ].map((k) => [k, TASK_KEYWORDS[k]!]),
  ),
  block: ok,
  rescue: ok,
  always: ok,
};

/**
 * The keywords include_tasks / include_role take (Ansible's TaskInclude.VALID_INCLUDE_KEYWORDS);
 * any other task keyword is Ansible's error "'x' is not a valid attribute for a TaskInclude".
 */
export const INCLUDE_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  name: ok,
  when: ok,
  loop: ok,
  loop_control: ok,
  loop_with: TASK_KEYWORDS.loop_with!,
  register: ok,
  tags: ok,
  vars: ok,
  args: ok,
  ignore_errors: ok,
  no_log: ok,
  action: no("not supported: action (write include_tasks:/include_role: as the task's key)"),
  // As on a task (supported there: read by taskKeywords for the include task itself).
  collections: TASK_KEYWORDS.collections!,
  debugger: TASK_KEYWORDS.debugger!,
  run_once: TASK_KEYWORDS.run_once!,
  timeout: TASK_KEYWORDS.timeout!,
};

/** include_tasks' arguments. */
export const INCLUDE_TASKS_ARGS: Readonly<Record<string, KeywordRule>> = { file: ok, _raw_params: ok, apply: ok };

/** include_role's arguments. */
export const INCLUDE_ROLE_ARGS: Readonly<Record<string, KeywordRule>> = {
  name: ok,
  role: ok,
  tasks_from: ok,
  vars_from: ok,
  defaults_from: ok,
  handlers_from: ok,
  public: ok,
  allow_duplicates: ok,
  apply: ok,
  rolespec_validate: no('not supported: rolespec_validate (argument_specs are not supported)'),
};

const NO_EFFECT_ON_IMPORT_PLAYBOOK = no(
  'has no effect on import_playbook in Ansible (only vars, when and tags are passed to the imported plays): set it on the plays',
);

/** An import_playbook entry's keys (Ansible's PlaybookInclude). */
export const IMPORT_PLAYBOOK_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  ...Object.fromEntries(
    [
      'any_errors_fatal',
      'become',
      'become_exe',
      'become_flags',
      'become_method',
      'become_user',
      'check_mode',
      'connection',
      'debugger',
      'diff',
      'environment',
      'ignore_errors',
      'ignore_unreachable',
      'module_defaults',
      'no_log',
      'port',
      'remote_user',
      'run_once',
      'throttle',
      'timeout',
    ].map((k) => [k, NO_EFFECT_ON_IMPORT_PLAYBOOK]),
  ),
  import_playbook: ok,
  name: ok,
  vars: ok,
  when: ok,
  tags: ok,
  vars_val: no('write `vars:`'),
};

/** Keys of a role entry (`roles:` of a play, `dependencies:` of a role). Any other key is a role parameter. */
export const ROLE_KEYWORDS: Readonly<Record<string, KeywordRule>> = {
  ...COMMON_REFUSED,
  ...WHERE_AND_WHEN,
  ...NOT_DELEGATABLE,
  role: ok,
  name: ok,
  vars: ok,
  tags: ok,
  when: ok,
  become: ok,
  become_user: ok,
  become_method: ok,
  connection: ok,
  check_mode: ok,
  diff: ok,
  ignore_errors: ok,
  no_log: ok,
};

const NO_EFFECT_IN_META = no(
  "has no effect in meta/main.yml (Ansible reads only dependencies and allow_duplicates there): set it on the role's entry or tasks",
);

/** Keys of a role's meta/main.yml. */
export const ROLE_META_KEYS: Readonly<Record<string, KeywordRule>> = {
  dependencies: ok,
  allow_duplicates: ok,
  // Metadata for Galaxy; Ansible does not act on it either.
  galaxy_info: ok,
  argument_specs: no('not supported: argument_specs (Kiln validates role variables with meta/argument_schema.yml, a JSON schema)'),
  collections: no('not supported: collections'),
  ...Object.fromEntries(
    [
      'any_errors_fatal',
      'become',
      'become_exe',
      'become_flags',
      'become_method',
      'become_user',
      'check_mode',
      'connection',
      'debugger',
      'diff',
      'environment',
      'ignore_errors',
      'ignore_unreachable',
      'module_defaults',
      'name',
      'no_log',
      'port',
      'remote_user',
      'run_once',
      'throttle',
      'timeout',
      'vars',
    ].map((k) => [k, NO_EFFECT_IN_META]),
  ),
};

/** loop_control's keys. */
export const LOOP_CONTROL_KEYS: Readonly<Record<string, KeywordRule>> = {
  loop_var: ok,
  index_var: ok,
  label: ok,
  extended: ok,
  extended_allitems: ok,
  pause: ok,
};

/** import_role's arguments. */
export const IMPORT_ROLE_ARGS: Readonly<Record<string, KeywordRule>> = {
  name: ok,
  role: ok,
  tasks_from: ok,
  vars_from: ok,
  defaults_from: ok,
  handlers_from: ok,
  allow_duplicates: ok,
  rolespec_validate: no('not supported: rolespec_validate (argument_specs are not supported)'),
  public: no("Invalid options for import_role: public (Ansible: only include_role takes 'public')"),
  apply: no("Invalid options for import_role: apply (Ansible: only include_role takes 'apply')"),
};

/** import_tasks' arguments. */
export const IMPORT_TASKS_ARGS: Readonly<Record<string, KeywordRule>> = {
  file: ok,
  _raw_params: ok,
  apply: no("Invalid options for import_tasks: apply (Ansible: only include_tasks takes 'apply')"),
};

/**
 * Task keywords Ansible does not pass from an import_tasks/import_role to the imported tasks (its
 * non-inheritable attributes): on an import they have no effect in Ansible, so Kiln refuses them.
 */
export const NOT_INHERITED_BY_IMPORTS: ReadonlySet<string> = new Set([
  'register',
  'changed_when',
  'failed_when',
  'loop',
  'loop_control',
  'args',
  'action',
  'until',
  'retries',
  'delay',
  'async',
  'poll',
]);

/**
 * Role directories Ansible loads code from: Kiln cannot run Ansible plugins or modules, so a role
 * that has one (non-empty) is refused.
 */
export const PLUGIN_DIRS: readonly string[] = [
  'library',
  'module_utils',
  'action_plugins',
  'become_plugins',
  'cache_plugins',
  'callback_plugins',
  'cliconf_plugins',
  'connection_plugins',
  'doc_fragments',
  'filter_plugins',
  'httpapi_plugins',
  'inventory_plugins',
  'lookup_plugins',
  'netconf_plugins',
  'shell_plugins',
  'strategy_plugins',
  'terminal_plugins',
  'test_plugins',
  'vars_plugins',
];

/** Ansible's builtin modules Kiln has no module for (named in the error instead of "unknown module"). */
export const ANSIBLE_ONLY_MODULES: ReadonlySet<string> = new Set([
  'apt_key',
  'apt_repository',
  'assemble',
  'async_status',
  'blockinfile',
  'debconf',
  'dnf',
  'dpkg_selections',
  'expect',
  'fetch',
  'find',
  'getent',
  'git',
  'hostname',
  'iptables',
  'known_hosts',
  'mount_facts',
  'package_facts',
  'ping',
  'pip',
  'raw',
  'reboot',
  'replace',
  'rpm_key',
  'script',
  'service_facts',
  'set_stats',
  'slurp',
  'stat',
  'subversion',
  'synchronize',
  'sysvinit',
  'tempfile',
  'unarchive',
  'uri',
  'validate_argument_spec',
  'wait_for',
  'wait_for_connection',
  'yum',
  'yum_repository',
]);

/** The message for a refused keyword. */
export function refusal(where: string, key: string, rule: { hint: string }): string {
  return rule.hint.startsWith(key) || rule.hint.startsWith('Invalid') ? `${where}: ${rule.hint}` : `${where} '${key}': ${rule.hint}`;
}
