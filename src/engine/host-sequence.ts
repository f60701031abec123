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
 * Batching of applies (phases/batch.ts, docs/batching.md): the instances after the applied one
 * that are independent of it (module footprints) are applied and verified in the same script,
 * some guarded by a second probe on the host; each is reported at its own turn (`ahead`) exactly
 * as if it had been applied alone.
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
import type { ActionEffect, Change, ExecResult, RunMemory } from '../modules/contract.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { redact, taintDeep } from '../core/secret/secret.ts';
import { TemplateError } from '../template/engine.ts';
import {
  CommandTimeoutError,
  type ScriptSession,
  type Transport,
  type TransportFactory,
  UnreachableError,
} from '../transport/transport.ts';
import {
  factNamesUsed,
  type Instantiation,
  instantiate,
  LocatedError,
  type LoopItem,
  type TaskInstance,
  taskReferences,
} from '../plan/instance.ts';
import type { TaskResult } from './report.ts';
import { taskResult } from './results.ts';
import { modeOf, type ProbeCache, probeInstances, probeWindow } from './phases/probe.ts';
import { type Planned, planInstance, predictChanged } from './phases/plan.ts';
import { applyRoundTrip, changedAfterApply, interpretApply, needsVerify } from './phases/apply.ts';
import { type Candidate, decideBatch, FILE_MODULES, MAX_APPLY_BATCH } from './phases/batch.ts';
import { type BatchMember, type FramedBatch, frameBatch, guardable, guardHash } from '../sh/apply-batch.ts';
import { firstOverlap, type Resource } from '../modules/resources.ts';
import { verifyInstance } from './phases/verify.ts';
import { confirmInstance } from './phases/confirm.ts';
import { reconnectInstance } from './phases/reconnect.ts';
import { posKey } from './iterator.ts';
import { type ActionRun, runAction } from './phases/action.ts';
import { getModule } from '../modules/registry.ts';
import { includedVars } from '../input/inventory/vars-builder.ts';
import { lookupContext } from '../input/playbook/search-path.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { loopPauseSeconds, runWithRetries, sleepSeconds } from './retry.ts';
import { isFree } from '../plan/strategy.ts';
import { controlsOf, type TaskControls } from './play-controls.ts';

export type { ProbeCache };

/** The variables naming the hosts still in the play: under linear, what a task's turn sees (a host that failed before it is gone). */
const PLAY_HOSTS_NAMES = ['ansible_play_hosts', 'ansible_play_batch', 'play_hosts'];

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
  /** A task's `until` did not hold and it runs again: the reporter's "FAILED - RETRYING" line. */
  onRetry?: (message: string) => void;
  /**
   * A module result carrying `ansible_facts` (the setup module): merged into the host's facts,
   * as Ansible does (the runner's VarsBuilder.facts.merge). Tasks using facts are rendered again.
   */
  facts?: (facts: Record<string, unknown>) => void;
  /**
   * Batch applies (phases/batch.ts): consecutive independent instances applied and verified in one
   * remote script. False: one apply per round trip (`kiln apply --no-batch`). Never in check mode.
   */
  batch?: boolean;
  /** A loud warning for the run's output (batched applies that ran ahead of a failure). */
  warn?: (message: string) => void;
  /**
   * Under the linear strategy, keep its order across hosts with barriers inside one script
   * (transport sessions, docs/batching.md) rather than by ending a batch before every task that is
   * not a file module's. The runner sets it when every host of the batch can keep a session open
   * at once (no more hosts than connection slots) and the transport can run one.
   */
  syncs?: boolean;
  /**
   * The host runs the play's tasks alone (its batch has one host): no other host waits for it or
   * runs beside it, so the linear strategy orders nothing across hosts and batches join as under
   * `free` (no barriers needed).
   */
  alone?: boolean;
}

/**
 * An instance joining a batch: its plan, whether it is guarded, and the probe output it was
 * planned from (the probe taken before the batch, or an earlier member's prediction).
 */
interface BatchJoin {
  y: TaskInstance;
  planned: Planned;
  guard: boolean;
  basis: ExecResult;
  /** Its probe script (the guard's, and the verify's after its apply). */
  probe: string;
  /** A barrier before it (synced linear strategy): it starts a new part of the script, sent at its turn. */
  sync: boolean;
}

/**
 * A batch whose script goes in parts (applyBatch): the parts not sent yet wait for their first
 * member's turn. `next`: the first part not sent; `stopped`: the script applies nothing more.
 */
interface ParkedBatch {
  framed: FramedBatch;
  members: BatchJoin[];
  plans: { y: TaskInstance; planned: Planned; script?: string; verify: boolean }[];
  trailing: TaskInstance[];
  session?: ScriptSession;
  stopped: boolean;
  next: number;
}

/** An instance applied ahead, in the round trip of an earlier one: what its own turn reports from. */
interface AppliedAhead {
  planned: Planned;
  script: string;
  res: ExecResult;
  after?: ExecResult;
  verify: boolean;
}

export interface InstanceOutcome {
  result: TaskResult;
  changed: boolean;
  failed: boolean;
  unreachable: boolean;
  registered?: Record<string, unknown>;
  /**
   * A controller-side action's effects for the runner (include_tasks, include_role, meta, add_host,
   * group_by). Those on the host's variables (set_fact, include_vars) and pause are applied by the
   * sequence already and are not listed.
   */
  effects?: ActionEffect[];
}

/** A host's pass through one task list (a play's tasks, or its notified handlers). */
export class HostSequence {
  private readonly inst = new Map<TaskDef, Instantiation>();
  private readonly probed = new Map<TaskInstance, ExecResult>();
  /** Instances applied in an earlier instance's round trip (a batch), waiting for their turn. */
  private readonly ahead = new Map<TaskInstance, AppliedAhead>();
  /** A batch whose later parts wait for their turn (synced linear strategy). */
  private parked?: ParkedBatch;
  /** "position:item" of each instance, the ProbeCache key. */
  private readonly keys = new Map<TaskInstance, string>();
  private lookedAhead = false;
  /**
   * Per task, what its last run set on this host's variables (set_fact, include_vars) and facts
   * (a module's ansible_facts): under run_once, Ansible gives them to every host of the batch.
   */
  private readonly varsSet = new Map<TaskDef, { effects: ActionEffect[]; facts: Record<string, unknown>[] }>();
  /**
   * The host's own task list: a copy of the one given, into which a dynamic include splices its
   * tasks (`splice`). Entries are distinct TaskDefs; what is cached per task is keyed by the TaskDef.
   */
  readonly tasks: TaskDef[];
  private regs?: Map<number, string>;
  /** Controller-side actions of the current list: the names each defines (null: not known before it runs), and those probes must not pass. */
  private traits?: { defines: Map<number, readonly string[] | null>; barriers: Set<number> };

  constructor(
    /** `open` must be cached by the caller (one connection per host); `openFresh` serves commit-confirm. */
    private readonly transport: TransportFactory,
    tasks: readonly TaskDef[],
    readonly opts: SequenceOptions,
    readonly registered: Record<string, unknown>,
  ) {
    this.tasks = [...tasks];
  }

  /** What the probe window must know of the action tasks of the current list: the names they define, the barriers. */
  private get actionTraits(): { defines: Map<number, readonly string[] | null>; barriers: Set<number> } {
    if (this.traits) return this.traits;
    const defines = new Map<number, readonly string[] | null>();
    const barriers = new Set<number>();
    this.tasks.forEach((t, i) => {
      const m = getModule(t.module);
      if (m?.barrier) barriers.add(i);
      if (!m?.defines) return;
      const searchPaths = lookupContext(t, this.opts.playbookDir).searchPaths;
      let names: string[] | null;
      try {
        names = m.defines(t.params, { searchPaths, vaultPassword: this.opts.run.settings.vaultPassword });
      } catch {
        names = null;
      }
      defines.set(i, names);
    });
    this.traits = { defines, barriers };
    return this.traits;
  }

  /** Task index → the name it registers (for the probe window), for the current list. */
  private get registers(): Map<number, string> {
    if (!this.regs) {
      this.regs = new Map();
      this.tasks.forEach((t, i) => t.register && this.regs!.set(i, t.register));
    }
    return this.regs;
  }

  /** Forgets every probe result (the host may have changed outside this sequence: handlers flushed mid-play). */
  dropProbes(): void {
    this.probed.clear();
    this.dropAhead('the host changed outside this sequence');
  }

  /** Batched applies whose turn will not come: said loudly (they reached the host). */
  private dropAhead(why: string, only?: (y: TaskInstance) => boolean): void {
    const lost = [...this.ahead.keys()].filter((y) => !only || only(y));
    if (!lost.length) return;
    for (const y of lost) this.ahead.delete(y);
    this.opts.warn?.(
      redact(
        `${this.opts.host}: applied in the same round trip as an earlier task, before ${why}, and not reported as their own task: ${lost.map((y) => `'${y.noLog ? y.task.name : y.label}'`).join(', ')}`,
      ),
    );
  }

  /** Splices tasks in after task `i` (a dynamic include's, on this host). */
  splice(i: number, tasks: readonly TaskDef[]): void {
    this.tasks.splice(i + 1, 0, ...tasks);
    this.regs = undefined;
    this.traits = undefined;
  }

  /** Task i as instantiated for this host now (cached until a result it references is registered). */
  instantiation(i: number): Instantiation {
    const task = this.tasks[i]!;
    let r = this.inst.get(task);
    if (!r) {
      try {
        r = instantiate(task, this.opts.vars(task, this.registered), { ...this.opts, host: this.opts.host });
      } catch (err) {
        r = { kind: 'error', task, diagnostics: [{ ...task.loc, message: (err as Error).message }] };
      }
      const pos = posKey(task);
      if (r.kind === 'run') r.instances.forEach((x, k) => this.keys.set(x, `${pos}:${k}`));
      this.inst.set(task, r);
    }
    return r;
  }

  /** Forgets the instantiation of every task that references one of `names` (their values changed: register, set_fact, ansible_failed_*). */
  forget(names: readonly string[]): void {
    for (const t of this.tasks) {
      if (taskReferences(t, names).length) {
        const r = this.inst.get(t);
        if (r?.kind === 'run') for (const x of r.instances) this.probed.delete(x);
        if (r?.kind === 'run') this.dropAhead('their variables changed', (y) => r.instances.includes(y));
        this.inst.delete(t);
      }
    }
  }

  /** The connection an instance runs over (cached by the caller): the host's, or its delegate's (delegate_to). */
  private readonly conn = (x?: TaskInstance): Promise<Transport> => this.transport.open(x?.delegate ?? this.opts.host);

  /** Instances from (task i, item k) on whose inputs are known now, in order, same become mode. */
  private window(i: number, k: number, first?: TaskInstance): TaskInstance[] {
    return probeWindow(
      {
        tasks: this.tasks,
        instantiation: (j) => this.instantiation(j),
        registers: this.registers,
        probed: this.probed,
        defines: this.actionTraits.defines,
        barriers: this.actionTraits.barriers,
      },
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
    let r = this.instantiation(i);
    await this.settleParked(i);
    // loop_control.pause: seconds slept before each item after the first (skipped ones included).
    let pause = 0;
    if (task.loopControl.pause && task.loop !== undefined && r.kind !== 'error') {
      try {
        pause = loopPauseSeconds(task, this.opts.vars(task, this.registered), { lookup: lookupContext(task, this.opts.playbookDir) });
      } catch (err) {
        if (!(err instanceof LocatedError)) throw err;
        r = { kind: 'error', task, diagnostics: [err.diag] };
      }
    }
    if (r.kind === 'skip') {
      await sleepSeconds(pause * Math.max(0, r.skipped.length - 1));
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
    if (r.instances[0]!.bound.action) return this.runActions(i, r, started);
    // Every item runs, as in Ansible, even after one failed; the task fails if one did (not ignored).
    const outcomes: InstanceOutcome[] = [];
    let at = 0;
    for (const [k, x] of r.instances.entries()) {
      const to = x.itemIndex ?? 0;
      if (to > at) await sleepSeconds(pause * (to - at));
      at = Math.max(at, to);
      const o = await this.runItem(x, i, k);
      outcomes.push(o);
      if (o.unreachable) break;
    }
    const last = r.instances.length + r.skipped.length - 1;
    if (task.loop !== undefined && last > at && !outcomes.some((o) => o.unreachable)) await sleepSeconds(pause * (last - at));
    this.mergeFacts(i, outcomes);
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

  /**
   * A controller-side action (phases/action.ts), item by item: no probe, no round trip, in check
   * mode too. set_fact and include_vars change the host's variables at once, so the next item (and
   * task) sees them, as in Ansible; a pause waits here; other effects go to the runner.
   */
  private async runActions(i: number, first: Extract<Instantiation, { kind: 'run' }>, started: number): Promise<InstanceOutcome[]> {
    const task = this.tasks[i]!;
    const count = first.instances.length + first.skipped.length;
    const ran: { x: TaskInstance; o: InstanceOutcome }[] = [];
    const skipped: LoopItem[] = [];
    let r: Instantiation = first;
    this.varsSet.delete(task);
    for (let k = 0; k < count; k++) {
      if (r.kind === 'error') {
        const msg = r.diagnostics.map((d) => `${d.file}${d.line ? `:${d.line}:${d.col}` : ''}: ${d.message}`).join('\n');
        ran.push({ x: first.instances[0]!, o: this.outcomes(first.instances[0]!, started).fail(msg) });
        break;
      }
      const x = r.kind === 'run' ? r.instances.find((y) => (y.itemIndex ?? 0) === k) : undefined;
      if (!x) {
        const s = r.skipped.find((y) => y.index === k);
        if (s) skipped.push(s);
        continue;
      }
      const run = runAction(x);
      const o = this.actionOutcome(x, run, Date.now());
      ran.push({ x, o });
      const vars = await this.applyEffects(run.effects);
      this.setVars(task).effects.push(...run.effects.filter((e) => e.kind === 'set_fact' || e.kind === 'include_vars'));
      o.effects = run.effects.filter((e) => !['set_fact', 'include_vars', 'pause'].includes(e.kind));
      // A later item sees what this one set (set_fact: acc="{{ acc + [item] }}").
      if (vars && task.loop !== undefined && k + 1 < count) {
        this.inst.delete(task);
        r = this.instantiation(i);
      }
    }
    if (task.register && task.module !== 'meta') {
      const value = task.loop !== undefined ? loopRegister(ran, skipped) : (ran[0]?.o.registered ?? {});
      const sensitive = ran.some(({ x }) => x.sensitive);
      this.register(task, sensitive ? (taintDeep(value, 'registered', false) as Record<string, unknown>) : value);
    }
    return ran.map(({ o }) => o);
  }

  /** An action's InstanceOutcome (no_log and ignore_errors as for any task). */
  private actionOutcome(x: TaskInstance, run: ActionRun, started: number): InstanceOutcome {
    const o = this.outcomes(x, started);
    if (run.status === 'failed') return { ...o.fail(run.message ?? 'failed'), registered: run.registered };
    if (run.status === 'skipped') {
      return {
        result: this.result(x.task, x.label, 'skipped', [], started, run.message),
        changed: false,
        failed: false,
        unreachable: false,
        registered: run.registered,
      };
    }
    return o.done(run.status, [], run.registered, {}, run.message);
  }

  /**
   * Applies the effects on the host's variables (set_fact, include_vars) and waits for a pause.
   * Tasks using a name that changed are rendered again. True when variables changed.
   */
  private async applyEffects(effects: ActionEffect[]): Promise<boolean> {
    const names: string[] = [];
    for (const e of effects) {
      if (e.kind === 'set_fact') {
        Object.assign(this.registered, e.facts);
        // cacheable: also the host's facts (Ansible's fact cache: ansible_facts.<name>).
        if (e.cacheable && this.opts.facts) {
          this.opts.facts(e.facts);
          names.push('ansible_facts');
        }
        names.push(...Object.keys(e.facts));
      } else if (e.kind === 'include_vars') {
        Object.assign(includedVars(this.registered), e.vars);
        names.push(...Object.keys(e.vars));
      } else if (e.kind === 'pause' && e.ms > 0) await sleep(e.ms);
    }
    if (names.length) this.forget(names);
    return names.length > 0;
  }

  /** A result's `ansible_facts` become the host's facts; later instances using facts are rendered again. */
  private mergeFacts(i: number, outcomes: InstanceOutcome[]): void {
    this.varsSet.delete(this.tasks[i]!);
    const facts: Record<string, unknown>[] = [];
    for (const o of outcomes) {
      const f = o.registered?.ansible_facts;
      if (o.failed || !this.opts.facts || !f || typeof f !== 'object' || Array.isArray(f)) continue;
      facts.push(f as Record<string, unknown>);
    }
    this.mergeFactList(i, facts);
  }

  private setVars(task: TaskDef): { effects: ActionEffect[]; facts: Record<string, unknown>[] } {
    let v = this.varsSet.get(task);
    if (!v) this.varsSet.set(task, (v = { effects: [], facts: [] }));
    return v;
  }

  /** Merges facts into the host's (recorded for run_once); later instances using facts are rendered again. */
  private mergeFactList(i: number, facts: Record<string, unknown>[]): void {
    if (!facts.length || !this.opts.facts) return;
    for (const f of facts) this.opts.facts(f);
    this.setVars(this.tasks[i]!).facts.push(...facts);
    for (const [j, t] of this.tasks.entries()) {
      if (j === i || !factNamesUsed(t).length) continue;
      const r = this.inst.get(t);
      if (r?.kind === 'run') for (const x of r.instances) this.probed.delete(x);
      this.inst.delete(t);
    }
  }

  // ---- part G hooks (play-controls.ts) ----

  /** Task i's run_once, throttle, any_errors_fatal and ignore_errors on this host. */
  controls(i: number): TaskControls {
    return controlsOf(this.tasks[i]!, this.instantiation(i));
  }

  /**
   * run_once: task i ran on another host of the batch, `from` (at its task j): as Ansible's
   * strategy does (get_task_hosts), its registered value, what it set with set_fact or
   * include_vars, and the facts it returned are this host's too.
   */
  async adoptRunOnce(i: number, from: HostSequence, j: number): Promise<void> {
    const task = this.tasks[i]!;
    const reg = from.registered;
    if (task.register && Object.hasOwn(reg, task.register)) this.register(task, reg[task.register] as Record<string, unknown>);
    const set = from.varsSet.get(from.tasks[j]!);
    if (!set) return;
    await this.applyEffects(set.effects);
    this.mergeFactList(i, set.facts);
  }

  private register(task: TaskDef, value: Record<string, unknown>): void {
    if (!task.register) return;
    this.registered[task.register] = value;
    // Instances that referenced this name must be rendered again with the value.
    this.forget([task.register]);
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

  /** One instance, run again while its `until` does not hold (retry.ts); each attempt probes anew. */
  private runItem(x: TaskInstance, i: number, k: number): Promise<InstanceOutcome> {
    return runWithRetries(x, {
      host: this.opts.host,
      attempt: (n) => {
        // A retry waits for the host to change: x and what follows it are probed anew.
        if (n > 1) {
          this.probed.delete(x);
          this.invalidateAfter(x);
        }
        return this.runInstance(x, i, k);
      },
      fail: (message) => this.outcomes(x, Date.now()).fail(message),
      onRetry: this.opts.onRetry,
    });
  }

  /** Probe (unless a window already did), plan, then predict (check mode) or apply. */
  private async runInstance(x: TaskInstance, i: number, k: number): Promise<InstanceOutcome> {
    const o = this.outcomes(x, Date.now());
    try {
      await this.releaseParked(x);
      const ahead = this.ahead.get(x);
      if (ahead) {
        this.ahead.delete(x);
        return await this.finishApply(x, ahead.planned, ahead.res, ahead.after, ahead.verify, o);
      }
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
  private async apply(x: TaskInstance, i: number, k: number, planned: Planned, o: Outcomes, batch = true): Promise<InstanceOutcome> {
    const { changes } = planned;
    if (batch) {
      this.opts.beforeApply?.(x.task);
      this.opts.cache?.applied();
    }
    const script = planned.plan.apply(x.ctx);
    const reconnect = planned.plan.reconnect?.(x.ctx);
    if (reconnect) {
      this.invalidateAfter(x);
      this.probed.delete(x);
      return await this.applyAway(x, planned, script, reconnect, o);
    }
    const verify = needsVerify(x, changes);
    const members = batch ? this.batchAfter(x, i, k, planned) : [];
    if (!members.length) {
      this.invalidateAfter(x);
      this.probed.delete(x);
      const follow = this.window(i, k + 1, x).filter((y) => y !== x);
      const res = await applyRoundTrip(() => this.conn(x), x, script, verify ? [x, ...follow] : follow, this.probed);
      const after = this.probed.get(x);
      this.probed.delete(x);
      return this.finishApply(x, planned, res, after, verify, o);
    }
    return this.applyBatch(x, i, k, planned, script, verify, members, o);
  }

  /**
   * The instances that join x's round trip (phases/batch.ts): the following instances whose
   * inputs are known, probed and planned, up to the first that cannot join.
   */
  private batchAfter(x: TaskInstance, i: number, k: number, planned: Planned): BatchJoin[] {
    if (this.opts.batch === false || this.opts.handler || x.check || this.opts.play.maxFailPercentage !== undefined) return [];
    // The linear strategy's order across hosts: a change that may touch anything (a command, a
    // service, a package's maintainer scripts) may act on other hosts or be seen by them, so it
    // runs alone at its turn; and a batch stops before any task that is not a file module's (even
    // where it is skipped or converged on this host: on another it runs at its own turn, and no
    // later task may have run anywhere before it).
    // Under the free strategy (and host_pinned) no host waits for another at a task: no such order
    // is promised, and any module with a footprint joins (guarded where an earlier member may
    // have changed what it reads).
    // Under linear with syncs (sessions), every module with a footprint may join too, but a
    // member from a later task starts a new part of the script (a barrier) when a task that is
    // not a file module's lies between (or is the earlier member's own): that part is sent at
    // its turn, once every host has finished the tasks before it (host-sequence's `parked`).
    const free = isFree(this.opts.play) || this.opts.alone === true;
    const synced = !free && this.opts.syncs === true;
    const ordered = !free && !synced;
    if (ordered && x.bound.footprint?.writes.some((w) => w.kind === 'anything')) return [];
    const cands: {
      y: TaskInstance;
      planned?: Planned;
      why?: string;
      basis?: ExecResult;
      predicted?: boolean;
      probe?: string;
      sync?: boolean;
    }[] = [];
    const pendingRegs = new Set<string>();
    // Predicted probe outputs (the contract's predictProbe), by probe script: a later candidate
    // with the very same probe is planned from what the earlier apply will leave, not from the
    // probe taken before it (its guard then checks the prediction on the host). An entry goes
    // when a later change writes something its probe reads.
    const predictions = new Map<string, { out: ExecResult; reads: readonly Resource[] }>();
    const predictAfter = (y: TaskInstance, p: Planned, script: string): void => {
      const fp = y.bound.footprint;
      if (!fp || p.changes.length === 0) return;
      for (const [key, e] of predictions) if (firstOverlap(fp.writes, e.reads)) predictions.delete(key);
      const out = p.plan.predicted?.();
      if (out) predictions.set(script, { out, reads: fp.reads });
    };
    predictAfter(x, planned, x.bound.probe(x.ctx));
    const { barriers } = this.actionTraits;
    // synced: a barrier is due before the next member from another task (a task that is not a
    // file module's was met since the last member, or is the last member's).
    let due = !FILE_MODULES.has(x.task.module);
    walk: for (let j = i; j < this.tasks.length && cands.length < MAX_APPLY_BATCH; j++) {
      const t = this.tasks[j]!;
      if (j > i && (taskReferences(t, [...pendingRegs]).length || barriers.has(j))) break;
      // Read at the task's turn in Ansible, after the tasks before it ran on every host: another
      // host's registered results, the hosts still in the play.
      if (j > i && pendingRegs.size && taskReferences(t, ['hostvars', 'vars']).length) break;
      if (j > i && !free && taskReferences(t, PLAY_HOSTS_NAMES).length) break;
      if (ordered && j > i && !FILE_MODULES.has(t.module)) break;
      // The runner may leave a task of another role listing out (role-runs.ts): not decided yet.
      if (j > i && scopeKey(t) !== scopeKey(x.task)) break;
      const r = this.instantiation(j);
      if (r.kind === 'error') break;
      const crossing = !FILE_MODULES.has(t.module);
      if (r.kind === 'run') {
        const list = j === i ? r.instances.filter((y) => (y.itemIndex ?? 0) > (x.itemIndex ?? 0)) : r.instances;
        let sync = j > i && (due || crossing);
        for (const y of list) {
          if (y.bound.action) break walk;
          if (modeOf(y) !== modeOf(x)) {
            cands.push({ y, why: 'another become mode' });
            break walk;
          }
          const script = y.bound.probe(y.ctx);
          const predicted = predictions.get(script)?.out;
          const out = predicted ?? this.probed.get(y);
          if (!out) {
            cands.push({ y, why: 'not probed' });
            break walk;
          }
          const p = planInstance(y, out);
          cands.push(
            'failed' in p
              ? { y, why: 'its plan failed' }
              : { y, planned: p, basis: out, predicted: predicted !== undefined, probe: script, sync },
          );
          if ('failed' in p) break walk;
          sync = false;
          predictAfter(y, p, script);
        }
        if (list.length) due = crossing;
        else due ||= crossing;
      } else due ||= crossing;
      if (t.register) pendingRegs.add(t.register);
    }
    const decision = decideBatch(
      this.candidate(x, planned, true),
      cands.map((c) =>
        c.planned
          ? { ...this.candidate(c.y, c.planned, false, c.basis), predicted: c.predicted }
          : { barrier: c.why, changes: true, guardable: false },
      ),
      ordered,
    );
    return decision.members.slice(1).map((m) => {
      const c = cands[m.index - 1]!;
      return { y: c.y, planned: c.planned!, guard: m.guard, basis: c.basis!, probe: c.probe!, sync: synced && c.sync === true };
    });
  }

  /** What the batch decision knows of an instance. */
  private candidate(y: TaskInstance, planned: Planned, first: boolean, basis?: ExecResult): Candidate {
    const t = y.task;
    const out = basis ?? this.probed.get(y);
    const barrier = !y.bound.footprint
      ? undefined
      : y.delegate !== undefined
        ? 'delegate_to'
        : y.runOnce
          ? 'run_once'
          : y.throttle > 0
            ? 'throttle'
            : y.check
              ? 'check_mode'
              : t.loopControl.pause !== undefined
                ? 'loop_control.pause'
                : (t.blocks ?? []).some((b) => b.section === 'rescue')
                  ? 'in a rescue section'
                  : y.bound.confirm || planned.plan.reconnect
                    ? 'commit-confirm or reconnect'
                    : !first && t.notify.length
                      ? 'notifies handlers'
                      : undefined;
    const last =
      t.failedWhen !== undefined
        ? 'failed_when'
        : t.changedWhen !== undefined
          ? 'changed_when'
          : t.retry
            ? 'until'
            : y.anyErrorsFatal
              ? 'any_errors_fatal'
              : undefined;
    return {
      footprint: y.bound.footprint,
      barrier,
      last,
      changes: planned.changes.length > 0,
      guardable: first || (out !== undefined && guardable(out)),
    };
  }

  /**
   * x and the batch members after it, applied and verified in ONE remote script (sh/apply-batch.ts),
   * which also re-probes the instances after the batch. Each member's outcome is reported at its
   * own turn (runInstance), from what the script brought back. With barriers (members with `sync`,
   * the synced linear strategy) the script goes in parts on one shell: the first now, each next
   * one at its first member's turn (`parked`, releaseParked).
   */
  private async applyBatch(
    x: TaskInstance,
    i: number,
    k: number,
    planned: Planned,
    script: string,
    verify: boolean,
    members: BatchJoin[],
    o: Outcomes,
  ): Promise<InstanceOutcome> {
    const conn = await this.conn(x);
    // A transport that cannot run a script in parts: the batch ends at its first barrier.
    if (!conn.session && members.some((m) => m.sync))
      members = members.slice(
        0,
        members.findIndex((m) => m.sync),
      );
    if (!members.length) return this.apply(x, i, k, planned, o, false);
    const parts: BatchMember[] = [{ apply: script, verify: verify ? x.bound.probe(x.ctx) : undefined }];
    const plans: ParkedBatch['plans'] = [];
    for (const m of members) {
      const changes = m.planned.changes;
      const guard = m.guard ? { probe: m.probe, sha256: guardHash(m.basis) } : undefined;
      if (!changes.length) {
        parts.push({ guard, sync: m.sync });
        plans.push({ y: m.y, planned: m.planned, verify: false });
        continue;
      }
      const s = m.planned.plan.apply(m.y.ctx);
      const v = needsVerify(m.y, changes);
      parts.push({ guard, apply: s, verify: v ? m.probe : undefined, sync: m.sync });
      plans.push({ y: m.y, planned: m.planned, script: s, verify: v });
    }
    // The probes after the batch are stale once anything is applied: probed again at the end.
    const lastMember = members[members.length - 1]!.y;
    const keep = new Set(members.map((m) => m.y));
    for (const key of [...this.probed.keys()]) if (key === x || (this.after(key, x) && !keep.has(key))) this.probed.delete(key);
    const li = this.tasks.indexOf(lastMember.task);
    const lk = r2k(this.instantiation(li), lastMember);
    const trailing = this.window(li, lk + 1, x).filter((y) => !keep.has(y) && y !== x);
    const framed = frameBatch(
      parts,
      trailing.map((y) => y.bound.probe(y.ctx)),
    );
    const run: ParkedBatch = { framed, members, plans, trailing, stopped: false, next: 1 };
    let stdout: string;
    let whole: ExecResult | undefined;
    if (framed.parts.length > 1 && conn.session) {
      run.session = await conn.session({ become: x.become, becomeUser: x.becomeUser });
      const reply = await run.session.send(framed.parts[0]!, framed.marker(0));
      ({ stdout } = reply);
      whole = reply.done;
    } else {
      whole = await conn.run(framed.script, { become: x.become, becomeUser: x.becomeUser });
      stdout = whole.stdout;
      run.next = framed.parts.length;
    }
    const got = framed.parse(stdout);
    const res = got.members[0]!.apply!;
    // The script stops applying after a failed apply (as sh/apply-batch.ts does on the host).
    run.stopped = res.code !== 0;
    if (whole) run.next = framed.parts.length;
    this.absorb(run, got, 0, run.next);
    if (res.code === -1) {
      res.stderr = whole?.stderr || `remote script exited with ${whole?.code ?? 'no status'}`;
      res.code = whole?.code || 1;
    }
    if (run.next < framed.parts.length) {
      this.parked = run;
      if (run.stopped) await this.stopParked();
    }
    const after = verify ? got.members[0]!.verify : undefined;
    return this.finishApply(x, planned, res, after && after.code !== -1 ? after : undefined, verify, o);
  }

  /**
   * What parts [from, to) of a batch's script brought back, member by member (runInstance reports
   * each at its turn from `ahead` or `probed`); the trailing probes once the last part is in.
   */
  private absorb(run: ParkedBatch, got: ReturnType<FramedBatch['parse']>, from: number, to: number): void {
    const { framed, members, plans } = run;
    plans.forEach((p, n) => {
      const part = framed.partOf[n + 1]!;
      if (part < from || part >= to) return;
      const g = got.members[n + 1]!;
      if (!run.stopped && members[n]!.guard && g.probe && g.probe.code !== -1 && guardHash(g.probe) !== guardHash(members[n]!.basis))
        run.stopped = true;
      if (run.stopped || (p.script && (!g.apply || g.apply.code === -1))) {
        // Not applied. Unguarded, its probe still holds (nothing it reads was written before it);
        // guarded, the fresh probe the script took (else none: probed again at its turn).
        run.stopped = true;
        if (members[n]!.guard) {
          this.probed.delete(p.y);
          if (g.probe && g.probe.code !== -1) this.probed.set(p.y, g.probe);
        }
        return;
      }
      if (!p.script || !g.apply) {
        // Converged: its probe still holds, or (guarded) the one the guard found equal to its basis,
        // which may be a prediction (the probe taken before the batch is stale then).
        if (members[n]!.guard && g.probe && g.probe.code !== -1) this.probed.set(p.y, g.probe);
        return;
      }
      this.probed.delete(p.y);
      const after = p.verify && g.verify && g.verify.code !== -1 ? g.verify : undefined;
      this.ahead.set(p.y, { planned: p.planned, script: p.script, res: g.apply, after, verify: p.verify });
      if (g.apply.code !== 0) run.stopped = true;
    });
    if (to < framed.parts.length) return;
    run.trailing.forEach((y, n) => {
      if (got.trailing[n]!.code !== -1) this.probed.set(y, got.trailing[n]!);
    });
  }

  /** The first member of the parked batch's next part (whose turn sends it). */
  private parkedNext(): TaskInstance | undefined {
    const run = this.parked;
    if (!run) return undefined;
    const n = run.framed.partOf.indexOf(run.next);
    return n > 0 ? run.members[n - 1]!.y : undefined;
  }

  /**
   * x's turn: if it starts the parked batch's next part, that part is sent now (every host has
   * finished the tasks before it: the linear strategy's barrier) and what it brought back is
   * absorbed; after the last part, or once the script stopped applying, the session ends.
   */
  private async releaseParked(x: TaskInstance): Promise<void> {
    const run = this.parked;
    if (!run || this.parkedNext() !== x || !run.session) return;
    const p = run.next;
    const last = p === run.framed.parts.length - 1;
    let stdout: string;
    let ended = false;
    try {
      const reply = await run.session.send(run.framed.parts[p]!, run.framed.marker(p));
      stdout = reply.stdout;
      ended = reply.done !== undefined;
      if (last && !ended) {
        ({ stdout } = await run.session.end());
        ended = true;
      }
    } catch (err) {
      this.unpark();
      throw err;
    }
    run.next = ended ? run.framed.parts.length : p + 1;
    this.absorb(run, run.framed.parse(stdout), p, run.next);
    if (ended) this.parked = undefined;
    else if (run.stopped) await this.stopParked();
  }

  /**
   * Ends the parked batch without applying its remaining parts (a member failed, the runner went
   * past a member's turn, the play is over): the rest is sent after `kiln_stop=1`, so the host
   * applies nothing more and brings back fresh probes (guards, trailing) in the same round trip.
   */
  private async stopParked(): Promise<void> {
    const run = this.parked;
    if (!run) return;
    const p = run.next;
    this.parked = undefined;
    run.stopped = true;
    run.next = run.framed.parts.length;
    let stdout: string | undefined;
    try {
      ({ stdout } = await run.session!.end(['kiln_stop=1\n', ...run.framed.parts.slice(p)].join('')));
    } catch {
      // The host is gone or timed out: nothing it brought back; what follows probes again.
    }
    this.absorb(run, run.framed.parse(stdout ?? ''), p, run.next);
  }

  /** The parked batch's session failed: forget it, and the probes its unsent members were planned from. */
  private unpark(): void {
    const run = this.parked;
    if (!run) return;
    this.parked = undefined;
    const p = run.next;
    run.members.forEach((m, n) => {
      if (run.framed.partOf[n + 1]! >= p) this.probed.delete(m.y);
    });
  }

  /**
   * Task i's turn (before anything of it runs): a parked batch whose next member comes before it,
   * or is of task i but not among its instances now, is stopped (its turn will not come).
   */
  private async settleParked(i: number): Promise<void> {
    const y0 = this.parkedNext();
    if (!y0) return;
    const j0 = this.tasks.indexOf(y0.task);
    const r = j0 === i ? this.inst.get(this.tasks[i]!) : undefined;
    if (j0 < i || (j0 === i && !(r?.kind === 'run' && r.instances.includes(y0) && !r.instances[0]!.bound.action))) await this.stopParked();
  }

  /** The end of this sequence's turns (the play is over for the host): a parked batch is stopped. */
  async settle(): Promise<void> {
    await this.stopParked();
  }

  /** Is instance a after instance b in the sequence? */
  private after(a: TaskInstance, b: TaskInstance): boolean {
    const ja = this.tasks.indexOf(a.task);
    const jb = this.tasks.indexOf(b.task);
    return ja > jb || (ja === jb && (a.itemIndex ?? 0) > (b.itemIndex ?? 0));
  }

  /** After the apply's round trip: interpret, verify, confirm; the instance's outcome. */
  private async finishApply(
    x: TaskInstance,
    planned: Planned,
    res: ExecResult,
    after: ExecResult | undefined,
    verify: boolean,
    o: Outcomes,
  ): Promise<InstanceOutcome> {
    const { changes } = planned;
    // A result describing the host's state shows the state the apply left (as Ansible's does).
    const described = (after && res.code === 0 && x.bound.registerAfter?.(after)) || planned.described;
    const applied = interpretApply(x, res, described);
    const diff = redactOpt(planned.diff);
    if (applied.failed) {
      // As Ansible's: a failed apply's registered result keeps what the module reported (rc,
      // stdout, …), which `until` and later tasks read.
      const f = o.fail(applied.failed, changes, { diff });
      f.registered = { ...applied.registered, ...f.registered };
      if (f.failed) {
        this.dropAhead(`'${x.label}' failed`, (y) => y.task !== x.task);
        await this.stopParked();
      }
      return f;
    }
    const changed = changedAfterApply(x, applied);
    const unconverged = verify ? verifyInstance(x, after) : undefined;
    if (unconverged) {
      const f = o.fail(unconverged, changes, { diff });
      if (f.failed) {
        this.dropAhead(`'${x.label}' failed to converge`, (y) => y.task !== x.task);
        await this.stopParked();
      }
      return f;
    }
    const unconfirmed = x.bound.confirm ? await this.confirm(x, x.bound.confirm) : undefined;
    if (unconfirmed) return o.fail(unconfirmed, changes, { diff });
    const registered = { changed, failed: false, ...applied.registered };
    return o.done(changed ? 'changed' : 'ok', changed ? changes : [], registered, {
      diff: changed ? diff : undefined,
      unpredictable: planned.unpredictable,
    });
  }

  /**
   * The apply of a module that takes the host away (reboot): the apply alone (no probe rides with
   * it: the host is going down), a lost connection expected; then wait for the host to come back
   * on new connections (phases/reconnect.ts). Every later probe is stale.
   */
  private async applyAway(
    x: TaskInstance,
    planned: Planned,
    script: string,
    reconnect: NonNullable<ReturnType<NonNullable<Planned['plan']['reconnect']>>>,
    o: Outcomes,
  ): Promise<InstanceOutcome> {
    const host = x.delegate ?? this.opts.host;
    let res: ExecResult | undefined;
    try {
      res = await applyRoundTrip(() => this.conn(x), x, script, [], this.probed);
    } catch (err) {
      // The host went down under the apply's round trip: what a reboot does.
      if (!(err instanceof UnreachableError)) throw err;
    }
    if (res) {
      const applied = interpretApply(x, res, planned.described);
      if (applied.failed) return o.fail(applied.failed, planned.changes);
    }
    this.probed.clear();
    const back = await reconnectInstance(x, reconnect, this.transport, host, Date.now());
    if ('failed' in back) return o.fail(back.failed, planned.changes);
    const registered = { changed: true, failed: false, ...planned.described, ...back.result };
    return o.done('changed', planned.changes, registered, { unpredictable: planned.unpredictable });
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
    const at = this.tasks.indexOf(x.task);
    for (const key of [...this.probed.keys()]) {
      const j = this.tasks.indexOf(key.task);
      if (j > at || (j === at && (key.itemIndex ?? 0) > (x.itemIndex ?? 0))) this.probed.delete(key);
    }
  }
}

const SKIP_REASON = 'Conditional result was False';

/** A task's role listing (role-runs.ts decides per listing whether its tasks run on a host). */
function scopeKey(t: TaskDef): string {
  return t.scope ? `${t.scope.chain.map((r) => r.id).join('/')}#${t.scope.occurrence}` : '';
}

/** The position of instance y among its task's run instances (its k). */
function r2k(r: Instantiation, y: TaskInstance): number {
  return r.kind === 'run' ? r.instances.indexOf(y) : 0;
}

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
  // An item that failed counts even when ignore_errors let the host go on (Ansible's results).
  const failed = ran.some(({ o }) => o.failed || o.result.status === 'failed');
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
