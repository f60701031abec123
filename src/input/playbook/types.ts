/** The parsed shape of playbooks, plays, roles and tasks, each with its source location. */
import type { Loc } from '../../core/diagnostic.ts';
import type { PathSeg, YamlFile } from '../yaml/document.ts';

export interface TaskDef {
  /** Display name ("<module> <first param>" when the task has none). */
  name: string;
  module: string;
  /** Raw (unrendered) module parameters. */
  params: Record<string, unknown>;
  /** Where the task and its params live, for located errors. */
  loc: Loc;
  yaml: YamlFile;
  path: PathSeg[];
  paramsPath: PathSeg[];
  when?: unknown;
  loop?: unknown;
  loopVar: string;
  loopLabel?: string;
  register?: string;
  notify: string[];
  /** Handler only: extra topics it listens to. */
  listen: string[];
  tags: string[];
  become?: boolean;
  becomeUser?: string;
  /** true = never apply (always a dry run); false = apply even under --check. */
  checkMode?: boolean;
  changedWhen?: unknown;
  failedWhen?: unknown;
  ignoreErrors: boolean;
  noLog: boolean;
  diff?: boolean;
  vars: Record<string, unknown>;
  role?: RoleDef;
  /** Ordinal within its play (tasks) or handler list. */
  index: number;
}

export interface RoleDef {
  name: string;
  dir: string;
  defaults: Record<string, unknown>;
  defaultsFile?: string;
  tasks: TaskDef[];
  handlers: TaskDef[];
  /** JSON schema for the role's variables (meta/argument_schema.yml). */
  argSchema?: Record<string, unknown>;
  argSchemaFile?: string;
}

export interface RoleRef {
  role: RoleDef;
  vars: Record<string, unknown>;
  tags: string[];
  when?: unknown;
  loc: Loc;
}

export interface PlayDef {
  name: string;
  hosts: string;
  hostsLoc: Loc;
  vars: Record<string, unknown>;
  roles: RoleRef[];
  /** Role tasks first (in role order), then the play's own tasks — as Ansible orders them. */
  tasks: TaskDef[];
  handlers: TaskDef[];
  serial?: number | string | (number | string)[];
  maxFailPercentage?: number;
  tags: string[];
  become?: boolean;
  becomeUser?: string;
  gatherFacts: boolean;
  loc: Loc;
  index: number;
}

export interface Playbook {
  file: string;
  dir: string;
  plays: PlayDef[];
}

/** The modules a task may name: the registry's names (in registry order) and Ansible's aliases for them. */
export interface ModuleCatalog {
  names: readonly string[];
  aliases: Readonly<Record<string, string>>;
}
