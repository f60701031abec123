/**
 * Runs a playbook: plays in order; per play, hosts in serial batches; per batch, tasks in the
 * linear strategy (every host finishes task N before any starts task N+1), hosts in parallel up
 * to `forks`; then notified handlers in definition order, once each. Under `strategy: free` (and
 * host_pinned) each host goes through its tasks, then its handlers, on its own (runFree). A
 * failed host stops; the others go on. Unreachable is distinct from failed.
 *
 * `run()` always returns a report: a host that is lost is reported unreachable and the others
 * finish every play; anything unexpected that throws stops the run and is reported as the
 * report's `error`, with every result recorded until then. Handler notifications are written
 * ahead to the pending-handlers file (notifications.ts, pending.ts).
 */
import type { Inventory } from '../input/inventory/index.ts';
import type { PlayDef, Playbook, TaskDef } from '../input/playbook/types.ts';
import { redact } from '../core/secret/secret.ts';
import { formatDiagnostic } from '../core/diagnostic.ts';
import { type Transport, type TransportFactory, type TransportWrapper, UnreachableError } from '../transport/transport.ts';
import { ConnectionPool } from '../transport/pool.ts';
import { sshTransport } from '../transport/ssh/factory.ts';
import type { SshTimeouts } from '../transport/ssh/spec.ts';
import { extraConnectionVars } from '../input/inventory/index.ts';
import type { SshConfig } from '../transport/ssh/sshconfig.ts';
import { gatherScript, parseGathered } from '../facts/gather.ts';
import { type ActionEffect, type ExecResult, RunMemory } from '../modules/contract.ts';
import { HostSequence, type InstanceOutcome, type ProbeCache, type SequenceOptions } from './host-sequence.ts';
import { type FailOutcome, isRescuing, PlayIterator, type Step, stepKey } from './iterator.ts';
import { type IncludeEffect, type IncludeExpander, isInclude, loaderExpander, placeIncluded } from './includes.ts';
import { failedTaskVar } from './failed-task.ts';
import { addHost, groupBy } from './inventory-effects.ts';
import { evaluateCondition } from '../template/engine.ts';
import { getModule } from '../modules/registry.ts';
import { PendingHandlers } from './pending.ts';
import { BatchNotifications } from './notifications.ts';
import { countTask, emptyStats, type HostStats, type RunReport, type TaskResult } from './report.ts';
import { VarsBuilder } from '../input/inventory/vars-builder.ts';
import { type PlanPlay, planPlay, type RunPlan, serialBatches } from '../plan/selection.ts';
import type { Reporter } from './events.ts';
import { type ResultScope, taskResult } from './results.ts';
import { RoleRuns } from './role-runs.ts';
import { notifiedHandlers } from '../plan/handlers.ts';
import { withImplicitLocalhost } from '../transport/implicit-localhost.ts';
import { isImplicitLocalhost } from '../plan/where-and-when.ts';
import { endsPlay, forksFor, PlayOrder, runOnceHosts, type TaskControls } from './play-controls.ts';
import { HostLines, Semaphore } from './free-strategy.ts';
import { isQuietMeta, metaKind } from './meta-output.ts';
import { freeStrategyProblems, isFree } from '../plan/strategy.ts';
import type { Shard } from '../plan/shard.ts';
import { shardTaskProblems } from '../plan/shard-refusals.ts';

export interface RunnerOptions {
  check: boolean;
  diff: boolean;
  forks: number;
  /** Most connections open at once (default: `forks`): the pool closes idle ones, least recently used first, and reconnects on demand. */
  connections?: number;
  limit?: string;
  /** `--shard i/n`: this controller's part of each play's hosts (plan/shard.ts). */
  shard?: Shard;
  tags: string[];
  skipTags: string[];
  /**
   * The hosts and tasks of each play, as `validateRun` planned them. Without one (a Runner built
   * directly, e.g. in tests) each play is planned on first use with the same function
   * (plan/selection.ts `planPlay`) from limit/tags/skipTags.
   */
  plan?: RunPlan;
  extraVars: Record<string, unknown>;
  /** The vault password: include_vars decrypts vault files with it (as the loader did vars_files). */
  vaultPassword?: string;
  /** The CLI's verbosity (`-v` counted): debug tasks with a higher `verbosity` are skipped. */
  verbosity?: number;
  acceptNewHostKeys: boolean;
  sshConfig?: SshConfig;
  reporter: Reporter;
  /** SSH timeouts that win over every host's own (the CLI's options). */
  timeouts?: Partial<SshTimeouts>;
  /**
   * How hosts are reached. Default: SSH, each host's connection resolved from its inventory vars
   * and the extra vars, `sshConfig`, `acceptNewHostKeys` and `timeouts`. Unit tests put the local
   * transport here.
   */
  transport?: TransportFactory;
  /**
   * Expands a dynamic include (include_tasks / include_role) for one host: the loader's
   * expansion (src/input/playbook/includes.ts, issue 16's part A2). Without one, an include fails
   * its task with a located message.
   */
  expandInclude?: IncludeExpander;
  /**
   * Batch applies: consecutive independent task instances applied and verified in one remote
   * script (engine/phases/batch.ts). Default true; false (`--no-batch`): one apply per round trip.
   */
  batch?: boolean;
  /** Wraps the transport in use (`transport` or SSH): tests inject faults this way (test/helpers/fault-transport.ts). */
  wrapTransport?: TransportWrapper;
}

/** A batch being run: what each step (runStep) works with. */
interface BatchRun {
  play: PlayDef;
  batch: string[];
  roleRuns: RoleRuns;
  seqs: Map<string, HostSequence>;
  it: PlayIterator;
  notes: BatchNotifications;
  seqOpts: (host: string, handler: boolean) => SequenceOptions;
  /** meta: end_play ran. */
  endPlay: boolean;
  /** free: per task (its step key), the hosts that may run it at once (throttle). */
  throttles: Map<string, Semaphore>;
  /** The tasks are handlers (those an include_tasks handler included). */
  handler?: boolean;
}

/** Runs `fn` on every item, `limit` at a time; when one throws, waits for the others, then throws the first error. */
async function parallel<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const t = items[next++]!;
      try {
        await fn(t);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((r) => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

export class Runner {
  readonly stats = new Map<string, HostStats>();
  readonly results: TaskResult[] = [];
  /**
   * One handle per host for the whole run, over a bounded pool of connections (at most --forks
   * open, reconnected on demand; transport/pool.ts); `openFresh` for commit-confirm.
   */
  private readonly conns: ConnectionPool;
  /** Hosts that failed or were unreachable: they take no further part in the run. */
  private readonly dead = new Set<string>();
  /** Hosts that failed in a task (not unreachable): meta clear_host_errors revives them for the later plays. */
  private readonly failedHosts = new Set<string>();
  private readonly vars: VarsBuilder;
  private readonly pending: PendingHandlers;
  /** Each play's hosts and selected tasks (plan/selection.ts): from `opts.plan`, else planned on first use. */
  private readonly planned: Map<PlayDef, PlanPlay>;
  /** What modules remember across hosts during this run. */
  private readonly memory: RunMemory;
  /** Cross-play probe results: `${host}|${play}:${task}:${item}` → result (see host-sequence.ts). */
  private readonly probeCache = new Map<string, { script: string; mode: string; out: ExecResult; generation: number }>();
  /** Per host: the results it registered (and its gathered facts), for the whole run. */
  private readonly registered = new Map<string, Record<string, unknown>>();
  /** Per host: what its facts were last gathered with, and when (the generation then). */
  private readonly gathered = new Map<string, { key: string; generation: number }>();
  /** Bumped before anything is applied anywhere: older cached probe results are not used. */
  private generation = 0;
  /** The play's `order` of its hosts, drawn once per play (part G). */
  private readonly order = new PlayOrder();
  private started = Date.now();

  constructor(
    readonly playbook: Playbook,
    readonly inv: Inventory,
    readonly opts: RunnerOptions,
  ) {
    this.memory = new RunMemory({ vaultPassword: opts.vaultPassword, verbosity: opts.verbosity });
    this.vars = new VarsBuilder(inv, {
      extraVars: opts.extraVars,
      check: opts.check,
      diff: opts.diff,
      playbook: playbook.file,
      registered: (h) => this.registered.get(h),
      sharded: (opts.shard?.count ?? 1) > 1,
    });
    this.pending = new PendingHandlers(playbook.dir, playbook.file, opts.check, opts.shard);
    this.planned = new Map(opts.plan?.plays.map((p) => [p.play, p]));
    // Extra vars set connection variables too, under Kiln's or Ansible's names (checked by the CLI).
    const extraConnection = extraConnectionVars(opts.extraVars).vars;
    const transport =
      opts.transport ??
      sshTransport(inv, {
        vars: (host) => ({ ...this.vars.hostvars[host], ...extraConnection }),
        sshConfig: opts.sshConfig,
        acceptNewHostKeys: opts.acceptNewHostKeys,
        timeouts: opts.timeouts,
      });
    // delegate_to: localhost without a localhost in the inventory runs on the controller (part G).
    const withLocal = withImplicitLocalhost(transport, (h) => isImplicitLocalhost(h, inv.hosts));
    this.conns = new ConnectionPool(opts.wrapTransport ? opts.wrapTransport(withLocal) : withLocal, opts.connections ?? opts.forks);
  }

  private statsOf(host: string): HostStats {
    let s = this.stats.get(host);
    if (!s) {
      s = emptyStats();
      this.stats.set(host, s);
    }
    return s;
  }

  /** Opens (once) the connection to a host. */
  connection(host: string): Promise<Transport> {
    return this.conns.open(host);
  }

  /** Opens a NEW, uncached connection to a host (commit-confirm); the caller closes it. */
  freshConnection(host: string): Promise<Transport> {
    return this.conns.openFresh(host);
  }

  /** Shows and keeps one host's results of one task (its loop items), and counts them once for the recap. */
  private record(rs: readonly TaskResult[], rep: Reporter = this.opts.reporter): void {
    const counted: TaskResult[] = [];
    for (const r of rs) {
      if (r.message) r.message = redact(r.message);
      this.results.push(r);
      // A meta task that ran or was skipped has no "ok" line and no count in the recap, as in
      // Ansible 2.14 (meta-output.ts); the JSON report's task list keeps it.
      const quiet = isQuietMeta(r);
      if (!quiet) counted.push(r);
      if (!(quiet && r.status === 'ok')) rep.result(r);
    }
    if (counted.length) countTask(this.statsOf(counted[0]!.host), counted);
  }

  /** Runs every play; always returns the report (see the file comment). */
  async run(): Promise<RunReport> {
    this.started = Date.now();
    let error: string | undefined;
    try {
      if (this.pending.problem) this.opts.reporter.warn(this.pending.problem);
      for (const f of this.pending.foreign)
        this.opts.reporter.warn(
          `${f} holds handler notifications of a run sharded otherwise (or unsharded): they are NOT restored under this --shard; run once as that run was (same --shard n, or unsharded) to flush them`,
        );
      // max_fail_percentage exceeded ends the whole playbook, as in Ansible (PlaybookExecutor
      // breaks out of its plays on RUN_FAILED_BREAK_PLAY): no later play runs, on any host.
      for (const play of this.playbook.plays) if (await this.runPlay(play)) break;
    } catch (err) {
      error = redact((err as Error).stack ?? String(err));
    }
    for (const [host, c] of await this.conns.opened()) {
      // A delegate that is not a host of any play (localhost) has no line in the recap (part G).
      if (this.stats.has(host)) {
        this.statsOf(host).round_trips = c.roundTrips;
        this.statsOf(host).syncs = c.syncs ?? 0;
      }
      try {
        c.close();
      } catch {
        // Closing a connection that is already gone.
      }
    }
    return this.report(error);
  }

  /** The report of what ran so far (`error`: what stopped the run, if anything did). */
  report(error?: string): RunReport {
    return {
      hosts: Object.fromEntries(this.stats),
      tasks: this.results,
      check: this.opts.check,
      duration_ms: Date.now() - this.started,
      ...(error ? { error } : {}),
    };
  }

  /** Durable writes of the pending-handlers file so far (none in a converged run). */
  get pendingWrites(): number {
    return this.pending.writes;
  }

  /** A play's selection: validation's, or planned here once by the same function (see `opts.plan`). */
  private planOf(play: PlayDef): PlanPlay {
    let p = this.planned.get(play);
    if (!p) this.planned.set(play, (p = planPlay(this.inv, play, this.opts)));
    return p;
  }

  /** The play's hosts ∩ --limit, as planned, in the play's `order` (dead hosts included: callers drop them). */
  private playHosts(play: PlayDef): string[] {
    return this.order.of(play, this.planOf(play).hosts); // part G: order
  }

  /** Runs a play; returns true when max_fail_percentage aborted it (the run stops there). */
  private async runPlay(play: PlayDef): Promise<boolean> {
    const all = this.playHosts(play);
    for (const h of all) this.statsOf(h);
    const hosts = all.filter((h) => !this.dead.has(h));
    const tasks = this.selectedTasks(play);
    this.opts.reporter.playStart(play, hosts);
    const roleRuns = new RoleRuns();
    let aborted = false;
    for (const batch of serialBatches(hosts, play.serial)) {
      const r = await this.runBatch(play, tasks, batch, roleRuns);
      aborted = r.aborted;
      // meta: end_play ends the play on every host, its later batches too.
      if (aborted || r.endPlay) break;
    }
    await this.opts.reporter.playEnd(play);
    // Hosts no later play selects are done with: their connections close now (the pool would
    // reconnect one a later task still needs, e.g. a delegate or an added host).
    let later: Set<string> | undefined;
    try {
      later = new Set(this.playbook.plays.slice(this.playbook.plays.indexOf(play) + 1).flatMap((p) => this.planOf(p).hosts));
    } catch {
      // A later play that cannot be planned yet fails when it runs: nothing is released early.
    }
    if (later) for (const h of all) if (!later.has(h)) this.conns.done(h);
    return aborted;
  }

  /** `aborted`: max_fail_percentage aborted the play; `endPlay`: meta end_play ended it. */
  private async runBatch(
    play: PlayDef,
    tasks: TaskDef[],
    batch: string[],
    roleRuns: RoleRuns,
  ): Promise<{ aborted: boolean; endPlay: boolean }> {
    // Registered results (and facts) stay with the host for the rest of the run, as in Ansible.
    const registered = this.registered;
    // Restores the notifications pending from an earlier run; writes new ones ahead of each apply.
    const notes = new BatchNotifications(this.pending, play, batch);
    for (const h of batch) {
      if (!registered.has(h)) registered.set(h, {});
      const saved = notes.restored(h);
      if (saved.length) this.opts.reporter.warn(`${h}: handlers pending from an earlier failed run will run: ${saved.join(', ')}`);
    }
    const seqOpts = (host: string, handler: boolean): SequenceOptions => ({
      ...this.seqOptions(host, play, batch, handler),
      beforeApply: (task: TaskDef) => notes.beforeApply(host, task.notify),
      facts: (f: Record<string, unknown>) => this.vars.facts.merge(host, f),
    });
    if (play.gatherFacts) await this.gatherFacts(play, batch, registered);
    const seqs = new Map(batch.map((h) => [h, new HostSequence(this.conns, tasks, seqOpts(h, false), registered.get(h)!)]));
    // Each host's own sequence and cursor; the linear strategy by position (iterator.ts).
    const it = new PlayIterator(new Map([...seqs].map(([h, s]) => [h, s.tasks])));
    const st: BatchRun = { play, batch, roleRuns, seqs, it, notes, seqOpts, endPlay: false, throttles: new Map() };
    let aborted = false;
    if (isFree(play)) aborted = await this.runFree(st);
    else {
      for (;;) {
        // A host that died (a failed handler in a flush, unreachable) is out of this play for good,
        // even if clear_host_errors revives it for the later plays.
        for (const h of batch) if (this.dead.has(h)) it.end(h);
        const step = it.next(batch.filter((h) => !this.dead.has(h)));
        if (!step) break;
        if (await this.runStep(st, step, this.opts.reporter)) {
          aborted = true;
          break;
        }
      }
      // A batch still parked (its host went out of the play before its turn) ends here.
      for (const s of seqs.values()) await s.settle();
    }
    // A host out of the play (failed — even if clear_host_errors revived it —, unreachable, or
    // ended by meta) runs no handlers, as in Ansible.
    const out = (h: string) => this.dead.has(h) || it.cursor(h).done;
    // Under free each host ran its handlers at its own end (runFree).
    if (!aborted && !isFree(play)) {
      aborted = await this.runHandlers(
        play,
        batch,
        batch.filter((h) => !out(h)),
        notes,
        seqOpts,
      );
    }
    // Whatever is still notified (host out of the play, play aborted) stays saved for the next run.
    for (const h of batch) {
      const waiting = notes.finish(h, out(h) || aborted);
      if (waiting.length && !out(h) && !aborted)
        this.opts.reporter.warn(
          `${h}: handlers pending from an earlier run, of a role included at run time that this run did not include, stay pending: ${waiting.join(', ')}`,
        );
    }
    return { aborted, endPlay: st.endPlay };
  }

  /**
   * One step: `step.task` on the hosts whose next task it is (linear: every such host; free: one
   * host). Returns true when the play is aborted (any_errors_fatal, max_fail_percentage).
   */
  private async runStep(st: BatchRun, step: Step, rep: Reporter): Promise<boolean> {
    const { play, batch, roleRuns, seqs, it, notes, seqOpts } = st;
    let aborted = false;
    const stop = (h: string, outcome: FailOutcome | undefined): boolean => this.stop(h, outcome);
    const task = step.task;
    // A role listed again with the same parameters runs once per host (role-runs.ts).
    const live = step.hosts.filter(({ host, index }) => {
      if (roleRuns.shouldRun(host, seqs.get(host)!.tasks[index]!)) return true;
      stop(host, it.skip(host, index));
      return false;
    });
    if (!live.length) return false;
    // part G: run_once (first live host only), throttle, any_errors_fatal (play-controls.ts).
    const controls = seqs.get(live[0]!.host)!.controls(live[0]!.index);
    // An action Ansible runs once for the batch (BYPASS_HOST_LOOP: add_host, pause) runs on the
    // first live host only, as a run_once task does; unlike run_once, only that host registers
    // its result (Ansible's get_task_hosts).
    const bypass = getModule(task.module)?.bypassHostLoop === true;
    // meta (meta-output.ts): end_play, end_batch and clear_host_errors run once, on the first host
    // (its `when` decides); the others on each host, each with its own banner, as in Ansible 2.14.
    const meta = metaKind(task);
    const runOn = controls.runOnce || bypass || meta === 'once' ? live.slice(0, 1) : live;
    if (meta !== 'per-host')
      rep.taskStart(
        play,
        task,
        runOn.map((l) => l.host),
        st.handler === true,
      );
    const results: TaskResult[] = [];
    const effects: { host: string; effect: ActionEffect }[] = [];
    let fatal = false;
    // free: a task's throttle holds across the hosts running it at once (Ansible counts its workers on the task).
    let throttle: Semaphore | undefined;
    if (isFree(play) && controls.throttle > 0) {
      const key = stepKey(task);
      throttle = st.throttles.get(key);
      if (!throttle) st.throttles.set(key, (throttle = new Semaphore(controls.throttle)));
    }
    const runOne = (fn: () => Promise<void>) => (throttle ? throttle.with(fn) : fn());
    if (meta === 'per-host') {
      // One banner per host (Ansible's _execute_meta announces the task each time it runs it);
      // controller-side and instant: the hosts one after the other.
      for (const x of runOn) {
        const own: TaskResult[] = [];
        rep.taskStart(play, task, [x.host], st.handler === true);
        await this.runOnHost(st, step, x, controls, rep, effects, own, (f) => (fatal ||= f));
        results.push(...own);
        await rep.taskEnd(play, task, own);
      }
    } else
      await parallel(runOn, forksFor(this.opts.forks, controls), (x) =>
        runOne(() => this.runOnHost(st, step, x, controls, rep, effects, results, (f) => (fatal ||= f))),
      );
    // part G: a run_once task's registered value, set_fact/include_vars and facts are every host's of the batch; they move past it.
    for (const l of live.slice(runOn.length)) {
      if (controls.runOnce) await seqs.get(l.host)!.adoptRunOnce(l.index, seqs.get(runOn[0]!.host)!, runOn[0]!.index);
      stop(l.host, it.advance(l.host, l.index, false));
    }
    if (meta !== 'per-host') await rep.taskEnd(play, task, results);
    if (fatal) {
      // part G: any_errors_fatal (or a failed run_once): the play ends for every host, and the run with it.
      this.opts.reporter.warn(`any_errors_fatal: task '${task.name}' failed: stopping play '${play.name}' and the plays after it`);
      return true;
    }
    // Runner-level effects, in batch order, once the step is over on every host.
    const flush: string[] = [];
    let inventoryChanged = false;
    for (const { host, effect } of effects) {
      if (effect.kind === 'add_host') {
        addHost(this.inv, effect.name, effect.groups, effect.vars, task.loc);
        inventoryChanged = true;
      } else if (effect.kind === 'group_by') {
        groupBy(this.inv, host, effect.groups, effect.parents, task.loc);
        inventoryChanged = true;
      }
      if (effect.kind !== 'meta') continue;
      switch (effect.action) {
        case 'flush_handlers':
          // Ansible 2.14 stops the run: "flush_handlers cannot be used as a handler" (a task an include_tasks handler included).
          if (st.handler) throw new Error(`${task.loc.file}:${task.loc.line}:${task.loc.col}: flush_handlers cannot be used as a handler`);
          if (!flush.includes(host)) flush.push(host);
          break;
        case 'end_host':
          it.end(host);
          break;
        case 'end_play':
          st.endPlay = true;
        // falls through: the batch ends too
        case 'end_batch':
          for (const h of batch) it.end(h);
          break;
        case 'clear_host_errors':
          // As Ansible 2.14: the play's hosts that failed (here or in an earlier play; not the
          // unreachable ones) are no longer failed — they take part in the later plays, not in
          // the rest of this one.
          for (const h of this.playHosts(play)) if (this.failedHosts.delete(h)) this.dead.delete(h);
          break;
        case 'reset_connection':
          await this.conns.reset(host);
          break;
        case 'noop':
          break;
      }
    }
    if (inventoryChanged) {
      // add_host / group_by: groups, group_names, hostvars and the later plays' hosts see the change.
      this.vars.inventoryChanged();
      const at = this.playbook.plays.indexOf(play);
      for (const later of this.playbook.plays.slice(at + 1)) this.planned.delete(later);
    }
    if (flush.length) {
      // meta: flush_handlers — the notified handlers of these hosts run now, then the tasks go on.
      aborted = await this.runHandlers(
        play,
        batch,
        flush.filter((h) => !this.dead.has(h)),
        notes,
        seqOpts,
        rep,
      );
      // What a handler applied makes the host's earlier probes stale (the window stops at meta,
      // so none should be left: this keeps it so whatever the window does).
      for (const h of flush) seqs.get(h)!.dropProbes();
      if (aborted) return true;
    }
    const failedNow = batch.filter((h) => this.dead.has(h)).length;
    const pct = play.maxFailPercentage;
    if (pct !== undefined && (failedNow / batch.length) * 100 > pct) {
      this.opts.reporter.warn(
        `max_fail_percentage ${pct}% exceeded (${failedNow}/${batch.length} hosts failed): stopping play '${play.name}' and the plays after it`,
      );
      return true;
    }
    return false;
  }

  /** The task of a step on one of its hosts (runStep). */
  private async runOnHost(
    st: BatchRun,
    step: Step,
    { host: h, index: i }: { host: string; index: number },
    controls: TaskControls,
    rep: Reporter,
    effects: { host: string; effect: ActionEffect }[],
    results: TaskResult[],
    setFatal: (fatal: boolean) => void,
  ): Promise<void> {
    const { play, batch, roleRuns, seqs, it, notes } = st;
    const stop = (host: string, outcome: FailOutcome | undefined): boolean => this.stop(host, outcome);
    const seq = seqs.get(h)!;
    const own = seq.tasks[i]!;
    let outs = await this.safeRun(h, play, own, () => seq.runTask(i));
    if (outs.some((o) => o.result.status !== 'skipped')) roleRuns.taskRan(h, own);
    let spliced: TaskDef[] = [];
    const hostEffects: ActionEffect[] = [];
    if (!outs.some((o) => o.failed || o.unreachable)) {
      // Includes splice on this host, one expansion per loop item; other effects after the step.
      outs = await this.safeRun(h, play, own, async () => {
        let item = 0;
        for (const o of outs) {
          if (o.result.status === 'failed') continue;
          for (const effect of o.effects ?? []) {
            if (isInclude(effect)) spliced.push(...this.expand(h, play, batch, own, effect, item, seq, notes));
            else hostEffects.push(effect);
          }
          if (o.effects?.some(isInclude)) item++;
        }
        return outs;
      });
      if (outs.some((o) => o.failed)) spliced = [];
      else for (const effect of hostEffects) effects.push({ host: h, effect });
    }
    if (spliced.length) seq.splice(i, spliced);
    const failed = outs.some((o) => o.failed);
    const unreachable = outs.some((o) => o.unreachable);
    // Unreachable is never rescued (Ansible 2.14).
    const rescued = failed && !unreachable && isRescuing(own);
    for (const o of outs) {
      if (rescued && o.failed) o.result.rescued = true;
      results.push(o.result);
    }
    this.record(
      outs.map((o) => o.result),
      rep,
    );
    if (rescued) this.setFailed(seq, own, outs);
    let stopped = unreachable;
    if (unreachable) {
      this.dead.add(h);
      it.end(h);
    } else stopped = stop(h, it.advance(h, i, failed)) || (failed && !rescued);
    // part G: any_errors_fatal (a rescued failure does not end the play).
    if (endsPlay(controls, stopped)) setFatal(true);
    notes.afterTask(
      h,
      own.notify,
      outs.some((o) => o.changed),
      stopped,
    );
  }

  /** A host whose failure was not rescued is out of the run (clear_host_errors may revive it for later plays). */
  private stop(h: string, outcome: FailOutcome | undefined): boolean {
    if (outcome !== 'failed') return false;
    this.dead.add(h);
    this.failedHosts.add(h);
    return true;
  }

  /**
   * strategy free (and host_pinned), as Ansible 2.14's free strategy: each host goes through its
   * own sequence as fast as it can, never waiting for the others at a task; at most --forks
   * tasks run at once (host_pinned: at most --forks hosts, each keeping its fork until it is
   * done), a task with `throttle` N on at most N hosts at once. A host's lines are printed when
   * its task ends (banner and result together). meta: flush_handlers runs that host's handlers;
   * a host that reaches the end of its tasks runs its notified handlers at once, alone. end_host
   * ends the host; end_play and end_batch end every host of the batch (each after its current
   * task). run_once, any_errors_fatal, max_fail_percentage and add_host/pause are refused at
   * validation (plan/strategy.ts). Returns true when the play was aborted.
   */
  private async runFree(st: BatchRun): Promise<boolean> {
    const { play, batch, it, notes, seqOpts } = st;
    const pinned = play.strategy === 'host_pinned';
    const forks = new Semaphore(pinned ? Number.POSITIVE_INFINITY : this.opts.forks);
    const lines = new Semaphore(1);
    let aborted = false;
    await parallel(batch, pinned ? this.opts.forks : batch.length, async (h) => {
      for (;;) {
        if (aborted) return;
        if (this.dead.has(h)) it.end(h);
        const step = it.next([h]);
        if (!step) break;
        const rep = new HostLines(this.opts.reporter, lines);
        if (await forks.with(() => this.runStep(st, step, rep))) aborted = true;
      }
      // The end of the host's tasks: its notified handlers run now (a host out of the play runs none).
      if (aborted || this.dead.has(h) || it.cursor(h).done) return;
      if (await forks.with(() => this.runHandlers(play, batch, [h], notes, seqOpts, new HostLines(this.opts.reporter, lines))))
        aborted = true;
    });
    return aborted;
  }

  /**
   * Runs the notified handlers of `hosts` (the end of a batch, or meta: flush_handlers): in
   * definition order, once each, on the hosts that notified them. Returns true when
   * max_fail_percentage aborted the play.
   */
  private async runHandlers(
    play: PlayDef,
    batch: string[],
    hosts: string[],
    notes: BatchNotifications,
    seqOpts: (host: string, handler: boolean) => SequenceOptions,
    rep: Reporter = this.opts.reporter,
  ): Promise<boolean> {
    const registered = this.registered;
    let aborted = false;
    // Handlers: in definition order, once each, on the hosts that notified them.
    // As Ansible 2.14 (plan/handlers.ts): by name the first match of the last handler list; every listener.
    // The play's handlers, then (per host) those of the roles it included (include_role).
    const toRun = (h: string) => {
      const list = notes.handlersOf(h);
      const run = new Set([...notes.of(h)].flatMap((n) => notifiedHandlers(list, n)));
      return list.filter((hd) => run.has(hd));
    };
    const order = [...new Set(hosts.flatMap((h) => notes.handlersOf(h)))];
    const handlerSeqs = new Map<string, HostSequence>();
    for (const h of hosts) {
      if (this.dead.has(h)) continue;
      handlerSeqs.set(h, new HostSequence(this.conns, toRun(h), seqOpts(h, true), registered.get(h)!));
    }
    for (const hd of order) {
      const hostsFor = [...handlerSeqs.keys()].filter((h) => !this.dead.has(h) && handlerSeqs.get(h)!.tasks.includes(hd));
      if (!hostsFor.length) continue;
      // part G: throttle and any_errors_fatal on handlers too (play-controls.ts; run_once is refused on handlers by the loader).
      const first = handlerSeqs.get(hostsFor[0]!)!;
      const controls = first.controls(first.tasks.indexOf(hd));
      const runOn = runOnceHosts(hostsFor, controls);
      rep.taskStart(play, hd, runOn, true);
      const results: TaskResult[] = [];
      let fatal = false;
      /** A handler that notifies handlers: those defined after it, now notified, run in this pass. */
      const reschedule = (h: string) => {
        const list = notes.handlersOf(h);
        const pos = list.indexOf(hd);
        const scheduled = new Set([...handlerSeqs.get(h)!.tasks, ...toRun(h)]);
        const later = list.filter((x) => scheduled.has(x) && list.indexOf(x) > pos);
        handlerSeqs.set(h, new HostSequence(this.conns, later, seqOpts(h, true), registered.get(h)!));
      };
      /** include_tasks as a handler: per host, the included tasks, run as handlers right after it. */
      const included = new Map<string, TaskDef[]>();
      await parallel(runOn, forksFor(this.opts.forks, controls), async (h) => {
        const seq = handlerSeqs.get(h)!;
        const idx = seq.tasks.indexOf(hd);
        let outs = await this.safeRun(h, play, hd, () => seq.runTask(idx));
        if (!outs.some((o) => o.failed || o.unreachable) && outs.some((o) => o.effects?.some(isInclude))) {
          const tasks: TaskDef[] = [];
          outs = await this.safeRun(h, play, hd, async () => {
            let item = 0;
            for (const o of outs) {
              if (o.result.status === 'failed') continue;
              for (const effect of o.effects ?? [])
                if (isInclude(effect)) tasks.push(...this.expand(h, play, batch, hd, effect, item, seq, notes));
              if (o.effects?.some(isInclude)) item++;
            }
            return outs;
          });
          if (tasks.length && !outs.some((o) => o.failed)) included.set(h, tasks);
        }
        for (const o of outs) results.push(o.result);
        this.record(
          outs.map((o) => o.result),
          rep,
        );
        const stopped = outs.some((o) => o.failed || o.unreachable);
        const changed = outs.some((o) => o.changed);
        notes.afterTask(h, hd.notify, changed, stopped);
        if (endsPlay(controls, stopped)) fatal = true; // part G
        if (stopped) this.dead.add(h);
        if (outs.some((o) => o.failed)) this.failedHosts.add(h);
        else if (!included.has(h)) {
          notes.handlerRan(h, hd);
          if (changed && hd.notify.length) reschedule(h);
        }
      });
      await rep.taskEnd(play, hd, results);
      if (fatal) {
        this.opts.reporter.warn(`any_errors_fatal: handler '${hd.name}' failed: stopping play '${play.name}' and the plays after it`);
        aborted = true;
        break;
      }
      if (included.size) {
        // As Ansible 2.14 (PlayIterator.add_tasks in the handlers state): the included tasks run
        // next, as handlers of the hosts that ran the include, before the later handlers. The
        // include's notification is cleared only once they ran: a host that fails in them keeps
        // it pending for the next run.
        const seqs = new Map([...included].map(([h, ts]) => [h, new HostSequence(this.conns, ts, seqOpts(h, true), registered.get(h)!)]));
        const sub: BatchRun = {
          play,
          batch,
          roleRuns: new RoleRuns(),
          seqs,
          it: new PlayIterator(new Map([...seqs].map(([h, x]) => [h, x.tasks]))),
          notes,
          seqOpts,
          endPlay: false,
          throttles: new Map(),
          handler: true,
        };
        for (;;) {
          for (const h of seqs.keys()) if (this.dead.has(h)) sub.it.end(h);
          const step = sub.it.next([...seqs.keys()].filter((h) => !this.dead.has(h)));
          if (!step) break;
          if (await this.runStep(sub, step, rep)) {
            aborted = true;
            break;
          }
        }
        if (aborted) break;
        for (const h of included.keys()) {
          if (this.dead.has(h)) continue;
          notes.handlerRan(h, hd);
          reschedule(h);
        }
      }
      // A handler that failed (a restart whose service did not come back healthy) counts like a
      // failed task, checked after each handler as Ansible's linear strategy does (handlers are
      // tasks of the play there): the later handlers do not run (a primary's restart after its
      // replica's failed), and in a rolling play the next batch does not get the same change.
      if (play.maxFailPercentage !== undefined) {
        const failedNow = batch.filter((h) => this.dead.has(h)).length;
        if ((failedNow / batch.length) * 100 > play.maxFailPercentage) {
          this.opts.reporter.warn(
            `max_fail_percentage ${play.maxFailPercentage}% exceeded after handler '${hd.name}' (${failedNow}/${batch.length} hosts failed): stopping play '${play.name}' and the plays after it`,
          );
          aborted = true;
          break;
        }
      }
    }
    return aborted;
  }

  private seqOptions(host: string, play: PlayDef, batch: string[], handler: boolean): SequenceOptions {
    return {
      host,
      run: this.memory,
      play,
      check: this.opts.check,
      diff: this.opts.diff,
      playbookDir: this.playbook.dir,
      extraVars: this.opts.extraVars,
      handler,
      vars: (task: TaskDef, reg: Record<string, unknown>) => this.vars.forTask(host, play, batch, task, reg),
      cache: this.cacheFor(host, this.playbook.plays.indexOf(play)),
      onRetry: (message: string) => this.opts.reporter.retry?.(message),
      batch: this.opts.batch !== false,
      warn: (message: string) => this.opts.reporter.warn(message),
      // A synced batch keeps a session open on its host between its parts: every host of the
      // batch must be able to at once, without waiting for a connection slot (host-sequence.ts).
      syncs: !handler && !isFree(play) && batch.length <= Math.min(this.opts.forks, this.conns.capacity),
      alone: batch.length === 1,
    };
  }

  /**
   * A failure rescued by a block: `ansible_failed_task` and `ansible_failed_result` for the rest
   * of the run (as Ansible's non-persistent facts), set at the failure.
   */
  private setFailed(seq: HostSequence, task: TaskDef, outs: InstanceOutcome[]): void {
    const failedOne = outs.find((o) => o.failed);
    const result =
      task.loop !== undefined
        ? {
            changed: outs.some((o) => o.changed),
            failed: true,
            msg: 'One or more items failed',
            results: outs.map((o) => o.registered ?? {}),
          }
        : (failedOne?.registered ?? { failed: true, changed: false, msg: failedOne?.result.message ?? '' });
    seq.registered.ansible_failed_task = failedTaskVar(task);
    seq.registered.ansible_failed_result = result;
    seq.forget(['ansible_failed_task', 'ansible_failed_result']);
  }

  /** Expansion number `item` of a dynamic include on `host`, placed after the include (includes.ts). */
  private expand(
    host: string,
    play: PlayDef,
    batch: string[],
    include: TaskDef,
    effect: IncludeEffect,
    item: number,
    seq: HostSequence,
    notes: BatchNotifications,
  ): TaskDef[] {
    const expander = this.opts.expandInclude ?? loaderExpander(this.playbook, { tags: this.opts.tags, skipTags: this.opts.skipTags });
    if (!expander)
      throw new Error(
        `${include.loc.file}:${include.loc.line}:${include.loc.col}: ${effect.kind}: no include expansion is available to the runner`,
      );
    const vars = this.vars.forTask(host, play, batch, include, seq.registered);
    const x = expander(effect, include, { host, play, vars });
    // strategy free: what it gives no meaning to is refused in the included tasks too (plan/strategy.ts).
    // --shard: what it would change the meaning of is refused there too (plan/shard-refusals.ts).
    const refused = [
      ...freeStrategyProblems(play, [...x.tasks, ...(x.handlers ?? [])]),
      ...shardTaskProblems(play, [...x.tasks, ...(x.handlers ?? [])], this.opts.shard),
    ];
    if (refused.length) throw new Error(refused.map(formatDiagnostic).join('\n'));
    if (effect.kind === 'include_role' && effect.public) {
      // public: the role's vars and defaults are the play's from here on, for this host.
      if (!x.role)
        throw new Error(
          `${include.loc.file}:${include.loc.line}:${include.loc.col}: include_role: public: true, but the expansion gave no role instance`,
        );
      seq.forget(this.vars.addPublicRole(host, play, x.role));
    }
    // include_role: the role's handlers join the play's for this host (as a later handler list).
    if (x.handlers?.length) notes.addHandlers(host, x.handlers);
    return placeIncluded(include, item, x.tasks);
  }

  /** The host's view of the cross-play probe cache, from play `p` on. */
  private cacheFor(host: string, p: number): ProbeCache {
    return {
      take: (key, script, mode) => {
        const k = `${host}|${p}:${key}`;
        const e = this.probeCache.get(k);
        if (!e) return undefined;
        this.probeCache.delete(k);
        return e.generation === this.generation && e.script === script && e.mode === mode ? e.out : undefined;
      },
      lookahead: (mode) => this.lookahead(host, p, mode),
      store: (key, script, mode, out, generation) => {
        if (generation === this.generation) this.probeCache.set(`${host}|${key}`, { script, mode, out, generation });
      },
      applied: () => {
        this.generation++;
        this.probeCache.clear();
      },
    };
  }

  /**
   * The probes of the host's plays after play `p` that can be rendered now (their first window:
   * up to a task that needs a result registered in that play, or another become mode). Plays
   * that gather facts are left out: their tasks may use facts read at that play's start.
   */
  private lookahead(host: string, p: number, mode: string): { key: string; script: string; generation: number }[] {
    const out: { key: string; script: string; generation: number }[] = [];
    const plays = this.playbook.plays;
    for (let q = p + 1; q < plays.length; q++) {
      const play = plays[q]!;
      if (play.gatherFacts && !this.factsReusable(host, play)) continue;
      const hosts = this.playHosts(play).filter((h) => !this.dead.has(h));
      const batch = serialBatches(hosts, play.serial).find((b) => b.includes(host));
      if (!batch) continue;
      const tasks = this.selectedTasks(play);
      const seq = new HostSequence(
        this.conns,
        tasks,
        { ...this.seqOptions(host, play, batch, false), cache: undefined },
        { ...(this.registered.get(host) ?? {}) },
      );
      for (const x of seq.peek(mode)) {
        const key = `${q}:${x.key}`;
        const have = this.probeCache.get(`${host}|${key}`);
        if (have && have.generation === this.generation && have.script === x.script) continue;
        out.push({ key, script: x.script, generation: this.generation });
      }
    }
    return out;
  }

  /** The play's tasks selected by -t / --skip-tags, as planned. */
  private selectedTasks(play: PlayDef): TaskDef[] {
    return this.planOf(play).tasks;
  }

  /** Results of the runner's own making (gathered facts, a task that threw) are never a handler's. */
  private scope(host: string, play: PlayDef): ResultScope {
    return { host, play: play.name, check: this.opts.check, handler: false };
  }

  /**
   * gather_facts: one read-only script per host, in its own round trip before the play's tasks
   * (their templates need the facts). It fills Ansible's facts (`ansible_facts`, `ansible_*`, see
   * src/facts/gather.ts) and Kiln's own `facts` variable. Facts are never printed.
   */
  private async gatherFacts(play: PlayDef, batch: string[], registered: Map<string, Record<string, unknown>>): Promise<void> {
    const task = { name: 'Gathering Facts', module: 'gather_facts' };
    const spec = { gatherSubset: play.gatherSubset, gatherTimeout: play.gatherTimeout, factPath: play.factPath };
    const script = gatherScript(spec);
    // An import_playbook's `when` holds for the Gathering Facts task too (Ansible 2.14 skips it).
    const imported = (h: string): boolean => {
      if (!play.importWhen?.length) return true;
      const vars = this.vars.forHost(h, play, batch, registered.get(h));
      try {
        return play.importWhen.every((w) => evaluateCondition(w.expr, vars, w.yaml.file));
      } catch {
        return true; // known only once facts exist: gathered, and the tasks decide
      }
    };
    await parallel(
      batch.filter((h) => !this.dead.has(h) && !this.factsReusable(h, play) && imported(h)),
      this.opts.forks,
      async (h) => {
        const outs = await this.safeRun(h, play, task, async () => {
          const started = Date.now();
          const conn = await this.connection(h);
          const r = await conn.run(script);
          const gathered = parseGathered(r.stdout, spec);
          registered.get(h)!.facts = gathered.kiln;
          if (r.code === 0) {
            this.vars.facts.merge(h, gathered.ansible);
            this.gathered.set(h, { key: gatherKey(play), generation: this.generation });
          }
          const result = taskResult(
            this.scope(h, play),
            { task: task.name, module: task.module },
            r.code === 0 ? 'ok' : 'failed',
            started,
            [],
            r.code === 0 ? undefined : r.stderr,
          );
          return [{ result, changed: false, failed: r.code !== 0, unreachable: false }];
        });
        for (const o of outs) if (o.result.status !== 'ok') this.record([o.result]);
        if (outs.some((o) => o.failed || o.unreachable)) this.dead.add(h);
      },
    );
  }

  /**
   * Whether a play's gathering on `host` can reuse the facts an earlier play of this run gathered
   * there with the same gather_subset, gather_timeout and fact_path: nothing was applied anywhere
   * since (the probe cache's generation), so the host is as it was then. Such a play costs no
   * gathering round trip and its probes may ride in an earlier play's script (see lookahead).
   */
  private factsReusable(host: string, play: PlayDef): boolean {
    const g = this.gathered.get(host);
    return g !== undefined && g.key === gatherKey(play) && g.generation === this.generation;
  }

  /** Runs `fn`; a throw becomes one failed (or unreachable) result for `task` on `host`. */
  private async safeRun(
    host: string,
    play: PlayDef,
    task: { name: string; module: string },
    fn: () => Promise<InstanceOutcome[]>,
  ): Promise<InstanceOutcome[]> {
    const started = Date.now();
    try {
      return await fn();
    } catch (err) {
      const unreachable = err instanceof UnreachableError;
      return [
        {
          result: taskResult(
            this.scope(host, play),
            { task: task.name, module: task.module },
            unreachable ? 'unreachable' : 'failed',
            started,
            [],
            (err as Error).message,
          ),
          changed: false,
          failed: !unreachable,
          unreachable,
        },
      ];
    }
  }
}

/** What a play's gathering depends on: its gather_subset, gather_timeout and fact_path. */
function gatherKey(play: PlayDef): string {
  return JSON.stringify([play.gatherSubset ?? ['all'], play.gatherTimeout ?? 10, play.factPath ?? '/etc/ansible/facts.d']);
}
