/** ajv validation of module params and role variables, with errors mapped to YAML paths. */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { compile as compilePyRe } from '../template/filters/pyre.ts';
import addFormatsModule from 'ajv-formats';
import type { BoundModule } from '../modules/contract.ts';
import { Secret } from '../core/secret/secret.ts';

const addFormats = addFormatsModule.default;

/** An ajv with the engine's options: strict, every error, formats, Kiln's `x-secret` annotation. */
export function newAjv(): Ajv {
  const a = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(a);
  // `'x-secret': true` marks a secret property (modules/schema-types.ts): the engine makes its
  // value a Secret; for ajv it is an annotation.
  a.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  // `'x-expression': true`: the value is a Jinja2 expression (or a list of them) the action
  // evaluates itself (debug's `var`, assert's `that`): its names count as used by the task.
  a.addKeyword({ keyword: 'x-expression', schemaType: 'boolean' });
  // `'x-python-re': true`: the value is a Python regular expression (lineinfile's regexp); one
  // Python's re would refuse is refused here, before any host is contacted.
  const pythonRe: ((on: boolean, data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] } = (on, data) => {
    if (!on || typeof data !== 'string' || data === '********') return true;
    try {
      compilePyRe(data);
      return true;
    } catch (err) {
      pythonRe.errors = [
        { keyword: 'x-python-re', message: `is not a valid Python regular expression: ${(err as Error).message}`, params: {} },
      ];
      return false;
    }
  };
  a.addKeyword({ keyword: 'x-python-re', schemaType: 'boolean', type: 'string', errors: true, validate: pythonRe });
  return a;
}

export const ajv = newAjv();

const compiled = new WeakMap<object, ValidateFunction>();

export function validatorFor(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

export interface SchemaError {
  /** Path inside the validated value. */
  path: (string | number)[];
  /** Point at the key (unknown property) rather than the value. */
  key: boolean;
  message: string;
}

/** Secrets validate as the strings they hold (an error message that quotes one is redacted on output). */
function forValidation(v: unknown): unknown {
  if (v instanceof Secret) return v.reveal();
  if (Array.isArray(v)) return v.map(forValidation);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, forValidation(x)]));
  return v;
}

export function validateAgainst(schema: object, value: unknown, what: string): SchemaError[] {
  const validate = validatorFor(schema);
  if (validate(forValidation(value))) return [];
  return describeErrors(validate.errors ?? [], schema, what);
}

export function schemaErrors(module: BoundModule, params: unknown): SchemaError[] {
  return validateAgainst(module.schema, params, 'parameter');
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describeErrors(errors: ErrorObject[], schema: object, what: string): SchemaError[] {
  const out: SchemaError[] = [];
  const seen = new Set<string>();
  // oneOf/anyOf report every branch's failure; keep the summary and drop branch noise.
  const hasOneOf = errors.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  for (const e of errors) {
    if (hasOneOf && e.schemaPath.includes('/oneOf/') && e.keyword === 'required') continue;
    const path = pathOf(e.instancePath);
    let key = false;
    let message: string;
    const name = path.length ? `${what} '${path.join('.')}'` : what === 'parameter' ? 'parameters' : what;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        path.push(prop);
        key = true;
        const props = Object.keys(propsAt(schema, path.slice(0, -1)) ?? {});
        message = `unknown ${what} '${path.join('.')}'${props.length ? ` (expected one of: ${props.join(', ')})` : ''}`;
        break;
      }
      case 'required':
        message = `missing required ${what} '${[...path, (e.params as { missingProperty: string }).missingProperty].join('.')}'`;
        break;
      case 'enum':
        message = `${name} must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((x) => JSON.stringify(x)).join(', ')}`;
        break;
      case 'oneOf': {
        const branches = ((e.parentSchema as { oneOf?: { required?: string[] }[] })?.oneOf ?? [])
          .map((b) => b.required?.join('+'))
          .filter(Boolean);
        message = branches.length ? `${name}: give exactly one of ${branches.join(' or ')}` : `${name} ${e.message}`;
        break;
      }
      case 'pattern':
      case 'minimum':
      case 'maximum': {
        // A module parameter: what the value should look like, from its one-line description (a mode: 'octal mode, e.g. "0644"…').
        const d = (schemaAt(schema, e.schemaPath.split('/').slice(1, -1)) as { description?: unknown } | undefined)?.description;
        message = `${name} ${e.message}${what === 'parameter' && typeof d === 'string' && !d.includes('\n') ? ` (${d})` : ''}`;
        break;
      }
      default:
        message = `${name} ${e.message}`;
    }
    const k = `${path.join('.')}|${message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ path, key, message });
    }
  }
  return out;
}

function propsAt(schema: object, path: (string | number)[]): Record<string, unknown> | undefined {
  let s = schema as Record<string, unknown>;
  for (const seg of path) {
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    if (typeof seg === 'number') s = (s.items as Record<string, unknown>) ?? {};
    else s = props?.[seg] ?? {};
  }
  return s.properties as Record<string, unknown> | undefined;
}

/** The sub-schema at an ajv schemaPath (`#/properties/mode/pattern` without its ends). */
function schemaAt(schema: object, segs: string[]): unknown {
  let s: unknown = schema;
  for (const seg of segs) {
    if (!s || typeof s !== 'object') return undefined;
    s = (s as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return s;
}
