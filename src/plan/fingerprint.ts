/**
 * What a run was, for `kiln report merge` to prove that shards' reports belong to one run
 * (docs/cli.md, Sharding): the run's fingerprint and its full selection, recorded in the JSON
 * report's `run`.
 *
 * The fingerprint is a sha256 of names and structure only — never of a value: the playbook's file
 * name, each play's name, host pattern and its tasks' and handlers' modules and places (file name,
 * line, column); every
 * inventory host with its groups; the hosts the run selects before sharding; `--limit`, `-t`,
 * `--skip-tags`, check mode, and the names (not the values) of the extra vars. A value may be a
 * secret, and nothing derived from a secret leaves the run. So two runs that differ only in a
 * variable's value (or a task's arguments) have the same fingerprint: the operator runs the shards
 * of one run from one commit (a CI matrix, an Indexed Job) and the fingerprint catches the
 * mistakes a merge can make (another playbook, inventory, limit, tags or mode).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Inventory } from '../input/inventory/index.ts';
import type { Playbook } from '../input/playbook/types.ts';
import { playHosts } from './selection.ts';

export interface RunIdentity {
  /** The playbook's file name. */
  playbook: string;
  /** `sha256:<hex>` of the run's structure (see the file comment). */
  fingerprint: string;
  /** The hosts the run selects over all its plays before sharding (inventory order). */
  selected: string[];
}

export function runIdentity(
  playbook: Playbook,
  inv: Inventory,
  sel: { limit?: string; tags: string[]; skipTags: string[]; check: boolean; extraVars: Record<string, unknown> },
): RunIdentity {
  const chosen = new Set(playbook.plays.flatMap((p) => (p.hosts ? playHosts(inv, p, sel.limit) : [])));
  const selected = [...inv.hosts.keys()].filter((h) => chosen.has(h));
  // A task by its module and where it is written (file name, line, column): not by its display
  // name, which may quote a parameter's value.
  const tasks = (ts: Playbook['plays'][number]['tasks']) => ts.map((t) => [t.module, basename(t.loc.file), t.loc.line, t.loc.col]);
  const shape = {
    playbook: basename(playbook.file),
    plays: playbook.plays.map((p) => ({ name: p.name, hosts: p.hosts, tasks: tasks(p.tasks), handlers: tasks(p.handlers) })),
    inventory: [...inv.hosts.values()].map((h) => [h.name, [...h.groups].sort()]),
    selected,
    limit: sel.limit ?? null,
    tags: [...sel.tags].sort(),
    skipTags: [...sel.skipTags].sort(),
    check: sel.check,
    extraVarNames: Object.keys(sel.extraVars).sort(),
  };
  return {
    playbook: shape.playbook,
    fingerprint: `sha256:${createHash('sha256').update(JSON.stringify(shape)).digest('hex')}`,
    selected,
  };
}
