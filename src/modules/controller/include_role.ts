/**
 * include_role (ansible.builtin.include_role): a dynamic role include. The action renders nothing
 * itself: its `include_role` effect carries the role and its *_from files, `public`,
 * `allow_duplicates`, the include's `vars:` and `apply`; the runner splices the role's tasks (and
 * handlers) after it on this host.
 */
import { defineAction } from '../action.ts';

interface P {
  name: string;
  tasks_from?: string;
  vars_from?: string;
  defaults_from?: string;
  handlers_from?: string;
  public?: boolean;
  allow_duplicates?: boolean;
  apply?: Record<string, unknown>;
}

export default defineAction<P>({
  name: 'include_role',
  description: 'include a role dynamically, on this host, after this task (no round trip)',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, description: 'the role' },
      tasks_from: { type: 'string', description: "the file of the role's tasks/ to run (default main)" },
      vars_from: { type: 'string', description: "the file of the role's vars/ to load (default main)" },
      defaults_from: { type: 'string', description: "the file of the role's defaults/ to load (default main)" },
      handlers_from: { type: 'string', description: "the file of the role's handlers/ to load (default main)" },
      public: { type: 'boolean', description: "the role's vars and defaults stay visible to the play's later tasks" },
      allow_duplicates: { type: 'boolean', description: 'run the role again when it already ran with the same parameters (default true)' },
      apply: { type: 'object', description: "task keywords applied to every one of the role's tasks (tags, become, …)" },
    },
    required: ['name'],
    additionalProperties: false,
  },
  barrier: true,
  run(p, ctx) {
    return {
      changed: false,
      result: {},
      effects: [
        {
          kind: 'include_role',
          name: p.name,
          ...(p.tasks_from !== undefined ? { tasksFrom: p.tasks_from } : {}),
          ...(p.vars_from !== undefined ? { varsFrom: p.vars_from } : {}),
          ...(p.defaults_from !== undefined ? { defaultsFrom: p.defaults_from } : {}),
          ...(p.handlers_from !== undefined ? { handlersFrom: p.handlers_from } : {}),
          public: p.public ?? false,
          allowDuplicates: p.allow_duplicates ?? true,
          vars: { ...(ctx.taskVars ?? {}) },
          ...(p.apply ? { apply: p.apply } : {}),
        },
      ],
    };
  },
});
