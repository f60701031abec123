/**
 * `group`: a local group (getent group; groupadd / groupmod / groupdel).
 *
 * One op at most per plan: create, change the gid, or remove. `system` only matters on creation.
 */
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z_][a-z0-9_.-]*\\$?$', maxLength: 32, description: 'group name' },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent' },
    gid: { type: 'integer', minimum: 0, description: 'numeric group id (changed with groupmod -g when different)' },
    system: { type: 'boolean', description: 'create as a system group (gid from the system range); has no effect on an existing group' },
  },
} as const;

export type GroupParams = FromSchema<typeof schema>;

export interface GroupState {
  exists: boolean;
  gid?: number;
  members?: string[];
}

export function parseGroupLine(line: string): GroupState {
  const f = line.trim().split(':');
  if (f.length < 3 || !f[0]) return { exists: false };
  return { exists: true, gid: Number(f[2]), members: f[3] ? f[3].split(',').filter(Boolean) : [] };
}

export type GroupOp = { kind: 'create' } | { kind: 'set-gid'; gid: number } | { kind: 'remove' };

export default defineModule<GroupParams, GroupState, GroupOp>({
  name: 'group',
  description: 'Create, change the gid of, or remove a local group.',
  schema,
  probe: (p) => `getent group -- ${q(p.name)} </dev/null || true`,
  parse: (out: ExecResult) => parseGroupLine(out.stdout.split('\n')[0] ?? ''),
  plan(p, _prep, s): Planned<GroupOp>[] {
    if ((p.state ?? 'present') === 'absent')
      return s.exists ? [{ summary: `remove group ${p.name} (gid ${s.gid})`, op: { kind: 'remove' } }] : [];
    if (!s.exists) {
      const how = [p.gid !== undefined ? `gid ${p.gid}` : '', p.system ? 'system' : ''].filter(Boolean).join(', ');
      return [{ summary: `create group ${p.name}${how ? ` (${how})` : ''}`, op: { kind: 'create' } }];
    }
    if (p.gid !== undefined && p.gid !== s.gid)
      return [{ summary: `gid of group ${p.name}: ${s.gid} → ${p.gid}`, op: { kind: 'set-gid', gid: p.gid } }];
    return [];
  },
  apply(p, _prep, _s, ops) {
    const n = q(p.name);
    const lines = ['set -e'];
    for (const op of ops) {
      switch (op.kind) {
        case 'remove':
          lines.push(`groupdel -- ${n}`);
          break;
        case 'create':
          lines.push(`groupadd${p.gid !== undefined ? ` -g ${p.gid}` : ''}${p.system ? ' -r' : ''} -- ${n}`);
          break;
        case 'set-gid':
          lines.push(`groupmod -g ${op.gid} -- ${n}`);
          break;
      }
    }
    return lines.join('\n');
  },
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ name: p.name, exists: s.exists, gid: s.gid ?? null, members: s.members ?? [] }),
});
