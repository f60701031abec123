/**
 * The library's filters and tests called directly, against what ansible-core 2.14 returned for the
 * same calls (ansible-calls/expected.json, made by ansible-calls/generate.py through Jinja2's
 * environment.call_filter/call_test with Ansible's plugins; npm test does not need Ansible).
 *
 * A call Ansible answers must give the same value (type included: 2 is not 2.0, a tuple is not a
 * list); a call Ansible rejects must raise. A few calls Kiln refuses on purpose (REFUSED) must
 * raise NotSupported instead of returning something else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyObject } from '../../../../src/template/jinja/runtime.ts';
import { PyError, PyFloat, PyTuple, tuple, Undefined } from '../../../../src/template/jinja/value.ts';
import { testEnv } from './call-env.ts';

interface Call {
  call: string;
  kind: 'filter' | 'test';
  name: string;
  value: unknown;
  args: unknown[];
  kwargs: Record<string, unknown>;
  result: { ok: unknown } | { error: string; message: string };
}

/** Calls Kiln refuses (NotSupported) where Ansible returns something Kiln cannot reproduce. */
const REFUSED: Record<string, string> = {
  "('filter','attr','abc',['upper'],{})": 'a bound Python method as a value',
  "('filter','random',5,[],{'seed':F(1.5)})": "Python's hash() of a float as a seed",
  "('filter','to_yaml',{'a':1},[],{'canonical':True})": "yaml.dump's canonical output",
  "('filter','b64decode','/w==',[],{})": 'bytes that are not UTF-8 (surrogate escapes)',
};

const calls = JSON.parse(readFileSync(join(import.meta.dirname, 'ansible-calls', 'expected.json'), 'utf8')) as Call[];

function floatOf(s: string): number {
  return s === 'nan' ? Number.NaN : s === 'inf' ? Number.POSITIVE_INFINITY : s === '-inf' ? Number.NEGATIVE_INFINITY : Number(s);
}

/** The generator's typed encoding → Python values of the model. */
function decode(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decode);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const x = o[keys[0]!];
    switch (keys[0]) {
      case 'u':
        return new Undefined(`'${x}' is undefined`, x as string);
      case 't':
        return tuple((x as unknown[]).map(decode));
      case 'dk':
        return new Map((x as [unknown, unknown][]).map(([a, b]) => [decode(a), decode(b)]));
      case 'f': {
        const n = floatOf(x as string);
        return Number.isInteger(n) ? new PyFloat(n) : n;
      }
    }
  }
  return new Map(keys.map((k) => [k, decode(o[k])]));
}

/** A result in the generator's encoding, for comparison. */
function encode(v: unknown): unknown {
  if (v instanceof Undefined) return { undef: '' };
  if (typeof v === 'boolean') return { b: v };
  if (v instanceof PyFloat) return { f: v.value };
  if (typeof v === 'number') return Number.isInteger(v) ? { i: String(v) } : { f: v };
  if (typeof v === 'bigint') return { i: String(v) };
  if (typeof v === 'string') return { s: v };
  if (v instanceof PyTuple) return { t: v.map(encode) };
  if (Array.isArray(v)) return { l: v.map(encode) };
  if (v instanceof Map) return { d: [...v].map(([a, b]) => [encode(a), encode(b)]) };
  if (v === null) return { n: 1 };
  if (v instanceof PyObject) return { dt: v.toString() };
  return { other: String(v) };
}

/** Ansible's encoding with floats as numbers and undefined messages dropped (Kiln's wording differs). */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('f' in o && typeof o.f === 'string') return { f: floatOf(o.f) };
    if ('undef' in o) return { undef: '' };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalize(x)]));
  }
  return v;
}

function run(c: Call): { value?: unknown; error?: Error } {
  const env = testEnv();
  const kwargs = Object.fromEntries(Object.entries(c.kwargs).map(([k, x]) => [k, decode(x)]));
  try {
    const value =
      c.kind === 'filter'
        ? env.filter(c.name, decode(c.value), c.args.map(decode), kwargs)
        : env.test(c.name, decode(c.value), c.args.map(decode), kwargs);
    return { value };
  } catch (error) {
    return { error: error as Error };
  }
}

describe('filters and tests called directly agree with ansible-core 2.14 (ansible-calls/expected.json)', () => {
  it('covers hundreds of calls', () => {
    expect(calls.length).toBeGreaterThan(600);
  });

  for (const c of calls) {
    it(c.call, () => {
      const got = run(c);
      const reason = REFUSED[c.call];
      if (reason !== undefined) {
        expect(got.error, `Kiln refuses this (${reason})`).toBeInstanceOf(PyError);
        expect((got.error as PyError).pyType).toBe('NotSupported');
        return;
      }
      if ('error' in c.result) {
        expect(got.error, `Ansible raises ${c.result.error}: ${c.result.message}`).toBeDefined();
        return;
      }
      if (got.error) throw got.error;
      expect(normalize(encode(got.value))).toEqual(normalize(c.result.ok));
      // password_hash's default 656000 sha512_crypt rounds take seconds, as they do in Ansible.
    }, 60_000);
  }
});
