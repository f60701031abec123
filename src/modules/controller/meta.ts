/**
 * meta (ansible.builtin.meta): an instruction to the engine, run on the controller. Supported, as
 * in Ansible 2.14: noop, flush_handlers, end_play, end_host, end_batch, clear_host_errors,
 * reset_connection (the runner applies them: the `meta` effect). Refused, located, before the run:
 * refresh_inventory (Kiln loads the inventory once, before validating the whole run), clear_facts
 * (Kiln keeps no fact cache between runs to clear; set_fact's and gathered facts live for the run),
 * role_complete (internal to Ansible). Nothing is registered for a meta task, as in Ansible.
 */
import { defineAction } from '../action.ts';
import type { ActionEffect } from '../contract.ts';

type MetaAction = Extract<ActionEffect, { kind: 'meta' }>['action'];

export const META_ACTIONS: readonly MetaAction[] = [
  'noop',
  'flush_handlers',
  'end_play',
  'end_host',
  'end_batch',
  'clear_host_errors',
  'reset_connection',
];

const REFUSED: Readonly<Record<string, string>> = {
  refresh_inventory:
    'Kiln loads the inventory once, before it validates the whole run; a refreshed inventory would run hosts that were never validated',
  clear_facts: "Kiln keeps no fact cache between runs; a run's facts cannot be cleared",
  role_complete: "it is internal to Ansible's strategy",
  end_role: 'it is not a meta action of ansible-core 2.14',
};

export default defineAction<{ free_form: string }>({
  name: 'meta',
  description: `an instruction to the run: ${META_ACTIONS.join(', ')} (no round trip)`,
  schema: {
    type: 'object',
    properties: {
      free_form: { type: 'string', description: `the action: ${META_ACTIONS.join(', ')} (written as \`meta: flush_handlers\`)` },
    },
    required: ['free_form'],
    additionalProperties: false,
  },
  barrier: true,
  check(p) {
    const why = REFUSED[p.free_form];
    if (why) throw new Error(`'${p.free_form}' is not supported: ${why}`);
    if (!(META_ACTIONS as readonly string[]).includes(p.free_form)) throw new Error(`invalid meta action requested: ${p.free_form}`);
  },
  run(p) {
    return { changed: false, result: {}, effects: [{ kind: 'meta', action: p.free_form as MetaAction }] };
  },
});
