/**
 * One host's run through a list of tasks: probe → plan → apply → verify, with probes batched.
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
 */
import type { BoundPlan, Change, ExecResult, RunMemory } from '../modules/contract.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { redact } from '../core/secret/secret.ts';
import { evaluateCondition, TemplateError } from '../template/engine.ts';
import { type HostConnection, UnreachableError } from '../transport/ssh/connection.ts';
import { frameScripts } from '../sh/frame.ts';
import { type Instantiation, instantiate, type TaskInstance, taskReferences } from '../plan/instance.ts';
import type { TaskResult } from './report.ts';

const MAX_BATCH = 400;

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
  /** Variables for the host (recomputed with registered results). */
  vars: (registered: Record<string, unknown>) => Record<string, unknown>;
  /** Probe results shared across this host's plays (see the file comment). */
  cache?: ProbeCache;
}

/** Probe results carried from one play's probe script to the host's later plays. */
export interface ProbeCache {
  /** A result probed earlier for this play's instance `key` ("task:item"), if still valid for `script`. */
  take(key: string, script: string, mode: string): ExecResult | undefined;
  /** Probes of the host's later plays that can be rendered now, in become mode `mode`. */
  lookahead(mode: string): { key: string; script: string; generation: number }[];
  /** Keeps a result probed for a later play (from lookahead; `generation` as lookahead gave it). */
  store(key: string, script: string, mode: string, out: ExecResult, generation: number): void;
  /** Something is about to be applied (on any host): every cached result of every host is stale. */
  applied(): void;
}

const modeOf = (x: TaskInstance) => `${x.become}:${x.becomeUser}`;

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
    private readonly conn: () => Promise<HostConnection>,
    readonly tasks: TaskDef[],
    readonly opts: SequenceOptions,
    readonly registered: Record<string, unknown>,
    /** Opens a NEW connection to the host (for a module's confirm); the caller closes it. */
    private readonly freshConn?: () => Promise<HostConnection>,
  ) {
    tasks.forEach((t, i) => t.register && this.registers.set(i, t.register));
  }

  private instantiation(i: number): Instantiation {
    let r = this.inst.get(i);
    if (!r) {
      const task = this.tasks[i]!;
      try {
        r = instantiate(task, this.opts.vars(this.registered), { ...this.opts, host: this.opts.host });
      } catch (err) {
        r = { kind: 'error', task, diagnostics: [{ ...task.loc, message: (err as Error).message }] };
      }
      if (r.kind === 'run') r.instances.forEach((x, k) => this.keys.set(x, `${i}:${k}`));
      this.inst.set(i, r);
    }
    return r;
  }

  /** Instances from (task i, item k) on whose inputs are known now, in order, same become mode. */
  private window(i: number, k: number, first?: TaskInstance): TaskInstance[] {
    const out: TaskInstance[] = [];
    const pendingRegs = new Set<string>();
    let want = first ? modeOf(first) : undefined;
    for (let j = i; j < this.tasks.length && out.length < MAX_BATCH; j++) {
      if (j > i && taskReferences(this.tasks[j]!, pendingRegs).length) break;
      const r = this.instantiation(j);
      if (r.kind === 'run') {
        const list = j === i ? r.instances.slice(k) : r.instances;
        let stop = false;
        for (const x of list) {
          want ??= modeOf(x);
          if (modeOf(x) !== want) {
            stop = true;
            break;
          }
          if (!this.probed.has(x)) out.push(x);
        }
        if (stop) break;
      }
      const reg = this.registers.get(j);
      if (reg) pendingRegs.add(reg);
    }
    return out;
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

  private async probe(list: TaskInstance[]): Promise<void> {
    const cache = this.opts.handler ? undefined : this.opts.cache;
    let scripts = list.map((x) => x.bound.probe(x.ctx));
    if (cache) {
      // Results an earlier play's script already brought back (nothing applied since).
      const rest: number[] = [];
      list.forEach((x, n) => {
        const hit = cache.take(this.keys.get(x)!, scripts[n]!, modeOf(x));
        if (hit) this.probed.set(x, hit);
        else rest.push(n);
      });
      list = rest.map((n) => list[n]!);
      scripts = rest.map((n) => scripts[n]!);
    }
    if (!list.length) return;
    const mode = modeOf(list[0]!);
    const ahead = cache && !this.lookedAhead ? cache.lookahead(mode).slice(0, Math.max(0, MAX_BATCH - list.length)) : [];
    this.lookedAhead = true;
    const framed = frameScripts([...scripts, ...ahead.map((a) => a.script)]);
    const conn = await this.conn();
    const res = await conn.run(framed.script, { become: list[0]!.become, becomeUser: list[0]!.becomeUser });
    const parts = framed.parse(res.stdout);
    list.forEach((x, n) => {
      const p = parts[n]!;
      if (p.code === -1) {
        // The script died before this probe: report the whole script's error on it.
        p.stderr = res.stderr || `probe script exited with ${res.code}`;
      }
      this.probed.set(x, p);
    });
    ahead.forEach((a, n) => {
      const p = parts[list.length + n]!;
      if (p.code !== -1) cache!.store(a.key, a.script, mode, p, a.generation);
    });
  }

  /** Runs task i on this host. */
  async runTask(i: number): Promise<InstanceOutcome[]> {
    const task = this.tasks[i]!;
    const started = Date.now();
    const r = this.instantiation(i);
    if (r.kind === 'skip') {
      const result = this.result(task, task.name, 'skipped', [], started, r.reason);
      this.register(task, { skipped: true, changed: false, failed: false });
      return [{ result, changed: false, failed: false, unreachable: false }];
    }
    if (r.kind === 'error') {
      const msg = r.diagnostics.map((d) => `${d.file}${d.line ? `:${d.line}:${d.col}` : ''}: ${d.message}`).join('\n');
      return [{ result: this.result(task, task.name, 'failed', [], started, msg), changed: false, failed: !task.ignoreErrors, unreachable: false }];
    }
    const outcomes: InstanceOutcome[] = [];
    for (const [k, x] of r.instances.entries()) {
      const o = await this.runInstance(x, i, k);
      outcomes.push(o);
      if (o.unreachable || o.failed) break;
    }
    if (task.register) {
      const regs = outcomes.map((o) => o.registered ?? {});
      const value = r.instances.length > 1 || task.loop !== undefined
        ? { results: regs, changed: outcomes.some((o) => o.changed), failed: outcomes.some((o) => o.result.status === 'failed') }
        : regs[0]!;
      this.register(task, value);
    }
    return outcomes;
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

  private result(task: TaskDef, label: string, status: TaskResult['status'], changes: Change[], started: number, message?: string, extra: Partial<TaskResult> = {}): TaskResult {
    return {
      host: this.opts.host,
      play: this.opts.play.name,
      task: label,
      module: task.module,
      status,
      changes,
      message: message === undefined ? undefined : redact(message),
      duration_ms: Date.now() - started,
      check: this.opts.check,
      handler: this.opts.handler,
      ...extra,
    };
  }

  private async runInstance(x: TaskInstance, i: number, k: number): Promise<InstanceOutcome> {
    const started = Date.now();
    const task = x.task;
    const fail = (message: string, changes: Change[] = [], extra: Partial<TaskResult> = {}): InstanceOutcome => ({
      result: this.result(task, x.label, 'failed', changes, started, message, { ignored: task.ignoreErrors || undefined, ...extra }),
      changed: false,
      failed: !task.ignoreErrors,
      unreachable: false,
      registered: { failed: true, changed: false, msg: redact(message) },
    });
    try {
      if (!this.probed.has(x)) await this.probe(this.window(i, k));
      const out = this.probed.get(x)!;
      let plan: BoundPlan;
      try {
        plan = x.bound.plan(out, x.ctx);
      } catch (err) {
        return fail(`${(err as Error).message}${out.stderr ? `\n${out.stderr.trim()}` : ''}`);
      }
      const changes = [...plan.changes];
      const diff = x.diff ? changes.map((c) => c.diff).filter(Boolean).join('') || undefined : undefined;
      const unpredictable = changes.some((c) => c.unpredictable) || undefined;
      const described = plan.registerData();
      if (!changes.length) {
        return {
          result: this.result(task, x.label, 'ok', [], started, plan.note()),
          changed: false,
          failed: false,
          unreachable: false,
          registered: { changed: false, failed: false, ...described },
        };
      }
      if (x.check) {
        // Dry run: the prediction. Nothing was applied, so later probes are still fresh.
        const predicted = this.evalChanged(x, true);
        return {
          result: this.result(task, x.label, predicted ? 'changed' : 'ok', predicted ? changes : [], started, undefined, { diff: redactOpt(diff), unpredictable, check: true }),
          changed: predicted,
          failed: false,
          unreachable: false,
          registered: { changed: predicted, failed: false, check_mode: true, ...described },
        };
      }
      // Apply, then (in the same script: one round trip) probe x again to verify it and
      // probe the instances that follow, whose earlier probe results are now stale.
      this.opts.cache?.applied();
      this.invalidateAfter(x);
      this.probed.delete(x);
      const script = plan.apply(x.ctx);
      const needVerify = !changes.every((c) => c.action) || x.bound.verifies;
      const follow = this.window(i, k + 1, x).filter((y) => y !== x);
      const probes = needVerify ? [x, ...follow] : follow;
      const framed = frameScripts([script, ...probes.map((y) => y.bound.probe(y.ctx))]);
      const conn = await this.conn();
      const whole = await conn.run(framed.script, { become: x.become, becomeUser: x.becomeUser });
      const [res, ...probed] = framed.parse(whole.stdout);
      if (res!.code === -1) {
        res!.stderr = whole.stderr || `remote script exited with ${whole.code}`;
        res!.code = whole.code || 1;
      }
      probes.forEach((y, n) => {
        if (probed[n]!.code !== -1) this.probed.set(y, probed[n]!);
      });
      const interp = x.bound.interpret?.(res!, x.ctx);
      const regData: Record<string, unknown> = { ...described, ...(interp?.result ?? {}) };
      let failedMsg = interp ? interp.failed : res!.code !== 0 ? (res!.stderr.trim() || res!.stdout.trim() || `exit code ${res!.code}`) : undefined;
      if (task.failedWhen !== undefined) {
        const fw = this.evalCond(task.failedWhen, x, regData);
        failedMsg = fw ? (failedMsg ?? 'failed_when condition is true') : undefined;
      }
      const after = this.probed.get(x);
      this.probed.delete(x);
      if (failedMsg) return fail(failedMsg, changes, { diff: redactOpt(diff) });
      let changed = interp?.changed ?? true;
      if (task.changedWhen !== undefined) changed = this.evalCond(task.changedWhen, x, regData);
      if (needVerify) {
        let problems: string[];
        try {
          if (!after) throw new Error('the verify probe did not run');
          problems = x.bound.verify(after, x.ctx);
        } catch (err) {
          problems = [(err as Error).message];
        }
        if (problems.length) return fail(`did not converge after apply; still pending:\n  - ${problems.join('\n  - ')}`, changes, { diff: redactOpt(diff) });
      }
      if (x.bound.confirm) {
        const problem = await this.confirm(x);
        if (problem) return fail(problem, changes, { diff: redactOpt(diff) });
      }
      return {
        result: this.result(task, x.label, changed ? 'changed' : 'ok', changed ? changes : [], started, undefined, { diff: changed ? redactOpt(diff) : undefined, unpredictable }),
        changed,
        failed: false,
        unreachable: false,
        registered: { changed, failed: false, ...regData },
      };
    } catch (err) {
      if (err instanceof UnreachableError) {
        return { result: this.result(task, x.label, 'unreachable', [], started, err.message), changed: false, failed: false, unreachable: true };
      }
      if (err instanceof TemplateError) return fail(err.located);
      throw err;
    }
  }

  /** Commit-confirm (the module's confirm) over a NEW connection; returns the problem, if any. */
  private async confirm(x: TaskInstance): Promise<string | undefined> {
    const script = x.bound.confirm!(x.ctx);
    let c: HostConnection | undefined;
    try {
      if (!this.freshConn) throw new Error('the engine gave this host sequence no way to open a new connection');
      c = await this.freshConn();
    } catch (err) {
      return `commit-confirm failed: a NEW SSH connection to the host could not be opened after apply (${(err as Error).message}); the change was not confirmed, so the host rolls itself back`;
    }
    try {
      const r = await c.run(script, { become: x.become, becomeUser: x.becomeUser });
      if (r.code !== 0) return `commit-confirm failed: ${r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`}`;
      return undefined;
    } catch (err) {
      return `commit-confirm failed on the new connection: ${(err as Error).message}; the host rolls itself back`;
    } finally {
      c.close();
    }
  }

  private evalCond(cond: unknown, x: TaskInstance, result: Record<string, unknown>): boolean {
    const vars = { ...x.vars, result, ...(x.task.register ? { [x.task.register]: result } : {}) };
    return evaluateCondition(cond, vars, x.task.yaml.file);
  }

  /** In a dry run, changed_when can only be evaluated when it does not depend on the result. */
  private evalChanged(x: TaskInstance, fallback: boolean): boolean {
    const cw = x.task.changedWhen;
    if (cw === undefined) return fallback;
    if (typeof cw === 'boolean') return cw;
    try {
      return this.evalCond(cw, x, {});
    } catch {
      return fallback;
    }
  }

  /** Drops probe results of every instance after x (they may be stale once x is applied). */
  private invalidateAfter(x: TaskInstance): void {
    for (const key of [...this.probed.keys()]) {
      if (key.task.index > x.task.index || (key.task.index === x.task.index && (key.itemIndex ?? 0) > (x.itemIndex ?? 0))) this.probed.delete(key);
    }
  }
}

function redactOpt(s: string | undefined): string | undefined {
  return s === undefined ? undefined : redact(s);
}
