/**
 * Jinja2's builtin filters on single values (jinja2/filters.py 3.1): abs, attr, default/d,
 * float, int, round, string, safe, list, length/count.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { parseIntStr, roundFloat, roundInt, toFloat, toIndex, toInt } from '../jinja/convert.ts';
import { float, isFloat, isInt, num, PyError, PyFloat, pyStr, truthy, typeName, Undefined } from '../jinja/value.ts';
import { filter } from './args.ts';
import { getAttr, iterate, pyLen } from './py.ts';

function isCaught(e: unknown): boolean {
  return e instanceof PyError && (e.pyType === 'TypeError' || e.pyType === 'ValueError');
}

/** Jinja2's do_int: int(value, base) for strings, int(value) otherwise, then int(float(value)), else the default. */
export function jinjaInt(value: unknown, dflt: unknown = 0, base: unknown = 10): unknown {
  try {
    if (typeof value === 'string') return parseIntStr(value, toIndex(base));
    return toInt(value);
  } catch (e) {
    if (!isCaught(e)) throw e;
    try {
      return toInt(float(toFloat(value)));
    } catch (e2) {
      if (!isCaught(e2)) throw e2;
      return dflt;
    }
  }
}

export const jinjaValueFilters: FilterTable = {
  abs: filter('abs', [], (_env, v) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'bigint') return v < 0n ? -v : v;
    if (v instanceof PyFloat) return new PyFloat(Math.abs(v.value));
    if (typeof v === 'number') return Math.abs(v);
    throw new PyError('TypeError', `bad operand type for abs(): '${typeName(v)}'`);
  }),

  // Jinja2's do_attr: the attribute only, never the item (`d | attr('k')` on a dict is undefined).
  attr: filter('attr', ['name'], (_env, obj, a) => {
    if (typeof a.name !== 'string') throw new PyError('TypeError', `attribute name must be string, not '${typeName(a.name)}'`);
    return getAttr(obj, a.name);
  }),

  default: filter(
    'default',
    [
      ['default_value', ''],
      ['boolean', false],
    ],
    (_env, v, a) => (v instanceof Undefined || (truthy(a.boolean) && !truthy(v)) ? a.default_value : v),
    { undefinedOk: true },
  ),

  d: filter(
    'default',
    [
      ['default_value', ''],
      ['boolean', false],
    ],
    (_env, v, a) => (v instanceof Undefined || (truthy(a.boolean) && !truthy(v)) ? a.default_value : v),
    { undefinedOk: true },
  ),

  float: filter('float', [['default', new PyFloat(0)]], (_env, v, a) => {
    try {
      return float(toFloat(v));
    } catch (e) {
      if (!isCaught(e)) throw e;
      return a.default;
    }
  }),

  int: filter(
    'int',
    [
      ['default', 0],
      ['base', 10],
    ],
    (_env, v, a) => jinjaInt(v, a.default, a.base),
  ),

  round: filter(
    'round',
    [
      ['precision', 0],
      ['method', 'common'],
    ],
    (_env, v, a) => {
      if (!['common', 'ceil', 'floor'].includes(a.method as string)) {
        throw new PyError('FilterArgumentError', 'method must be common, ceil or floor');
      }
      const precision = toIndex(a.precision);
      if (a.method === 'common') {
        if (isInt(v) || typeof v === 'boolean') return roundInt(typeof v === 'boolean' ? (v ? 1 : 0) : (v as number | bigint), precision);
        if (isFloat(v)) return float(roundFloat(num(v), precision));
        throw new PyError('TypeError', `type ${typeName(v)} doesn't define __round__ method`);
      }
      if (!isFloat(v) && !isInt(v) && typeof v !== 'boolean') {
        throw new PyError('TypeError', `unsupported operand type(s) for *: '${typeName(v)}' and 'int'`);
      }
      const scale = 10 ** precision;
      const f = a.method === 'ceil' ? Math.ceil : Math.floor;
      return float(f(num(v) * scale) / scale);
    },
  ),

  string: filter('string', [], (_env, v) => pyStr(v)),

  // Markup(value): a str. Ansible renders with autoescape off, so only the conversion to str shows.
  safe: filter('safe', [], (_env, v) => pyStr(v)),

  list: filter('list', [], (_env, v) => [...iterate(v)]),

  length: filter('length', [], (_env, v) => pyLen(v)),
  count: filter('count', [], (_env, v) => pyLen(v)),
};
