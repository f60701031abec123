/**
 * debug (ansible.builtin.debug): shows `msg` (default "Hello world!") or the value of the
 * expression `var`, when the run's verbosity (`-v` counted) reaches `verbosity`; otherwise the
 * task is skipped ("Verbosity threshold not met."), as Ansible 2.14's action plugin does.
 * Registered: `{ msg }` or `{ <var>: value }` (an undefined one: "VARIABLE IS NOT DEFINED!").
 */
import { defineAction, failure } from '../action.ts';
import { renderValue, TemplateError } from '../../template/engine.ts';
import { showJson, showValue } from './show.ts';

interface P {
  msg?: unknown;
  var?: unknown;
  verbosity?: number;
}

export default defineAction<P>({
  name: 'debug',
  description: 'show a message or a variable, on the controller (no round trip)',
  schema: {
    type: 'object',
    properties: {
      msg: { description: 'the message to show (any value; default "Hello world!")' },
      var: { 'x-expression': true, description: 'an expression whose value is shown (a variable name, `x + 1`)' },
      verbosity: { type: 'integer', minimum: 0, description: 'shown only from this many -v on (default 0: always)' },
    },
    additionalProperties: false,
  },
  check(p) {
    if ('msg' in p && 'var' in p) throw new Error("'msg' and 'var' are incompatible options");
  },
  run(p, ctx) {
    if ('msg' in p && 'var' in p) return failure("'msg' and 'var' are incompatible options");
    const verbosity = ctx.run.settings.verbosity ?? 0;
    if ((p.verbosity ?? 0) > verbosity) return { changed: false, skipped: 'Verbosity threshold not met.', result: {}, effects: [] };
    if ('var' in p) {
      const expr = p.var;
      let value: unknown;
      try {
        value = typeof expr === 'string' ? renderValue(`{{ ${expr} }}`, ctx.vars, ctx.taskFile, ctx.render) : expr;
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        // Ansible's AnsibleUndefinedVariable text says it twice: "'x' is undefined. 'x' is undefined".
        const why = err.variable ? `'${err.variable}' is undefined. '${err.variable}' is undefined` : err.message;
        value = `VARIABLE IS NOT DEFINED!${verbosity > 0 ? `: ${why}` : ''}`;
      }
      const key = Array.isArray(expr) ? "<class 'list'>" : expr && typeof expr === 'object' ? "<class 'dict'>" : String(expr);
      return { changed: false, message: `${key}: ${showJson(value)}`, result: { [key]: value }, effects: [] };
    }
    const msg = 'msg' in p ? p.msg : 'Hello world!';
    return { changed: false, message: showValue(msg), result: { msg }, effects: [] };
  },
});
