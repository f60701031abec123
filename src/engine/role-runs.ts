/**
 * Ansible's "role already ran" rule (Role.has_run and the role_complete meta task of the linear
 * strategy), per host: a role instance (same role, same parameters: RoleRef) listed again in a
 * play — in `roles:`, as a dependency, or imported — does not run its tasks again on a host where
 * an earlier listing has completed after running at least one task (not skipped) there, unless
 * the role allows duplicates. Such tasks are left out silently, as Ansible does.
 */
import type { RoleScope, TaskDef } from '../input/playbook/types.ts';

export class RoleRuns {
  /** Per host: role instance id → the occurrence that completed it. */
  private readonly completed = new Map<string, Map<number, number>>();
  /** Per host: role instances that ran a task. */
  private readonly ran = new Map<string, Set<number>>();
  /** Per host: the role listings whose tasks the host is in (ended when the next task is outside). */
  private readonly open = new Map<string, RoleScope[]>();

  private of<T>(m: Map<string, T>, host: string, init: () => T): T {
    let v = m.get(host);
    if (!v) m.set(host, (v = init()));
    return v;
  }

  /** Called before task `t` on `host`: false when the role already ran there (the task is left out). */
  shouldRun(host: string, t: TaskDef): boolean {
    this.advance(host, t);
    const s = t.scope;
    if (!s || s.ref.allowDuplicates) return true;
    const done = this.of(this.completed, host, () => new Map<number, number>()).get(s.ref.id);
    return done === undefined || done === s.occurrence;
  }

  /** Called after task `t` ran on `host` with a result that was not "skipped" (marks the task's own role, as Ansible's _had_task_run). */
  taskRan(host: string, t: TaskDef): void {
    if (t.scope) this.of(this.ran, host, () => new Set<number>()).add(t.scope.ref.id);
  }

  /** The end of the task list: every open listing completes. */
  finish(host: string): void {
    this.advance(host, undefined);
  }

  /** Listings the host leaves when moving on to `next` complete (role_complete). */
  private advance(host: string, next: TaskDef | undefined): void {
    const open = this.of(this.open, host, () => [] as RoleScope[]);
    const inNext = new Set((next?.scope?.chain ?? []).map((r) => r.id));
    const stay = next?.scope;
    for (const s of [...open]) {
      const same = stay && s.ref.id === stay.ref.id && s.occurrence === stay.occurrence;
      if (same || (inNext.has(s.ref.id) && stay && stay.ref.id !== s.ref.id)) continue;
      open.splice(open.indexOf(s), 1);
      if (this.of(this.ran, host, () => new Set<number>()).has(s.ref.id)) {
        const done = this.of(this.completed, host, () => new Map<number, number>());
        if (!done.has(s.ref.id)) done.set(s.ref.id, s.occurrence);
      }
    }
    if (stay && !open.some((s) => s.ref.id === stay.ref.id && s.occurrence === stay.occurrence)) open.push(stay);
  }
}
