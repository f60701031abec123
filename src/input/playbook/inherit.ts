/**
 * What a task inherits, as Ansible's parent chain gives it (Task/Block._get_parent_attribute):
 * the levels above a task (its imports, an import_role's own chain, its role entry, the roles that
 * depend on it, the play), nearest first; the nearest value of each keyword the task does not set,
 * every `when` (outermost first, all must hold), every tag, the imports' vars under the task's own,
 * the nearest import's `notify` when the task has none.
 */
import type { YamlCursor } from '../yaml/document.ts';
import type { BlockFrame, Condition, KeywordSource, RoleScope, TaskDef } from './types.ts';

/** One level a task inherits keywords from: the play, a role entry, a block, an import. */
export type Source = KeywordSource;

/**
 * A task list entry before it is placed in a play: a task, or an import_role to expand there.
 * `imports` are the blocks and imports around it (nearest first); `blocks` its enclosing blocks
 * (outermost first, ids of the loader: the play's are given when placed).
 */
export type Item =
  | { kind: 'task'; task: TaskDef; imports: Source[]; ownNotify: boolean; blocks: BlockFrame[] }
  | { kind: 'import_role'; source: Source; c: YamlCursor; imports: Source[]; blocks: BlockFrame[] };

const SCALARS = [
  'become',
  'becomeUser',
  'checkMode',
  'diff',
  'ignoreErrors',
  'noLog',
  // where and when (part G)
  'runOnce',
  'ignoreUnreachable',
  'anyErrorsFatal',
  'throttle',
  'delegateTo',
] as const;

/**
 * A task with what it inherits from `sources` (nearest first, as Ansible's parent chain: its
 * imports, an import_role's chain, its role entry, the roles that depend on it, the play): the
 * nearest value of each keyword the task does not set, every `when` (outermost first), every tag,
 * the imports' vars under its own, the nearest import's `notify` when it has none.
 */
export function inherit(task: TaskDef, sources: Source[], scope: RoleScope | undefined, ownNotify: boolean): TaskDef {
  const out: TaskDef = { ...task, scope };
  for (const k of SCALARS) {
    if (out[k] !== undefined) continue;
    const s = sources.find((x) => x[k] !== undefined);
    if (s) (out as unknown as Record<string, unknown>)[k] = s[k];
  }
  const seen = new Set<Condition>();
  const when: Condition[] = [];
  for (const s of [...sources].reverse()) {
    for (const w of s.when) {
      if (!seen.has(w)) {
        seen.add(w);
        when.push(w);
      }
    }
  }
  out.when = [...when, ...task.when];
  out.tags = [...new Set([...task.tags, ...sources.flatMap((s) => s.tags)])];
  const vars: Record<string, unknown> = {};
  for (const s of [...sources].reverse()) if (s.vars) Object.assign(vars, s.vars);
  out.vars = { ...vars, ...task.vars };
  // environment (part G): every level's, outermost first, the task's own last (nearest wins when merged).
  const env = [...[...sources].reverse().flatMap((s) => s.environment ?? []), ...(task.environment ?? [])];
  if (env.length) out.environment = env;
  if (!ownNotify) out.notify = sources.find((s) => s.notify !== undefined)?.notify ?? task.notify;
  return out;
}
