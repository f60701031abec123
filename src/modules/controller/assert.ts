/**
 * assert (ansible.builtin.assert): every condition of `that` must hold, evaluated as `when` is.
 * As Ansible 2.14's action plugin: the first that does not fails the task with `fail_msg` (or
 * `msg`; default "Assertion failed") and registers `{ assertion, evaluated_to: false, msg }`;
 * otherwise `{ msg: success_msg }` (default "All assertions passed"), shown unless `quiet`.
 */
import { ActionError, defineAction, failure } from '../action.ts';
import { evaluateCondition, TemplateError } from '../../template/engine.ts';
import { isSecret } from '../../core/secret/secret.ts';
import { showValue } from './show.ts';

interface P {
  that: unknown;
  fail_msg?: unknown;
  msg?: unknown;
  success_msg?: unknown;
  quiet?: boolean;
}

const msgSchema = {
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
} as const;

function message(v: unknown, dflt: string, what: string): unknown {
  if (v === undefined || v === null) return dflt;
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'string' || isSecret(x)))
      throw new ActionError(`Type of one of the elements in ${what} list is not string type`);
    return v;
  }
  if (typeof v !== 'string' && !isSecret(v))
    throw new ActionError(`Incorrect type for ${what}, expected a string or list and got ${typeof v}`);
  return v;
}

export default defineAction<P>({
  name: 'assert',
  description: 'check that conditions hold (fail the task otherwise), on the controller (no round trip)',
  schema: {
    type: 'object',
    properties: {
      that: { 'x-expression': true, description: 'a condition (as `when` takes it) or a list of them; all must hold' },
      fail_msg: { ...msgSchema, description: 'the message when a condition does not hold (default "Assertion failed")' },
      msg: { ...msgSchema, description: 'alias of fail_msg (fail_msg wins)' },
      success_msg: { ...msgSchema, description: 'the message when all hold (default "All assertions passed")' },
      quiet: { type: 'boolean', description: 'do not show the success message' },
    },
    required: ['that'],
    additionalProperties: false,
  },
  run(p, ctx) {
    const failMsg = message(p.fail_msg ?? p.msg, 'Assertion failed', 'fail_msg or msg');
    const successMsg = message(p.success_msg, 'All assertions passed', 'success_msg');
    const thats = Array.isArray(p.that) ? p.that : [p.that];
    for (const that of thats) {
      let ok: boolean;
      try {
        ok = evaluateCondition(that, ctx.vars, ctx.taskFile, ctx.render);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        throw new ActionError(
          `The conditional check '${showValue(that)}' failed. The error was: error while evaluating conditional (${showValue(that)}): ${err.message}`,
        );
      }
      // Shown with the condition that failed (Ansible's display shows `assertion` beside `msg`).
      if (!ok)
        return failure(`${showValue(failMsg)}\nassertion: ${showValue(that)}`, { assertion: that, evaluated_to: false, msg: failMsg });
    }
    return { changed: false, message: p.quiet ? undefined : showValue(successMsg), result: { msg: successMsg }, effects: [] };
  },
});
