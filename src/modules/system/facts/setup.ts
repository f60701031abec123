/**
 * `setup` (Ansible's setup module, and gather_facts as a task): gathers Ansible's facts with the
 * same read-only script as a play's gather_facts (script.ts, parse.ts). It never changes the
 * host; its result is `{ ansible_facts: … }`, which the engine merges into the host's facts (as
 * Ansible does with any module result carrying `ansible_facts`), and `register` sees.
 * `filter`: fnmatch patterns over the fact names (`ansible_*`), as ansible-core 2.14's.
 */
import { BadSubsetError, collectorsFor, subsetList } from '../../../input/playbook/gather-subset.ts';
import { defineModule, type FromSchema } from '../../contract.ts';
import { parseAnsibleFacts } from './parse.ts';
import { ansibleFactsScript } from './script.ts';

const stringOrList = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    gather_subset: {
      ...stringOrList,
      description: "Ansible's gather_subset: all, min, network, hardware, virtual, a fact name, !x to exclude",
    },
    filter: { ...stringOrList, description: 'keep only the facts whose names match one of these fnmatch patterns (ansible_*)' },
    gather_timeout: { type: 'integer', minimum: 1, description: 'seconds each gathering command may take (default 10)' },
    fact_path: { type: 'string', minLength: 1, description: 'the local facts directory (default /etc/ansible/facts.d)' },
  },
} as const;

export type SetupParams = FromSchema<typeof schema>;

interface SetupPrep {
  subset: string[];
  filter: string[];
}

/** Python's fnmatch.fnmatch on a POSIX system (case-sensitive). */
export function fnmatch(name: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 2);
      if (j < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body}]`;
        i = j;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's').test(name);
}

export default defineModule<SetupParams, Record<string, unknown>, { kind: 'none' }, SetupPrep>({
  name: 'setup',
  description: "Gather Ansible's facts (as Ansible's setup module); they become the host's facts. Never changes the host.",
  schema,
  prepare(p) {
    const subset = (p.gather_subset === undefined ? undefined : subsetList(p.gather_subset)) ?? ['all'];
    try {
      collectorsFor(subset);
    } catch (err) {
      if (err instanceof BadSubsetError) throw new Error(`gather_subset: ${err.message}`);
      throw err;
    }
    const filter = p.filter === undefined ? [] : typeof p.filter === 'string' ? subsetList(p.filter)! : p.filter;
    return { subset, filter };
  },
  probe: (p, prep) => ansibleFactsScript({ collectors: collectorsFor(prep.subset), factPath: p.fact_path, timeout: p.gather_timeout }),
  parse(out, p, prep) {
    const facts = parseAnsibleFacts(out.stdout, {
      collectors: collectorsFor(prep.subset),
      gatherSubset: prep.subset,
      factPath: p.fact_path,
    });
    if (!prep.filter.length) return facts;
    return Object.fromEntries(Object.entries(facts).filter(([k]) => prep.filter.some((f) => fnmatch(k, f))));
  },
  plan: () => [],
  apply: () => '',
  registerData: (_p, _prep, facts) => ({ ansible_facts: facts }),
});
