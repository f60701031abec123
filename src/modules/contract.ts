/**
 * The module contract — the heart of Kiln.
 *
 * A module is one file exporting a `ModuleDef`:
 *   schema  — JSON schema of its parameters (ajv); the TypeScript type is derived from it;
 *   prepare — optional controller-side work (read a `src` file, render a template);
 *   probe   — POSIX shell that reads the current state and prints it (key=value lines);
 *   parse   — turns the probe's output into a typed state;
 *   plan    — a PURE function (params, state) → changes, each with a summary and maybe a diff;
 *   apply   — shell that makes exactly those changes.
 *
 * The engine runs probe → plan → (apply → probe → plan again to verify). `--check` stops
 * after plan: a dry run is the same code path minus apply. Probes of consecutive tasks are
 * concatenated into one remote script, so a converged host costs one round trip.
 */
import type { ExecResult } from '../core/exec.ts';
import type { FromSchema, JSONSchema } from './schema-types.ts';
import type { RenderOptions } from '../template/engine.ts';
import type { Footprint } from './resources.ts';

export type { FromSchema, JSONSchema };

export interface Change {
  /** Human summary: "create file /etc/x (0644 root:root)", "mode 0644 → 0600". */
  summary: string;
  /** Unified diff for content changes (secrets are redacted before printing). */
  diff?: string;
  /**
   * A one-shot action (restart a service, run a command) rather than a difference in state.
   * Actions are expected to be planned again after apply; state changes are not.
   */
  action?: boolean;
  /** The module cannot tell in advance whether this really changes anything. Shown loudly. */
  unpredictable?: boolean;
}

export type { ExecResult };

/**
 * Memory of one run (one `kiln apply`, or one validation), shared by every host and task in it:
 * what a module did on the controller for one host that others must see (a certificate issued
 * once for a shared name). Never a process global: a second run in the same process starts empty.
 */
export class RunMemory {
  private readonly slots = new Map<string, unknown>();

  constructor(
    /** Settings of the whole run that controller-side actions read (include_vars' vault password, debug's verbosity). */
    readonly settings: RunSettings = {},
  ) {}

  /** The value under `key`, created by `init` on first use. Keys are prefixed by the module's name. */
  get<T>(key: string, init: () => T): T {
    if (!this.slots.has(key)) this.slots.set(key, init());
    return this.slots.get(key) as T;
  }
}

/** Settings of one run that controller-side actions need. */
export interface RunSettings {
  /** The vault password (include_vars decrypts vault files like vars_files). */
  vaultPassword?: string;
  /** The CLI's verbosity (`-v` counted): debug's `verbosity` threshold. */
  verbosity?: number;
}

/** What the controller knows while preparing and planning a task on one host. */
export interface ModuleContext {
  /** The run this task is part of. */
  run: RunMemory;
  host: string;
  check: boolean;
  diff: boolean;
  /** Run as root (or become_user) through sudo. */
  become: boolean;
  /** The task's file for messages. */
  taskFile: string;
}

/** Controller-side helpers for `prepare`. */
export interface PrepareContext extends ModuleContext {
  /** Reads a file from the role's files/ (or relative to the playbook), returns its bytes. */
  readFile(path: string): Buffer;
  /** Renders a template from the role's templates/ with the host's variables. */
  renderTemplate(path: string): string;
  /** Marks the task's content as sensitive (diffs are not shown). */
  sensitive: boolean;
}

export interface ApplyResult {
  /** Data exposed through `register` (rc, stdout, …). */
  result?: Record<string, unknown>;
  /** Reason when the apply failed although the script exited 0 (or to improve the message). */
  failed?: string;
  /** Overrides the planned "changed" (command's changed_when). */
  changed?: boolean;
}

/**
 * The module contract, v2. `P` is always `FromSchema<typeof schema>`; `Prep` is what `prepare`
 * computed on the controller (file bytes, rendered templates, compiled rules: Terraform's
 * "private" data, never mixed into the user's params); `S` the probed state; `Op` a
 * discriminated union of what `apply` can do. `plan` pairs every op with its human summary;
 * `apply` gets only the ops, so rewording a summary can never change what is done.
 */
export interface ModuleDef<P, S, Op extends { kind: string }, Prep = undefined> {
  name: string;
  description: string;
  schema: JSONSchema;
  /**
   * Controller-side preparation, run after params are rendered and validated (for every host
   * during validation too, before any host is contacted). Pure with respect to hosts.
   */
  prepare?(params: P, ctx: PrepareContext): Prep;
  /** Shell (POSIX sh) that prints the current state on stdout. Runs with `set -u` off, in a subshell. */
  probe(params: P, prep: Prep, ctx: ModuleContext): string;
  /** Turns probe output into state. Throw to fail the task with a message. */
  parse(out: ExecResult, params: P, prep: Prep): S;
  /** Pure: the changes needed to go from `state` to `params`, each with its op. Empty = converged. */
  plan(params: P, prep: Prep, state: S, ctx: ModuleContext): Planned<Op>[];
  /**
   * Controller-side effects of a real run, made before `apply`'s script is built (issuing a
   * certificate from the controller's PKI). Never called in check mode.
   */
  controllerApply?(params: P, prep: Prep, state: S, ops: Op[], ctx: ModuleContext): void;
  /** Shell that applies exactly the planned ops (switch on `op.kind`). A non-zero exit fails the task. */
  apply(params: P, prep: Prep, state: S, ops: Op[], ctx: ModuleContext): string;
  /** Interprets apply's output (command results, register data). */
  interpret?(params: P, prep: Prep, out: ExecResult, ctx: ModuleContext): ApplyResult;
  /** Data for `register` (e.g. the probed state), also when nothing was applied. */
  registerData?(params: P, prep: Prep, state: S): Record<string, unknown>;
  /**
   * `registerData` describes the host's state (a file's mode, a service's enabled flag): after an
   * apply it is taken from the verify probe, the state the apply left — as Ansible's result shows
   * the state after the change — rather than the state before it. Leave unset for results that
   * describe the change itself (a block inserted, a key added).
   */
  registerAfterApply?: boolean;
  /**
   * Checks run after apply instead of re-planning (modules whose plan is an action).
   * Returns the problems remaining; empty = converged. Default: re-plan, ignoring actions.
   */
  verify?(params: P, prep: Prep, state: S, ctx: ModuleContext): string[];
  /** A short note shown with an "ok" result (e.g. a replica's lag); never holds secrets. */
  note?(params: P, prep: Prep, state: S): string | undefined;
  /**
   * Commit-confirm: a script the engine runs after a successful apply (and verify), on a NEW
   * SSH connection to the host (a fresh TCP connection and handshake, not the run's cached one).
   * A module whose apply can cut the host off (firewall rules) arms a rollback on the host in
   * apply and disarms it here. If the new connection cannot be opened or the script exits
   * non-zero, the task fails with the reason and nothing is disarmed (the host rolls back by
   * itself). Not run in check mode, nor when nothing was applied.
   */
  confirm?(params: P, prep: Prep, ctx: ModuleContext): string;
  /** The apply takes the host away (reboot): how the engine waits for it to come back (see `Reconnect`). */
  reconnect?(params: P, prep: Prep, state: S, ctx: ModuleContext): Reconnect;
  /**
   * What the probe reads and the apply writes on the host (resources.ts), so the engine may apply
   * this instance in the same remote script as the ones before and after it (batching). A module
   * without one is a barrier: it is applied in a round trip of its own. Declare it only for a
   * module with no controllerApply, confirm or reconnect.
   */
  footprint?(params: P, prep: Prep): Footprint;
  /**
   * The exact stdout of this module's own probe (same params) right after a successful apply of
   * `ops` from `state`, when it can be known on the controller; undefined when not. Batching only
   * (phases/batch.ts): a later instance with the very same probe script, in the same round trip,
   * is planned from this prediction instead of from a probe taken before the earlier apply, and
   * joins guarded: on the host its probe runs again right before its apply and must return these
   * bytes, else the script stops there. A wrong prediction costs a round trip, never an apply.
   */
  predictProbe?(params: P, prep: Prep, state: S, ops: Op[]): string | undefined;
}

/**
 * What the engine does after the apply of a module that takes its host away (reboot): the apply's
 * round trip may end with the connection lost (that is expected, not unreachable); the engine drops
 * the host's connection, then opens NEW connections (the same checks: known_hosts, keys) until
 * `script` run on one says the host is back (`back` returns undefined) or `timeoutMs` passes; then
 * waits `postDelayMs`, and the next task connects again.
 */
export interface Reconnect {
  /** Give up after this long in one stage (see `back`), failing the task. */
  timeoutMs: number;
  /** One connection attempt may take this long (undefined: the host's connect timeout). */
  connectTimeoutMs?: number;
  /** Wait this long after the apply, before the first attempt (Ansible's post_reboot_delay). */
  postDelayMs: number;
  /** Run on each new connection; `back` reads its output. */
  script: string;
  /**
   * undefined when the host is back; otherwise what is still missing and its stage: each stage
   * (1: the host has not rebooted yet, 2: it has but is not ready) gets its own `timeoutMs`, as
   * Ansible's reboot waits reboot_timeout for the boot id and again for the test command.
   */
  back(out: ExecResult): { stage: 1 | 2; why: string } | undefined;
  /** What `register` gets once the host is back, given the seconds elapsed since the apply. */
  result(elapsedSeconds: number): Record<string, unknown>;
}

/** A change as `plan` returns it: the human summary (and diff) beside the typed op. */
export interface Planned<Op> extends Change {
  op: Op;
}

/**
 * The engine's view of a module: no type parameters, so the engine never casts. `bind` checks
 * nothing (the caller validated `params` against `schema`), runs `prepare`, and returns a task
 * whose methods close over the typed params and prepared data.
 */
export interface BoundModule {
  readonly name: string;
  readonly description: string;
  readonly schema: JSONSchema;
  /**
   * A controller-side action (`defineAction`): the host variables a task of it defines, known
   * before it runs (set_fact's keys, include_vars' literal file's keys), `null` when unknown
   * before the run (a templated file, a directory). Absent for anything else (no variables).
   */
  readonly defines?: (params: Record<string, unknown>, ctx: DefinesContext) => string[] | null;
  /** A controller-side action whose effects change what follows (pause, meta, includes): probes are not sent ahead of it. */
  readonly barrier?: boolean;
  /**
   * Ansible runs this action once per task for the whole batch (BYPASS_HOST_LOOP: add_host,
   * pause), on the first host that runs it, not once per host: a hint for the runner.
   */
  readonly bypassHostLoop?: boolean;
  bind(params: Record<string, unknown>, ctx: PrepareContext): BoundTask;
}

/** One module instance with its params and prepared data, as the engine drives it. */
export interface BoundTask {
  probe(ctx: ModuleContext): string;
  /** parse + plan. Throws (with the module's message) when the probe output is not understood. */
  plan(out: ExecResult, ctx: ModuleContext): BoundPlan;
  /** After apply: does the module verify by itself (`verify`) rather than by re-planning? */
  readonly verifies: boolean;
  /**
   * The register data of the state the apply left (the verify probe's output), for modules whose
   * register data describes the host's state (`registerAfterApply`); undefined otherwise or when
   * that output cannot be parsed.
   */
  registerAfter?(out: ExecResult): Record<string, unknown> | undefined;
  /** parse the verify probe, then `verify` or re-plan (actions ignored): the problems left. */
  verify(out: ExecResult, ctx: ModuleContext): string[];
  interpret?(out: ExecResult, ctx: ModuleContext): ApplyResult;
  confirm?(ctx: ModuleContext): string;
  /** The module's footprint for these params (batching of applies); undefined: a barrier. */
  readonly footprint?: Footprint;
  /**
   * A controller-side action (set_fact, assert, debug, include_tasks, meta, …: `defineAction`):
   * it runs on the controller with no probe, plan or apply and costs no round trip. The engine
   * calls it instead of the probe → plan → apply path, in check mode too (as Ansible does).
   */
  readonly action?: (ctx: ActionContext) => ActionOutcome;
}

/** What `defines` may read: the task's search paths and the vault password (to read a literal include_vars file). */
export interface DefinesContext {
  searchPaths: (kind: 'vars') => string[];
  vaultPassword?: string;
}

/** What an action sees beyond the module context. */
export interface ActionContext extends ModuleContext {
  /** The variables the task was rendered with (debug's `var`, assert's conditions). */
  vars: Record<string, unknown>;
  /** How the task's templates render (its lookups' search paths): assert's conditions, debug's `var`. */
  render?: RenderOptions;
  /** The task's search directories for `kind` (`vars`: include_vars), most specific first, as Ansible's `_find_needle` (each `<dir>/<kind>` then `<dir>`). */
  searchPaths?: (kind: 'vars') => string[];
  /** The task's name as displayed. */
  taskName?: string;
  /** The directory of the task's role, if it is a role's task (include_vars' `dir` is under its vars/). */
  roleDir?: string;
  /** The task's own `vars:` (an include passes them on to the included tasks). */
  taskVars?: Record<string, unknown>;
}

/**
 * What the engine must do after a controller-side action, beyond recording its result. Effects
 * that concern only the host's variables are applied by the host's sequence; the others by the
 * runner (they change the task list, the play or the inventory).
 */
export type ActionEffect =
  /** set_fact (and a module's `ansible_facts`): host variables at the set_fact/register level; `cacheable` also as facts. */
  | { kind: 'set_fact'; facts: Record<string, unknown>; cacheable: boolean }
  /** include_vars: host variables at the include_vars level (below set_fact). */
  | { kind: 'include_vars'; vars: Record<string, unknown>; files: string[] }
  /** include_tasks / include: splice the file's tasks after this one, on this host. */
  | { kind: 'include_tasks'; file: string; vars: Record<string, unknown>; apply?: Record<string, unknown> }
  /** include_role: splice the role's tasks (and handlers) after this one, on this host. */
  | {
      kind: 'include_role';
      name: string;
      tasksFrom?: string;
      varsFrom?: string;
      defaultsFrom?: string;
      handlersFrom?: string;
      public: boolean;
      allowDuplicates: boolean;
      vars: Record<string, unknown>;
      apply?: Record<string, unknown>;
    }
  /** meta: flush_handlers, end_play, end_host, end_batch, noop, clear_host_errors, reset_connection. */
  | { kind: 'meta'; action: 'flush_handlers' | 'end_play' | 'end_host' | 'end_batch' | 'noop' | 'clear_host_errors' | 'reset_connection' }
  /** add_host: a new in-memory inventory host (groups, vars) for the rest of the run. */
  | { kind: 'add_host'; name: string; groups: string[]; vars: Record<string, unknown> }
  /** group_by: the host joins these groups (created if new) for the rest of the run. */
  | { kind: 'group_by'; groups: string[]; parents: string[] }
  /** pause: wait this long before the next task (non-interactive). */
  | { kind: 'pause'; ms: number };

/** An action's outcome: its result as `register` sees it (Ansible's shape), and its effects. */
export interface ActionOutcome {
  changed: boolean;
  /** Set when the action failed (assert, fail): the task's message. */
  failed?: string;
  /** A message shown with the result (debug's output, assert's success_msg). */
  message?: string;
  /** Set when the action skipped itself (debug under its verbosity): the reason. */
  skipped?: string;
  /** The registered result (without `changed`/`failed`, which the engine adds). */
  result: Record<string, unknown>;
  effects: ActionEffect[];
}

/** A plan against one probed state. */
export interface BoundPlan {
  readonly changes: readonly Change[];
  registerData(): Record<string, unknown>;
  note(): string | undefined;
  /** Controller-side effects (never in check mode), then the apply script for exactly these changes. */
  apply(ctx: ModuleContext): string;
  /** The module's `reconnect` (its apply takes the host away), bound to this plan's state. */
  reconnect?(ctx: ModuleContext): Reconnect;
  /** The module's `predictProbe` for this plan: its probe's output after a successful apply, when known. */
  predicted?(): ExecResult | undefined;
}

export type Module<P, S, Op extends { kind: string }, Prep = undefined> = ModuleDef<P, S, Op, Prep> & BoundModule;

/** Defines a module: the typed definition (for its tests) that is also the engine's bound adapter. */
export function defineModule<P, S, Op extends { kind: string }, Prep = undefined>(def: ModuleDef<P, S, Op, Prep>): Module<P, S, Op, Prep> {
  const bind = (raw: Record<string, unknown>, pctx: PrepareContext): BoundTask => {
    // The only cast between the engine and a module: `raw` was validated against `def.schema`,
    // from which P is derived.
    const params = raw as P;
    const prep = (def.prepare ? def.prepare(params, pctx) : undefined) as Prep;
    const state = (out: ExecResult): S => def.parse(out, params, prep);
    return {
      probe: (ctx) => def.probe(params, prep, ctx),
      plan(out, ctx) {
        const s = state(out);
        const planned = def.plan(params, prep, s, ctx);
        return {
          changes: planned.map(({ op: _op, ...change }) => change),
          registerData: () => def.registerData?.(params, prep, s) ?? {},
          note: () => def.note?.(params, prep, s),
          apply(actx) {
            const ops = planned.map((c) => c.op);
            def.controllerApply?.(params, prep, s, ops, actx);
            return def.apply(params, prep, s, ops, actx);
          },
          reconnect: def.reconnect && ((rctx) => def.reconnect!(params, prep, s, rctx)),
          predicted: def.predictProbe
            ? () => {
                const stdout = def.predictProbe!(
                  params,
                  prep,
                  s,
                  planned.map((c) => c.op),
                );
                return stdout === undefined ? undefined : { code: 0, stdout, stderr: '' };
              }
            : undefined,
        };
      },
      verifies: Boolean(def.verify),
      registerAfter:
        def.registerAfterApply && def.registerData
          ? (out) => {
              try {
                return def.registerData!(params, prep, state(out));
              } catch {
                return undefined;
              }
            }
          : undefined,
      verify(out, ctx) {
        const s = state(out);
        return def.verify
          ? def.verify(params, prep, s, ctx)
          : def
              .plan(params, prep, s, ctx)
              .filter((c) => !c.action)
              .map((c) => c.summary);
      },
      interpret: def.interpret && ((out, ctx) => def.interpret!(params, prep, out, ctx)),
      confirm: def.confirm && ((ctx) => def.confirm!(params, prep, ctx)),
      footprint: def.footprint?.(params, prep),
    };
  };
  return Object.assign(def, { bind }) as Module<P, S, Op, Prep>;
}

/**
 * Thrown by `prepare` for problems at places inside a variable's value (an entry of the
 * firewall policy, say): validation reports each at the line where that entry is defined
 * (group_vars, inventory or role defaults) instead of at the task that uses the variable.
 */
export class VarPathError extends Error {
  constructor(
    readonly problems: { path: (string | number)[]; text: string }[],
    /** The variable the paths start in (path[0] is a key inside it). */
    readonly varName: string,
    /** The variable's value as the module got it: located only if the variable still holds it. */
    readonly value: unknown,
    message: string,
  ) {
    super(message);
  }
}
