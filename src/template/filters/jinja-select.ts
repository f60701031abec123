/**
 * Jinja2's higher-order filters: map, select, reject, selectattr, rejectattr. They call other
 * filters and tests through the engine (`env.callFilter` / `env.callTest`), so `map('int')` or
 * `select('match', '^web')` reach Ansible's and Jinja2's callables alike.
 *
 * In Python these return generators; Ansible unrolls a filter's iterator result into a list
 * (see ./jinja-lists.ts), so they return lists. Like Jinja2 they yield nothing for a falsy
 * value (`none | map('upper')` is `[]`).
 */
import type { CallEnv, FilterTable } from '../jinja/callables.ts';
import { PyError, pyRepr, truthy } from '../jinja/value.ts';
import { filter } from './args.ts';
import { attrGetter, iterate } from './py.ts';

function selectOrReject(env: CallEnv, value: unknown, args: unknown[], kwargs: Map<string, unknown>, keep: boolean, lookupAttr: boolean) {
  if (!truthy(value)) return [];
  let trans = (x: unknown) => x;
  let off = 0;
  if (lookupAttr) {
    if (!args.length) throw new PyError('FilterArgumentError', 'Missing parameter for attribute name');
    trans = attrGetter(args[0]);
    off = 1;
  }
  let test: (x: unknown) => boolean;
  if (args.length > off) {
    const name = args[off];
    const rest = args.slice(off + 1);
    test = (x) => env.callTest(String(name), x, rest, kwargs);
  } else test = truthy;
  return iterate(value).filter((item) => truthy(test(trans(item))) === keep);
}

export const jinjaSelectFilters: FilterTable = {
  map: filter(
    'map',
    [],
    (env, value, _a, b) => {
      if (!truthy(value)) return [];
      let fn: (x: unknown) => unknown;
      if (!b.rest.length && b.kw.has('attribute')) {
        const kw = new Map(b.kw);
        const attribute = kw.get('attribute');
        const dflt = kw.has('default') ? kw.get('default') : null;
        kw.delete('attribute');
        kw.delete('default');
        if (kw.size) throw new PyError('FilterArgumentError', `Unexpected keyword argument ${pyRepr(kw.keys().next().value)}`);
        fn = attrGetter(attribute, undefined, dflt);
      } else {
        if (!b.rest.length) throw new PyError('FilterArgumentError', 'map requires a filter argument');
        const [name, ...args] = b.rest;
        fn = (x) => env.callFilter(String(name), x, args, b.kw);
      }
      return iterate(value).map(fn);
    },
    { varargs: true, varkw: true },
  ),

  select: filter('select', [], (env, v, _a, b) => selectOrReject(env, v, b.rest, b.kw, true, false), { varargs: true, varkw: true }),
  reject: filter('reject', [], (env, v, _a, b) => selectOrReject(env, v, b.rest, b.kw, false, false), { varargs: true, varkw: true }),
  selectattr: filter('selectattr', [], (env, v, _a, b) => selectOrReject(env, v, b.rest, b.kw, true, true), {
    varargs: true,
    varkw: true,
  }),
  rejectattr: filter('rejectattr', [], (env, v, _a, b) => selectOrReject(env, v, b.rest, b.kw, false, true), {
    varargs: true,
    varkw: true,
  }),
};
