/**
 * One host's run through a list of tasks: probe → plan → apply → verify (→ confirm), with probes
 * batched. This file keeps the sequence's state and the order of the phases; each phase is a small
 * function in ./phases/ (probe, plan, apply, verify, confirm).
 *
 * Probing: when a task instance has no fresh probe result, the host probes it together with
 * every following instance whose inputs are already known (no dependency on a result that is
 * registered later), in ONE remote script. After an apply, everything probed for later tasks is
 * stale: the verify probe of the changed instance is sent together with a new probe of the
 * following instances.
 *
 * Across plays (ProbeCache): the first probe script of a play also carries the probes of the
 * host's later plays that can be rendered now. A later play uses such a result only while
 * nothing has been applied on any host since, and only if its probe script is byte-identical
 * (same module, same params); otherwise it probes as usual. A converged host therefore costs one
 * round trip for the whole playbook.
 *
 * The host is reached only through a TransportFactory: `open` (cached by the caller: every round
 * trip of the run uses the same connection) and `openFresh` (commit-confirm).
 */
import type { Change, ExecResult, RunMemory } from '../modules/contract.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { redact, taintDeep } from '../core/secret/secret.ts';
import { TemplateError } from '../template/engine.ts';
import { CommandTimeoutError, type Transport, type TransportFactory, UnreachableError } from '../transport/transport.ts';
import { type Instantiation, instantiate, LocatedError, type LoopItem, type TaskInstance, taskReferences } from '../plan/instance.ts';
import type { TaskResult } from './report.ts';
import { taskResult } from './results.ts';
import { modeOf, type ProbeCache, probeInstances, probeWindow } from './phases/probe.ts';
import { type Planned, planInstance, predictChanged } from './phases/plan.ts';
import { applyRoundTrip, changedAfterApply, interpretApply, needsVerify } from './phases/apply.ts';
import { verifyInstance } from './phases/verify.ts';
import { confirmInstance } from './phases/confirm.ts';
import { controlsOf, type TaskControls } from './play-controls.ts';

export type { ProbeCache };

export interface SequenceOptions {
  host: string;
  /** The run's memory, shared by every host. */
  run: RunMemory;
  play: PlayDef;
  check: boolean;
  diff: boolean;
  playbookDir: string;
  extraVars: Record<string, unknown>;
  handler: boolean;
  /** Variables for a task on the host (recomputed with registered results). */
  vars: (task: TaskDef, registered: Record<string, unknown>) => Record<string, unknown>;
  /** Probe results shared across this host's plays (see the file comment). */
  cache?: ProbeCache;
  /**
   * Called right before an apply of `task` is sent to the host (not in check mode): the runner
   * records the task's handler notifications there first (write-ahead). If it throws, nothing is
   * applied and the task fails with its message.
   */
  beforeApply?: (task: TaskDef) => void;
}

export interface InstanceOutcome {
  result: TaskResult;
  changed: boolean;
  failed: boolean;
  unreachable: boolean;
  registered?: Record<string, unknown>;
}

/** A host's pass through one task list (a play's tasks, or its notified handlers). */
export class HostSequence {
  private readonly inst = new Map<number, Instantiation>();
  private readonly probed = new Map<TaskInstance, ExecResult>();
  private readonly registers = new Map<number, string>();
  /** "task:item" of each instance, the ProbeCache key. */
  private readonly keys = new Map<TaskInstance, string>();
  private lookedAhead = false;

  constructor(
    /** `open` must be cached by the caller (one connection per host); `openFresh` serves commit-confirm. */
    private readonly transport: TransportFactory,
    readonly tasks: TaskDef[],
    readonly opts: SequenceOptions,
    readonly registered: Record<string, unknown>,
  ) {
    tasks.forEach((t, i) => t.register && this.registers.set(i, t.register));
  }

  private instantiation(i: number): Instantiation {
    let r = this.inst.get(i);
    if (!r) {
      const task = this.tasks[i]!;
      try {
        r = instantiate(task, this.opts.vars(task, this.registered), { ...this.opts, host: this.opts.host });
      } catch (err) {
        r = { kind: 'error', task, diagnostics: [{ ...task.loc, message: (err as Error).message }] };
      }
      if (r.kind === 'run') r.instances.forEach((x, k) => this.keys.set(x, `${i}:${k}`));
      this.inst.set(i, r);
    }
    return r;
  }

  /** The connection an instance runs over (cached by the caller): the host's, or its delegate's (delegate_to). */
  private readonly conn = (x?: TaskInstance): Promise<Transport> => this.transport.open(x?.delegate ?? this.opts.host);

  /** Instances from (task i, item k) on whose inputs are known now, in order, same become mode. */
  private window(i: number, k: number, first?: TaskInstance): TaskInstance[] {
    return probeWindow(
      { tasks: this.tasks, instantiation: (j) => this.instantiation(j), registers: this.registers, probed: this.probed },
      i,
      k,
      first,
    );
  }

  /**
   * What an earlier play may probe for this one: the instances from the start whose inputs are
   * known now, in become mode `mode` (none when the play starts in another mode).
   */
  peek(mode: string): { key: string; script: string }[] {
    const list = this.window(0, 0);
    if (!list.length || modeOf(list[0]!) !== mode) return [];
    return list.map((x) => ({ key: this.keys.get(x)!, script: x.bound.probe(x.ctx) }));
  }

  private probe(list: TaskInstance[]): Promise<void> {
    return probeInstances(list, {
      transport: () => this.conn(list[0]), // one window, one mode: one connection (probe.ts modeOf)
      keys: this.keys,
      probed: this.probed,
      cache: this.opts.handler ? undefined : this.opts.cache,
      firstScript: () => {
        const first = !this.lookedAhead;
        this.lookedAhead = true;
        return first;
      },
    });
  }

  /** Runs task i on this host. */
  async runTask(i: number): Promise<InstanceOutcome[]> {
    const task = this.tasks[i]!;
    const started = Date.now();
    const r = this.instantiation(i);
    if (r.kind === 'skip') {
      const result = this.result(task, task.name, 'skipped', [], started, r.reason);
      this.register(
        task,
        task.loop !== undefined ? loopRegister([], r.skipped) : { changed: false, skip_reason: SKIP_REASON, skipped: true },
      );
      return [{ result, changed: false, failed: false, unreachable: false }];
    }
    if (r.kind === 'error') {
      // An error rendering the task (an undefined variable in `when`, a bad parameter) fails it,
      // located; ignore_errors applies as in Ansible.
      const msg = r.diagnostics.map((d) => `${d.file}${d.line ? `:${d.line}:${d.col}` : ''}: ${d.message}`).join('\n');
      const ignored = r.ignored ?? false;
      this.register(task, { failed: true, changed: false, msg: redact(msg) });
      return [
        {
          result: this.result(task, task.name, 'failed', [], started, msg, { ignored: ignored || undefined }),
          changed: false,
          failed: !ignored,
          unreachable: false,
        },
      ];
    }
    // Every item runs, as in Ansible, even after one failed; the task fails if one did (not ignored).
    const outcomes: InstanceOutcome[] = [];
    for (const [k, x] of r.instances.entries()) {
      const o = await this.runInstance(x, i, k);
      outcomes.push(o);
      if (o.unreachable) break;
    }
    if (task.register) {
      const value =
        task.loop !== undefined
          ? loopRegister(
              outcomes.map((o, k) => ({ x: r.instances[k]!, o })),
              r.skipped,
            )
          : (outcomes[0]!.registered ?? {});
      // Taint: what a task that handled a secret (its params, its template, no_log) returns is
      // derived from it, so every string of its registered result is a Secret.
      const sensitive = r.instances.some((x) => x.sensitive);
      this.register(task, sensitive ? (taintDeep(value, 'registered', false) as Record<string, unknown>) : value);
    }
    return outcomes;
  }

  // ---- part G hooks (play-controls.ts) ----

  /** Task i's run_once, throttle, any_errors_fatal and ignore_errors on this host. */
  controls(i: number): TaskControls {
    return controlsOf(this.tasks[i]!, this.instantiation(i));
  }

  /** run_once: task i ran on another host of the batch; its registered value is this host's too. */
  adoptRegistered(i: number, from: Record<string, unknown>): void {
    const task = this.tasks[i]!;
    if (task.register && Object.hasOwn(from, task.register)) this.register(task, from[task.register] as Record<string, unknown>);
  }

  private register(task: TaskDef, value: Record<string, unknown>): void {
    if (!task.register) return;
    this.registered[task.register] = value;
    // Instances that referenced this name must be rendered again with the value.
    for (const [j, t] of this.tasks.entries()) {
      if (taskReferences(t, [task.register]).length) {
        const r = this.inst.get(j);
        if (r?.kind === 'run') for (const x of r.instances) this.probed.delete(x);
        this.inst.delete(j);
      }
    }
  }

  private result(
    task: TaskDef,
    label: string,
    status: TaskResult['status'],
    changes: Change[],
    started: number,
    message?: string,
    extra: Partial<TaskResult> = {},
  ): TaskResult {
    return taskResult(
      { host: this.opts.host, play: this.opts.play.name, check: this.opts.check, handler: this.opts.handler },
      { task: label, module: task.module },
      status,
      started,
      changes,
      message,
      extra,
    );
  }

  /** Probe (unless a window already did), plan, then predict (check mode) or apply. */
  private async runInstance(x: TaskInstance, i: number, k: number): Promise<InstanceOutcome> {
    const o = this.outcomes(x, Date.now());
    try {
      if (!this.probed.has(x)) await this.probe(this.window(i, k));
      const planned = planInstance(x, this.probed.get(x)!);
      if ('failed' in planned) return o.fail(planned.failed);
      const { changes, described } = planned;
      if (!changes.length) return o.done('ok', [], { changed: false, failed: false, ...described }, {}, planned.plan.note());
      if (x.check) {
        // Dry run: the prediction. Nothing was applied, so later probes are still fresh.
        const predicted = predictChanged(x);
        const registered = { changed: predicted, failed: false, check_mode: true, ...described };
        return o.done(predicted ? 'changed' : 'ok', predicted ? changes : [], registered, {
          diff: redactOpt(planned.diff),
          unpredictable: planned.unpredictable,
          check: true,
        });
      }
      return await this.apply(x, i, k, planned, o);
    } catch (err) {
      if (err instanceof UnreachableError) return o.unreachable(err.message);
      if (err instanceof CommandTimeoutError) return o.fail(err.message);
      if (err instanceof TemplateError) return o.fail(err.located);
      if (err instanceof LocatedError) return o.fail(err.message);
      throw err;
    }
  }

  /**
   * Apply, then (in the same script: one round trip) probe x again to verify it and probe the
   * instances that follow, whose earlier probe results are now stale; then verify and confirm.
   */
  private async apply(x: TaskInstance, i: number, k: number, planned: Planned, o: Outcomes): Promise<InstanceOutcome> {
    const { changes } = planned;
    this.opts.beforeApply?.(x.task);
    this.opts.cache?.applied();
    this.invalidateAfter(x);
    this.probed.delete(x);
    const script = planned.plan.apply(x.ctx);
    const verify = needsVerify(x, changes);
    const follow = this.window(i, k + 1, x).filter((y) => y !== x);
    const res = await applyRoundTrip(() => this.conn(x), x, script, verify ? [x, ...follow] : follow, this.probed);
    const applied = interpretApply(x, res, planned.described);
    const after = this.probed.get(x);
    this.probed.delete(x);
    const diff = redactOpt(planned.diff);
    if (applied.failed) return o.fail(applied.failed, changes, { diff });
    const changed = changedAfterApply(x, applied);
    const unconverged = verify ? verifyInstance(x, after) : undefined;
    if (unconverged) return o.fail(unconverged, changes, { diff });
    const unconfirmed = x.bound.confirm ? await this.confirm(x, x.bound.confirm) : undefined;
    if (unconfirmed) return o.fail(unconfirmed, changes, { diff });
    const registered = { changed, failed: false, ...applied.registered };
    return o.done(changed ? 'changed' : 'ok', changed ? changes : [], registered, {
      diff: changed ? diff : undefined,
      unpredictable: planned.unpredictable,
    });
  }

  /** Commit-confirm (the module's confirm) over a NEW connection; returns the problem, if any. */
  private confirm(x: TaskInstance, confirm: NonNullable<TaskInstance['bound']['confirm']>): Promise<string | undefined> {
    return confirmInstance(x, confirm(x.ctx), this.transport, x.delegate ?? this.opts.host);
  }

  /** The outcomes of one instance: its TaskResult and what the runner and `register` see. */
  private outcomes(x: TaskInstance, started: number): Outcomes {
    const task = x.task;
    // no_log: what the task did and said is not shown (its params may hold values meant to stay hidden).
    const shown = (changes: Change[]): Change[] => (x.noLog ? changes.map((c) => ({ ...c, summary: NO_LOG, diff: undefined })) : changes);
    const said = (message: string | undefined) => (x.noLog && message !== undefined ? NO_LOG : message);
    // delegate_to: shown as `host -> delegate` (part G).
    const where: Partial<TaskResult> = x.delegate ? { delegate: x.delegate } : {};
    return {
      done: (status, changes, registered, extra, message) => ({
        result: this.result(task, x.label, status, shown(changes), started, said(message), { ...where, ...extra }),
        changed: status === 'changed',
        failed: false,
        unreachable: false,
        registered,
      }),
      fail: (message, changes = [], extra = {}) => ({
        result: this.result(task, x.label, 'failed', shown(changes), started, said(message), {
          ...where,
          ignored: x.ignoreErrors || undefined,
          ...extra,
        }),
        changed: false,
        failed: !x.ignoreErrors,
        unreachable: false,
        registered: { failed: true, changed: false, msg: redact(message) },
      }),
      // ignore_unreachable (part G): reported, counted as ignored, and the host goes on (Ansible's
      // ok+ignored); what register sees is Ansible's unreachable result.
      unreachable: (message) => ({
        result: this.result(task, x.label, 'unreachable', [], started, message, { ...where, ignored: x.ignoreUnreachable || undefined }),
        changed: false,
        failed: false,
        unreachable: !x.ignoreUnreachable,
        registered: { unreachable: true, changed: false, msg: redact(message) },
      }),
    };
  }

  /** Drops probe results of every instance after x (they may be stale once x is applied). */
  private invalidateAfter(x: TaskInstance): void {
    for (const key of [...this.probed.keys()]) {
      if (key.task.index > x.task.index || (key.task.index === x.task.index && (key.itemIndex ?? 0) > (x.itemIndex ?? 0)))
        this.probed.delete(key);
    }
  }
}

const SKIP_REASON = 'Conditional result was False';

/**
 * A loop's registered value as Ansible builds it: `results` in item order (a skipped item as
 * `{ skipped, skip_reason }`), each with the item and ansible_loop_var; `changed` if one changed,
 * `failed` if one failed (not ignored), `skipped` if all were.
 */
function loopRegister(ran: { x: TaskInstance; o: InstanceOutcome }[], skipped: LoopItem[]): Record<string, unknown> {
  if (!ran.length && !skipped.length) return { changed: false, results: [], skipped: true, skipped_reason: 'No items in the list' };
  const entries: { index: number; value: Record<string, unknown> }[] = [
    ...ran.map(({ x, o }) => ({ index: x.itemIndex ?? 0, value: { ...(o.registered ?? {}), ...x.resultVars } })),
    ...skipped.map((s) => ({ index: s.index, value: { changed: false, skip_reason: SKIP_REASON, skipped: true, ...s.resultVars } })),
  ].sort((a, b) => a.index - b.index);
  const failed = ran.some(({ o }) => o.failed);
  const allSkipped = ran.length === 0;
  return {
    changed: ran.some(({ o }) => o.changed),
    ...(failed ? { failed: true, msg: 'One or more items failed' } : { msg: allSkipped ? 'All items skipped' : 'All items completed' }),
    results: entries.map((e) => e.value),
    skipped: allSkipped,
  };
}

/** Ansible's words for a no_log result. */
const NO_LOG = "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

function redactOpt(s: string | undefined): string | undefined {
  return s === undefined ? undefined : redact(s);
}

/** Builders of one instance's outcomes (see HostSequence.outcomes). */
interface Outcomes {
  /** Ran to the end: 'ok' or 'changed' (= changed for the runner's notify), with its register value. */
  done(
    status: 'ok' | 'changed',
    changes: Change[],
    registered: Record<string, unknown>,
    extra: Partial<TaskResult>,
    message?: string,
  ): InstanceOutcome;
  /** Failed (ignored with ignore_errors): registers { failed, changed: false, msg }. */
  fail(message: string, changes?: Change[], extra?: Partial<TaskResult>): InstanceOutcome;
  unreachable(message: string): InstanceOutcome;
}
