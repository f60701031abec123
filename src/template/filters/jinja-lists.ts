/**
 * Jinja2's builtin filters on sequences and mappings (jinja2/filters.py 3.1): batch, dictsort,
 * first, last, groupby, items, join, max, min, reverse, slice, sort, sum, and do_unique (which
 * Ansible's `unique` calls).
 *
 * Python returns generators from several of these (batch, slice, reverse, items); Ansible wraps
 * every filter so that an iterator result becomes a list (template/__init__.py
 * `_unroll_iterator`), which is why `{{ x | map('upper') }}` prints `['A']` in Ansible: these
 * return lists.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { namedTuple, toIndex } from '../jinja/convert.ts';
import { pyEquals, PyError, pyCompare, pyStr, truthy, typeName, Undefined } from '../jinja/value.ts';
import { filter } from './args.ts';
import { attrGetter, hashKey, ignoreCase, items, iterate, multiAttrGetter, pyAdd, sortedBy } from './py.ts';

/** An Undefined carrying Jinja2's hint (`No first item, sequence was empty.`). */
export function hintUndefined(hint: string): Undefined {
  return new Undefined(hint, '');
}

/** Jinja2's do_unique: first occurrences, comparing keys (lower-cased unless case_sensitive) by hash. */
export function jinjaUnique(value: unknown, caseSensitive: boolean, attribute: unknown): unknown[] {
  const getter = attrGetter(attribute, caseSensitive ? undefined : ignoreCase);
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const item of iterate(value)) {
    const key = hashKey(getter(item));
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

function minOrMax(value: unknown, caseSensitive: unknown, attribute: unknown, sign: 1 | -1): unknown {
  const all = iterate(value);
  if (!all.length) return hintUndefined('No aggregated item, sequence was empty.');
  const key = attrGetter(attribute, truthy(caseSensitive) ? undefined : ignoreCase);
  let best = all[0];
  let bestKey = key(best);
  for (const item of all.slice(1)) {
    const k = key(item);
    const c = pyCompare(k, bestKey, sign < 0 ? '<' : '>');
    if (sign < 0 ? c < 0 : c > 0) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}

/** reversed(seq) for the sequences Python can reverse (list, tuple, str, dict keys). */
function reversed(v: unknown): unknown[] {
  if (Array.isArray(v)) return [...v].reverse();
  if (typeof v === 'string') return [...v].reverse();
  if (v instanceof Map) return [...v.keys()].reverse();
  if (v instanceof Undefined) return iterate(v);
  throw new PyError('TypeError', `'${typeName(v)}' object is not reversible`);
}

export const jinjaListFilters: FilterTable = {
  batch: filter('batch', ['linecount', ['fill_with', null]], (_env, v, a) => {
    const out: unknown[][] = [];
    let tmp: unknown[] = [];
    for (const item of iterate(v)) {
      if (pyEquals(tmp.length, a.linecount)) {
        out.push(tmp);
        tmp = [];
      }
      tmp.push(item);
    }
    if (tmp.length) {
      const n = toIndex(a.linecount);
      if (a.fill_with !== null && tmp.length < n) tmp.push(...Array(n - tmp.length).fill(a.fill_with));
      out.push(tmp);
    }
    return out;
  }),

  dictsort: filter(
    'dictsort',
    [
      ['case_sensitive', false],
      ['by', 'key'],
      ['reverse', false],
    ],
    (_env, v, a) => {
      const pos = a.by === 'key' ? 0 : a.by === 'value' ? 1 : -1;
      if (pos < 0) throw new PyError('FilterArgumentError', 'You can only sort by either "key" or "value"');
      if (!(v instanceof Map)) throw new PyError('AttributeError', `'${typeName(v)}' object has no attribute 'items'`);
      const cs = truthy(a.case_sensitive);
      return sortedBy(items(v), (item) => (cs ? item[pos] : ignoreCase(item[pos])), truthy(a.reverse));
    },
  ),

  first: filter('first', [], (_env, v) => {
    const all = iterate(v);
    return all.length ? all[0] : hintUndefined('No first item, sequence was empty.');
  }),

  last: filter('last', [], (_env, v) => {
    const all = reversed(v);
    return all.length ? all[0] : hintUndefined('No last item, sequence was empty.');
  }),

  groupby: filter('groupby', ['attribute', ['default', null], ['case_sensitive', false]], (_env, v, a) => {
    const cs = truthy(a.case_sensitive);
    const expr = attrGetter(a.attribute, cs ? undefined : ignoreCase, a.default);
    const sorted = sortedBy(iterate(v), expr);
    const groups: { key: unknown; values: unknown[] }[] = [];
    for (const item of sorted) {
      const k = expr(item);
      const last = groups[groups.length - 1];
      if (last && pyEquals(last.key, k)) last.values.push(item);
      else groups.push({ key: k, values: [item] });
    }
    // Case-insensitive grouping reports the real key of each group's first item.
    const outputExpr = attrGetter(a.attribute, undefined, a.default);
    return groups.map((g) => namedTuple(['grouper', 'list'], [cs ? g.key : outputExpr(g.values[0]), g.values]));
  }),

  items: filter(
    'items',
    [],
    (_env, v) => {
      if (v instanceof Undefined) return [];
      if (!(v instanceof Map)) throw new PyError('TypeError', 'Can only get item pairs from a mapping.');
      return items(v);
    },
    { undefinedOk: true },
  ),

  join: filter(
    'join',
    [
      ['d', ''],
      ['attribute', null],
    ],
    (_env, v, a) => {
      let all = iterate(v);
      if (a.attribute !== null) all = all.map(attrGetter(a.attribute));
      return all.map((x) => pyStr(x)).join(pyStr(a.d));
    },
  ),

  max: filter(
    'max',
    [
      ['case_sensitive', false],
      ['attribute', null],
    ],
    (_env, v, a) => minOrMax(v, a.case_sensitive, a.attribute, 1),
  ),

  min: filter(
    'min',
    [
      ['case_sensitive', false],
      ['attribute', null],
    ],
    (_env, v, a) => minOrMax(v, a.case_sensitive, a.attribute, -1),
  ),

  reverse: filter('reverse', [], (_env, v) => {
    if (typeof v === 'string') return [...v].reverse().join('');
    try {
      return reversed(v);
    } catch (e) {
      if (e instanceof PyError && e.pyType === 'TypeError') throw new PyError('FilterArgumentError', 'argument must be iterable');
      throw e;
    }
  }),

  slice: filter('slice', ['slices', ['fill_with', null]], (_env, v, a) => {
    const seq = iterate(v);
    const slices = toIndex(a.slices);
    const length = seq.length;
    const perSlice = Math.floor(length / slices);
    const withExtra = length % slices;
    let offset = 0;
    const out: unknown[][] = [];
    for (let n = 0; n < slices; n++) {
      const start = offset + n * perSlice;
      if (n < withExtra) offset += 1;
      const end = offset + (n + 1) * perSlice;
      const tmp = seq.slice(start, end);
      if (a.fill_with !== null && n >= withExtra) tmp.push(a.fill_with);
      out.push(tmp);
    }
    return out;
  }),

  sort: filter(
    'sort',
    [
      ['reverse', false],
      ['case_sensitive', false],
      ['attribute', null],
    ],
    (_env, v, a) => {
      const key = multiAttrGetter(a.attribute, truthy(a.case_sensitive) ? undefined : ignoreCase);
      return sortedBy(iterate(v), key, truthy(a.reverse));
    },
  ),

  sum: filter(
    'sum',
    [
      ['attribute', null],
      ['start', 0],
    ],
    (_env, v, a) => {
      if (typeof a.start === 'string') throw new PyError('TypeError', "sum() can't sum strings [use ''.join(seq) instead]");
      let all = iterate(v);
      if (a.attribute !== null) all = all.map(attrGetter(a.attribute));
      return all.reduce((acc, x) => pyAdd(acc, x), a.start);
    },
  ),
};
