/**
 * Ansible's Jinja2 globals (Templar, 2.14): lookup(), query()/q(), now(), undef().
 *
 * lookup(name, *terms, wantlist=False, errors='strict', **options) runs the plugin on the terms
 * and, unless wantlist, joins a list of strings with commas (`lookup('env', 'A', 'B')` is
 * 'a,b'), returns a single non-string item as itself, and an empty result as []. query() is
 * lookup(wantlist=True). Plugins Kiln does not have are refused with the reason.
 */
import type { CallEnv, GlobalTable } from '../jinja/callables.ts';
import { PyError, pyStr, truthy, typeName, Undefined } from '../jinja/value.ts';
import { global } from '../filters/args.ts';
import { PyDatetime, strftime } from '../filters/datetime.ts';
import { file, fileglob, firstFound, template } from './files.ts';
import { cartesian, dict, flattened, indexedItems, items, list, nested, randomChoice, sequence, subelements, together } from './lists.ts';
import { password } from './password.ts';
import type { LookupPlugin } from './plugin.ts';
import { isTemplated } from './template-text.ts';
import { env, vars } from './vars.ts';

const PLUGINS: Record<string, LookupPlugin> = {
  file,
  template,
  fileglob,
  first_found: firstFound,
  env,
  vars,
  password,
  items,
  list,
  dict,
  indexed_items: indexedItems,
  together,
  nested,
  subelements,
  sequence,
  random_choice: randomChoice,
  // community.general's, which Ansible 7 routes the short names to.
  cartesian,
  flattened,
};

/** The lookups Kiln runs (lookup(), query(), with_<name>). */
export const LOOKUP_NAMES: ReadonlySet<string> = new Set(Object.keys(PLUGINS));

/** Why Kiln refuses one of Ansible's lookups (undefined: not one Kiln knows of). */
export function lookupRefusal(name: string): string | undefined {
  return Object.hasOwn(REFUSED, name) ? REFUSED[name] : undefined;
}

const REFUSED: Record<string, string> = {
  pipe: 'it runs a command on the controller',
  lines: 'it runs a command on the controller',
  url: 'it fetches from the network while templating',
  csvfile: 'not supported by Kiln',
  ini: 'not supported by Kiln',
  config: "Ansible's configuration does not exist in Kiln",
  inventory_hostnames: 'not supported by Kiln (use groups[...])',
  varnames: 'not supported by Kiln',
  unvault: "secrets come from Kiln's vault",
};

function pluginName(name: unknown): string {
  if (typeof name !== 'string') throw new PyError('TypeError', `lookup plugin name must be a string, not ${typeName(name)}`);
  const m = /^ansible\.(?:builtin|legacy)\.(\w+)$/.exec(name);
  return m ? m[1]! : name;
}

function runLookup(callEnv: CallEnv, rawName: unknown, terms: unknown[], kwargs: Map<string, unknown>, forceList: boolean): unknown {
  const name = pluginName(rawName);
  const plugin = Object.hasOwn(PLUGINS, name) ? PLUGINS[name] : undefined;
  if (!plugin) {
    const why = Object.hasOwn(REFUSED, name) ? REFUSED[name] : undefined;
    throw new PyError(
      'NotSupported',
      why ? `lookup plugin '${name}' is not supported by Kiln: ${why}` : `lookup plugin '${name}' not supported by Kiln`,
    );
  }
  const ctx = callEnv.lookup;
  if (!ctx) throw new PyError('NotSupported', `lookup('${name}') cannot be used here: lookups run where Kiln templates tasks and files`);
  const kw = new Map(kwargs);
  const wantlist = forceList || truthy(kw.get('wantlist') ?? false);
  const errors = pyStr(kw.get('errors') ?? 'strict');
  kw.delete('wantlist');
  kw.delete('errors');
  kw.delete('allow_unsafe');
  if (!['strict', 'ignore'].includes(errors)) {
    throw new PyError('NotSupported', `lookup(errors='${errors}') is not supported by Kiln (strict and ignore are)`);
  }
  const options: Record<string, unknown> = { ...plugin.options };
  for (const [k, v] of kw) {
    if (!(k in plugin.options)) throw new PyError('NotSupported', `the '${k}' option of lookup plugin '${name}' is not supported by Kiln`);
    options[k] = v;
  }
  // Ansible templates each term again (listify_lookup_plugin_terms); a term that is itself a template is refused.
  for (const t of terms) {
    if (typeof t === 'string' && isTemplated(t)) {
      throw new PyError(
        'NotSupported',
        `lookup('${name}') term ${JSON.stringify(t)} holds template syntax, which Ansible templates a second time: not supported by Kiln`,
      );
    }
  }
  let ran: unknown[];
  try {
    ran = plugin.run({ env: callEnv, ctx }, terms, options);
  } catch (e) {
    if (errors === 'ignore' && e instanceof PyError && e.pyType !== 'NotSupported' && e.pyType !== 'AnsibleUndefinedVariable')
      return wantlist ? [] : null;
    throw e;
  }
  if (wantlist || !ran.length) return ran;
  if (ran.every((x) => typeof x === 'string')) return ran.join(',');
  return ran.length === 1 ? ran[0] : ran;
}

export const ansibleGlobals: GlobalTable = {
  lookup: global('lookup', ['name'], (env, a, b) => runLookup(env, a.name, b.rest, b.kw, false), { varargs: true, varkw: true }),
  query: global('query', ['name'], (env, a, b) => runLookup(env, a.name, b.rest, b.kw, true), { varargs: true, varkw: true }),
  q: global('query', ['name'], (env, a, b) => runLookup(env, a.name, b.rest, b.kw, true), { varargs: true, varkw: true }),

  now: global(
    '_now_datetime',
    [
      ['utc', false],
      ['fmt', null],
    ],
    (_env, a) => {
      const now = PyDatetime.now(truthy(a.utc));
      if (truthy(a.fmt)) return strftime(pyStr(a.fmt), now.tm());
      return now;
    },
  ),

  undef: global(
    '_make_undefined',
    [['hint', null]],
    (_env, a) => {
      const hint =
        a.hint === null || a.hint instanceof Undefined || a.hint === '' ? 'Mandatory variable has not been overridden' : pyStr(a.hint);
      return new Undefined(hint, '');
    },
    { undefinedOk: true },
  ),
};
