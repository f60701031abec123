/**
 * `getent`: a lookup in a name service database (Ansible's getent module, ansible-core 2.14). It
 * runs `getent DATABASE [KEY] [-s SERVICE]` in the host's batched probe (read-only, no extra round
 * trip) and returns `{ ansible_facts: { getent_DATABASE: { first field: [other fields] } } }`: the
 * engine makes those the host's facts (`getent_passwd`, `ansible_facts.getent_passwd`), as it does
 * for the setup module. Lines are split on ':' for passwd, shadow, group and gshadow, on
 * whitespace otherwise (or on `split`); a key seen twice holds a list of records. A missing key
 * fails the task unless `fail_key: false` (then the key maps to null), as in Ansible.
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['database'],
  properties: {
    database: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z0-9_.-]+$',
      description: 'the getent database: passwd, group, shadow, gshadow, hosts, services, protocols, networks, …',
    },
    key: { type: 'string', description: 'the key to look up (a user name, an address, …); all entries when absent' },
    split: {
      type: 'string',
      minLength: 1,
      description: "the field separator; default ':' for passwd, shadow, group and gshadow, whitespace for the others",
    },
    fail_key: {
      type: 'boolean',
      description: 'a key not found fails the task (default true); false: the key is set to null and the task succeeds',
    },
    service: { type: 'string', minLength: 1, description: "the NSS service to use (getent's -s), e.g. files" },
  },
} as const;

export type GetentParams = FromSchema<typeof schema>;

export interface GetentState {
  rc: number;
  out: string;
}

const COLON = ['passwd', 'shadow', 'group', 'gshadow'];
const NOT_FOUND = 'One or more supplied key could not be found in the database.';

/** Python's str.splitlines(). */
const splitlines = (s: string): string[] => {
  const lines = s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

/** Python's str.split(sep) (sep undefined: runs of whitespace, no empty pieces). */
const pySplit = (s: string, sep: string | undefined): string[] => (sep === undefined ? s.split(/\s+/).filter(Boolean) : s.split(sep));

/** getent's output → Ansible's `getent_<database>` dict. */
export function getentFacts(out: string, database: string, split: string | undefined): Record<string, unknown> {
  const sep = split ?? (COLON.includes(database) ? ':' : undefined);
  const tree: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  for (const line of splitlines(out)) {
    const record = pySplit(line, sep);
    // ''.split() is []: Python's record[0] would raise; getent never prints an empty line.
    const key = record[0] ?? '';
    const n = seen.get(key);
    if (n !== undefined) {
      if (n === 1) tree[key] = [tree[key]];
      (tree[key] as unknown[]).push(record.slice(1));
      seen.set(key, n + 1);
    } else {
      tree[key] = record.slice(1);
      seen.set(key, 1);
    }
  }
  return tree;
}

const getent = defineModule<GetentParams, GetentState, { kind: 'none' }>({
  name: 'getent',
  description: "Look up a name service database (Ansible's getent); sets the host's fact getent_<database>. Never changes the host.",
  schema,
  prepare(p) {
    for (const k of ['database', 'key', 'service'] as const) refuseSecretInArgv(k, p[k], 'it is an argument of getent on the host');
  },
  probe(p) {
    const argv = [q(p.database), ...(p.key !== undefined ? [q(p.key)] : []), ...(p.service !== undefined ? ['-s', q(p.service)] : [])];
    return [
      `if ! command -v getent >/dev/null 2>&1; then echo missing=1; exit 0; fi\n`,
      `_kg=$(getent ${argv.join(' ')} 2>/dev/null; echo "rc=$?")\n`,
      `printf 'rc=%s\\n' "\${_kg##*rc=}"; printf 'out_b64='; printf '%s' "\${_kg%rc=*}" | base64 -w0; echo\n`,
    ].join('');
  },
  parse(out, p) {
    const kv = parseKv(out.stdout);
    if (kv.missing === '1') throw new Error('Failed to find required executable "getent" in paths');
    if (kv.rc === undefined) throw new Error(`getent ${p.database}: the probe failed: ${out.stderr.trim() || `exit ${out.code}`}`);
    const rc = Number(kv.rc);
    if (rc === 1) throw new Error('Missing arguments, or database unknown.');
    if (rc === 2 && p.fail_key !== false) throw new Error(NOT_FOUND);
    if (rc === 3) throw new Error('Enumeration not supported on this database.');
    if (rc !== 0 && rc !== 2) throw new Error('Unexpected failure!');
    return { rc, out: fromB64(kv.out_b64) };
  },
  plan: () => [],
  apply: () => '',
  registerData(p, _prep, s) {
    const name = `getent_${p.database}`;
    if (s.rc === 2) return { ansible_facts: { [name]: { [p.key ?? '']: null } }, msg: NOT_FOUND };
    return { ansible_facts: { [name]: getentFacts(s.out, p.database, p.split) } };
  },
});

/**
 * The host variable a task defines (`getent_<database>`), known before it runs when the database
 * is literal: validation and the probe window treat it as registered by this task (later tasks
 * using it are rendered after it ran). A templated database: unknown (null).
 */
export default Object.assign(getent, {
  defines: (params: Record<string, unknown>): string[] | null =>
    typeof params.database === 'string' && /^[A-Za-z0-9_.-]+$/.test(params.database) ? [`getent_${params.database}`] : null,
});
