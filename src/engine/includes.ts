/**
 * Dynamic includes at run time: what the runner does with an `include_tasks` / `include_role`
 * action's effect (contract.ts ActionEffect). The expansion itself (reading the file or the role,
 * as the loader reads static ones) is the loader's (issue 16's part A2:
 * src/input/playbook/includes.ts); the runner takes it as `RunnerOptions.expandInclude`.
 *
 * The expanded tasks are spliced into the including host's sequence right after the include, one
 * expansion per loop item, each task at position `[...include.pos, item, j]` (so hosts that
 * included the same file at the same place run its tasks together, iterator.ts) and inside the
 * include's blocks (an expansion's own block frames follow the include's).
 */
import type { BlockFrame, PlayDef, Playbook, RoleRef, TaskDef } from '../input/playbook/types.ts';
import { expandIncludeRole, expandIncludeTasks, loopVarsOf } from '../input/playbook/includes.ts';
import { selectedIncluded } from '../plan/selection.ts';
import { type Diagnostic, formatDiagnostic } from '../core/diagnostic.ts';
import type { ActionEffect } from '../modules/contract.ts';
import { posOf } from './iterator.ts';

export type IncludeEffect = Extract<ActionEffect, { kind: 'include_tasks' | 'include_role' }>;

/** What an include expands to on one host. */
export interface IncludeExpansion {
  /** The tasks, in order (their `pos` and enclosing blocks are set by the runner). */
  tasks: TaskDef[];
  /** include_role: the role's handlers, which join the play's handlers for this host. */
  handlers?: TaskDef[];
  /** include_role: the role instance (its vars and defaults are exposed after the include with `public: true`). */
  role?: RoleRef;
}

/** Expands an include's effect for one host (the loader's expandIncludeTasks / expandIncludeRole). */
export type IncludeExpander = (
  effect: IncludeEffect,
  include: TaskDef,
  ctx: { host: string; play: PlayDef; vars: Record<string, unknown> },
) => IncludeExpansion;

export function isInclude(e: ActionEffect): e is IncludeEffect {
  return e.kind === 'include_tasks' || e.kind === 'include_role';
}

/**
 * The tasks of expansion number `item` of `include`, placed: position `[...include.pos, item, j]`,
 * and the include's block frames before their own. Copies: the expansion's TaskDefs are not changed.
 */
export function placeIncluded(include: TaskDef, item: number, tasks: readonly TaskDef[]): TaskDef[] {
  const base = posOf(include);
  const outer = include.blocks ?? [];
  // The expansion's block ids are unique within it only: renumbered, so that two expansions
  // (two loop items, the same file included twice) are never taken for the same block.
  const ids = new Map<number, number>();
  const renumber = (f: BlockFrame): BlockFrame => {
    let id = ids.get(f.id);
    if (id === undefined) ids.set(f.id, (id = nextBlockId++));
    return { ...f, id };
  };
  return tasks.map((t, j) => ({
    ...t,
    pos: [...base, item, j],
    ...(outer.length || t.blocks ? { blocks: [...outer, ...(t.blocks ?? []).map(renumber)] } : {}),
  }));
}

/** Ids of included blocks: above any the loader gives a play's own blocks. */
let nextBlockId = 1_000_000_000;

/**
 * The runner's default expander: the loader's own (src/input/playbook/includes.ts), with the
 * loop variables of the include's item given to the included tasks, the run's tag selection
 * applied to the included tasks (as Ansible filters them), and any problem in the included file
 * failing the include on that host, located.
 */
export function loaderExpander(playbook: Playbook, sel: { tags: string[]; skipTags: string[] }): IncludeExpander {
  return (effect, include, ctx) => {
    const opts = { playbook, itemVars: loopVarsOf(include, ctx.vars) };
    const located = (d: Diagnostic[]) => {
      if (d.length) throw new Error(d.map(formatDiagnostic).join('\n'));
    };
    const pick = (ts: TaskDef[]) => selectedIncluded(ctx.play, ts, sel.tags, sel.skipTags);
    if (effect.kind === 'include_tasks') {
      const x = expandIncludeTasks(include, effect.file, opts);
      located(x.diagnostics);
      return { tasks: pick(x.tasks) };
    }
    const x = expandIncludeRole(include, effect, opts);
    located(x.diagnostics);
    return { tasks: pick(x.tasks), handlers: x.handlers, role: x.role };
  };
}
