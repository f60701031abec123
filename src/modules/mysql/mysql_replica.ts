/**
 * `mysql_replica`: Kiln's declarative replica — converge this server into a running GTID replica
 * of `primary_host` (CHANGE MASTER with GTID, START SLAVE, an optional seed of databases) and
 * verify that it replicates. It is mysql_replication's implementation without `mode`.
 *
 * It has a name of its own because Ansible's `mysql_replication` without `mode` means
 * `getreplica` (read the replica status, change nothing): a task written with Ansible's name
 * means what it means in Ansible (ansible/mapping.ts `adjustAnsibleArgs` gives it that mode), and
 * converging a replica is asked for by this name.
 */
import mysqlReplication, { schema as replicationSchema } from './mysql_replication.ts';
import type { BoundModule } from '../contract.ts';

const { mode: _mode, ...properties } = replicationSchema.properties;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['primary_host', 'primary_user', 'primary_password'],
  properties,
} as const;

const mysqlReplica: BoundModule = {
  name: 'mysql_replica',
  description:
    "Converge this server into a running GTID replica of primary_host and verify it replicates (Kiln's declarative replica; Ansible's mysql_replication without mode only reads the status).",
  schema,
  bind: (params, ctx) => mysqlReplication.bind(params, ctx),
};

export default mysqlReplica;
