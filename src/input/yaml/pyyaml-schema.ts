/**
 * Plain scalars resolved as Ansible's YAML loader (PyYAML, YAML 1.1) resolves them, not as YAML
 * 1.2: `yes`/`no`/`on`/`off` are booleans, `0644` is octal (420), `1_000` is 1000, `1:30` is
 * sexagesimal (90), while `y`, `n`, `09`, `1e3` stay strings (PyYAML's float needs a dot and a
 * signed exponent). `become: yes` and `when: not feature_enabled` with `feature_enabled: no` then
 * mean what they mean in Ansible. Test data: test/fixtures/ansible/yaml-scalars.json (PyYAML's
 * own results).
 *
 * An integral float (`1.0`) is a PyFloat (the Python value model's float box), so it renders
 * `1.0` as in Ansible; code that needs a plain number unwraps it (plainNumbers).
 *
 * Timestamps stay strings (PyYAML makes dates; Ansible renders a date as the same text).
 */
import type { ScalarTag } from 'yaml';
import { PyFloat } from '../../template/jinja/value.ts';

const BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function sexagesimal(digits: string, parse: (s: string) => number): number {
  let value = 0;
  let base = 1;
  for (const part of digits.split(':').reverse()) {
    value += parse(part) * base;
    base *= 60;
  }
  return value;
}

/** PyYAML's construct_yaml_int. */
export function pyInt(text: string): number {
  let s = text.replace(/_/g, '');
  let sign = 1;
  if (s[0] === '-') sign = -1;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  if (s === '0') return 0;
  if (s.startsWith('0b')) return sign * Number.parseInt(s.slice(2), 2);
  if (s.startsWith('0x')) return sign * Number.parseInt(s.slice(2), 16);
  if (s[0] === '0') return sign * Number.parseInt(s, 8);
  if (s.includes(':')) return sign * sexagesimal(s, (p) => Number.parseInt(p, 10));
  return sign * Number.parseInt(s, 10);
}

/** PyYAML's construct_yaml_float. */
export function pyFloat(text: string): number {
  let s = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (s[0] === '-') sign = -1;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  if (s === '.inf') return sign * Number.POSITIVE_INFINITY;
  if (s === '.nan') return Number.NaN;
  if (s.includes(':')) return sign * sexagesimal(s, (p) => Number.parseFloat(p));
  return sign * Number.parseFloat(s);
}

const BOOL = 'tag:yaml.org,2002:bool';

export const pyyamlTags: ScalarTag[] = [
  { identify: (v) => v === true, default: true, tag: BOOL, test: BOOL_TRUE, resolve: () => true },
  { identify: (v) => v === false, default: true, tag: BOOL, test: BOOL_FALSE, resolve: () => false },
  { identify: (v) => Number.isInteger(v), default: true, tag: 'tag:yaml.org,2002:int', test: INT, resolve: pyInt },
  // An integral float (1.0) stays a float, as in Python: it renders "1.0", not "1".
  {
    identify: (v) => typeof v === 'number' || v instanceof PyFloat,
    default: true,
    tag: 'tag:yaml.org,2002:float',
    test: FLOAT,
    resolve: (s: string) => {
      const n = pyFloat(s);
      return Number.isInteger(n) ? new PyFloat(n) : n;
    },
  },
];

const REPLACED = new Set([BOOL, 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:timestamp']);

/** For `customTags` with the 'yaml-1.1' schema: its bool/int/float/timestamp resolvers replaced by PyYAML's. */
export function withPyyamlScalars(tags: readonly unknown[]): unknown[] {
  const keep = tags.filter((t) => !(t && typeof t === 'object' && 'tag' in t && REPLACED.has((t as { tag: string }).tag) && 'test' in t));
  // PyYAML's resolvers are tried before the rest (str last).
  return [...pyyamlTags, ...keep];
}

/** A value with every PyFloat unwrapped to its number (for code that wants plain JSON-like data). */
export function plainNumbers<T>(v: T): T {
  if (v instanceof PyFloat) return v.value as T;
  if (Array.isArray(v)) return v.map(plainNumbers) as T;
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainNumbers(x)])) as T;
  }
  return v;
}
