/**
 * Batching of applies: which of the instances that follow an instance being applied join its
 * round trip (applied and verified in the same remote script, src/sh/apply-batch.ts). A pure decision
 * over what the engine knows of each candidate (HostSequence builds the candidates):
 *
 * - the first instance (the one being applied) leads a batch only if its module declares a
 *   footprint, its failure follows its exit status, and nothing else makes it the last (below);
 * - a candidate joins while none of the following holds, else the batch ends before it:
 *   a `barrier` (no footprint, delegate_to, run_once, throttle, notify, loop pause, a rescue
 *   section, check_mode, a plan that failed or a probe that is missing…);
 * - a candidate whose probe reads something an earlier member writes joins GUARDED: its probe runs
 *   again on the host right before its apply and must return the same bytes as the probe it was
 *   planned from; otherwise the script stops there (the output is its fresh probe). A probe output
 *   that cannot be compared exactly ends the batch instead;
 * - a candidate planned from an earlier member's predicted probe output (a second lineinfile of the
 *   same file: the module's predictProbe) joins guarded by that prediction;
 * - a candidate already converged joins (no apply) so that later ones can, guarded like any other;
 * - a candidate with changes that may write anything (command, shell, service, package) never
 *   joins (`ordered`): it may act on other hosts or be seen by them, so it runs at its own turn,
 *   when every host has finished the tasks before it (the linear strategy's order), and only leads
 *   a batch. Under the free strategy (and host_pinned) no host waits for another at any task, and
 *   under linear with barriers (host-sequence.ts `syncs`: such a member starts a part of the script
 *   sent at its turn) the order is kept otherwise: such a candidate joins, guarded where it must
 *   be (`ordered: false`);
 * - a `last` member (failed_when, changed_when, until, any_errors_fatal, a module whose failure
 *   does not follow its exit status) ends the batch after itself.
 */
import { type Footprint, firstOverlap, type Resource, showResource } from '../../modules/resources.ts';

/**
 * The modules whose tasks may follow the first instance of a batch under the linear strategy:
 * their changes stay in their host's files. A task of any other module ends a batch before it,
 * even where it is skipped or converged on this host (on another host it may run, at its own
 * turn, and see what later tasks do), and a first instance that may change anything leads no
 * batch: the linear strategy's order across hosts stays exact. Under the free strategy every
 * module with a footprint may follow (no order across hosts is promised).
 */
export const FILE_MODULES: ReadonlySet<string> = new Set(['file', 'copy', 'template', 'lineinfile']);

/** At most this many instances in one apply script. */
export const MAX_APPLY_BATCH = 200;

export interface Candidate {
  footprint?: Footprint;
  /** Why it cannot join a batch (nor lead one), if so. */
  barrier?: string;
  /** Why nothing may follow it in a batch, if so. */
  last?: string;
  /** Its plan has changes (it needs an apply). */
  changes: boolean;
  /** Its probe output can be compared exactly by a guard (sh/apply-batch.ts guardable). */
  guardable: boolean;
  /** Planned from an earlier member's predicted probe output (predictProbe): always guarded. */
  predicted?: boolean;
}

export interface BatchDecision {
  /** Indexes into [first, ...rest], in order (0 first), and whether each is guarded. */
  members: { index: number; guard: boolean }[];
  /** Why the batch ends where it does (for logs and tests). */
  end: string;
}

/**
 * The members of the batch led by `first` (index 0), then candidates `rest` (index 1…).
 * `ordered`: the play's strategy orders the hosts task by task (linear); false under free.
 */
export function decideBatch(first: Candidate, rest: readonly Candidate[], ordered = true): BatchDecision {
  const members = [{ index: 0, guard: false }];
  if (first.barrier) return { members, end: `first: ${first.barrier}` };
  if (!first.footprint) return { members, end: 'first: no footprint' };
  if (!first.footprint.exitStatusFails) return { members, end: 'first: failure not by exit status' };
  if (first.last) return { members, end: `first: ${first.last}` };
  const writes: Resource[] = [...first.footprint.writes];
  for (const [n, c] of rest.entries()) {
    const index = n + 1;
    if (members.length >= MAX_APPLY_BATCH) return { members, end: 'size limit' };
    if (c.barrier) return { members, end: `${index}: ${c.barrier}` };
    if (!c.footprint) return { members, end: `${index}: no footprint` };
    // A change that may touch anything (a command, a started service, maintainer scripts) may act
    // on other hosts or be seen by them: it runs at its own turn, once every host has finished the
    // tasks before it (the linear strategy's order), so it only leads a batch.
    if (ordered && c.changes && c.footprint.writes.some((w) => w.kind === 'anything'))
      return { members, end: `${index}: may change anything (leads its own batch, at its turn)` };
    const hit = firstOverlap(writes, c.footprint.reads);
    if (hit && !c.guardable) return { members, end: `${index}: reads ${showResource(hit.read)}, written before; probe not comparable` };
    if (c.predicted && !c.guardable) return { members, end: `${index}: planned from a prediction that cannot be compared` };
    members.push({ index, guard: Boolean(hit) || Boolean(c.predicted) });
    if (c.changes) writes.push(...c.footprint.writes);
    if (c.changes && !c.footprint.exitStatusFails) return { members, end: `${index}: failure not by exit status (last)` };
    if (c.last) return { members, end: `${index}: ${c.last} (last)` };
  }
  return { members, end: 'no more candidates' };
}
