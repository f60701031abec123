/** Ansible's time filters (core.py, 2.14): strftime and to_datetime. */
import type { FilterTable } from '../jinja/callables.ts';
import { toFloat } from '../jinja/convert.ts';
import { PyError, pyStr, truthy, typeName } from '../jinja/value.ts';
import { filter } from './args.ts';
import { strftime, strptime, tmAt } from './datetime.ts';

export const ansibleTimeFilters: FilterTable = {
  strftime: filter(
    'strftime',
    [
      ['second', null],
      ['utc', false],
    ],
    (_env, fmt, a) => {
      let seconds = Date.now() / 1000;
      if (a.second !== null) {
        try {
          seconds = toFloat(a.second);
        } catch {
          throw new PyError('AnsibleFilterError', `Invalid value for epoch value (${pyStr(a.second)})`);
        }
      }
      if (typeof fmt !== 'string') throw new PyError('TypeError', `strftime() argument 1 must be str, not ${typeName(fmt)}`);
      return strftime(fmt, tmAt(seconds, truthy(a.utc)));
    },
  ),

  to_datetime: filter('to_datetime', [['format', '%Y-%m-%d %H:%M:%S']], (_env, v, a) => {
    if (typeof v !== 'string') throw new PyError('TypeError', `strptime() argument 1 must be str, not ${typeName(v)}`);
    if (typeof a.format !== 'string') throw new PyError('TypeError', `strptime() argument 2 must be str, not ${typeName(a.format)}`);
    return strptime(v, a.format);
  }),
};
