/**
 * Host patterns, as in Ansible:
 *   all, *              every host
 *   web                 a group (its descendants' hosts included) or a host name
 *   web:db  web,db      union
 *   web:&prod           intersection
 *   web:!web2           exclusion
 *   web*  db?           globs on group and host names (a glob matching nothing is not an error)
 *   ~web\d+             regular expression on group and host names
 *   web[0] web[1:2]     subscript of a group's hosts (inventory order, end inclusive, like Ansible)
 * Terms are split on `,` if the pattern has one, else on `:` (not inside brackets). Evaluation
 * order is Ansible's: all unions, then intersections, then exclusions; a pattern of only `&`/`!`
 * terms starts from `all`. The result is in inventory order. An undefined plain name is an error.
 */
import { didYouMean } from '../../core/suggest.ts';
import type { Inventory } from './types.ts';
import { groupHosts } from './layers.ts';

function splitPattern(pattern: string): string[] {
  if (pattern.includes(','))
    return pattern
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of pattern) {
    if (c === '[') depth++;
    if (c === ']') depth = Math.max(0, depth - 1);
    if (c === ':' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

function globRe(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
}

function suggestion(inv: Inventory, name: string): string {
  return didYouMean(name, [...inv.groups.keys(), ...inv.hosts.keys()], { floor: 1 });
}

/** Hosts of one term (no `&`/`!` prefix). */
function termHosts(inv: Inventory, term: string, errors: string[]): string[] {
  if (term === 'all' || term === '*') return [...inv.hosts.keys()];
  if (inv.groups.has(term)) return groupHosts(inv, term);
  if (inv.hosts.has(term)) return [term];
  if (term.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(term.slice(1));
    } catch (err) {
      errors.push(`bad regular expression in host pattern '${term}': ${(err as Error).message}`);
      return [];
    }
    return namesMatching(inv, (n) => re.test(n));
  }
  const sub = /^(.+)\[(-?\d+)(?::(-?\d*))?\]$/.exec(term);
  if (sub && inv.groups.has(sub[1]!)) {
    const hosts = groupHosts(inv, sub[1]!);
    const norm = (i: number) => (i < 0 ? hosts.length + i : i);
    const start = norm(Number(sub[2]));
    if (sub[3] === undefined) return hosts[start] !== undefined ? [hosts[start]!] : [];
    const end = sub[3] === '' ? hosts.length - 1 : norm(Number(sub[3]));
    return hosts.slice(start, end + 1);
  }
  if (/[*?]/.test(term)) {
    const re = globRe(term);
    return namesMatching(inv, (n) => re.test(n));
  }
  errors.push(`host pattern '${term}' matches no group or host in the inventory${suggestion(inv, term)}`);
  return [];
}

function namesMatching(inv: Inventory, test: (n: string) => boolean): string[] {
  const out = new Set<string>();
  for (const g of inv.groups.keys()) if (test(g)) groupHosts(inv, g).forEach((h) => out.add(h));
  for (const h of inv.hosts.keys()) if (test(h)) out.add(h);
  return [...out];
}

function evaluate(inv: Inventory, pattern: string): { hosts: string[]; errors: string[] } {
  const errors: string[] = [];
  const terms = splitPattern(pattern);
  if (!terms.length) return { hosts: [], errors: ['empty host pattern'] };
  const unions = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  const inters = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1).trim());
  const excls = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1).trim());
  if (!unions.length) unions.push('all');
  let set = new Set<string>();
  for (const t of unions) termHosts(inv, t, errors).forEach((h) => set.add(h));
  for (const t of inters) {
    const other = new Set(termHosts(inv, t, errors));
    set = new Set([...set].filter((h) => other.has(h)));
  }
  for (const t of excls) termHosts(inv, t, errors).forEach((h) => set.delete(h));
  return { hosts: [...inv.hosts.keys()].filter((h) => set.has(h)), errors };
}

/** Problems with a pattern (undefined names, bad regexes); empty if it is valid. */
export function patternErrors(inv: Inventory, pattern: string): string[] {
  return evaluate(inv, pattern).errors;
}

/** Hosts selected by a pattern, in inventory order. Throws for undefined names. */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const { hosts, errors } = evaluate(inv, pattern);
  if (errors.length) throw new Error(errors.join('\n'));
  return hosts;
}
