/**
 * `stat`: what a path is (Ansible's stat module, ansible-core 2.14). Read-only: its probe rides in
 * the host's batched probe script, its plan is always empty, it runs under `--check`, and
 * `register` sees Ansible's result shape, `{ stat: { exists, path, mode: '0644', isreg, … } }`
 * (statinfo.ts builds it), so `when: x.stat.exists` reads the same as in Ansible.
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { parseKv } from '../../sh/kv.ts';
import { defineModule, type FromSchema } from '../contract.ts';
import { expandPath, PATH_PATTERN } from './remote-path.ts';
import { CHECKSUM_ALGORITHMS, KILN_STATX, type StatOptions, statResult } from './statinfo.ts';
import { fromB64 } from '../../sh/bytes.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: {
      type: 'string',
      minLength: 1,
      pattern: PATH_PATTERN,
      description: "the path to inspect on the host (~ is the connecting user's home; Ansible aliases: dest, name)",
    },
    follow: { type: 'boolean', description: 'report on the target of a symlink rather than the link itself (default false)' },
    get_checksum: {
      type: 'boolean',
      description: "add the file's checksum (`checksum`) when the path is a regular file the connecting user can read (default true)",
    },
    checksum_algorithm: {
      enum: [...CHECKSUM_ALGORITHMS],
      description:
        'the checksum algorithm: md5, sha1 (default), sha224, sha256, sha384 or sha512 (Ansible aliases: checksum, checksum_algo)',
    },
    get_mime: {
      type: 'boolean',
      description:
        "add `mimetype` and `charset` from `file --mime-type --mime-encoding` ('unknown' when file is not installed) (default true)",
    },
    get_attributes: {
      type: 'boolean',
      description: "add `version`, `attributes` and `attr_flags` from `lsattr -vd` (null, [] and '' without lsattr) (default true)",
    },
  },
} as const;

export type StatParams = FromSchema<typeof schema>;

export const statOptions = (p: StatParams): StatOptions => ({
  follow: p.follow ?? false,
  checksum: p.get_checksum === false ? undefined : (p.checksum_algorithm ?? 'sha1'),
  mime: p.get_mime ?? true,
  attributes: p.get_attributes ?? true,
});

export default defineModule<StatParams, Record<string, unknown>, { kind: 'none' }>({
  name: 'stat',
  description: "Report what a path is (Ansible's stat: exists, mode, owner, size, checksum, …) for register. Never changes the host.",
  schema,
  prepare(p) {
    refuseSecretInArgv('path', p.path, 'it is an argument of the programs that read it on the host');
  },
  probe(p) {
    const o = statOptions(p);
    const flag = (b: boolean) => (b ? '1' : '0');
    return [
      KILN_STATX,
      expandPath('_kp', p.path),
      `printf 'path_b64='; printf '%s' "$_kp" | base64 -w0; echo\n`,
      `kiln_statx "$_kp" ${flag(o.follow)} ${o.checksum ?? '-'} ${flag(o.mime)} ${flag(o.attributes)}\n`,
    ].join('');
  },
  parse(out, p) {
    const kv = parseKv(out.stdout);
    if (out.code !== 0 && kv.exists === undefined && kv.error_b64 === undefined)
      throw new Error(`stat ${p.path}: the probe failed: ${out.stderr.trim() || `exit ${out.code}`}`);
    return statResult(kv, fromB64(kv.path_b64) || p.path, statOptions(p));
  },
  plan: () => [],
  apply: () => '',
  registerData: (_p, _prep, stat) => ({ stat }),
});
