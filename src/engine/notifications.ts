/**
 * The handler notifications of one batch of a play, per host, kept in step with the
 * pending-handlers file (pending.ts) so that no death of the controller loses one:
 *
 * - at the start, the notifications left pending by an earlier run are restored (they run like new ones);
 * - `beforeApply`: before an apply of a task (or handler) that notifies is sent, its notifications
 *   are recorded durably (write-ahead); those not recorded before are "tentative";
 * - `afterTask`: a task that changed makes them real; one that did not (ok, skipped, an ignored
 *   failure) withdraws the tentative ones; a host that stopped (failed, unreachable) keeps them,
 *   since its change may have reached the host;
 * - `handlerRan`: a notification is cleared, durably, once every handler it runs has run
 *   successfully on the host (a listen topic with two listeners: after both);
 * - `finish`: what is left is kept for the next run when the host stopped or the play was aborted,
 *   and cleared otherwise (as before: a handler notified by a later handler is not run again).
 *
 * Handlers of roles included at run time (include_role) are known only once the role is
 * included: their notifications are saved marked `included`, restored by the next run like the
 * others, and run once the host includes the role again (its handlers join the host's). One whose
 * role is not included again on the host stays pending (`finish` returns it, for a warning)
 * rather than being lost.
 */
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { notifiableNames, notifiedHandlers } from '../plan/handlers.ts';
import type { PendingHandlers } from './pending.ts';

export class BatchNotifications {
  /** Per host: the names its handlers answer to (the play's, and those of roles it included). */
  private readonly names = new Map<string, Set<string>>();
  private readonly playNames: Set<string>;
  /** Per host: handlers of roles included at run time (include_role), after the play's. */
  private readonly extra = new Map<string, TaskDef[]>();
  /** Per host: notified for real (or restored), not yet cleared. */
  private readonly notified = new Map<string, Set<string>>();
  /** Per host: recorded ahead of the current task's apply, not yet made real. */
  private readonly tentative = new Map<string, Set<string>>();
  /** Per host: handlers that ran successfully in this batch. */
  private readonly done = new Map<string, Set<TaskDef>>();
  /** Per host: restored notifications of handlers of roles included at run time (pending.ts `included`). */
  private readonly restoredIncluded = new Map<string, Set<string>>();

  constructor(
    private readonly pending: PendingHandlers,
    private readonly play: PlayDef,
    hosts: readonly string[],
  ) {
    this.playNames = notifiableNames(play.handlers);
    for (const h of hosts) {
      this.restoredIncluded.set(h, new Set(this.pending.includedFor(h, play.name)));
      this.notified.set(h, new Set(this.restored(h)));
      this.tentative.set(h, new Set());
      this.done.set(h, new Set());
    }
  }

  /** The host's notifications left pending by an earlier run (for this play's handlers). */
  restored(host: string): string[] {
    const included = this.restoredIncluded.get(host);
    return this.pending.forHost(host, this.play.name).filter((n) => this.playNames.has(n) || included?.has(n));
  }

  /** The names the host's notifications may use that are handlers of roles included at run time (not the play's). */
  private includedOf(host: string): Set<string> {
    const out = new Set(this.restoredIncluded.get(host));
    for (const n of this.namesOf(host)) if (!this.playNames.has(n)) out.add(n);
    return out;
  }

  /** The host's handlers: the play's, then those of the roles it included, in order. */
  handlersOf(host: string): TaskDef[] {
    const extra = this.extra.get(host);
    return extra ? [...this.play.handlers, ...extra] : this.play.handlers;
  }

  /**
   * An included role's handlers join the host's (include_role): a later handler list than any
   * before (a notification by name runs the first match of the last list, plan/handlers.ts).
   */
  addHandlers(host: string, handlers: readonly TaskDef[]): void {
    const list = this.handlersOf(host);
    const block = Math.max(0, ...list.map((h) => h.handlerBlock ?? 0)) + 1;
    this.extra.set(host, [...(this.extra.get(host) ?? []), ...handlers.map((h) => ({ ...h, handlerBlock: block }))]);
    this.names.delete(host);
  }

  private namesOf(host: string): Set<string> {
    let n = this.names.get(host);
    if (!n) this.names.set(host, (n = this.extra.has(host) ? notifiableNames(this.handlersOf(host)) : this.playNames));
    return n;
  }

  /** The host's current notifications. */
  of(host: string): ReadonlySet<string> {
    return this.notified.get(host)!;
  }

  private known(host: string, notify: readonly string[]): string[] {
    const names = this.namesOf(host);
    return notify.filter((n) => names.has(n));
  }

  /** Write-ahead: records `notify` before an apply is sent to `host` (throws if the file cannot be written). */
  beforeApply(host: string, notify: readonly string[]): void {
    const names = this.known(host, notify);
    if (!names.length) return;
    let added: string[];
    try {
      added = this.pending.record(host, this.play.name, names, this.includedOf(host));
    } catch (err) {
      throw new Error(`cannot record the handler notification in ${this.pending.path} (${(err as Error).message}); nothing was applied`);
    }
    for (const n of added) this.tentative.get(host)!.add(n);
  }

  /** After a task (or handler) ran on `host`: `changed` if it did, `stopped` if the host takes no further part. */
  afterTask(host: string, notify: readonly string[], changed: boolean, stopped: boolean): void {
    const notified = this.notified.get(host)!;
    const tentative = this.tentative.get(host)!;
    if (changed) {
      const names = this.known(host, notify);
      this.pending.record(host, this.play.name, names, this.includedOf(host));
      for (const n of names) {
        notified.add(n);
        // Notified again: its handlers run again (those defined after the one running now).
        for (const hd of notifiedHandlers(this.handlersOf(host), n)) this.done.get(host)!.delete(hd);
      }
    } else if (stopped) {
      for (const n of tentative) notified.add(n);
    } else {
      this.pending.withdraw(
        host,
        this.play.name,
        [...tentative].filter((n) => !notified.has(n)),
      );
    }
    tentative.clear();
  }

  /** Handler `hd` ran successfully on `host`: clears the notifications all of whose handlers have run. */
  handlerRan(host: string, hd: TaskDef): void {
    const done = this.done.get(host)!;
    done.add(hd);
    const notified = this.notified.get(host)!;
    const list = this.handlersOf(host);
    // A restored notification whose role is not included (yet) has no handler here: not satisfied.
    const satisfied = [...notified].filter((n) => {
      const hs = notifiedHandlers(list, n);
      return hs.length > 0 && hs.every((x) => done.has(x));
    });
    for (const n of satisfied) notified.delete(n);
    this.pending.withdraw(host, this.play.name, satisfied);
  }

  /**
   * The batch is over for `host`: keeps what is left for the next run, or clears it — except the
   * notifications of handlers of roles included at run time that the host did not include in this
   * run (no handler answered them): those stay pending, and are returned (for a warning).
   */
  finish(host: string, keep: boolean): string[] {
    const included = this.includedOf(host);
    const list = this.handlersOf(host);
    const left = [...this.notified.get(host)!];
    const waiting = left.filter((n) => included.has(n) && notifiedHandlers(list, n).length === 0);
    this.pending.set(host, this.play.name, keep ? left : waiting, included);
    return waiting;
  }
}
