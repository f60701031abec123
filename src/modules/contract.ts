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

/** What the controller knows while preparing and planning a task on one host. */
export interface ModuleContext {
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

export interface ModuleDef<P = any, S = any> {
  name: string;
  description: string;
  schema: JSONSchema;
  /** Controller-side preparation, run after params are rendered and validated. */
  prepare?(params: P, ctx: PrepareContext): P | Promise<P>;
  /** Shell (POSIX sh) that prints the current state on stdout. Runs with `set -u` off, in a subshell. */
  probe(params: P, ctx: ModuleContext): string;
  /** Turns probe output into state. Throw to fail the task with a message. */
  parse(out: ExecResult, params: P): S;
  /** Pure: the list of changes needed to go from `state` to `params`. Empty = converged. */
  plan(params: P, state: S, ctx: ModuleContext): Change[];
  /** Shell that applies exactly the planned changes. A non-zero exit fails the task. */
  apply(params: P, state: S, changes: Change[], ctx: ModuleContext): string;
  /** Interprets apply's output (command results, register data). */
  interpret?(params: P, out: ExecResult, ctx: ModuleContext): ApplyResult;
  /** Data for `register` when nothing was applied (e.g. the probed state). */
  describe?(params: P, state: S): Record<string, unknown>;
  /**
   * Checks run after apply instead of re-planning (modules whose plan is an action).
   * Returns the problems remaining; empty = converged. Default: re-plan, ignoring actions.
   */
  verify?(params: P, state: S, ctx: ModuleContext): string[];
  /** A short note shown with an "ok" result (e.g. a replica's lag); never holds secrets. */
  note?(params: P, state: S): string | undefined;
  /** Params that must never be printed (passwords); their values become secrets. */
  secretParams?: string[];
  /**
   * Commit-confirm: a script the engine runs after a successful apply (and verify), on a NEW
   * SSH connection to the host (a fresh TCP connection and handshake, not the run's cached one).
   * A module whose apply can cut the host off (firewall rules) arms a rollback on the host in
   * apply and disarms it here. If the new connection cannot be opened or the script exits
   * non-zero, the task fails with the reason and nothing is disarmed (the host rolls back by
   * itself). Not run in check mode, nor when nothing was applied.
   */
  confirm?(params: P, ctx: ModuleContext): string;
}

export function defineModule<P, S>(def: ModuleDef<P, S>): ModuleDef<P, S> {
  return def;
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

