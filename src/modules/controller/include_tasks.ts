/**
 * include_tasks (ansible.builtin.include_tasks): a dynamic include. The action renders nothing
 * itself: its `include_tasks` effect carries the file (as rendered for this host and item), the
 * include's `vars:` and `apply`, and the runner splices the file's tasks after it on this host.
 */
import { defineAction } from '../action.ts';

interface P {
  file: string;
  apply?: Record<string, unknown>;
}

export default defineAction<P>({
  name: 'include_tasks',
  description: 'include a task file dynamically, on this host, after this task (no round trip)',
  schema: {
    type: 'object',
    properties: {
      file: { type: 'string', minLength: 1, description: 'the task file (also written as `include_tasks: file.yml`)' },
      apply: { type: 'object', description: 'task keywords applied to every included task (tags, become, …)' },
    },
    required: ['file'],
    additionalProperties: false,
  },
  barrier: true,
  run(p, ctx) {
    return {
      changed: false,
      result: { include: p.file, include_args: { ...(p.apply ? { apply: p.apply } : {}) } },
      effects: [{ kind: 'include_tasks', file: p.file, vars: { ...(ctx.taskVars ?? {}) }, ...(p.apply ? { apply: p.apply } : {}) }],
    };
  },
});
