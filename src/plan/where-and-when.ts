/**
 * Where and when a task instance runs (issue 16, part G), as Ansible 2.14 decides it:
 * - `environment`: every level's (play, role entry, block, import, task; a mapping, a template
 *   giving one, or a list of those), rendered with the host's variables and merged in order, the
 *   nearest level winning per variable (ActionBase._compute_environment_string); values become
 *   text as Python's str() makes it. Exported at the top of the task's probe, apply and confirm
 *   scripts (src/sh/env.ts), inside the script text, never in argv.
 * - `delegate_to`: the host whose connection runs the task (an inventory host, or the implicit
 *   localhost: `localhost`, `127.0.0.1`, `::1` when the inventory has no such host); the task's
 *   variables stay the original host's.
 */
import { hasSecret, isSecret, revealDeep } from '../core/secret/secret.ts';
import type { BoundPlan, BoundTask } from '../modules/contract.ts';
import type { EnvironmentLevel } from '../input/playbook/types.ts';
import { locate } from '../input/yaml/document.ts';
import { renderValue, TemplateError } from '../template/engine.ts';
import type { RenderOptions } from '../template/engine.ts';
import { PyFloat, pyStr } from '../template/jinja/value.ts';
import { ENV_NAME_RE, exportEnv } from '../sh/env.ts';

/** Ansible's C.LOCALHOST: names that mean the controller when the inventory does not define them. */
export const LOCALHOST_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '::1']);

/** A problem located at an environment level (the caller wraps it into its located error). */
export class WhereError extends Error {
  constructor(
    message: string,
    readonly loc: { file: string; line: number; col: number },
    /** The undefined variable that caused it (validation defers names only the run defines: facts, registered results). */
    readonly variable?: string,
  ) {
    super(message);
  }
}

/** Python's str() of an environment value; undefined for a value Kiln does not pass (a list, a mapping). */
function envText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'number' || v instanceof PyFloat) return pyStr(v);
  return undefined;
}

/**
 * The task's environment for this host and item: the levels rendered and merged (nearest wins).
 * `secret`: a value came from a secret (the task is then sensitive; the value is still exported).
 */
export function renderEnvironment(
  levels: readonly EnvironmentLevel[] | undefined,
  vars: Record<string, unknown>,
  render: RenderOptions,
): { env: Record<string, string>; secret: boolean } | undefined {
  if (!levels?.length) return undefined;
  const env: Record<string, string> = {};
  let secret = false;
  for (const level of levels) {
    const at = locate(level.yaml, level.path);
    let v: unknown;
    try {
      v = renderValue(level.value, vars, level.yaml.file, render);
    } catch (err) {
      if (err instanceof TemplateError) throw new WhereError(`environment: ${err.message}`, at, err.variable);
      throw err;
    }
    if (isSecret(v)) {
      secret = true;
      v = v.reveal();
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new WhereError(`environment must be a dictionary, received ${envText(v) ?? JSON.stringify(v)} (as Ansible says)`, at);
    }
    if (hasSecret(v)) secret = true;
    for (const [k, raw] of Object.entries(revealDeep(v) as Record<string, unknown>)) {
      if (!ENV_NAME_RE.test(k)) throw new WhereError(`environment: ${JSON.stringify(k)} is not a variable name the shell can export`, at);
      const text = envText(raw);
      if (text === undefined)
        throw new WhereError(
          `environment: ${k} is ${Array.isArray(raw) ? 'a list' : 'a mapping'}; give a string (Kiln does not pass Python's repr)`,
          at,
        );
      env[k] = text;
    }
  }
  return { env, secret };
}

/** `bound` with `env` exported at the top of its probe, apply and confirm scripts (controller-side actions untouched). */
export function withEnvironment(bound: BoundTask, env: Record<string, string>): BoundTask {
  const prefix = exportEnv(env);
  if (!prefix || bound.action) return bound;
  return {
    probe: (ctx) => prefix + bound.probe(ctx),
    plan(out, ctx): BoundPlan {
      const p = bound.plan(out, ctx);
      return {
        changes: p.changes,
        registerData: () => p.registerData(),
        note: () => p.note(),
        apply: (c) => prefix + p.apply(c),
      };
    },
    get verifies() {
      return bound.verifies;
    },
    verify: (out, ctx) => bound.verify(out, ctx),
    ...(bound.interpret
      ? {
          interpret: (out: Parameters<NonNullable<BoundTask['interpret']>>[0], ctx: Parameters<BoundTask['probe']>[0]) =>
            bound.interpret!(out, ctx),
        }
      : {}),
    ...(bound.confirm ? { confirm: (ctx: Parameters<BoundTask['probe']>[0]) => prefix + bound.confirm!(ctx) } : {}),
  };
}

/**
 * The host a task is delegated to, checked: an inventory host, or the implicit localhost.
 * Ansible adds any other name as a new host with no variables and connects to it by that name;
 * Kiln refuses it (its connections come from the inventory). Undefined when it is the host itself.
 */
export function delegateHost(name: string, host: string, vars: Record<string, unknown>): string | undefined {
  const hostvars = vars.hostvars as Record<string, unknown> | undefined;
  const known = hostvars !== undefined && name in hostvars;
  if (!name.trim()) throw new Error('delegate_to: an empty host name');
  if (!known && !LOCALHOST_NAMES.has(name))
    throw new Error(
      `delegate_to: '${name}' is not a host of the inventory (Ansible would add it as a new host without variables; Kiln delegates to inventory hosts and localhost only)`,
    );
  return name === host ? undefined : name;
}

/** Is `name` the implicit localhost (a localhost name the inventory does not define)? */
export function isImplicitLocalhost(name: string, inventoryHosts: { has(name: string): boolean }): boolean {
  return LOCALHOST_NAMES.has(name) && !inventoryHosts.has(name);
}
