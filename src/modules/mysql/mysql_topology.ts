/**
 * `mysql_topology` (Kiln's own module): the database tier's topology record on one server — which
 * server is the writer, and the promotion epoch that made it so (a fencing token: every
 * switchover or failover writes epoch + 1 on every server it reaches; the highest epoch found on
 * the servers wins, so a returning old primary, whose record is older, never wins again).
 *
 * The record is a small file (`path`, default /var/lib/kiln/mysql-topology): `epoch=N` and
 * `primary=<inventory name>` lines, written atomically (temp file in the same directory, renamed).
 *
 * Without `epoch`/`primary`: read the record (never changes anything; `present: false` when the
 * server has none — a fresh site). With both: converge the record to them —
 * - absent, or an older epoch: write it;
 * - the same epoch and primary: nothing;
 * - a higher epoch, or the same epoch naming another primary: the task fails (a later promotion
 *   happened, or two promotions disagree): a lower epoch never overwrites a higher one.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { parseLines } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', pattern: '^/[A-Za-z0-9_./-]+$', description: 'the record file (default /var/lib/kiln/mysql-topology)' },
    epoch: { type: 'integer', minimum: 1, description: 'the promotion epoch to record (with primary)' },
    primary: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9_.-]+$',
      description: 'the writer (its inventory name) to record (with epoch)',
    },
  },
} as const;

export type MysqlTopologyParams = FromSchema<typeof schema>;
export type MysqlTopologyOp = { kind: 'write' };

export interface MysqlTopologyState {
  present: boolean;
  epoch?: number;
  primary?: string;
}

export const DEFAULT_TOPOLOGY_PATH = '/var/lib/kiln/mysql-topology';
const pathOf = (p: MysqlTopologyParams) => p.path ?? DEFAULT_TOPOLOGY_PATH;

export function recordText(epoch: number, primary: string): string {
  return `# Managed by Kiln (mysql_topology): the database writer and the promotion epoch that chose it.\nepoch=${epoch}\nprimary=${primary}\n`;
}

export function mysqlTopologyParse(stdout: string): MysqlTopologyState {
  const { kv } = parseLines(stdout);
  if (kv.topology_present !== '1') return { present: false };
  const epoch = Number(kv.epoch);
  if (!Number.isInteger(epoch) || epoch < 1 || !kv.primary)
    throw new Error('the topology record is unreadable (no epoch= or primary= line)');
  return { present: true, epoch, primary: kv.primary };
}

export function mysqlTopologyPlan(p: MysqlTopologyParams, s: MysqlTopologyState): Planned<MysqlTopologyOp>[] {
  if ((p.epoch === undefined) !== (p.primary === undefined)) throw new Error('epoch and primary go together (or neither: read the record)');
  if (p.epoch === undefined || p.primary === undefined) return [];
  if (s.present && s.epoch! > p.epoch)
    throw new Error(
      `this server's topology record has epoch ${s.epoch} (primary ${s.primary}), later than ${p.epoch} (primary ${p.primary}): a later promotion happened; a lower epoch never overwrites a higher one`,
    );
  if (s.present && s.epoch === p.epoch && s.primary !== p.primary)
    throw new Error(
      `two promotions disagree at epoch ${p.epoch}: this server records ${s.primary}, this run ${p.primary} (split brain?); fix the records by hand`,
    );
  if (s.present && s.epoch === p.epoch) return [];
  return [
    {
      summary: s.present
        ? `topology record: epoch ${s.epoch} → ${p.epoch}, primary ${s.primary} → ${p.primary}`
        : `topology record: epoch ${p.epoch}, primary ${p.primary} (none before)`,
      op: { kind: 'write' },
    },
  ];
}

export default defineModule<MysqlTopologyParams, MysqlTopologyState, MysqlTopologyOp>({
  name: 'mysql_topology',
  description:
    "The database tier's topology record on a server (Kiln's own module): the writer and its promotion epoch (a fencing token: the highest epoch wins). Reads it, or converges it to epoch/primary, never lowering an epoch.",
  schema,
  probe: (p) =>
    `if [ -f ${q(pathOf(p))} ]; then echo topology_present=1; grep -E '^(epoch|primary)=' ${q(pathOf(p))}; else echo topology_present=0; fi`,
  parse: (out) => mysqlTopologyParse(out.stdout),
  plan: (p, _prep, s) => mysqlTopologyPlan(p, s),
  apply: (p, _prep, _s, ops) =>
    ops.some((o) => o.kind === 'write')
      ? [
          'set -e',
          ...atomicWrite({
            dest: pathOf(p),
            bytes: recordText(p.epoch!, p.primary!),
            parent: 'create',
            attrs: { owner: 'root', group: 'root', mode: '0644' },
          }),
        ].join('\n')
      : 'true',
  registerAfterApply: true,
  registerData: (_p, _prep, s) => ({ present: s.present, epoch: s.epoch ?? 0, primary: s.primary ?? null }),
});
