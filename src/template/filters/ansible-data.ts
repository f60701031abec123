/**
 * Ansible's data-structure filters (lib/ansible/plugins/filter/core.py and mathstuff.py, 2.14):
 * combine, extract, flatten, dict2items, items2dict, subelements, zip, zip_longest, product,
 * permutations, combinations, ternary, mandatory, type_debug, bool, split, comment.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { toIndex, toInt } from '../jinja/convert.ts';
import {
  dictGet,
  dictHas,
  dictSet,
  num,
  PyError,
  PyTuple,
  pyEquals,
  pyRepr,
  pyStr,
  truthy,
  tuple,
  typeName,
  Undefined,
  undefinedError,
} from '../jinja/value.ts';
import { filter } from './args.ts';
import { dumps } from './json.ts';
import { iterate } from '../jinja/operators.ts';
import { getItem, hashKey, isPyList, isPySequence, pyContains, split } from './py.ts';

/** Python's `<class 'list'>` text of a value's type, as Ansible puts it in messages. */
export function classRepr(v: unknown): string {
  return `<class '${typeName(v)}'>`;
}

/** Ansible's flatten(mylist, levels, skip_nulls). */
export function flatten(mylist: unknown, levels: unknown = null, skipNulls = true): unknown[] {
  const out: unknown[] = [];
  for (const element of iterate(mylist)) {
    if (skipNulls && (element === null || element === 'None' || element === 'null')) continue;
    if (isPySequence(element)) {
      if (levels === null) out.push(...flatten(element, null, skipNulls));
      else if (num(levels) >= 1) out.push(...flatten(element, toIndex(levels) - 1, skipNulls));
      else out.push(element);
    } else out.push(element);
  }
  return out;
}

function checkDefined(v: unknown): void {
  if (v instanceof Map) for (const x of v.values()) checkDefined(x);
  else if (isPyList(v)) for (const x of v) checkDefined(x);
  else if (v instanceof Undefined) throw undefinedError(v);
}

const LIST_MERGE = ['replace', 'keep', 'append', 'prepend', 'append_rp', 'prepend_rp'];

/** Ansible's merge_hash(x, y, recursive, list_merge): y's keys take precedence. */
export function mergeHash(x: unknown, y: unknown, recursive: boolean, listMerge: string): Map<unknown, unknown> {
  if (!LIST_MERGE.includes(listMerge)) {
    throw new PyError(
      'AnsibleError',
      "merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'",
    );
  }
  if (!(x instanceof Map && y instanceof Map)) {
    const show = (v: unknown) => {
      try {
        return dumps(v);
      } catch {
        return pyStr(v);
      }
    };
    throw new PyError(
      'AnsibleError',
      `failed to combine variables, expected dicts but got a '${typeName(x)}' and a '${typeName(y)}': \n${show(x)}\n${show(y)}`,
    );
  }
  if (x.size === 0 || pyEquals(x, y)) return new Map(y);
  const out = new Map(x);
  for (const [key, yv] of y) {
    if (!dictHas(out, key)) {
      dictSet(out, key, yv);
      continue;
    }
    const xv = dictGet(out, key);
    if (xv instanceof Map && yv instanceof Map) {
      dictSet(out, key, recursive ? mergeHash(xv, yv, recursive, listMerge) : yv);
      continue;
    }
    if (isPyList(xv) && isPyList(yv)) {
      if (listMerge === 'replace') dictSet(out, key, yv);
      else if (listMerge === 'append') dictSet(out, key, [...xv, ...yv]);
      else if (listMerge === 'prepend') dictSet(out, key, [...yv, ...xv]);
      else if (listMerge === 'append_rp') dictSet(out, key, [...xv.filter((z) => !pyContains(yv, z)), ...yv]);
      else if (listMerge === 'prepend_rp') dictSet(out, key, [...yv, ...xv.filter((z) => !pyContains(yv, z))]);
      continue;
    }
    dictSet(out, key, yv);
  }
  return out;
}

/** The name Jinja2 keeps as an Undefined's _undefined_name: the attribute or variable that was missing. */
function undefinedName(u: Undefined): string | undefined {
  const m = /^(?:'[^']*' has no attribute '(.*)'|.* has no element (.*)|'(.*)' is undefined)$/s.exec(u.message);
  if (m) return m[1] ?? m[2] ?? m[3];
  return u.name || undefined;
}

function product(pools: unknown[][]): PyTuple[] {
  let result: unknown[][] = [[]];
  for (const pool of pools) result = result.flatMap((x) => pool.map((y) => [...x, y]));
  return result.map((r) => tuple(r));
}

function permutations(pool: unknown[], r: number): PyTuple[] {
  const n = pool.length;
  if (r > n) return [];
  const out: PyTuple[] = [];
  const indices = [...Array(n).keys()];
  const cycles = [...Array(r).keys()].map((i) => n - i);
  out.push(tuple(indices.slice(0, r).map((i) => pool[i])));
  while (n) {
    let i = r - 1;
    for (; i >= 0; i--) {
      cycles[i]! -= 1;
      if (cycles[i] === 0) {
        const moved = indices.splice(i, 1)[0]!;
        indices.push(moved);
        cycles[i] = n - i;
      } else {
        const j = cycles[i]!;
        const k = n - j;
        [indices[i], indices[k]] = [indices[k]!, indices[i]!];
        out.push(tuple(indices.slice(0, r).map((x) => pool[x])));
        break;
      }
    }
    if (i < 0) break;
  }
  return out;
}

function combinations(pool: unknown[], r: number): PyTuple[] {
  const n = pool.length;
  if (r > n) return [];
  const out: PyTuple[] = [];
  const indices = [...Array(r).keys()];
  out.push(tuple(indices.map((i) => pool[i])));
  for (;;) {
    let i = r - 1;
    while (i >= 0 && indices[i] === i + n - r) i--;
    if (i < 0) return out;
    indices[i]! += 1;
    for (let j = i + 1; j < r; j++) indices[j] = indices[j - 1]! + 1;
    out.push(tuple(indices.map((x) => pool[x])));
  }
}

const COMMENT_STYLES: Record<string, Record<string, string>> = {
  plain: { decoration: '# ' },
  erlang: { decoration: '% ' },
  c: { decoration: '// ' },
  cblock: { beginning: '/*', decoration: ' * ', end: ' */' },
  xml: { beginning: '<!--', decoration: ' - ', end: '-->' },
};

function rstrip(s: string): string {
  return s.replace(/[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/, '');
}

/** Ansible's comment filter. */
function comment(text: unknown, style: unknown, kw: Map<string, unknown>): string {
  if (typeof style !== 'string' || !Object.hasOwn(COMMENT_STYLES, style)) throw new PyError('KeyError', pyRepr(style));
  const styleParams = COMMENT_STYLES[style]!;
  const prepostfix = kw.has('decoration') ? pyStr(kw.get('decoration')) : styleParams.decoration!;
  const p: Record<string, unknown> = {
    newline: '\n',
    beginning: '',
    prefix: rstrip(prepostfix),
    prefix_count: 1,
    decoration: '',
    postfix: rstrip(prepostfix),
    postfix_count: 1,
    end: '',
    ...styleParams,
  };
  for (const [k, v] of kw) p[k] = v;
  const s = (k: string) => pyStr(p[k]);
  if (typeof text !== 'string') throw new PyError('AttributeError', `'${typeName(text)}' object has no attribute 'replace'`);
  const nl = s('newline');
  const beginning = truthy(p.beginning) ? `${s('beginning')}${nl}` : '';
  let prefix = '';
  if (truthy(p.prefix)) {
    const n = Math.max(0, Number(toInt(p.prefix_count)));
    prefix = (s('prefix') !== nl ? `${s('prefix')}${nl}` : nl).repeat(n);
  }
  const deco = s('decoration');
  const body = `${deco}${text.split(nl).join(`${nl}${deco}`)}`.split(`${deco}${nl}`).join(`${rstrip(deco)}${nl}`);
  const postfixCount = toIndex(p.postfix_count);
  const postfix = ['', ...Array(Math.max(0, postfixCount)).fill(s('postfix'))].join(nl);
  const end = truthy(p.end) ? `${nl}${s('end')}` : '';
  return `${beginning}${prefix}${body}${postfix}${end}`;
}

export const ansibleDataFilters: FilterTable = {
  combine: filter(
    'combine',
    [],
    (_env, v, _a, b) => {
      const kw = new Map(b.kw);
      const recursive = kw.has('recursive') ? kw.get('recursive') : false;
      const listMerge = kw.has('list_merge') ? kw.get('list_merge') : 'replace';
      kw.delete('recursive');
      kw.delete('list_merge');
      if (kw.size) throw new PyError('AnsibleFilterError', "'recursive' and 'list_merge' are the only valid keyword arguments");
      const dictionaries = flatten(tuple([v, ...b.rest]), 1);
      checkDefined(dictionaries);
      if (!dictionaries.length) return new Map();
      if (dictionaries.length === 1) return dictionaries[0];
      let result = dictionaries[dictionaries.length - 1];
      for (let i = dictionaries.length - 2; i >= 0; i--) result = mergeHash(dictionaries[i], result, truthy(recursive), pyStr(listMerge));
      return result;
    },
    { varargs: true, varkw: true },
  ),

  extract: filter('extract', ['container', ['morekeys', null]], (_env, item, a) => {
    const keys = a.morekeys === null ? [item] : isPyList(a.morekeys) ? [item, ...a.morekeys] : [item, a.morekeys];
    let value = a.container;
    for (const key of keys) value = getItem(value, key);
    return value;
  }),

  flatten: filter(
    'flatten',
    [
      ['levels', null],
      ['skip_nulls', true],
    ],
    (_env, v, a) => flatten(v, a.levels, truthy(a.skip_nulls)),
  ),

  dict2items: filter(
    'dict_to_list_of_dict_key_value_elements',
    [
      ['key_name', 'key'],
      ['value_name', 'value'],
    ],
    (_env, v, a) => {
      if (!(v instanceof Map))
        throw new PyError('AnsibleFilterTypeError', `dict2items requires a dictionary, got ${classRepr(v)} instead.`);
      return [...v].map(([k, x]) => {
        const d = new Map<unknown, unknown>();
        dictSet(d, a.key_name, k);
        dictSet(d, a.value_name, x);
        return d;
      });
    },
  ),

  items2dict: filter(
    'list_of_dict_key_value_elements_to_dict',
    [
      ['key_name', 'key'],
      ['value_name', 'value'],
    ],
    (_env, v, a) => {
      if (!isPySequence(v)) throw new PyError('AnsibleFilterTypeError', `items2dict requires a list, got ${classRepr(v)} instead.`);
      const out = new Map<unknown, unknown>();
      const notDicts = () => new PyError('AnsibleFilterTypeError', `items2dict requires a list of dictionaries, got ${pyRepr(v)} instead.`);
      for (const d of v) {
        if (!(d instanceof Map)) throw notDicts();
        if (!dictHas(d, a.key_name) || !dictHas(d, a.value_name)) {
          throw new PyError(
            'AnsibleFilterTypeError',
            `items2dict requires each dictionary in the list to contain the keys '${pyStr(a.key_name)}' and '${pyStr(a.value_name)}', got ${pyRepr(v)} instead.`,
          );
        }
        const key = dictGet(d, a.key_name);
        try {
          hashKey(key);
        } catch {
          throw notDicts();
        }
        dictSet(out, key, dictGet(d, a.value_name));
      }
      return out;
    },
  ),

  subelements: filter('subelements', ['subelements', ['skip_missing', false]], (_env, obj, a) => {
    let elements: unknown[];
    if (obj instanceof Map) elements = [...obj.values()];
    else if (isPyList(obj)) elements = [...obj];
    else throw new PyError('AnsibleFilterError', 'obj must be a list of dicts or a nested dict');
    let path: unknown[];
    if (isPyList(a.subelements)) path = [...a.subelements];
    else if (typeof a.subelements === 'string') path = a.subelements.split('.');
    else throw new PyError('AnsibleFilterTypeError', 'subelements must be a list or a string');
    const out: PyTuple[] = [];
    for (const element of elements) {
      let values: unknown = element;
      for (const sub of path) {
        if (values instanceof Map) {
          if (dictHas(values, sub)) values = dictGet(values, sub);
          else if (truthy(a.skip_missing)) {
            values = [];
            break;
          } else throw new PyError('AnsibleFilterError', `could not find ${pyRepr(sub)} key in iterated item ${pyRepr(values)}`);
        } else throw new PyError('AnsibleFilterTypeError', `the key ${pyStr(sub)} should point to a dictionary, got '${pyStr(values)}'`);
      }
      if (!isPyList(values)) {
        throw new PyError(
          'AnsibleFilterTypeError',
          `the key ${pyRepr(path[path.length - 1])} should point to a list, got ${pyRepr(values)}`,
        );
      }
      for (const value of values) out.push(tuple([element, value]));
    }
    return out;
  }),

  zip: filter(
    'zip',
    [],
    (_env, v, _a, b) => {
      for (const k of b.kw.keys()) if (k !== 'strict') throw new PyError('TypeError', `zip() got an unexpected keyword argument '${k}'`);
      const lists = [v, ...b.rest].map(iterate);
      const n = Math.min(...lists.map((l) => l.length));
      if (truthy(b.kw.get('strict') ?? false) && lists.some((l) => l.length !== n)) {
        throw new PyError('ValueError', 'zip() arguments have different lengths');
      }
      return [...Array(n).keys()].map((i) => tuple(lists.map((l) => l[i])));
    },
    { varargs: true, varkw: true },
  ),

  zip_longest: filter(
    'zip_longest',
    [],
    (_env, v, _a, b) => {
      for (const k of b.kw.keys())
        if (k !== 'fillvalue') throw new PyError('TypeError', `zip_longest() got an unexpected keyword argument '${k}'`);
      const fill = b.kw.has('fillvalue') ? b.kw.get('fillvalue') : null;
      const lists = [v, ...b.rest].map(iterate);
      const n = Math.max(...lists.map((l) => l.length));
      return [...Array(n).keys()].map((i) => tuple(lists.map((l) => (i < l.length ? l[i] : fill))));
    },
    { varargs: true, varkw: true },
  ),

  product: filter(
    'product',
    [],
    (_env, v, _a, b) => {
      for (const k of b.kw.keys())
        if (k !== 'repeat') throw new PyError('TypeError', `product() got an unexpected keyword argument '${k}'`);
      const repeat = toIndex(b.kw.get('repeat') ?? 1);
      const pools = [v, ...b.rest].map((x) => [...iterate(x)]);
      return product(Array(Math.max(0, repeat)).fill(pools).flat());
    },
    { varargs: true, varkw: true },
  ),

  permutations: filter('permutations', [['r', null]], (_env, v, a) => {
    const pool = [...iterate(v)];
    const r = a.r === null ? pool.length : toIndex(a.r);
    if (r < 0) throw new PyError('ValueError', 'r must be non-negative');
    return permutations(pool, r);
  }),

  combinations: filter('combinations', ['r'], (_env, v, a) => {
    const r = toIndex(a.r);
    if (r < 0) throw new PyError('ValueError', 'r must be non-negative');
    return combinations([...iterate(v)], r);
  }),

  ternary: filter('ternary', ['true_val', 'false_val', ['none_val', null]], (_env, v, a) => {
    if (v === null && a.none_val !== null) return a.none_val;
    return truthy(v) ? a.true_val : a.false_val;
  }),

  mandatory: filter(
    'mandatory',
    [['msg', null]],
    (_env, v, a) => {
      if (v instanceof Undefined) {
        if (a.msg !== null) throw new PyError('AnsibleFilterError', pyStr(a.msg));
        const name = undefinedName(v);
        throw new PyError('AnsibleFilterError', `Mandatory variable ${name === undefined ? '' : `'${name}' `} not defined.`);
      }
      return v;
    },
    { undefinedOk: true },
  ),

  // The Python class of a string depends on where it came from in Ansible (str, AnsibleUnicode for
  // YAML variables, AnsibleUnsafeText for registered results and lookups): Kiln cannot know it.
  type_debug: filter('type_debug', [], (_env, v) => {
    if (typeof v === 'string') {
      throw new PyError(
        'NotSupported',
        "type_debug of a string is not supported by Kiln: Ansible answers str, AnsibleUnicode or AnsibleUnsafeText depending on the string's origin",
      );
    }
    return typeName(v);
  }),

  bool: filter('to_bool', [], (_env, a) => {
    if (a === null || typeof a === 'boolean') return a;
    const x = typeof a === 'string' ? a.toLowerCase() : a;
    return ['yes', 'on', '1', 'true', 1].some((t) => (typeof x === 'string' ? x === t : typeof t !== 'string' && pyEquals(x, t)));
  }),

  split: filter(
    'split',
    [
      ['sep', null],
      ['maxsplit', -1],
    ],
    (_env, v, a) => {
      if (typeof v !== 'string')
        throw new PyError('TypeError', `descriptor 'split' for 'str' objects doesn't apply to a '${typeName(v)}' object`);
      if (a.sep !== null && typeof a.sep !== 'string') throw new PyError('TypeError', `must be str or None, not ${typeName(a.sep)}`);
      return split(v, a.sep as string | null, toIndex(a.maxsplit));
    },
  ),

  comment: filter('comment', [['style', 'plain']], (_env, v, a, b) => comment(v, a.style, b.kw), { varkw: true }),
};
