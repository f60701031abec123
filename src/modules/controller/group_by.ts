/**
 * group_by (ansible.builtin.group_by): the host joins the group `key` (spaces become dashes, as in
 * Ansible), created if new, under `parents` (default `all`), for the rest of the run. Registered:
 * `{ add_group, parent_groups, changed }`; the runner applies the effect.
 */
import { defineAction, failure } from '../action.ts';

interface P {
  key?: string;
  parents?: string | string[];
}

export default defineAction<P>({
  name: 'group_by',
  description: 'put the host in a group made from a key, for the rest of the run (no round trip)',
  schema: {
    type: 'object',
    properties: {
      key: { type: 'string', description: 'the group (spaces become dashes)' },
      parents: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
        description: 'parent groups of the group (default: all)',
      },
    },
    additionalProperties: false,
  },
  run(p, ctx) {
    if (p.key === undefined) return failure("the 'key' param is required when using group_by");
    const group = p.key.replace(/ /g, '-');
    const parents = (typeof p.parents === 'string' ? [p.parents] : (p.parents ?? ['all'])).map((n) => n.replace(/ /g, '-'));
    // changed, as Ansible's strategy reports it: the host (or the group under a parent) is new.
    const joined = ctx.run.get('group_by:joined', () => new Set<string>());
    const inventoryGroups = Array.isArray(ctx.vars.group_names) ? (ctx.vars.group_names as string[]) : [];
    const keys = [`${ctx.host}\0${group}`, ...parents.map((x) => `\0${x}\0${group}`)];
    const changed = keys.some((k, i) => !joined.has(k) && !(i === 0 && inventoryGroups.includes(group)));
    for (const k of keys) joined.add(k);
    return {
      changed,
      result: { add_group: group, parent_groups: parents },
      effects: [{ kind: 'group_by', groups: [group], parents }],
    };
  },
});
