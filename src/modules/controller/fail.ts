/** fail (ansible.builtin.fail): fails the task with `msg` (Ansible's default: "Failed as requested from task"). */
import { defineAction, failure } from '../action.ts';
import { showValue } from './show.ts';

export default defineAction<{ msg?: unknown }>({
  name: 'fail',
  description: 'fail the task with a message, on the controller (no round trip)',
  schema: {
    type: 'object',
    properties: { msg: { description: 'the failure message (any value; default "Failed as requested from task")' } },
    additionalProperties: false,
  },
  run(p) {
    const msg = p.msg === undefined ? 'Failed as requested from task' : p.msg;
    return failure(showValue(msg), { msg });
  },
});
