/**
 * Dynamic includes at run time (ansible-core 2.14's include_tasks, include_role and a dynamic
 * `include`): the engine calls these when an include task runs on a host (once per loop item),
 * and splices the returned tasks after the include in that host's sequence.
 *
 * - The file is found as Ansible finds it (see PlaybookLoader.includePath): in a role, the role's
 *   tasks/ directory first; then the directories of the files the include is in, innermost
 *   first; then the role's directory and the playbook's directory.
 * - The returned tasks are fresh TaskDefs: blocks flattened (frames of the file's own blocks, with
 *   ids that clash with no frame of the play nor of another expansion; the include's own frames
 *   are NOT prepended: the engine places the tasks inside the include's blocks, see
 *   engine/includes.ts), `pos = [...include.pos, item, j]`, `index` the include's; they inherit
 *   what the include inherits (its blocks, imports, role chain, play) but not its own `when`,
 *   `tags` or `loop` (those are the include's), below `apply` and the include's `vars` (with the
 *   loop variables, as Ansible passes them).
 * - include_role: the role's instance (tasks_from, vars_from, defaults_from, handlers_from), its
 *   dependencies' tasks first, each task in the role's scope (role vars, defaults, params); its
 *   handlers are returned for the play's handlers.
 * - Each file is parsed once per playbook (the loader's caches); errors in it are located
 *   diagnostics (a missing file at the include's file name).
 */
import type { Diagnostic } from '../../core/diagnostic.ts';
import { loaderOf } from './load.ts';
import type { Playbook, RoleRef, TaskDef } from './types.ts';

/**
 * include_role's rendered arguments: the `include_role` ActionEffect of modules/contract.ts (the
 * input layer cannot import it; the shapes are the same).
 */
export interface IncludeRoleSpec {
  name: string;
  tasksFrom?: string;
  varsFrom?: string;
  defaultsFrom?: string;
  handlersFrom?: string;
  public: boolean;
  allowDuplicates: boolean;
  vars: Record<string, unknown>;
  apply?: Record<string, unknown>;
}

export interface ExpandOptions {
  /** The playbook the include's play comes from (as loadPlaybook returned it: its loader and caches). */
  playbook: Playbook;
  /** The loop item's index (0 when the include has no loop). */
  item?: number;
  /** The include's loop variables (`item` or its loop_var, index_var, ansible_loop), given to the included tasks. */
  itemVars?: Record<string, unknown>;
}

function loader(opts: ExpandOptions) {
  const l = loaderOf(opts.playbook);
  if (!l) throw new Error('expandInclude: the playbook was not loaded by loadPlaybook');
  return l;
}

/** include_tasks (and a dynamic `include`) of `file` (the rendered file name): its tasks, placed under `parent`. */
export function expandIncludeTasks(parent: TaskDef, file: string, opts: ExpandOptions): { tasks: TaskDef[]; diagnostics: Diagnostic[] } {
  return loader(opts).expandTasks(parent, file, opts.item ?? 0, opts.itemVars ?? {});
}

/** include_role with `spec` (its rendered arguments): the role's tasks and handlers, placed under `parent`. */
export function expandIncludeRole(
  parent: TaskDef,
  spec: IncludeRoleSpec,
  opts: ExpandOptions,
): { tasks: TaskDef[]; handlers: TaskDef[]; role?: RoleRef; diagnostics: Diagnostic[] } {
  return loader(opts).expandRole(parent, spec, opts.item ?? 0, opts.itemVars ?? {});
}

/**
 * The loop variables of one item of an include (its loop_var, index_var, ansible_loop), picked
 * from the variables the include was rendered with for that item: what Ansible passes to the
 * included tasks (IncludedFile's special vars), for `ExpandOptions.itemVars`.
 */
export function loopVarsOf(include: TaskDef, vars: Record<string, unknown>): Record<string, unknown> {
  if (include.loop === undefined) return {};
  const lc = include.loopControl;
  const out: Record<string, unknown> = {};
  for (const k of [lc.loopVar, lc.indexVar, 'ansible_loop']) if (k !== undefined && Object.hasOwn(vars, k)) out[k] = vars[k];
  return out;
}
