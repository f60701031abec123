/**
 * `template`: a Jinja template (role templates/) rendered on the controller with the host's vars.
 *
 * `prepare` renders it into `ContentPrep` (a sensitive task hides the diff); probe, plan and
 * apply are content.ts's.
 */
import {
  contentApply,
  type ContentOp,
  contentParse,
  contentPlan,
  type ContentPrep,
  contentFootprint,
  contentProbe,
  contentRegisterData,
  contentSchemaProps,
  type ContentState,
  refuseSecretValidate,
} from './content.ts';
import { defineModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['src', 'dest'],
  properties: {
    src: { type: 'string', minLength: 1, description: "template in the role's templates/ directory, or relative to the playbook" },
    ...contentSchemaProps,
  },
} as const;

export type TemplateParams = FromSchema<typeof schema>;

export default defineModule<TemplateParams, ContentState, ContentOp, ContentPrep>({
  name: 'template',
  description:
    'Render a Jinja-compatible template and write it atomically, with optional validation. A new file whose rendering read a secret is created 0600 when no mode is given.',
  schema,
  prepare: (p, ctx) => {
    refuseSecretValidate(p);
    return { content: ctx.renderTemplate(p.src), sensitive: ctx.sensitive };
  },
  probe: contentProbe,
  footprint: (p) => contentFootprint(p),
  parse: contentParse,
  plan: contentPlan,
  apply: (p, prep, _s, ops) => contentApply(p, prep, ops),
  registerAfterApply: true,
  registerData: (p, _prep, s) => contentRegisterData(p, s),
});
