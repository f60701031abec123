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
export const ONLY_VALUE: Record<string, string> = { become_method: 'sudo', connection: 'ssh' };

/** What the keyword table (scripts/docs-keywords.mjs) says of a supported keyword beyond "supported". */
export const KEYWORD_NOTES: Record<string, string> = {
  strategy:
    'linear (the default), free and host_pinned; debug is refused. Under free, run_once, any_errors_fatal, max_fail_percentage and add_host/pause are refused (Ansible 2.14 only warns about the first three, errors on the last)',
};

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

/**
 * Ansible modules Kiln refuses on purpose because what they do is deprecated, with the replacement
 * the error shows (by short name; the FQCN is refused the same way).
 */
export const REPLACED_MODULES: Readonly<Record<string, string>> = {
  apt_key:
    "module 'apt_key' is refused: apt-key is deprecated and gone from Debian 13 (trixie). Put the key in a keyring of its own under /etc/apt/keyrings (get_url or copy it there: an ASCII-armored .asc or a binary .gpg) and name it in the repository: signed_by in deb822_repository (which also takes the key's URL or text and writes the keyring itself), or [signed-by=/etc/apt/keyrings/NAME.asc] in apt_repository's repo line",
};

/** Ansible's builtin modules Kiln has no module for (named in the error instead of "unknown module"). */
export const ANSIBLE_ONLY_MODULES: ReadonlySet<string> = new Set([
  'assemble',
  'async_status',
  'dpkg_selections',
  'expect',
  'known_hosts',
  'mount_facts',
  'ping',
  'raw',
  'script',
  'set_stats',
  'subversion',
  'synchronize',
  'sysvinit',
  'tempfile',
  'validate_argument_spec',
  'wait_for_connection',
]);

/**
 * Modules that manage an operating system other than Debian (the package managers and system tools
 * of the Red Hat family, SUSE, Arch, Alpine, Gentoo, Void, Slackware, the BSDs, macOS, Solaris,
 * SmartOS, AIX, OpenWrt; every Windows module), by the collection each comes from: the names
 * `ansible-doc -l` lists for them with the `ansible` 7.7 package (ansible-core 2.14), checked
 * against test/fixtures/ansible/other-os-modules.json (generate-other-os.py). A role that branches
 * on the OS uses them behind a `when:`; Kiln loads such a task as one of its `foreign` module
 * (src/modules/system/foreign.ts), which fails with a located message wherever the task would run
 * on a targeted host: at validation when its `when:` holds then, else at run time. Any other
 * unknown module stays refused when the playbook is loaded.
 */
const OTHER_OS_BY_COLLECTION: Readonly<Record<string, readonly string[]>> = {
  'ansible.builtin': ['dnf rpm_key yum yum_repository'],
  'ansible.posix': ['rhel_rpm_ostree rpm_ostree_upgrade'],
  'ansible.windows': [
    'win_acl win_acl_inheritance win_certificate_store win_command win_copy win_dns_client win_domain',
    'win_domain_controller win_domain_membership win_dsc win_environment win_feature win_file win_find win_get_url',
    'win_group win_group_membership win_hostname win_optional_feature win_owner win_package win_path win_ping',
    'win_powershell win_reboot win_reg_stat win_regedit win_service win_service_info win_share win_shell win_stat',
    'win_tempfile win_template win_updates win_uri win_user win_user_right win_wait_for win_whoami',
  ],
  'chocolatey.chocolatey': ['win_chocolatey win_chocolatey_config win_chocolatey_facts win_chocolatey_feature win_chocolatey_source'],
  'community.general': [
    'aix_devices aix_filesystem aix_inittab aix_lvg aix_lvol apk copr dnf_versionlock homebrew homebrew_cask',
    'homebrew_tap imgadm installp launchd layman macports mas openbsd_pkg openwrt_init opkg osx_defaults pacman',
    'pacman_key pkg5 pkg5_publisher pkgin pkgng pkgutil portage portinstall redhat_subscription rhn_channel',
    'rhn_register rhsm_release rhsm_repository slackpkg smartos_image_info solaris_zone sorcery svr4pkg swdepot',
    'swupd sysrc urpmi vmadm xbps yum_versionlock zypper zypper_repository',
  ],
  'community.windows': [
    'win_audit_policy_system win_audit_rule win_auto_logon win_certificate_info win_computer_description',
    'win_credential win_data_deduplication win_defrag win_dhcp_lease win_disk_facts win_disk_image win_dns_record',
    'win_dns_zone win_domain_computer win_domain_group win_domain_group_membership win_domain_object_info',
    'win_domain_ou win_domain_user win_dotnet_ngen win_eventlog win_eventlog_entry win_feature_info',
    'win_file_compression win_file_version win_firewall win_firewall_rule win_format win_hosts win_hotfix',
    'win_http_proxy win_iis_virtualdirectory win_iis_webapplication win_iis_webapppool win_iis_webbinding',
    'win_iis_website win_inet_proxy win_initialize_disk win_lineinfile win_listen_ports_facts win_mapped_drive',
    'win_msg win_net_adapter_feature win_netbios win_nssm win_pagefile win_partition win_pester win_power_plan',
    'win_product_facts win_psexec win_psmodule win_psmodule_info win_psrepository win_psrepository_copy',
    'win_psrepository_info win_psscript win_psscript_info win_pssession_configuration win_rabbitmq_plugin',
    'win_rds_cap win_rds_rap win_rds_settings win_region win_regmerge win_robocopy win_route win_say',
    'win_scheduled_task win_scheduled_task_stat win_scoop win_scoop_bucket win_security_policy win_shortcut',
    'win_snmp win_timezone win_toast win_unzip win_user_profile win_wait_for_process win_wakeonlan win_webpicmd',
    'win_xml win_zip',
  ],
};

/** Short name → the collection it comes from. */
export const OTHER_OS_MODULES: ReadonlyMap<string, string> = new Map(
  Object.entries(OTHER_OS_BY_COLLECTION).flatMap(([c, lines]) =>
    lines
      .join(' ')
      .split(' ')
      .map((n) => [n, c] as const),
  ),
);

/**
 * Other-OS modules Ansible finds by their full name only: its builtin routing
 * (ansible/config/ansible_builtin_runtime.yml) does not name them, so `{name}`,
 * `ansible.builtin.{name}` and `ansible.legacy.{name}` are unknown modules to Ansible, and to Kiln.
 */
const FQCN_ONLY: ReadonlySet<string> = new Set(
  [
    'copr dnf_versionlock launchd pacman_key rhel_rpm_ostree rpm_ostree_upgrade sysrc win_auto_logon',
    'win_certificate_info win_computer_description win_data_deduplication win_dhcp_lease win_dns_zone',
    'win_domain_object_info win_domain_ou win_feature_info win_file_compression win_listen_ports_facts',
    'win_net_adapter_feature win_powershell win_psmodule_info win_psrepository_copy win_psrepository_info',
    'win_psscript win_psscript_info win_pssession_configuration win_scoop win_scoop_bucket win_service_info win_zip',
    'yum_versionlock',
  ]
    .join(' ')
    .split(' '),
);

/**
 * The short name of the other-OS module a task key names, as Ansible resolves it (`yum`,
 * `ansible.builtin.yum`, `ansible.legacy.pacman`, `community.general.pacman`, `win_service`), or undefined.
 */
export function otherOsModule(key: string): string | undefined {
  const m = /^(?:([a-z0-9_]+\.[a-z0-9_]+)\.)?([a-z0-9_]+)$/.exec(key);
  if (!m) return undefined;
  const [, collection, name] = m;
  const from = OTHER_OS_MODULES.get(name!);
  if (!from) return undefined;
  if (collection === from) return name;
  const routed = collection === undefined || collection === 'ansible.builtin' || collection === 'ansible.legacy';
  return routed && !FQCN_ONLY.has(name!) ? name : undefined;
}

/** The message for a refused keyword. */
export function refusal(where: string, key: string, rule: { hint: string }): string {
  return rule.hint.startsWith(key) || rule.hint.startsWith('Invalid') ? `${where}: ${rule.hint}` : `${where} '${key}': ${rule.hint}`;
}
