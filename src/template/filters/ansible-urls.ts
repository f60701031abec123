/** Ansible's URL filters (urlsplit.py, urls.py, 2.14): urlsplit and urldecode. */
import type { FilterTable } from '../jinja/callables.ts';
import { dictGet, dictHas, PyError, pyStr, truthy, typeName } from '../jinja/value.ts';
import { filter } from './args.ts';
import { splitAttributes, unquotePlus, urlsplit } from './urls.ts';

export const ansibleUrlFilters: FilterTable = {
  urlsplit: filter(
    'split_url',
    [
      ['query', ''],
      ['alias', 'urlsplit'],
    ],
    (_env, v, a) => {
      if (typeof v !== 'string') throw new PyError('TypeError', `Cannot mix str and non-str arguments`);
      const results = splitAttributes(urlsplit(v));
      if (truthy(a.query)) {
        if (!dictHas(results, a.query))
          throw new PyError('AnsibleFilterError', `${pyStr(a.alias)}: unknown URL component: ${pyStr(a.query)}`);
        return dictGet(results, a.query);
      }
      return results;
    },
  ),
  urldecode: filter('unquote_plus', [], (_env, v) => {
    if (typeof v !== 'string') throw new PyError('AttributeError', `'${typeName(v)}' object has no attribute 'replace'`);
    return unquotePlus(v);
  }),
};
