/**
 * The with_* lookups (lib/ansible/plugins/lookup/*.py, 2.14): items, list, dict, indexed_items,
 * together, nested, subelements, sequence, random_choice; and community.general's cartesian and
 * flattened (Ansible 7 routes the short names there).
 */
import { parseIntStr } from '../jinja/convert.ts';
import { percentFormat } from '../jinja/format.ts';
import { dictGet, dictHas, PyError, pyRepr, pyStr, tuple } from '../jinja/value.ts';
import { iterate } from '../jinja/operators.ts';
import { systemRandom } from '../filters/pyrandom.ts';
import { compile, match } from '../filters/pyre.ts';
import { parseKv } from './kv.ts';
import { isTemplated } from './template-text.ts';
import { flattenOnce, type LookupPlugin, listify } from './plugin.ts';

function ansibleError(msg: string): PyError {
  return new PyError('AnsibleError', msg);
}

export const items: LookupPlugin = { options: {}, run: (_c, terms) => flattenOnce(terms) };

export const list: LookupPlugin = { options: {}, run: (_c, terms) => terms };

export const dict: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const out: unknown[] = [];
    for (const term of terms) {
      if (!(term instanceof Map)) throw ansibleError('with_dict expects a dict');
      for (const [key, value] of term)
        out.push(
          new Map<unknown, unknown>([
            ['key', key],
            ['value', value],
          ]),
        );
    }
    return out;
  },
};

export const indexedItems: LookupPlugin = {
  options: {},
  run: (_c, terms) => flattenOnce(terms).map((x, i) => tuple([i, x])),
};

export const together: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const lists = terms.map(listify);
    if (!lists.length) throw ansibleError('with_together requires at least one element in each list');
    const n = Math.max(...lists.map((l) => l.length));
    return [...Array(n).keys()].map((i) => flattenOnce(lists.map((l) => (i < l.length ? l[i] : null))));
  },
};

export const nested: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const lists = terms.map(listify);
    if (!lists.length) throw ansibleError('with_nested requires at least one element in the nested list');
    let result: unknown[] = lists[0]!;
    for (const next of lists.slice(1)) result = result.flatMap((x) => next.map((y) => flattenOnce([x, y])));
    return result.map((x) => flattenOnce(iterate(x)));
  },
};

export const subelements: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const bad = (msg = '') => ansibleError(`subelements lookup expects a list of two or three items, ${msg}`);
    if (terms.length < 2 || terms.length > 3) throw bad();
    const first = terms[0] instanceof Map ? terms[0] : listify(terms[0]);
    if (typeof terms[1] !== 'string') throw bad('first a dict or a list, second a string pointing to the subkey');
    const keys = terms[1].split('.');
    let elements: unknown[];
    if (first instanceof Map) {
      if (dictHas(first, 'skipped') && dictGet(first, 'skipped') !== false) return [];
      elements = [...first.values()];
    } else elements = first;
    const flags = terms.length === 3 ? terms[2] : new Map();
    if (!(flags instanceof Map) || [...flags.keys()].some((k) => k !== 'skip_missing')) {
      throw bad("the optional third item must be a dict with flags ('skip_missing',)");
    }
    const skipMissing =
      flags.has('skip_missing') && ['y', 'yes', 'on', '1', 'true', 't'].includes(pyStr(flags.get('skip_missing')).toLowerCase());
    const out: unknown[] = [];
    for (const item of elements) {
      if (!(item instanceof Map)) throw ansibleError(`subelements lookup expects a dictionary, got '${pyStr(item)}'`);
      if (dictHas(item, 'skipped') && dictGet(item, 'skipped') !== false) continue;
      // Ansible pops the list out of the item; the item is copied here so the variable keeps it.
      const copy = new Map(item);
      let sub: Map<unknown, unknown> = copy;
      let values: unknown[] = [];
      for (const [i, key] of keys.entries()) {
        const last = i === keys.length - 1;
        if (!dictHas(sub, key)) {
          if (skipMissing) continue;
          throw ansibleError(`could not find '${key}' key in iterated item '${pyStr(sub)}'`);
        }
        const v = dictGet(sub, key);
        if (!last) {
          if (!(v instanceof Map)) {
            if (skipMissing) continue;
            throw ansibleError(`the key ${key} should point to a dictionary, got '${pyStr(v)}'`);
          }
          const inner = new Map(v);
          sub.set(key, inner);
          sub = inner;
        } else {
          if (!Array.isArray(v)) throw ansibleError(`the key ${key} should point to a list, got '${pyStr(v)}'`);
          values = v;
          sub.delete(key);
        }
      }
      for (const v of values) out.push(tuple([copy, v]));
    }
    return out;
  },
};

const SHORTCUT = compile('^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$', { ignorecase: true });

function int0(name: string, v: string): number {
  try {
    return Number(parseIntStr(v, 0));
  } catch {
    throw ansibleError(`can't parse ${name}=${v} as integer`);
  }
}

export const sequence: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const out: string[] = [];
    for (const t of terms) {
      const term = pyStr(t);
      let start = 1;
      let end: number | null = null;
      let count: number | null = null;
      let stride = 1;
      let format = '%d';
      const m = match(SHORTCUT, term);
      if (m) {
        const [, , s, e, , st, , f] = m.groups;
        if (s !== undefined) start = int0('start', s);
        if (e !== undefined) end = int0('end', e);
        if (st !== undefined) stride = int0('stride', st);
        if (f !== undefined) format = f;
      } else {
        const args = parseKv(term);
        for (const name of ['start', 'end', 'count', 'stride'] as const) {
          const raw = args.get(name);
          args.delete(name);
          if (raw === undefined) continue;
          const v = int0(name, raw);
          if (name === 'start') start = v;
          else if (name === 'end') end = v;
          else if (name === 'count') count = v;
          else stride = v;
        }
        if (args.has('format')) {
          format = args.get('format')!;
          args.delete('format');
        }
        if (args.size) throw ansibleError(`unrecognized arguments to with_sequence: ${pyRepr([...args.keys()])}`);
      }
      if (count === null && end === null) throw ansibleError('must specify count or end in with_sequence');
      if (count !== null && end !== null) throw ansibleError("can't specify both count and end in with_sequence");
      if (count !== null) {
        if (count !== 0) end = start + count * stride - 1;
        else {
          start = 0;
          end = 0;
          stride = 0;
        }
      }
      if (stride > 0 && end! < start) throw ansibleError('to count backwards make stride negative');
      if (stride < 0 && end! > start) throw ansibleError("to count forward don't make stride negative");
      if (format.split('%').length - 1 !== 1) throw ansibleError(`bad formatting string: ${format}`);
      if (stride === 0) continue;
      const stop = end! + (stride >= 0 ? 1 : -1);
      for (let i = start; stride > 0 ? i < stop : i > stop; i += stride) {
        try {
          out.push(percentFormat(format, i));
        } catch {
          throw ansibleError(`problem formatting ${pyRepr(i)} with ${pyRepr(format)}`);
        }
      }
    }
    return out;
  },
};

export const randomChoice: LookupPlugin = {
  options: {},
  run(_c, terms) {
    if (!terms.length) return terms;
    return [terms[Number(systemRandom.below(BigInt(terms.length)))]];
  },
};

/** community.general.cartesian: the product of the lists, each combination flattened once. */
export const cartesian: LookupPlugin = {
  options: {},
  run(_c, terms) {
    const lists = terms.map(listify);
    if (!lists.length) throw ansibleError('with_cartesian requires at least one element in each list');
    let result: unknown[][] = [[]];
    for (const l of lists) result = result.flatMap((x) => l.map((y) => [...x, y]));
    return result.map((x) => flattenOnce(x));
  },
};

/** A list of one list (of one list…) is its innermost item (community.general.flattened). */
function oneListItem(term: unknown): unknown {
  if (Array.isArray(term) && term.length === 1) {
    const inner = term[0];
    return Array.isArray(inner) ? oneListItem(inner) : inner;
  }
  return term;
}

function flattenDeep(terms: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (let term of terms) {
    term = oneListItem(term);
    // Ansible stops at the text 'None' or 'null' (an undefined item, in its words).
    if (term === 'None' || term === 'null') break;
    if (typeof term === 'string' && isTemplated(term))
      throw new PyError(
        'NotSupported',
        `flattened: the item ${JSON.stringify(term)} holds template syntax, which Ansible templates a second time: not supported by Kiln`,
      );
    if (Array.isArray(term)) out.push(...flattenDeep(term));
    else out.push(term);
  }
  return out;
}

/** community.general.flattened: every level of lists flattened. */
export const flattened: LookupPlugin = { options: {}, run: (_c, terms) => flattenDeep(terms) };
