/**
 * `copy`: a file from inline `content` or from a `src` file (role files/ or playbook dir).
 *
 * `prepare` resolves the bytes on the controller into `ContentPrep` (a secret value, or a
 * sensitive task, hides the diff); probe, plan and apply are content.ts's.
 */
import { isSecret } from '../../core/secret/secret.ts';
import { isVaultText } from '../../core/secret/vault.ts';
import {
  contentApply,
  type ContentOp,
  contentParse,
  contentPlan,
  type ContentPrep,
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
  required: ['dest'],
  oneOf: [{ required: ['content'] }, { required: ['src'] }],
  properties: {
    content: {
      description:
        'file content (a string); content derived from a secret hides the diff, and a new file holding it is created 0600 when no mode is given',
    },
    src: {
      type: 'string',
      minLength: 1,
      description: "file in the role's files/ directory, or relative to the playbook; copied byte for byte (binary files too)",
    },
    ...contentSchemaProps,
  },
} as const;

export type CopyParams = FromSchema<typeof schema>;

export default defineModule<CopyParams, ContentState, ContentOp, ContentPrep>({
  name: 'copy',
  description: 'Write a file from inline content or a source file, atomically, with optional validation.',
  schema,
  prepare(p, ctx) {
    refuseSecretValidate(p);
    // The file's bytes as they are (a binary file arrives byte-identical); `content:` is text.
    if (p.src !== undefined) {
      const bytes = ctx.readFile(p.src);
      // Ansible's copy decrypts a vault-encrypted src (decrypt: yes); Kiln would copy the ciphertext.
      if (isVaultText(bytes.subarray(0, 64).toString('latin1')))
        throw new Error(
          `src ${p.src} is vault-encrypted: Ansible's copy would decrypt it, Kiln does not; put the secret in a vault vars file and use content: "{{ var }}"`,
        );
      return { content: bytes, sensitive: ctx.sensitive };
    }
    const c = p.content;
    const text = isSecret(c) ? c.reveal() : typeof c === 'string' ? c : JSON.stringify(c);
    return { content: text, sensitive: isSecret(c) || ctx.sensitive };
  },
  probe: contentProbe,
  parse: contentParse,
  plan: contentPlan,
  apply: (p, prep, _s, ops) => contentApply(p, prep, ops),
  registerData: (p, _prep, s) => contentRegisterData(p, s),
});
