/**
 * Module parameters converted as Ansible's argument spec converts them, after templating and
 * before validation against the module's JSON schema (which is what says which type a parameter
 * has). Templates render to text as in Ansible (`port: "{{ http_port }}"` is the string '80'), so
 * without this every templated number or boolean would fail:
 *
 * - integer: an int-looking string (Python's int(): `' 80 '`, `'1_000'`) → number; an integral float → int
 * - number: a float-looking string → number
 * - boolean: Ansible's boolean conversion (`'yes'`, `'off'`, 1, …)
 * - string: an int, float or boolean → its Python text (`80` → '80', `true` → 'True')
 * - array: a string → split on commas (Ansible's list type), a number → [its text]
 *
 * Only values whose type the schema does not already accept are converted; a value that cannot
 * be converted is left for the schema's error. Also: `omit` removes a parameter (recursively in
 * mappings, as Ansible's remove_omit), and Ansible `path` options refuse `~` and `$VAR`, which
 * Ansible expands on the host and Kiln does not.
 */
import type { JSONSchema } from '../modules/contract.ts';
import { isSecret } from '../core/secret/secret.ts';
import { ansibleBoolean, BooleanError } from '../input/playbook/boolean.ts';
import { plainNumbers } from '../input/yaml/pyyaml-schema.ts';
import { PyFloat, pyStr as pyText } from '../template/jinja/value.ts';

type Types = Set<string>;

function typesOf(s: JSONSchema | undefined): Types {
  const out = new Set<string>();
  if (!s) return out;
  const t = s.type;
  if (typeof t === 'string') out.add(t);
  else if (Array.isArray(t)) for (const x of t) out.add(x as string);
  if (s.enum) for (const e of s.enum) out.add(e === null ? 'null' : typeof e === 'number' ? 'number' : typeof e);
  for (const branch of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) for (const x of typesOf(branch)) out.add(x);
  return out;
}

function accepts(types: Types, v: unknown): boolean {
  if (typeof v === 'string' || isSecret(v)) return types.has('string');
  if (typeof v === 'boolean') return types.has('boolean');
  if (typeof v === 'number') return types.has('number') || (types.has('integer') && Number.isInteger(v));
  if (Array.isArray(v)) return types.has('array');
  if (v === null) return types.has('null');
  if (typeof v === 'object') return types.has('object');
  return false;
}

/** Python's int() of a string: optional sign, digits with single underscores, surrounding whitespace. */
function pyIntText(s: string): number | undefined {
  const t = s.trim();
  return /^[-+]?\d+(_\d+)*$/.test(t) ? Number(t.replace(/_/g, '')) : undefined;
}

function pyFloatText(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (/^[-+]?(inf|infinity|nan)$/.test(t)) return undefined;
  return /^[-+]?((\d+(_\d+)*)?\.?\d+(_\d+)*|\d+(_\d+)*\.)(e[-+]?\d+)?$/.test(t) ? Number(t.replace(/_/g, '')) : undefined;
}

function convert(v: unknown, s: JSONSchema | undefined): unknown {
  if (v instanceof PyFloat) {
    // A float from YAML (1.0): its text for a text option (Python's str: '1.0'), else its number.
    const types = typesOf(s);
    return types.has('string') && !types.has('number') ? pyText(v) : v.value;
  }
  if (!s) return plainNumbers(v);
  const types = typesOf(s);
  if (types.size && !accepts(types, v)) {
    if (types.has('integer') || types.has('number')) {
      if (typeof v === 'string') {
        const n = types.has('integer') ? pyIntText(v) : (pyIntText(v) ?? pyFloatText(v));
        if (n !== undefined) return n;
      }
    }
    if (types.has('boolean') && (typeof v === 'string' || typeof v === 'number')) {
      try {
        return ansibleBoolean(v);
      } catch (err) {
        if (!(err instanceof BooleanError)) throw err;
      }
    }
    if (types.has('string') && (typeof v === 'number' || typeof v === 'boolean')) return pyText(v);
    if (types.has('array') && (typeof v === 'string' || typeof v === 'number')) {
      return typeof v === 'string' ? v.split(',') : [String(v)];
    }
  }
  if (Array.isArray(v)) return v.map((x) => convert(x, s.items && typeof s.items === 'object' ? (s.items as JSONSchema) : undefined));
  if (v && typeof v === 'object' && !Array.isArray(v) && !isSecret(v) && Object.getPrototypeOf(v) === Object.prototype) {
    const props = s.properties ?? {};
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x, props[k] ?? extra)]));
  }
  return v;
}

/** The parameters converted to the types of the module's schema, as Ansible's argspec would. */
export function convertParams(schema: JSONSchema, params: Record<string, unknown>): Record<string, unknown> {
  return convert(params, schema) as Record<string, unknown>;
}

/** Ansible's remove_omit: parameters (and keys of mappings inside them, also in lists) equal to the placeholder are dropped. */
export function removeOmit<T>(v: T, omit: string): T {
  if (!v || typeof v !== 'object' || Array.isArray(v) || isSecret(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === omit) continue;
    if (Array.isArray(x)) out[k] = x.map((e) => removeOmit(e, omit));
    else out[k] = removeOmit(x, omit);
  }
  return out as T;
}

/** Does a value of an Ansible `path` option rely on expansion Ansible does on the host (`~`, `$VAR`)? */
export function needsPathExpansion(v: unknown): boolean {
  return typeof v === 'string' && (v.startsWith('~') || /\$(\{?[A-Za-z_])/.test(v));
}
