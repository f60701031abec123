/**
 * Ansible's modules that Kiln runs with a module of its own, and what each Ansible option means in
 * Kiln: the same parameter (an alias renamed to Kiln's name), or refused with the reason. Every
 * option Ansible documents (options.ts, generated from ansible-doc) is one or the other
 * (test/unit/input/playbook/module-args.test.ts), so an Ansible argument is never silently
 * dropped or reinterpreted. Kiln's own extra parameters (a service's `health_url`) keep their names.
 */
import type { ModuleArgsSpec } from '../../input/playbook/types.ts';
import { ANSIBLE_OPTIONS } from './options.ts';
import { isSecret } from '../../core/secret/secret.ts';
import { PyFloat, pyStr } from '../../template/jinja/value.ts';
import { SELINUX_OPTIONS, SELINUX_PARAM_PREFIX } from '../files/selinux.ts';

interface Mapping {
  /** The Kiln module. */
  kiln: string;
  /** Ansible options with Kiln's meaning: option → Kiln parameter (same name when the value is true). */
  same: Readonly<Record<string, string | true>>;
  /** Why an option is refused, when there is more to say than "not supported". */
  why?: Readonly<Record<string, string>>;
  /** The Kiln parameter a free-form command line (`command: ls -l`) goes to. */
  freeForm?: string;
  /** Options of another Ansible module this one passes on (package → apt on Debian). */
  alsoOf?: string;
}

const FILE_ATTRS = { owner: true, group: true, mode: true } as const;
const SYSTEMD_SAME = {
  name: true,
  state: true,
  enabled: true,
  daemon_reload: true,
  masked: true,
  scope: true,
  no_block: true,
  force: true,
} as const;
const SYSTEMD_WHY = {
  daemon_reexec: 'not supported: daemon_reexec (re-executing the system manager is left to a reboot or a command task)',
} as const;
/** The file attributes Kiln does not manage, refused with their reason. */
const FILE_EXTRAS = {
  attributes: 'not supported: attributes (chattr flags; Kiln manages owner, group and mode)',
  unsafe_writes: 'not supported: unsafe_writes (Kiln always writes through a temp file and a rename)',
} as const;

/** The connection options of community.mysql's modules: Kiln's mysql modules run the client as root over the server's socket. */
const MYSQL_CONNECT =
  'not supported: Kiln connects to the local server over its socket, as root (unix_socket authentication and ~/.my.cnf) or as login_user/login_password';
const MYSQL_LOGIN_WHY: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'login_host',
    'login_port',
    'login_unix_socket',
    'config_file',
    'client_cert',
    'client_key',
    'ca_cert',
    'check_hostname',
    'connect_timeout',
  ].map((o) => [o, MYSQL_CONNECT]),
);

/** The connection options of community.postgresql's modules, with libpq's meaning (src/modules/postgres/psql.ts). */
const PG_CONNECT_SAME = {
  login_user: true,
  login_password: true,
  login_host: true,
  login_unix_socket: true,
  port: true,
  ssl_mode: true,
  ca_cert: true,
  ssl_cert: true,
  ssl_key: true,
  connect_params: true,
  session_role: true,
  trust_input: true,
} as const;

const MAPPINGS: Readonly<Record<string, Mapping>> = {
  'ansible.builtin.file': {
    kiln: 'file',
    same: {
      path: true,
      state: true,
      src: true,
      force: true,
      follow: true,
      access_time: true,
      access_time_format: true,
      modification_time: true,
      modification_time_format: true,
      ...FILE_ATTRS,
    },
  },
  'ansible.builtin.copy': {
    kiln: 'copy',
    same: { content: true, src: true, dest: true, validate: true, backup: true, force: true, remote_src: true, ...FILE_ATTRS },
    why: { decrypt: 'not supported: decrypt' },
  },
  'ansible.builtin.template': {
    kiln: 'template',
    same: { src: true, dest: true, validate: true, backup: true, force: true, ...FILE_ATTRS },
    why: {
      trim_blocks: 'not supported: per-task Jinja2 options (use a `#jinja2:` header line in the template)',
      lstrip_blocks: 'not supported: per-task Jinja2 options (use a `#jinja2:` header line in the template)',
    },
  },
  'ansible.builtin.setup': { kiln: 'setup', same: { gather_subset: true, filter: true, gather_timeout: true, fact_path: true } },
  // gather_facts as a task runs the setup module (Ansible's FACTS_MODULES default, 'smart', on Linux).
  'ansible.builtin.gather_facts': {
    kiln: 'setup',
    same: {},
    why: { parallel: 'not supported: parallel (Kiln runs one facts module)' },
  },
  'ansible.builtin.apt': {
    kiln: 'package',
    same: {
      name: true,
      state: true,
      update_cache: true,
      cache_valid_time: true,
      purge: true,
      install_recommends: true,
      allow_downgrade: true,
      default_release: true,
      policy_rc_d: true,
    },
  },
  // On Debian, package passes every argument on to apt.
  'ansible.builtin.package': {
    kiln: 'package',
    same: { name: true, state: true },
    why: { use: 'not supported: use (Kiln manages Debian packages with apt)' },
    alsoOf: 'ansible.builtin.apt',
  },
  'ansible.builtin.service': {
    kiln: 'service',
    same: { name: true, state: true, enabled: true, sleep: true },
    why: {
      pattern: 'not supported: pattern (Kiln asks systemd or the init script whether the service runs, never the process table)',
      runlevel: 'not supported: runlevel (Kiln enables sysv scripts in their default runlevels)',
      arguments: 'not supported: arguments (extra arguments to the init command)',
      use: 'not supported: use (Kiln picks systemd when it runs, sysv init otherwise)',
    },
  },
  'ansible.builtin.systemd': { kiln: 'service', same: SYSTEMD_SAME, why: SYSTEMD_WHY },
  'ansible.builtin.systemd_service': { kiln: 'service', same: SYSTEMD_SAME, why: SYSTEMD_WHY },
  'ansible.builtin.command': {
    kiln: 'command',
    same: { cmd: true, argv: true, chdir: true, creates: true, removes: true, stdin: true },
    why: {
      free_form: "free_form is not a parameter: write the command line as the module's value (`command: ls -l`) or as `cmd:`",
      stdin_add_newline: 'not supported: stdin_add_newline (Kiln appends a newline to stdin when it has none)',
      executable: "Ansible's command module ignores executable: use shell",
      warn: "not an option of ansible-core 2.14's command module",
    },
    freeForm: 'cmd',
  },
  'ansible.builtin.shell': {
    kiln: 'shell',
    same: { cmd: true, chdir: true, creates: true, removes: true, stdin: true, executable: true },
    why: {
      free_form: "free_form is not a parameter: write the command line as the module's value (`shell: ls | wc -l`) or as `cmd:`",
      stdin_add_newline: 'not supported: stdin_add_newline (Kiln appends a newline to stdin when it has none)',
      warn: "not an option of ansible-core 2.14's shell module",
    },
    freeForm: 'cmd',
  },
  'ansible.builtin.user': {
    kiln: 'user',
    same: {
      name: true,
      state: true,
      uid: true,
      group: true,
      groups: true,
      append: true,
      shell: true,
      home: true,
      create_home: true,
      system: true,
      comment: true,
      password: true,
      remove: true,
    },
  },
  'ansible.builtin.group': { kiln: 'group', same: { name: true, state: true, gid: true, system: true } },
  'ansible.builtin.lineinfile': {
    kiln: 'lineinfile',
    same: {
      path: true,
      line: true,
      regexp: true,
      state: true,
      insertafter: true,
      insertbefore: true,
      firstmatch: true,
      backrefs: true,
      create: true,
      validate: true,
      ...FILE_ATTRS,
    },
  },
  'ansible.builtin.get_url': {
    kiln: 'get_url',
    same: { url: true, dest: true, checksum: true, force: true, timeout: true, ...FILE_ATTRS },
  },
  'ansible.posix.sysctl': { kiln: 'sysctl', same: { name: true, value: true, state: true, sysctl_file: true, reload: true } },
  'community.mysql.mysql_db': {
    kiln: 'mysql_db',
    same: {
      login_user: true,
      login_password: true,
      name: true,
      state: true,
      encoding: true,
      collation: true,
      target: true,
      single_transaction: true,
      quick: true,
      skip_lock_tables: true,
      hex_blob: true,
      force: true,
      master_data: true,
      ignore_tables: true,
    },
    why: {
      ...MYSQL_LOGIN_WHY,
      dump_extra_args:
        'not supported: dump_extra_args (free-form mysqldump arguments Kiln cannot check); the options single_transaction, quick, skip_lock_tables, hex_blob, force, master_data, ignore_tables are supported',
      pipefail:
        'not supported: pipefail (Kiln never pipes the dump into the compressor: a failing dump always fails the task, as pipefail: true)',
      use_shell: 'not supported: use_shell (Kiln always decompresses an import through a pipe after testing the archive)',
      chdir: 'not supported: chdir (target is an absolute path)',
      unsafe_login_password: 'not supported: unsafe_login_password (Kiln never puts a password in a command line)',
      restrict_config_file: MYSQL_CONNECT,
      check_implicit_admin: MYSQL_CONNECT,
      config_overrides_defaults: MYSQL_CONNECT,
    },
  },
  'community.mysql.mysql_user': {
    kiln: 'mysql_user',
    same: {
      login_user: true,
      login_password: true,
      name: true,
      host: true,
      state: true,
      password: true,
      encrypted: true,
      priv: true,
      append_privs: true,
      sql_log_bin: true,
      update_password: true,
      tls_requires: true,
      resource_limits: true,
    },
    why: {
      ...MYSQL_LOGIN_WHY,
    },
  },
  'community.mysql.mysql_replication': {
    kiln: 'mysql_replication',
    same: {
      mode: true,
      login_user: true,
      login_password: true,
      primary_host: true,
      primary_port: true,
      primary_user: true,
      primary_password: true,
      primary_connect_retry: 'connect_retry',
      primary_log_file: true,
      primary_log_pos: true,
      primary_delay: true,
      relay_log_file: true,
      relay_log_pos: true,
      primary_ssl: true,
      primary_ssl_ca: true,
      primary_ssl_capath: true,
      primary_ssl_cert: true,
      primary_ssl_key: true,
      primary_ssl_cipher: true,
      primary_ssl_verify_server_cert: true,
      primary_auto_position: true,
      primary_use_gtid: true,
      connection_name: true,
      channel: true,
      fail_on_error: true,
    },
    why: MYSQL_LOGIN_WHY,
  },
  'community.mysql.mysql_variables': {
    kiln: 'mysql_variables',
    same: { login_user: true, login_password: true, variable: true, value: true },
    why: MYSQL_LOGIN_WHY,
  },
  // ── issue 17 (A): blockinfile, replace, ini_file, pam_limits; file/copy options
  'ansible.builtin.blockinfile': {
    kiln: 'blockinfile',
    same: {
      path: true,
      state: true,
      block: true,
      marker: true,
      marker_begin: true,
      marker_end: true,
      insertafter: true,
      insertbefore: true,
      create: true,
      backup: true,
      validate: true,
      ...FILE_ATTRS,
    },
    why: FILE_EXTRAS,
  },
  'ansible.builtin.replace': {
    kiln: 'replace',
    same: {
      path: true,
      regexp: true,
      replace: true,
      after: true,
      before: true,
      encoding: true,
      backup: true,
      validate: true,
      ...FILE_ATTRS,
    },
    why: {
      ...FILE_EXTRAS,
      others: "not supported: others (Ansible documents it for the file module's arguments only; give owner, group, mode)",
    },
  },
  'community.general.ini_file': {
    kiln: 'ini_file',
    same: {
      path: true,
      section: true,
      option: true,
      value: true,
      values: true,
      state: true,
      exclusive: true,
      no_extra_spaces: true,
      allow_no_value: true,
      create: true,
      backup: true,
      ...FILE_ATTRS,
    },
    why: FILE_EXTRAS,
  },
  'community.general.pam_limits': {
    kiln: 'pam_limits',
    same: {
      domain: true,
      limit_type: true,
      limit_item: true,
      value: true,
      use_max: true,
      use_min: true,
      dest: true,
      comment: true,
      backup: true,
    },
  },

  // ── issue 17 (B): stat, find, slurp, fetch, getent
  'ansible.builtin.stat': {
    kiln: 'stat',
    same: { path: true, follow: true, get_checksum: true, checksum_algorithm: true, get_mime: true, get_attributes: true },
    why: { get_md5: 'deprecated and undocumented in Ansible: use checksum_algorithm: md5 (the checksum is then the MD5)' },
  },
  'ansible.builtin.find': {
    kiln: 'find',
    same: {
      paths: true,
      patterns: true,
      excludes: true,
      use_regex: true,
      contains: true,
      read_whole_file: true,
      file_type: true,
      age: true,
      age_stamp: true,
      size: true,
      recurse: true,
      depth: true,
      hidden: true,
      follow: true,
      get_checksum: true,
    },
  },
  'ansible.builtin.slurp': { kiln: 'slurp', same: { src: true } },
  'ansible.builtin.fetch': { kiln: 'fetch', same: { src: true, dest: true, flat: true, fail_on_missing: true, validate_checksum: true } },
  'ansible.builtin.getent': { kiln: 'getent', same: { database: true, key: true, split: true, fail_key: true, service: true } },

  // ── issue 17 (C): uri, wait_for, unarchive
  'ansible.builtin.uri': {
    kiln: 'uri',
    same: {
      url: true,
      method: true,
      body: true,
      body_format: true,
      headers: true,
      status_code: true,
      return_content: true,
      dest: true,
      creates: true,
      removes: true,
      url_username: true,
      url_password: true,
      force_basic_auth: true,
      follow_redirects: true,
      timeout: true,
      validate_certs: true,
      ca_path: true,
      client_cert: true,
      client_key: true,
      ciphers: true,
      unix_socket: true,
      http_agent: true,
      unredirected_headers: true,
      decompress: true,
      use_netrc: true,
      use_proxy: true,
      force: true,
      ...FILE_ATTRS,
    },
    why: {
      src: 'not supported: src (give the request body in `body`)',
      remote_src: 'not supported: remote_src (give the request body in `body`)',
      use_gssapi: 'not supported: use_gssapi (Kerberos authentication)',
      attributes: 'not supported: attributes (chattr flags)',
      unsafe_writes: 'not supported: unsafe_writes (Kiln always writes dest through a temp file and a rename)',
    },
  },
  'ansible.builtin.unarchive': {
    kiln: 'unarchive',
    same: {
      src: true,
      dest: true,
      remote_src: true,
      // Deprecated in Ansible, still taken: copy: false is remote_src: true (adjustAnsibleArgs).
      copy: true,
      creates: true,
      list_files: true,
      include: true,
      exclude: true,
      extra_opts: true,
      keep_newer: true,
      validate_certs: true,
      ...FILE_ATTRS,
    },
    why: {
      decrypt: 'not supported: decrypt (Kiln does not decrypt a vault-encrypted archive; it refuses one)',
      io_buffer_size: 'not supported: io_buffer_size (Kiln unpacks with python3 on the host)',
      attributes: 'not supported: attributes (chattr flags)',
      unsafe_writes: 'not supported: unsafe_writes (Kiln always unpacks into a temp directory and renames into place)',
    },
  },
  'ansible.builtin.wait_for': {
    kiln: 'wait_for',
    same: {
      host: true,
      port: true,
      path: true,
      search_regex: true,
      state: true,
      timeout: true,
      delay: true,
      sleep: true,
      connect_timeout: true,
      exclude_hosts: true,
      active_connection_states: true,
      msg: true,
    },
  },

  // ── issue 17 (D): apt_repository, deb822_repository, apt_key, debconf, package_facts; apt options
  'ansible.builtin.apt_repository': {
    kiln: 'apt_repository',
    same: {
      repo: true,
      state: true,
      filename: true,
      mode: true,
      update_cache: true,
      update_cache_retries: true,
      update_cache_retry_max_delay: true,
      codename: true,
      validate_certs: true,
      install_python_apt: true,
    },
  },
  // ansible-core 2.15's module (2.14 lacks it): every option, with its meaning.
  'ansible.builtin.deb822_repository': {
    kiln: 'deb822_repository',
    same: {
      allow_downgrade_to_insecure: true,
      allow_insecure: true,
      allow_weak: true,
      architectures: true,
      by_hash: true,
      check_date: true,
      check_valid_until: true,
      components: true,
      date_max_future: true,
      enabled: true,
      inrelease_path: true,
      languages: true,
      mode: true,
      name: true,
      pdiffs: true,
      signed_by: true,
      state: true,
      suites: true,
      targets: true,
      trusted: true,
      types: true,
      uris: true,
    },
  },
  'ansible.builtin.package_facts': { kiln: 'package_facts', same: { manager: true, strategy: true } },
  'ansible.builtin.debconf': { kiln: 'debconf', same: { name: true, question: true, vtype: true, value: true, unseen: true } },

  // ── issue 17 (E): hostname, timezone, locale_gen, alternatives, modprobe, openssh_keypair
  'ansible.builtin.hostname': { kiln: 'hostname', same: { name: true, use: true } },
  'community.general.timezone': { kiln: 'timezone', same: { name: true, hwclock: true } },
  'community.general.locale_gen': { kiln: 'locale_gen', same: { name: true, state: true } },
  'community.general.alternatives': {
    kiln: 'alternatives',
    same: { name: true, path: true, link: true, priority: true, state: true, subcommands: true },
  },
  'community.general.modprobe': { kiln: 'modprobe', same: { name: true, state: true, params: true, persistent: true } },
  'community.crypto.openssh_keypair': {
    kiln: 'openssh_keypair',
    same: {
      path: true,
      type: true,
      size: true,
      comment: true,
      regenerate: true,
      force: true,
      state: true,
      backend: true,
      private_key_format: true,
      ...FILE_ATTRS,
    },
    why: {
      passphrase:
        'not supported: ssh-keygen takes a passphrase only in its argv (-N/-P) or from a terminal, and Kiln never puts a secret in a remote argv; protect the key by its mode and owner',
      attributes: 'not supported: attributes (chattr flags)',
      unsafe_writes: 'not supported: unsafe_writes (Kiln always moves the new files into place)',
    },
  },

  // ── issue 17 (F): cron, authorized_key, mount, reboot
  'ansible.builtin.cron': {
    kiln: 'cron',
    same: {
      name: true,
      job: true,
      minute: true,
      hour: true,
      day: true,
      month: true,
      weekday: true,
      special_time: true,
      user: true,
      cron_file: true,
      state: true,
      disabled: true,
      env: true,
      insertafter: true,
      insertbefore: true,
      backup: true,
    },
  },
  'ansible.posix.authorized_key': {
    kiln: 'authorized_key',
    same: {
      user: true,
      key: true,
      path: true,
      manage_dir: true,
      state: true,
      key_options: true,
      exclusive: true,
      comment: true,
      follow: true,
      validate_certs: true,
    },
  },
  'ansible.posix.mount': {
    kiln: 'mount',
    same: { path: true, src: true, fstype: true, opts: true, dump: true, passno: true, state: true, fstab: true, boot: true, backup: true },
  },
  'ansible.builtin.reboot': {
    kiln: 'reboot',
    same: {
      reboot_timeout: true,
      connect_timeout: true,
      pre_reboot_delay: true,
      post_reboot_delay: true,
      test_command: true,
      msg: true,
      boot_time_command: true,
      search_paths: true,
      reboot_command: true,
    },
  },

  // ── issue 17 (G): ufw, iptables, service_facts; systemd options
  'ansible.builtin.service_facts': { kiln: 'service_facts', same: {} },
  'community.general.ufw': {
    kiln: 'ufw',
    same: Object.fromEntries(Object.keys(ANSIBLE_OPTIONS['community.general.ufw'] ?? {}).map((k) => [k, true as const])),
  },
  'ansible.builtin.iptables': {
    kiln: 'iptables',
    same: Object.fromEntries(Object.keys(ANSIBLE_OPTIONS['ansible.builtin.iptables'] ?? {}).map((k) => [k, true as const])),
  },

  // ── stop 27 (P): postgresql_user, postgresql_db, postgresql_privs
  'community.postgresql.postgresql_user': {
    kiln: 'postgresql_user',
    same: {
      name: true,
      state: true,
      password: true,
      encrypted: true,
      no_password_changes: true,
      role_attr_flags: true,
      expires: true,
      conn_limit: true,
      comment: true,
      db: true,
      fail_on_user: true,
      ...PG_CONNECT_SAME,
    },
    why: {
      priv: 'not supported: priv (deprecated in community.postgresql 2.x, removed in 3.0.0): grant privileges with postgresql_privs',
      groups:
        'not supported: groups (deprecated in community.postgresql 2.x, removed in 3.0.0): role membership is postgresql_membership, which Kiln does not have yet',
    },
  },
  'community.postgresql.postgresql_db': {
    kiln: 'postgresql_db',
    same: {
      name: true,
      state: true,
      owner: true,
      template: true,
      encoding: true,
      lc_collate: true,
      lc_ctype: true,
      conn_limit: true,
      tablespace: true,
      force: true,
      maintenance_db: true,
      ...PG_CONNECT_SAME,
    },
    why: {
      target:
        'not supported: target (state dump, restore or rename): Kiln does not dump, restore or rename databases; copy the dump and load it with a command task guarded by creates',
      target_opts: 'not supported: target_opts (only for state dump or restore, which Kiln does not support)',
      dump_extra_args: 'not supported: dump_extra_args (only for state dump, which Kiln does not support)',
    },
  },
  'community.postgresql.postgresql_privs': {
    kiln: 'postgresql_privs',
    same: {
      database: true,
      roles: true,
      privs: true,
      type: true,
      objs: true,
      schema: true,
      state: true,
      grant_option: true,
      fail_on_role: true,
      target_roles: true,
      ...PG_CONNECT_SAME,
    },
    why: {
      password: 'not supported: password (deprecated in community.postgresql 2.x, removed in 4.0.0): give login_password',
      usage_on_types:
        'not supported: usage_on_types (deprecated in community.postgresql 2.x, removed in 3.0.0): Kiln always grants USAGE ON TYPES with default_privs, as its default true does',
    },
  },

  // ── stop 27 (S): snap
  'community.general.snap': { kiln: 'snap', same: { name: true, state: true, classic: true, channel: true, options: true } },

  // ── issue 17 (H): git, pip, mysql_query, mysql_info; mysql options
  'ansible.builtin.git': {
    kiln: 'git',
    same: {
      repo: true,
      dest: true,
      version: true,
      force: true,
      depth: true,
      update: true,
      clone: true,
      remote: true,
      refspec: true,
      accept_hostkey: true,
      accept_newhostkey: true,
      key_file: true,
      ssh_opts: true,
      umask: true,
      recursive: true,
      single_branch: true,
      bare: true,
      executable: true,
      reference: true,
    },
    why: {
      archive: 'not supported: archive (run `git archive` with command after the checkout)',
      archive_prefix: 'not supported: archive_prefix (archive is not supported)',
      separate_git_dir: 'not supported: separate_git_dir (the repository is always dest/.git)',
      verify_commit: 'not supported: verify_commit (GPG verification of the checked-out commit)',
      gpg_whitelist: 'not supported: gpg_whitelist (verify_commit is not supported)',
      track_submodules:
        "not supported: track_submodules (submodules are checked out at the commits the superproject records, Ansible's default)",
    },
  },
  'ansible.builtin.pip': {
    kiln: 'pip',
    same: {
      name: true,
      version: true,
      requirements: true,
      virtualenv: true,
      virtualenv_command: true,
      virtualenv_python: true,
      virtualenv_site_packages: true,
      state: true,
      extra_args: true,
      chdir: true,
      executable: true,
      editable: true,
      umask: true,
    },
  },
  'community.mysql.mysql_query': {
    kiln: 'mysql_query',
    same: {
      login_user: true,
      login_password: true,
      query: true,
      positional_args: true,
      named_args: true,
      login_db: true,
      single_transaction: true,
    },
    why: MYSQL_LOGIN_WHY,
  },
  'community.mysql.mysql_info': {
    kiln: 'mysql_info',
    same: { login_user: true, login_password: true, filter: true, exclude_fields: true, return_empty_dbs: true, login_db: true },
    why: MYSQL_LOGIN_WHY,
  },
};

/**
 * Ansible's action plugins Kiln runs as controller-side actions (src/modules/controller/), under
 * their own names: their options keep Ansible's names (the action handles the aliases as Ansible's
 * plugin does: add_host's `host`/`hostname`, assert's `msg`). `freeForm`: the parameter the
 * free-form value goes to (`include_vars: x.yml`, `meta: flush_handlers`), parsed as Ansible's
 * RAW_PARAM_MODULES are (key=value words are options, the rest the free form). `why`: refused options.
 */
const ACTIONS: Readonly<Record<string, { freeForm?: string; why?: Readonly<Record<string, string>> }>> = {
  'ansible.builtin.set_fact': {},
  'ansible.builtin.assert': {},
  'ansible.builtin.fail': {},
  'ansible.builtin.debug': {},
  'ansible.builtin.pause': {
    why: {
      prompt: 'not supported: pause waits for a person at the keyboard with prompt (Kiln runs non-interactively; give seconds or minutes)',
      echo: 'not supported: echo only matters with a prompt (Kiln runs non-interactively; give seconds or minutes)',
    },
  },
  'ansible.builtin.add_host': {},
  'ansible.builtin.group_by': {},
  'ansible.builtin.include_vars': { freeForm: '_raw_params' },
  'ansible.builtin.meta': { freeForm: 'free_form' },
  'ansible.builtin.include_tasks': { freeForm: 'file' },
  'ansible.builtin.include': { freeForm: 'file' },
  'ansible.builtin.include_role': {
    why: { rolespec_validate: "not supported: rolespec_validate (Kiln validates every role's argument_specs before the run)" },
  },
};

/** Short names and FQCNs a task may use for each mapped Ansible module. */
function namesOf(fqcn: string): string[] {
  const short = fqcn.split('.').at(-1)!;
  const names = [fqcn, short];
  if (fqcn.startsWith('ansible.builtin.')) names.push(`ansible.legacy.${short}`);
  return names;
}

/** Task key (`apt`, `ansible.builtin.apt`, `ansible.legacy.apt`) → the Ansible module's FQCN. */
export const ANSIBLE_MODULE_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  [...Object.keys(MAPPINGS), ...Object.keys(ACTIONS)].flatMap((fqcn) => namesOf(fqcn).map((n) => [n, fqcn])),
);

/** The Kiln module (or action) that runs an Ansible module (by FQCN). */
const kilnOf = (fqcn: string): string => MAPPINGS[fqcn]?.kiln ?? fqcn.split('.').at(-1)!;

/** Ansible module names (short and FQCN) → the Kiln module that runs them. */
export const ansibleModuleAliases: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ANSIBLE_MODULE_NAMES)
    .map(([name, fqcn]) => [name, kilnOf(fqcn)] as const)
    .filter(([name, kiln]) => name !== kiln),
);

const specs = new Map<string, ModuleArgsSpec>();

/** The argument mapping of an Ansible module (by FQCN), built from its options and Kiln's decisions. */
export function ansibleArgsSpec(fqcn: string): ModuleArgsSpec | undefined {
  let spec = specs.get(fqcn);
  if (spec) return spec;
  const action = ACTIONS[fqcn];
  if (action) {
    const refused = Object.fromEntries(Object.entries(action.why ?? {}).map(([k, why]) => [k, `${fqcn}'s option '${k}': ${why}`]));
    spec = { rename: {}, refused, types: {}, freeForm: action.freeForm, rawParams: true };
    specs.set(fqcn, spec);
    return spec;
  }
  const m = MAPPINGS[fqcn];
  if (!m) return undefined;
  const rename: Record<string, string> = {};
  const refused: Record<string, string> = {};
  const types: Record<string, string> = {};
  const add = (module: string, mapping: Mapping) => {
    for (const [opt, o] of Object.entries(ANSIBLE_OPTIONS[module] ?? {})) {
      const target = mapping.same[opt];
      const names = [opt, ...o.aliases];
      if (target === undefined) {
        if (!mapping.why?.[opt] && (SELINUX_OPTIONS as readonly string[]).includes(opt)) {
          // A no-op where SELinux is disabled, a failed task where it is enabled (files/selinux.ts).
          for (const n of names) if (!(n in rename)) rename[n] = `${SELINUX_PARAM_PREFIX}${opt}`;
          continue;
        }
        const reason = mapping.why?.[opt] ?? `not supported by Kiln's ${m.kiln} module`;
        for (const n of names)
          if (!(n in rename)) refused[n] ??= `${module}'s option '${opt}'${n === opt ? '' : ` (alias '${n}')`}: ${reason}`;
      } else {
        const kiln = target === true ? opt : target;
        for (const n of names) {
          if (n in rename) continue;
          rename[n] = kiln;
          delete refused[n];
        }
        types[kiln] = o.type;
      }
    }
  };
  add(fqcn, m);
  if (m.alsoOf) add(m.alsoOf, MAPPINGS[m.alsoOf]!);
  // Keys Ansible's free-form parser takes out of a command line that the module does not document (warn, executable).
  for (const [k, why] of Object.entries(m.why ?? {})) if (!(k in rename) && !(k in refused)) refused[k] = `${fqcn}'s option '${k}': ${why}`;
  spec = { rename, refused, types, freeForm: m.freeForm };
  specs.set(fqcn, spec);
  return spec;
}

/** The Ansible action plugins Kiln runs as controller-side actions (FQCNs). */
export const ANSIBLE_ACTIONS: readonly string[] = Object.keys(ACTIONS);

/** Every mapped Ansible module with its Kiln module and option decisions (for the coverage test). */
export function ansibleMappings(): { fqcn: string; kiln: string; same: string[]; alsoOf?: string }[] {
  return Object.entries(MAPPINGS).map(([fqcn, m]) => ({ fqcn, kiln: m.kiln, same: Object.keys(m.same), alsoOf: m.alsoOf }));
}

/**
 * What Ansible's module does with its arguments before acting, where Kiln's module would otherwise
 * read them differently: apt updates the cache whenever cache_valid_time is set.
 */
/** Python's boolean(value, strict=False) of Ansible's module_utils: anything else is false. */
const pyBoolean = (v: unknown): boolean =>
  v === true || v === 1 || (typeof v === 'string' && ['y', 'yes', 'on', '1', 'true', 't'].includes(v.toLowerCase()));

export function adjustAnsibleArgs(fqcn: string | undefined, params: Record<string, unknown>): void {
  // unarchive's action plugin: `copy` (deprecated) becomes remote_src = not boolean(copy); with
  // remote_src as well Ansible fails ("mutually exclusive"): both are left for the schema to refuse.
  if (fqcn === 'ansible.builtin.unarchive' && 'copy' in params && !('remote_src' in params)) {
    const c = params.copy;
    delete params.copy;
    if (!(typeof c === 'string' && c.includes('{{'))) params.remote_src = !pyBoolean(c);
  }
  // community.mysql's mysql_replication: mode defaults to getreplica (Kiln's declarative replica is `mysql_replica`).
  if (fqcn === 'community.mysql.mysql_replication' && !('mode' in params)) params.mode = 'getreplica';
  if ((fqcn === 'ansible.builtin.apt' || fqcn === 'ansible.builtin.package') && params.cache_valid_time) params.update_cache = true;
  // copy's action plugin writes a list or dict content as json.dumps, anything else as str().
  if (fqcn === 'ansible.builtin.copy' && 'content' in params) {
    const c = params.content;
    if (typeof c === 'number' || typeof c === 'boolean' || c instanceof PyFloat) params.content = pyStr(c);
    else if (c !== null && typeof c === 'object' && !isSecret(c)) params.content = pyJsonDumps(c);
  }
}

/** Python's json.dumps with its defaults (", " and ": " separators, non-ASCII escaped). */
export function pyJsonDumps(v: unknown): string {
  const str = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return str(v);
  if (v instanceof PyFloat) return pyStr(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isSecret(v)) return str(v.reveal());
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${str(k)}: ${pyJsonDumps(x)}`)
    .join(', ')}}`;
}
