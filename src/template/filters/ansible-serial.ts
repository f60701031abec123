/**
 * Ansible's JSON and YAML filters (core.py, 2.14): to_json, to_nice_json, from_json, to_yaml,
 * to_nice_yaml, from_yaml, from_yaml_all — with the formatting of Python's json.dumps and of
 * PyYAML/libyaml (./json.ts, ./yaml-dump.ts, ./yaml-load.ts).
 */
import type { FilterTable } from '../jinja/callables.ts';
import { toIndex } from '../jinja/convert.ts';
import { PyError, pyStr, truthy, tuple, typeName } from '../jinja/value.ts';
import { filter } from './args.ts';
import { type DumpOptions as JsonOptions, dumps, loads } from './json.ts';
import { type DumpOptions as YamlOptions, dumpYaml } from './yaml-dump.ts';
import { loadYaml, loadYamlAll } from './yaml-load.ts';

const JSON_KW = new Set([
  'skipkeys',
  'ensure_ascii',
  'check_circular',
  'allow_nan',
  'indent',
  'separators',
  'sort_keys',
  'vault_to_text',
  'preprocess_unsafe',
]);

function jsonOptions(kw: ReadonlyMap<string, unknown>): JsonOptions {
  const o: JsonOptions = {};
  for (const [k, v] of kw) {
    if (!JSON_KW.has(k)) {
      if (k === 'default' || k === 'cls') throw new PyError('NotSupported', `to_json's '${k}' argument is not supported by Kiln`);
      throw new PyError('TypeError', `__init__() got an unexpected keyword argument '${k}'`);
    }
    if (k === 'indent') o.indent = v === null ? null : typeof v === 'string' ? v : ' '.repeat(Math.max(0, toIndex(v)));
    else if (k === 'separators') {
      if (v === null) continue;
      if (!Array.isArray(v) || v.length !== 2) throw new PyError('ValueError', 'not enough values to unpack (expected 2)');
      o.separators = [pyStr(v[0]), pyStr(v[1])];
    } else if (k === 'sort_keys') o.sortKeys = truthy(v);
    else if (k === 'ensure_ascii') o.ensureAscii = truthy(v);
    else if (k === 'allow_nan') o.allowNan = truthy(v);
    else if (k === 'skipkeys') o.skipKeys = truthy(v);
  }
  return o;
}

function toJson(v: unknown, args: unknown[], kw: ReadonlyMap<string, unknown>): string {
  if (args.length) throw new PyError('TypeError', `dumps() takes 1 positional argument but ${args.length + 1} were given`);
  return dumps(v, jsonOptions(kw));
}

const YAML_KW = new Set(['indent', 'width', 'sort_keys', 'explicit_start', 'explicit_end', 'default_flow_style']);

function yamlDump(name: string, v: unknown, fixed: Map<string, unknown>, kw: ReadonlyMap<string, unknown>): string {
  const all = new Map(fixed);
  for (const [k, x] of kw) {
    if (all.has(k) || k === 'allow_unicode') {
      throw new PyError('AnsibleFilterError', `${name} - dump_all() got multiple values for keyword argument '${k}'`);
    }
    if (!YAML_KW.has(k)) throw new PyError('NotSupported', `${name}'s '${k}' argument is not supported by Kiln`);
    all.set(k, x);
  }
  const o: Partial<YamlOptions> = {};
  if (all.has('default_flow_style')) {
    const f = all.get('default_flow_style');
    o.defaultFlowStyle = f === null ? null : truthy(f);
  }
  if (all.has('indent') && all.get('indent') !== null) o.indent = toIndex(all.get('indent'));
  if (all.has('width') && all.get('width') !== null) o.width = toIndex(all.get('width'));
  if (all.has('sort_keys')) o.sortKeys = truthy(all.get('sort_keys'));
  if (all.has('explicit_start')) o.explicitStart = truthy(all.get('explicit_start'));
  if (all.has('explicit_end')) o.explicitEnd = truthy(all.get('explicit_end'));
  try {
    return dumpYaml(v, o);
  } catch (e) {
    if (e instanceof PyError && e.pyType === 'RepresenterError') throw new PyError('AnsibleFilterError', `${name} - ${e.message}`);
    throw e;
  }
}

export const ansibleSerialFilters: FilterTable = {
  to_json: filter('to_json', [], (_env, v, _a, b) => toJson(v, b.rest, b.kw), { varargs: true, varkw: true }),

  to_nice_json: filter(
    'to_nice_json',
    [
      ['indent', 4],
      ['sort_keys', true],
    ],
    (_env, v, a, b) => {
      const kw = new Map<string, unknown>([
        ['indent', a.indent],
        ['sort_keys', a.sort_keys],
        ['separators', tuple([',', ': '])],
      ]);
      for (const [k, x] of b.kw) {
        if (kw.has(k)) throw new PyError('TypeError', `to_json() got multiple values for keyword argument '${k}'`);
        kw.set(k, x);
      }
      return toJson(v, b.rest, kw);
    },
    { varargs: true, varkw: true },
  ),

  from_json: filter('loads', [], (_env, v) => {
    if (typeof v !== 'string') throw new PyError('TypeError', `the JSON object must be str, bytes or bytearray, not ${typeName(v)}`);
    return loads(v);
  }),

  // Positional arguments after the value are accepted and ignored, as Ansible's to_yaml does.
  to_yaml: filter('to_yaml', [], (_env, v, _a, b) => yamlDump('to_yaml', v, new Map(), b.kw), { varargs: true, varkw: true }),

  to_nice_yaml: filter(
    'to_nice_yaml',
    [['indent', 4]],
    (_env, v, a, b) =>
      yamlDump(
        'to_nice_yaml',
        v,
        new Map<string, unknown>([
          ['indent', a.indent],
          ['default_flow_style', false],
        ]),
        b.kw,
      ),
    { varargs: true, varkw: true },
  ),

  from_yaml: filter('from_yaml', [], (_env, v) => (typeof v === 'string' ? loadYaml(v) : v)),
  from_yaml_all: filter('from_yaml_all', [], (_env, v) => (typeof v === 'string' ? loadYamlAll(v) : v)),
};
