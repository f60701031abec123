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
 */
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { notifiableNames, notifiedHandlers } from '../plan/handlers.ts';
import type { PendingHandlers } from './pending.ts';

export class BatchNotifications {
  private readonly names: Set<string>;
  /** Per host: notified for real (or restored), not yet cleared. */
  private readonly notified = new Map<string, Set<string>>();
  /** Per host: recorded ahead of the current task's apply, not yet made real. */
  private readonly tentative = new Map<string, Set<string>>();
  /** Per host: handlers that ran successfully in this batch. */
  private readonly done = new Map<string, Set<TaskDef>>();

  constructor(
    private readonly pending: PendingHandlers,
    private readonly play: PlayDef,
    hosts: readonly string[],
  ) {
    this.names = notifiableNames(play.handlers);
    for (const h of hosts) {
      this.notified.set(h, new Set(this.restored(h)));
      this.tentative.set(h, new Set());
      this.done.set(h, new Set());
    }
  }

  /** The host's notifications left pending by an earlier run (for this play's handlers). */
  restored(host: string): string[] {
    return this.pending.forHost(host, this.play.name).filter((n) => this.names.has(n));
  }

  /** The host's current notifications. */
  of(host: string): ReadonlySet<string> {
    return this.notified.get(host)!;
  }

  private known(notify: readonly string[]): string[] {
    return notify.filter((n) => this.names.has(n));
  }

  /** Write-ahead: records `notify` before an apply is sent to `host` (throws if the file cannot be written). */
  beforeApply(host: string, notify: readonly string[]): void {
    const names = this.known(notify);
    if (!names.length) return;
    let added: string[];
    try {
      added = this.pending.record(host, this.play.name, names);
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
      const names = this.known(notify);
      this.pending.record(host, this.play.name, names);
      for (const n of names) {
        notified.add(n);
        // Notified again: its handlers run again (those defined after the one running now).
        for (const hd of notifiedHandlers(this.play.handlers, n)) this.done.get(host)!.delete(hd);
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
    const satisfied = [...notified].filter((n) => notifiedHandlers(this.play.handlers, n).every((x) => done.has(x)));
    for (const n of satisfied) notified.delete(n);
    this.pending.withdraw(host, this.play.name, satisfied);
  }

  /** The batch is over for `host`: keeps what is left for the next run, or clears it. */
  finish(host: string, keep: boolean): void {
    this.pending.set(host, this.play.name, keep ? [...this.notified.get(host)!] : []);
  }
}
