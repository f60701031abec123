/**
 * run_once, any_errors_fatal, order and environment against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/where-and-when/ holds the playbooks and, in expected/, what Ansible wrote
 * running each (generate.sh, local connection, hosts h3, h1, h2 in that inventory order). Kiln runs
 * the same playbooks here over the local transport (the hosts are this machine) and must write the
 * same files with the same contents, and fail where Ansible failed (Ansible exit 2 = Kiln exit 4).
 */
import { join } from 'node:path';
import { describeFilesOracle } from '../../helpers/ansible-oracle.ts';

describeFilesOracle(
  'where and when: Kiln writes what ansible-playbook 2.14 wrote',
  join(import.meta.dirname, '../../fixtures/ansible/where-and-when'),
  8,
);
