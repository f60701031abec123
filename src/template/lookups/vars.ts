/** The env and vars lookups (lib/ansible/plugins/lookup/env.py, vars.py, 2.14). */
import { PyError, pyStr, typeName, Undefined } from '../jinja/value.ts';
import { type LookupPlugin, lookupError } from './plugin.ts';
import { split } from '../filters/py.ts';

export const env: LookupPlugin = {
  options: { default: '' },
  run(call, terms, o) {
    return terms.map((t) => {
      if (typeof t !== 'string') throw new PyError('AttributeError', `'${typeName(t)}' object has no attribute 'split'`);
      const name = split(t)[0];
      if (name === undefined) throw new PyError('IndexError', 'list index out of range');
      const val = Object.hasOwn(call.ctx.env, name) ? call.ctx.env[name] : undefined;
      if (val === undefined) {
        if (o.default instanceof Undefined)
          throw new PyError('AnsibleUndefinedVariable', `The "env" lookup, found an undefined variable: ${name}`);
        return o.default;
      }
      return val;
    });
  },
};

export const vars: LookupPlugin = {
  options: { default: null },
  run(call, terms, o) {
    return terms.map((t) => {
      if (typeof t !== 'string')
        throw lookupError(`Invalid setting identifier, "${pyStr(t)}" is not a string, its a <class '${typeName(t)}'>`);
      const value = call.env.resolve(t);
      if (value instanceof Undefined) {
        if (o.default !== null) return o.default;
        throw new PyError('AnsibleUndefinedVariable', `No variable found with this name: ${t}`);
      }
      return value;
    });
  },
};
