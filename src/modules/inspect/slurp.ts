/**
 * `slurp`: a file's content from the host, base64-encoded (Ansible's slurp module, ansible-core
 * 2.14): `{ content, source, encoding: 'base64' }` for `register` (`x.content | b64decode`). Read-
 * only: the file travels in the host's batched probe (no extra round trip) and the task runs
 * under `--check`. The content is data from the host: Kiln never prints it (it is only in the
 * registered value).
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { parseKv } from '../../sh/kv.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { defineModule, type FromSchema } from '../contract.ts';
import { expandPath, PATH_PATTERN } from './remote-path.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['src'],
  properties: {
    src: {
      type: 'string',
      minLength: 1,
      pattern: PATH_PATTERN,
      description: "the file to read on the host (~ is the connecting user's home; Ansible alias: path)",
    },
  },
} as const;

export type SlurpParams = FromSchema<typeof schema>;

export interface SlurpState {
  source: string;
  content: string;
}

export default defineModule<SlurpParams, SlurpState, { kind: 'none' }>({
  name: 'slurp',
  description: "Read a file from the host, base64-encoded (Ansible's slurp) for register. Never changes the host.",
  schema,
  prepare(p) {
    refuseSecretInArgv('src', p.src, 'it is an argument of the programs that read it on the host');
  },
  probe: (p) =>
    [
      expandPath('_kp', p.src),
      `printf 'source_b64='; printf '%s' "$_kp" | base64 -w0; echo\n`,
      `if [ -d "$_kp" ]; then echo error=isdir\n`,
      `elif [ ! -e "$_kp" ]; then echo error=missing\n`,
      `elif [ ! -r "$_kp" ]; then echo error=unreadable\n`,
      `elif _kc=$(base64 -w0 < "$_kp" 2>&1); then echo "content=$_kc"\n`,
      `else printf 'error_b64='; printf '%s' "$_kc" | base64 -w0; echo; fi\n`,
    ].join(''),
  parse(out, p) {
    const kv = parseKv(out.stdout);
    const source = fromB64(kv.source_b64) || p.src;
    if (kv.error === 'missing') throw new Error(`file not found: ${source}`);
    if (kv.error === 'unreadable') throw new Error(`file is not readable: ${source}`);
    if (kv.error === 'isdir') throw new Error(`source is a directory and must be a file: ${source}`);
    if (kv.error_b64 !== undefined) throw new Error(`unable to slurp file: ${fromB64(kv.error_b64).trim()}`);
    if (kv.content === undefined) throw new Error(`slurp ${source}: the probe failed: ${out.stderr.trim() || `exit ${out.code}`}`);
    return { source, content: kv.content };
  },
  plan: () => [],
  apply: () => '',
  registerData: (_p, _prep, s) => ({ content: s.content, source: s.source, encoding: 'base64' }),
});
