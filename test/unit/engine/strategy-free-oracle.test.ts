/**
 * strategy: free (and host_pinned) against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/strategy-free/ holds the playbooks and, in expected/, what Ansible wrote
 * running each (generate.sh, local connection, hosts h1, h2, h3). A shared log shows h2 going
 * through all its tasks and handlers while h1 sleeps in its first task; end_play under free ends
 * every host after its current task; includes, failures and rescues stay per host. Kiln runs the
 * same playbooks over the local transport and must write the same files and fail where Ansible
 * failed (Ansible exit 2 = Kiln exit 4).
 */
import { join } from 'node:path';
import { describeFilesOracle } from '../../helpers/ansible-oracle.ts';

describeFilesOracle(
  'strategy free: Kiln writes what ansible-playbook 2.14 wrote',
  join(import.meta.dirname, '../../fixtures/ansible/strategy-free'),
  3,
);
