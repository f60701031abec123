/** The parsed shape of playbooks, plays, roles and tasks, each with its source location. */
import type { Loc } from '../../core/diagnostic.ts';
import type { PathSeg, YamlFile } from '../yaml/document.ts';

/** A place in a YAML file: a value's path from the document root. */
export interface YamlAt {
  yaml: YamlFile;
  path: PathSeg[];
}

/** One condition of a `when` (or changed_when/failed_when) list, where it is written. */
export interface Condition extends YamlAt {
  /** A Jinja2 expression (string), a boolean, or another YAML scalar, as written. */
  expr: unknown;
}

/**
 * A keyword's value: a literal (already converted as Ansible converts it), or a Jinja2 template
 * evaluated for each host (and loop item) when the task is instantiated.
 */
export type KeywordValue<T> = { value: T } | ({ template: string } & YamlAt);

/** The keywords a task inherits (from its play, roles, imports) and may set itself. */
export interface TaskKeywords {
  become?: KeywordValue<boolean>;
  becomeUser?: KeywordValue<string>;
  /** true = never apply (always a dry run); false = apply even under --check. */
  checkMode?: KeywordValue<boolean>;
  diff?: KeywordValue<boolean>;
  ignoreErrors?: KeywordValue<boolean>;
  noLog?: KeywordValue<boolean>;
  // ---- where and when (issue 16, part G) ----
  /**
   * `environment` of this level and, once inherited (inherit.ts), of every level above it,
   * outermost first: merged in that order at run time, the nearest value of a variable winning
   * (Ansible's _compute_environment_string). Each is a mapping or a template giving one.
   */
  environment?: EnvironmentLevel[];
  runOnce?: KeywordValue<boolean>;
  ignoreUnreachable?: KeywordValue<boolean>;
  anyErrorsFatal?: KeywordValue<boolean>;
  /** At most this many hosts run the task at once (0: no limit); a literal or a template. */
  throttle?: KeywordValue<number>;
  /** The host the task runs on instead (delegate_to; `local_action` is delegate_to: localhost). */
  delegateTo?: KeywordValue<string>;
}

/** One `environment:` as written (a mapping, or a template giving one), where it is written. */
export interface EnvironmentLevel extends YamlAt {
  value: unknown;
}

export interface LoopControl {
  loopVar: string;
  indexVar?: string;
  label?: string;
  extended: boolean;
  extendedAllitems: boolean;
  /** Seconds to wait between items (a number, or a template rendered per host). */
  pause?: KeywordValue<number>;
}

/** `until` with its `retries` and `delay` (Ansible: run again until the condition holds). */
export interface Retry {
  until: Condition[];
  /** Ansible's default 3 (4 attempts in all); a template is rendered per host and item. */
  retries: KeywordValue<number>;
  /** Seconds between attempts: Ansible's default 5. */
  delay: KeywordValue<number>;
}

export interface TaskDef extends TaskKeywords {
  /** Display name ("<module> <first param>" when the task has none). */
  name: string;
  module: string;
  /** The module key as the task wrote it (`apt`, `ansible.builtin.file`, `firewall`). */
  ansibleModule: string;
  /** Raw (unrendered) module parameters, Ansible's aliases renamed to Kiln's names. */
  params: Record<string, unknown>;
  /** Where each parameter is written (free-form `key=value` ones: the module's value). */
  paramPaths: Record<string, PathSeg[]>;
  /** Where the task and its params live, for located errors. */
  loc: Loc;
  yaml: YamlFile;
  path: PathSeg[];
  /** Path of the module key's value (the parameters). */
  modulePath: PathSeg[];
  /** The task's own `when` after every inherited one (play roles, role dependencies, imports): all must hold. */
  when: Condition[];
  /** `loop`'s value, or the terms of a `with_<lookup>` (see loopWith). */
  loop?: unknown;
  /** `with_<lookup>`: the lookup whose result (on the rendered terms, wantlist) is the loop (with-loop.ts). */
  loopWith?: string;
  loopControl: LoopControl;
  /** until/retries/delay, when the task has `until`. */
  retry?: Retry;
  register?: string;
  notify: string[];
  /** Handler only: extra topics it listens to. */
  listen: string[];
  /**
   * Handler only: which list of handlers it came from (a role instance's handlers file, the play's
   * `handlers:`), in play order. A notification by name runs the first match of the last list.
   */
  handlerBlock?: number;
  /** The task's tags and every inherited one. */
  tags: string[];
  changedWhen?: Condition[];
  failedWhen?: Condition[];
  /** Task vars: the imports' `vars` then the task's own (later wins). */
  vars: Record<string, unknown>;
  /** The role the task comes from (its files, its name for display). */
  role?: RoleDef;
  /** The role instance and the chain of roles that pulled it in (for role vars, defaults and params). */
  scope?: RoleScope;
  /** Ordinal within its play (tasks) or handler list. */
  index: number;
  /**
   * Where the task runs in its host's sequence: the play's (static) tasks are `[index]`; a task
   * spliced in by a dynamic include at run time is `[...include.pos, item, j]`. The linear
   * strategy runs, at each step, the smallest position any live host is at (lexicographic), on
   * every host whose next task is that same TaskDef.
   */
  pos?: number[];
  /**
   * The blocks the task is in, outermost first, and which section of each (`block`, `rescue`,
   * `always`). The loader flattens a block's sections in order (block, rescue, always) into the
   * task list, each task inheriting the block's keywords; the host's sequence skips the rest of
   * a `block` section after a failure, runs its `rescue` (if any), then its `always`.
   */
  blocks?: BlockFrame[];
  /**
   * include_tasks / include_role / a dynamic `include` (module `include_tasks` or `include_role`):
   * what the included tasks inherit, for `expandIncludeTasks` / `expandIncludeRole`
   * (input/playbook/includes.ts). The include's own `when`, `tags` and `loop` apply to the include
   * task only, as in Ansible.
   */
  include?: IncludeInfo;
}

/** The keywords one level (a play, a role entry, a block, an import) passes to the tasks under it. */
export interface KeywordSource extends TaskKeywords {
  when: Condition[];
  tags: string[];
  /** notify (inherited by tasks that have none: imports and blocks only). */
  notify?: string[];
  /** Task vars it gives the tasks under it (imports, blocks, includes). */
  vars?: Record<string, unknown>;
}

/** How a dynamic include's tasks are placed when it runs (see TaskDef.include). */
export interface IncludeInfo {
  /** include_tasks, include_role, or `include` (2.14: dynamic when it loops, its name is templated, or it is in a dynamically included file). */
  kind: 'include_tasks' | 'include_role' | 'include';
  /** What the include task inherits (its blocks, imports, role chain, play), nearest first: the included tasks inherit it too. */
  sources: KeywordSource[];
  /** `apply:` — keywords given to the included tasks (a block around them). */
  apply?: KeywordSource;
  /** The directories of the task files the include is in, innermost first (a relative file name is looked up there). */
  dirs: string[];
  /** How many files deep the include is (the play's own files are 0). */
  depth: number;
}

/** One enclosing block of a task (see TaskDef.blocks). */
export interface BlockFrame {
  /** Unique within the play (or within an included file's expansion). */
  id: number;
  section: 'block' | 'rescue' | 'always';
  /** Whether the block has a rescue section (a failure in `block` is then rescued). */
  hasRescue: boolean;
  /** The block's name, if it has one (for results and ansible_failed_task). */
  name?: string;
  loc: Loc;
}

/** A role's files, loaded once per role directory and choice of files (tasks_from, vars_from, …). */
export interface RoleDef {
  name: string;
  dir: string;
  /** defaults/main (or defaults_from), merged in Ansible's order. */
  defaults: Record<string, unknown>;
  defaultsFiles: string[];
  /** vars/main (or vars_from). */
  vars: Record<string, unknown>;
  varsFiles: string[];
  /** meta/main.yml: `allow_duplicates`. */
  allowDuplicates: boolean;
  /** JSON schema for the role's variables (meta/argument_schema.yml). */
  argSchema?: Record<string, unknown>;
  argSchemaFile?: string;
}

/**
 * A role in a play, as Ansible's Role object: one per role name and parameters (role params,
 * `vars`, `when`, `tags`, the files chosen, imported or not). Listing the same role with the
 * same parameters again reuses it, and its tasks then run only once per host (unless
 * `allow_duplicates`).
 */
export interface RoleRef extends TaskKeywords {
  /** Unique within the play. */
  id: number;
  role: RoleDef;
  /** Role name and hashed parameters: equal keys are the same role instance. */
  key: string;
  /** The entry's `vars:` (role vars, below vars/main.yml). */
  vars: Record<string, unknown>;
  /** Keys of the entry that are not keywords: role parameters. */
  params: Record<string, unknown>;
  when: Condition[];
  tags: string[];
  /** The role's dependencies (meta/main.yml), in order. */
  deps: RoleRef[];
  allowDuplicates: boolean;
  /** Pulled in by import_role (not listed in the play's roles). */
  fromImport: boolean;
  loc: Loc;
  /** Where each parameter's and each `vars` entry's value is written (for errors about them). */
  paramLocs?: Record<string, Loc>;
  varLocs?: Record<string, Loc>;
}

/** Where a role task comes from: its role instance, after the roles that depend on it (outermost first). */
export interface RoleScope {
  ref: RoleRef;
  /** The roles above `ref` (the play's role first), then `ref` itself. */
  chain: RoleRef[];
  /**
   * Which listing of `ref` in the play this task belongs to: a role listed twice (same
   * parameters) has two occurrences, the second of which Ansible skips on hosts where the first
   * ran a task.
   */
  occurrence: number;
}

export interface PlayDef extends TaskKeywords {
  name: string;
  hosts: string;
  hostsLoc: Loc;
  /** vars, then vars_files (later wins). */
  vars: Record<string, unknown>;
  /** The role instances of the play (its `roles:`, then those of import_role), each once, in order. */
  roles: RoleRef[];
  /** Role tasks first (in role order), then the play's own tasks — as Ansible orders them. */
  tasks: TaskDef[];
  handlers: TaskDef[];
  serial?: number | string | (number | string)[];
  maxFailPercentage?: number;
  tags: string[];
  /** gather_facts (default true, as Ansible's `gathering = implicit`). */
  gatherFacts: boolean;
  /**
   * The `when` of the import_playbook statements that brought this play in (outermost first):
   * Ansible prepends them to every task's `when` (not the handlers'), as the loader does, and
   * does not gather facts on a host where they are false.
   */
  importWhen?: Condition[];
  /** gather_subset, as written (checked at load: Ansible's subset names). */
  gatherSubset?: string[];
  /** gather_timeout in seconds. */
  gatherTimeout?: number;
  /** fact_path (Ansible's default: /etc/ansible/facts.d). */
  factPath?: string;
  /** The order hosts run in (Ansible's `order`): batches, run_once's host and the order tasks start. */
  order?: HostOrder;
  /** The play's `strategy` (undefined: linear): free and host_pinned run each host through the tasks on its own. */
  strategy?: PlayStrategy;
  loc: Loc;
  index: number;
}

/** Ansible's strategies Kiln runs (debug is refused). */
export type PlayStrategy = 'linear' | 'free' | 'host_pinned';

/** Ansible's play `order` values. */
export type HostOrder = 'inventory' | 'reverse_inventory' | 'sorted' | 'reverse_sorted' | 'shuffle';

export interface Playbook {
  file: string;
  dir: string;
  plays: PlayDef[];
}

/** How a task's module key maps onto Kiln: see modules/ansible/. */
export interface ModuleArgsSpec {
  /** Ansible option (or alias) → Kiln parameter; an option mapped to `undefined` is refused. */
  rename: Readonly<Record<string, string>>;
  /** Ansible options Kiln refuses, with the reason. */
  refused: Readonly<Record<string, string>>;
  /** Ansible's type of each option, after renaming (for `path` checks). */
  types: Readonly<Record<string, string>>;
  /** Ansible takes a free-form command line (command/shell): the Kiln parameter it goes to. */
  freeForm?: string;
  /**
   * One of Ansible's RAW_PARAM_MODULES that is not a command (include_vars, meta, include_tasks):
   * its free-form value is parsed without check_raw (every key=value word is an option).
   */
  rawParams?: boolean;
  /** Parameters Ansible sets when others are given (apt: cache_valid_time implies update_cache). */
  implies?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The modules a task may name: the registry's names (in registry order) and Ansible's names for them. */
export interface ModuleCatalog {
  names: readonly string[];
  /** Ansible module name → Kiln module. */
  aliases: Readonly<Record<string, string>>;
  /** How the arguments of the module a task names (`apt`, `ansible.builtin.file`, `firewall`) map onto Kiln's. */
  args(taskKey: string): ModuleArgsSpec | undefined;
}
