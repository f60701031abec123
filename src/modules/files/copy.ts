/** `copy`: a file from inline `content` or from a `src` file (role files/ or playbook dir). */
import { isSecret } from '../../core/secret/secret.ts';
import { contentApply, contentParse, contentPlan, contentProbe, contentSchemaProps, type ContentParams } from './content.ts';
import { defineLegacyModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['dest'],
  oneOf: [{ required: ['content'] }, { required: ['src'] }],
  properties: {
    content: { description: 'file content (a string; a secret value hides the diff)' },
    src: { type: 'string', minLength: 1, description: "file in the role's files/ directory, or relative to the playbook" },
    ...contentSchemaProps,
  },
} as const;

export type CopyParams = FromSchema<typeof schema> & ContentParams;

export default defineLegacyModule<CopyParams, ReturnType<typeof contentParse>>({
  name: 'copy',
  description: 'Write a file from inline content or a source file, atomically, with optional validation.',
  schema,
  prepare(p, ctx) {
    if (p.src !== undefined) {
      return { ...p, _content: ctx.readFile(p.src).toString('utf8'), _sensitive: ctx.sensitive };
    }
    const c = p.content;
    const sensitive = isSecret(c);
    const text = isSecret(c) ? c.reveal() : typeof c === 'string' ? c : JSON.stringify(c);
    return { ...p, _content: text, _sensitive: sensitive || ctx.sensitive };
  },
  probe: contentProbe,
  parse: contentParse,
  plan: contentPlan,
  apply: (p, s, changes) => contentApply(p, s, changes),
  describe: (p, s) => ({ dest: p.dest, ...s.stat }),
});
