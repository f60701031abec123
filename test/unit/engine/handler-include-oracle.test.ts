/**
 * include_tasks as a handler against ansible-playbook 2.14's own results:
 * test/fixtures/ansible/handler-include/ (generate.sh, local connection, hosts h1, h2). Notified,
 * the include runs its file's tasks as handlers right after it, before the later handlers;
 * `listen` and `vars` work on it; its tasks notify later handlers; at a flush_handlers and again
 * at the end of the play; a failure in the included tasks fails that host only. Kiln runs the
 * same playbooks over the local transport and must write the same files and fail where Ansible
 * failed (Ansible exit 2 = Kiln exit 4).
 */
import { join } from 'node:path';
import { describeFilesOracle } from '../../helpers/ansible-oracle.ts';

describeFilesOracle(
  'include_tasks as a handler: Kiln writes what ansible-playbook 2.14 wrote',
  join(import.meta.dirname, '../../fixtures/ansible/handler-include'),
  2,
);
