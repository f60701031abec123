/**
 * What `--shard i/n` would change the meaning of, refused by name with a located error (docs/cli.md,
 * Sharding). Under a shard a controller sees only its part of each play's hosts, so a keyword that
 * couples the hosts of a play would silently act per shard instead of over the play:
 * - `serial`: a rolling update of k hosts at a time would become n rolling updates side by side;
 * - `run_once`: the task would run once per shard, not once;
 * - `throttle`: the bound on hosts running a task at once would be per controller (n × throttle);
 * - `meta: end_play` / `end_batch`: would end the play (or batch) for this shard's hosts only;
 * - add_host, group_by: change the inventory for the plays and templates after them (groups[…],
 *   the hosts of a later play), and each controller would see only its own shard's changes.
 * `play_hosts` and `ansible_play_batch` are left undefined under a shard (vars-builder.ts), so a
 * template using them is a located error that says why (instance.ts templateMessage).
 * Not refused, and said in the docs: `any_errors_fatal` and `max_fail_percentage` act per shard (a
 * failure stops its own controller's play; the merged recap's exit code is still the worst);
 * `hostvars` and `groups` stay inventory-wide, but facts and registered results of hosts in other
 * shards do not exist here (a template using them fails, as on a host that did not run).
 * The checks cover every task (inherited keywords too), the handlers and, at run time, the tasks of
 * a dynamic include (the runner calls this again).
 */
import type { Diagnostic } from '../core/diagnostic.ts';
import type { KeywordValue, PlayDef, TaskDef } from '../input/playbook/types.ts';
import { locate } from '../input/yaml/document.ts';
import type { Shard } from './shard.ts';

const set = (kv: KeywordValue<unknown> | undefined): boolean =>
  kv !== undefined && !('value' in kv && (kv.value === false || kv.value === 0));

const why = (what: string, s: Shard) =>
  `${what} under --shard ${s.index}/${s.count}: each controller sees only its shard of the play's hosts, so it would not mean what it means in Ansible; run this play unsharded`;

/** The play's own keywords refused under a shard (serial, run_once, throttle written on the play). */
export function shardPlayProblems(play: PlayDef, shard: Shard | undefined): Diagnostic[] {
  if (!shard || shard.count <= 1) return [];
  const out: Diagnostic[] = [];
  if (play.serial !== undefined)
    out.push({ ...play.loc, message: why(`play '${play.name}': serial (a batch would be cut from one shard's hosts)`, shard) });
  if (set(play.runOnce)) out.push({ ...play.loc, message: why(`play '${play.name}': run_once (once per shard, not once)`, shard) });
  if (set(play.throttle)) out.push({ ...play.loc, message: why(`play '${play.name}': throttle (a bound per controller)`, shard) });
  return out;
}

/** The located refusals for these tasks (or handlers) of a play under a shard; none without one. */
export function shardTaskProblems(play: PlayDef, tasks: readonly TaskDef[], shard: Shard | undefined): Diagnostic[] {
  if (!shard || shard.count <= 1) return [];
  const out: Diagnostic[] = [];
  for (const t of tasks) {
    const at = locate(t.yaml, t.path);
    // The play's own keyword is refused once, at the play.
    if (set(t.runOnce) && t.runOnce !== play.runOnce) out.push({ ...at, message: why('run_once (once per shard, not once)', shard) });
    if (set(t.throttle) && t.throttle !== play.throttle) out.push({ ...at, message: why('throttle (a bound per controller)', shard) });
    if (t.module === 'add_host' || t.module === 'group_by')
      out.push({ ...at, message: why(`${t.ansibleModule} (the inventory change would reach only this shard's controller)`, shard) });
    const meta = t.module === 'meta' ? t.params.free_form : undefined;
    if (meta === 'end_play' || meta === 'end_batch')
      out.push({
        ...at,
        message: why(`meta: ${meta} (it would end the ${meta === 'end_play' ? 'play' : 'batch'} for this shard's hosts only)`, shard),
      });
  }
  return out;
}

/**
 * What sharding makes per shard without changing it on a host, said as a note at the start of a
 * sharded run: any_errors_fatal and max_fail_percentage stop this shard's hosts only.
 */
export function shardNotes(play: PlayDef, shard: Shard | undefined): Diagnostic[] {
  if (!shard || shard.count <= 1) return [];
  const out: Diagnostic[] = [];
  const fatal = set(play.anyErrorsFatal) || [...play.tasks, ...play.handlers].some((t) => set(t.anyErrorsFatal));
  if (fatal)
    out.push({
      ...play.loc,
      message: `play '${play.name}': any_errors_fatal stops this shard's hosts only under --shard (the other controllers go on; the merged recap shows every failure)`,
    });
  if (play.maxFailPercentage !== undefined)
    out.push({
      ...play.loc,
      message: `play '${play.name}': max_fail_percentage counts this shard's hosts only under --shard (each controller checks its own part)`,
    });
  return out;
}
