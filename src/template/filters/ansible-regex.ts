/**
 * Ansible's regular-expression filters (core.py, 2.14) on Python's `re` semantics (./pyre.ts):
 * regex_replace, regex_search, regex_findall, regex_escape.
 */
import type { FilterTable } from '../jinja/callables.ts';
import { PyError, pyStr, truthy, tuple, typeName } from '../jinja/value.ts';
import { filter } from './args.ts';
import { compile, escape, findall, type PyFlags, search, sub } from './pyre.ts';

function pattern(p: unknown, flags: PyFlags) {
  if (typeof p !== 'string') throw new PyError('TypeError', 'first argument must be string or compiled pattern');
  return compile(p, flags);
}

function flags(ignorecase: unknown, multiline: unknown): PyFlags {
  return { ignorecase: truthy(ignorecase), multiline: truthy(multiline) };
}

export const ansibleRegexFilters: FilterTable = {
  regex_replace: filter(
    'regex_replace',
    [
      ['pattern', ''],
      ['replacement', ''],
      ['ignorecase', false],
      ['multiline', false],
    ],
    (_env, v, a) => {
      if (typeof a.replacement !== 'string') throw new PyError('TypeError', `expected str instance, ${typeName(a.replacement)} found`);
      return sub(pattern(a.pattern, flags(a.ignorecase, a.multiline)), a.replacement, pyStr(v))[0];
    },
  ),

  regex_findall: filter('regex_findall', ['regex', ['multiline', false], ['ignorecase', false]], (_env, v, a) =>
    findall(pattern(a.regex, flags(a.ignorecase, a.multiline)), pyStr(v)).map((m) => (Array.isArray(m) ? tuple(m) : m)),
  ),

  regex_search: filter(
    'regex_search',
    ['regex'],
    (_env, v, a, b) => {
      const groups: (number | string)[] = [];
      for (const arg of b.rest) {
        const s = String(arg);
        if (typeof arg !== 'string') throw new PyError('AttributeError', `'${typeName(arg)}' object has no attribute 'startswith'`);
        if (s.startsWith('\\g')) {
          const m = /^\\g<(\S+)>/.exec(s);
          if (!m) throw new PyError('AttributeError', "'NoneType' object has no attribute 'group'");
          groups.push(m[1]!);
        } else if (s.startsWith('\\')) {
          const m = /^\\(\d+)/.exec(s);
          if (!m) throw new PyError('AttributeError', "'NoneType' object has no attribute 'group'");
          groups.push(Number(m[1]));
        } else throw new PyError('AnsibleFilterError', 'Unknown argument');
      }
      // Ansible reads only these two keyword arguments and ignores any other.
      const p = pattern(a.regex, flags(b.kw.get('ignorecase') ?? false, b.kw.get('multiline') ?? false));
      const m = search(p, pyStr(v));
      if (!m) return null;
      if (!groups.length) return m.groups[0];
      return groups.map((g) => {
        const n = typeof g === 'number' ? g : p.groupIndex.get(g);
        if (n === undefined || n > p.groups) throw new PyError('IndexError', 'no such group');
        return m.groups[n] ?? null;
      });
    },
    { varargs: true, varkw: true },
  ),

  regex_escape: filter('regex_escape', [['re_type', 'python']], (_env, v, a) => {
    const s = pyStr(v);
    if (a.re_type === 'python') return escape(s);
    if (a.re_type === 'posix_basic') return sub(compile('([].[^$*\\\\])'), '\\\\\\1', s)[0];
    if (a.re_type === 'posix_extended') throw new PyError('AnsibleFilterError', 'Regex type (posix_extended) not yet implemented');
    throw new PyError('AnsibleFilterError', `Invalid regex type (${pyStr(a.re_type)})`);
  }),
};
