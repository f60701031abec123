/** `template`: a Jinja template (role templates/) rendered on the controller with the host's vars. */
import { contentApply, contentParse, contentPlan, contentProbe, contentSchemaProps, type ContentParams } from './content.ts';
import { defineLegacyModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['src', 'dest'],
  properties: {
    src: { type: 'string', minLength: 1, description: "template in the role's templates/ directory, or relative to the playbook" },
    ...contentSchemaProps,
  },
} as const;

export type TemplateParams = FromSchema<typeof schema> & ContentParams;

export default defineLegacyModule<TemplateParams, ReturnType<typeof contentParse>>({
  name: 'template',
  description: 'Render a Jinja-compatible template and write it atomically, with optional validation.',
  schema,
  prepare: (p, ctx) => ({ ...p, _content: ctx.renderTemplate(p.src), _sensitive: ctx.sensitive }),
  probe: contentProbe,
  parse: contentParse,
  plan: contentPlan,
  apply: (p, s, changes) => contentApply(p, s, changes),
  describe: (p, s) => ({ dest: p.dest, ...s.stat }),
});
