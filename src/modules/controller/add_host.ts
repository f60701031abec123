/**
 * add_host (ansible.builtin.add_host): a host (with groups and variables) added to the run's
 * in-memory inventory for the rest of the run. As Ansible 2.14's action plugin: the name is
 * `name`, else `hostname`, else `host` (a `host:port` gives `ansible_ssh_port`); the groups
 * `groupname`, else `groups`, else `group` (a list, or text split at commas); every other key
 * (`host` and `group` included, as in Ansible) is a host variable. Registered:
 * `{ add_host: { host_name, groups, host_vars }, changed }`; the runner applies the effect.
 */
import { ActionError, defineAction } from '../action.ts';
import { isSecret } from '../../core/secret/secret.ts';

const SPECIAL = new Set(['name', 'hostname', 'groupname', 'groups']);

/** Ansible's parse_address for `name:port` and `[v6]:port` (no ranges); anything else is the name. */
export function splitPort(s: string): { name: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { name: v6[1]!, port: v6[2] ? Number(v6[2]) : undefined };
  const m = /^([^:\s]+):(\d+)$/.exec(s);
  if (m) return { name: m[1]!, port: Number(m[2]) };
  return { name: s };
}

export default defineAction<Record<string, unknown>>({
  name: 'add_host',
  description: "add a host (with groups and variables) to the run's in-memory inventory (no round trip)",
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'the host (`host:port` sets its ansible_ssh_port); aliases hostname, host' },
      hostname: { type: 'string', description: 'the host, when name is not given' },
      groups: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
        description: 'groups to put it in (a list, or comma-separated); aliases groupname, group',
      },
      groupname: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'groups (wins over groups)' },
    },
    additionalProperties: true,
  },
  bypassHostLoop: true,
  run(p, ctx) {
    const rawName = p.name ?? p.hostname ?? p.host;
    if (rawName === undefined || rawName === null) throw new ActionError('name, host or hostname needs to be provided');
    const { name, port } = splitPort(isSecret(rawName) ? rawName.reveal() : String(rawName));
    const vars: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) if (!SPECIAL.has(k)) vars[k] = v;
    if (port) vars.ansible_ssh_port = port;
    const g = p.groupname ?? p.groups ?? p.group ?? '';
    let list: string[];
    if (Array.isArray(g)) list = g.map(String);
    else if (typeof g === 'string') list = g ? g.split(',') : [];
    else throw new ActionError('Groups must be specified as a list.');
    const groups: string[] = [];
    for (const x of list) if (!groups.includes(x)) groups.push(x.trim());
    // changed, as Ansible's strategy reports it: a host or group membership new in this run.
    // (Hosts of the inventory file are not known here: adding one of them counts as new.)
    const known = ctx.run.get('add_host:known', () => new Map<string, { groups: Set<string>; vars: Record<string, string> }>());
    const had = known.get(name) ?? { groups: new Set<string>(), vars: {} };
    const json = (v: unknown) => JSON.stringify(isSecret(v) ? v.reveal() : v) ?? 'undefined';
    const changed =
      !known.has(name) || groups.some((x) => !had.groups.has(x)) || Object.entries(vars).some(([k, v]) => had.vars[k] !== json(v));
    for (const x of groups) had.groups.add(x);
    for (const [k, v] of Object.entries(vars)) had.vars[k] = json(v);
    known.set(name, had);
    return {
      changed,
      result: { add_host: { host_name: name, groups, host_vars: vars } },
      effects: [{ kind: 'add_host', name, groups, vars }],
    };
  },
});
