/**
 * Controller-side actions: set_fact, assert, fail, debug, pause, add_host, group_by, include_vars,
 * meta, include_tasks/include/include_role. Ansible runs them as action plugins on the controller;
 * so does Kiln: no probe, no plan, no apply, no round trip. An action returns its result (the
 * shape Ansible's action plugin returns, which `register` sees) and its effects (the host's
 * variables, the task list, the inventory), which the engine applies (ActionEffect in contract.ts).
 *
 * `defineAction` returns a BoundModule, so the loader, the schema validation, the registry and
 * `kiln modules` treat an action like any module; its BoundTask has `action` and an empty probe.
 */
import type { ActionContext, ActionOutcome, BoundModule, BoundTask, DefinesContext, JSONSchema } from './contract.ts';

export interface ActionDef<P> {
  name: string;
  description: string;
  /** JSON schema of the parameters (Ansible's names; the loader maps Ansible's aliases: ansible/mapping.ts). */
  schema: JSONSchema;
  /** Runs on the controller (in check mode too, as Ansible does). Throw an ActionError to fail the task. */
  run(params: P, ctx: ActionContext): ActionOutcome;
  /**
   * Checks of the parameters beyond the schema, run when the task is bound (so at validation too):
   * throw an Error with the message, reported located at the task.
   */
  check?(params: P): void;
  /** The host variables the action defines, known before it runs; `null`: not known before the run. */
  defines?(params: P, ctx: DefinesContext): string[] | null;
  /** Probes are not sent ahead of this action (its effects change what follows: pause, meta, includes). */
  barrier?: boolean;
  /** Ansible runs it once for the batch, not per host (BYPASS_HOST_LOOP: add_host, pause). */
  bypassHostLoop?: boolean;
}

export type Action<P> = ActionDef<P> & BoundModule;

/** A failure of an action with Ansible's message (and the extra fields of its result). */
export class ActionError extends Error {
  constructor(
    message: string,
    readonly result: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** What an action's failed outcome is: Ansible's `msg` (or `message`) and the fields it returns. */
export function failure(msg: string, result: Record<string, unknown> = { msg }): ActionOutcome {
  return { changed: false, failed: msg, result, effects: [] };
}

export function defineAction<P = Record<string, unknown>>(def: ActionDef<P>): Action<P> {
  const bind = (raw: Record<string, unknown>): BoundTask => {
    // `raw` was validated against `def.schema`, from which P is derived.
    const params = raw as P;
    def.check?.(params);
    return {
      probe: () => '',
      plan() {
        throw new Error(`${def.name} is a controller-side action: it has no plan`);
      },
      verifies: false,
      verify: () => [],
      action: (ctx) => {
        try {
          return def.run(params, ctx);
        } catch (err) {
          if (err instanceof ActionError) return failure(err.message, { msg: err.message, ...err.result });
          throw err;
        }
      },
    };
  };
  const own = def.defines;
  const defines = own && ((p: Record<string, unknown>, ctx: DefinesContext) => own.call(def, p as P, ctx));
  return Object.assign(def, { bind, defines, barrier: def.barrier ?? false, bypassHostLoop: def.bypassHostLoop ?? false }) as Action<P>;
}
