/**
 * include (ansible.builtin.include, deprecated in Ansible): as include_tasks in a task list; its
 * other `key=value` arguments are variables of the included tasks (with the task's `vars:`).
 */
import { defineAction } from '../action.ts';

export default defineAction<Record<string, unknown> & { file: string }>({
  name: 'include',
  description: "include a task file dynamically (Ansible's deprecated form of include_tasks; no round trip)",
  schema: {
    type: 'object',
    properties: {
      file: { type: 'string', minLength: 1, description: 'the task file (written as `include: file.yml a=1`)' },
    },
    required: ['file'],
    additionalProperties: true,
  },
  barrier: true,
  run(p, ctx) {
    const { file, ...vars } = p;
    return {
      changed: false,
      result: { include: file, include_args: vars },
      effects: [{ kind: 'include_tasks', file, vars: { ...(ctx.taskVars ?? {}), ...vars } }],
    };
  },
});
