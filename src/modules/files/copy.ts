/**
 * `copy`: a file from inline `content` or from a `src` file (role files/ or playbook dir), or,
 * with `remote_src: true`, from a file already on the host (remote_src.ts).
 *
 * `prepare` resolves the bytes on the controller into `ContentPrep` (a secret value, or a
 * sensitive task, hides the diff); probe, plan and apply are content.ts's (remote_src.ts's for a
 * source on the host: its checksum decides the change).
 */
import { isSecret } from '../../core/secret/secret.ts';
import { isVaultText } from '../../core/secret/vault.ts';
import {
  contentApply,
  contentFootprint,
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
import { pathResource } from '../resources.ts';
import { remoteApply, type RemoteOp, remoteParse, remotePlan, remoteProbe, type RemoteState } from './remote_src.ts';

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
      description:
        "file in the role's files/ directory, or relative to the playbook; copied byte for byte (binary files too); with remote_src: the absolute path of a file on the host",
    },
    remote_src: {
      type: 'boolean',
      description:
        'src is a file on the host (not on the controller): copied to dest when their checksums differ; a directory src is not supported',
    },
    ...contentSchemaProps,
  },
} as const;

export type CopyParams = FromSchema<typeof schema>;

/** A source on the controller (its bytes) or on the host (remote_src). */
type CopyPrep = ContentPrep | { remote: true };
type CopyState = (ContentState & { kind?: undefined }) | RemoteState;
type CopyOp = ContentOp | RemoteOp;

const isRemote = (prep: CopyPrep): prep is { remote: true } => 'remote' in prep;

export default defineModule<CopyParams, CopyState, CopyOp, CopyPrep>({
  name: 'copy',
  description: 'Write a file from inline content or a source file, atomically, with optional validation.',
  schema,
  prepare(p, ctx) {
    refuseSecretValidate(p);
    if (p.remote_src) {
      if (p.src === undefined) throw new Error('remote_src needs src (the path of the file on the host)');
      if (!p.src.startsWith('/')) throw new Error(`remote_src: src must be an absolute path on the host, got ${JSON.stringify(p.src)}`);
      return { remote: true };
    }
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
  probe: (p, prep, ctx) => (isRemote(prep) ? remoteProbe(p, ctx) : contentProbe(p, prep, ctx)),
  footprint: (p, prep) => contentFootprint(p, isRemote(prep) && p.src ? [pathResource(p.src, true)] : []),
  parse: (out, p, prep) => (isRemote(prep) ? remoteParse(out, p) : contentParse(out)),
  plan(p, prep, s, ctx) {
    if (s.kind === 'remote') return remotePlan(p, s, ctx);
    if (isRemote(prep)) throw new Error('copy: a probe of the wrong kind');
    return contentPlan(p, prep, s, ctx);
  },
  apply(p, prep, s, ops) {
    if (s.kind === 'remote')
      return remoteApply(
        p,
        s,
        ops.filter((o): o is RemoteOp => o.kind !== 'write'),
      );
    if (isRemote(prep)) throw new Error('copy: a probe of the wrong kind');
    return contentApply(
      p,
      prep,
      ops.filter((o): o is ContentOp => o.kind !== 'copy'),
    );
  },
  registerAfterApply: true,
  registerData: (p, _prep, s) =>
    s.kind === 'remote' ? { dest: s.dest, src: p.src, ...s.stat, checksum_sha256: s.src.sha256 ?? null } : contentRegisterData(p, s),
});
