/**
 * Python's value model for the Jinja2 engine, as Ansible's templates see it.
 *
 * | Python            | here                                                                 |
 * |-------------------|----------------------------------------------------------------------|
 * | None              | `null`                                                               |
 * | bool              | `boolean` (a subtype of int in arithmetic and equality, as in Python)|
 * | int               | an integral JS `number` (or `bigint` beyond 2**53)                   |
 * | float             | a non-integral `number`, or a `PyFloat` box when its value is integral (`2.0`) |
 * | str               | `string`                                                             |
 * | list              | `Array`                                                              |
 * | tuple             | `PyTuple` (an Array subclass; `tuple([...])` builds one)             |
 * | dict              | `Map` (insertion order, keys of any hashable type: `80` stays an int) |
 * | jinja2 Undefined  | `Undefined` (strict: using it raises, testing/defaulting it does not)|
 *
 * `toPy` converts controller data (YAML/JSON objects, Secrets) into this model; `fromPy` converts back
 * to plain JSON-like data for module parameters.
 */
import { types } from 'node:util';
import { isPlainRecord } from '../../core/plain-object.ts';
import { isSecret } from '../../core/secret/secret.ts';

/** An integral float (`2.0`), kept apart from the int `2` so that it renders `2.0`. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python tuple. Array methods (`map`, `filter`, `slice`) return plain Arrays (lists). */
export class PyTuple<T = unknown> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

export function tuple<T>(items: Iterable<T>): PyTuple<T> {
  const arr = Array.isArray(items) ? (items as T[]) : [...items];
  // new PyTuple(n) (Array(n)) then assignment: much faster than push on an Array subclass.
  const t = new PyTuple<T>(arr.length);
  for (let i = 0; i < arr.length; i++) t[i] = arr[i]!;
  return t;
}

export type PyDict = Map<unknown, unknown>;

/**
 * Jinja2's undefined value under Ansible's StrictUndefined: printing, iterating, testing its truth,
 * comparing or calling it raises `UndefinedError` with `message`; `is defined`, `default()` and
 * attribute access (which stays undefined) do not.
 * `message` is Jinja2's/Ansible's text: `'name' is undefined`, `'dict object' has no attribute 'port'`.
 * `name` is the variable (or dotted path) that was undefined, for located errors.
 */
export class Undefined {
  constructor(
    readonly message: string,
    readonly name: string,
    /** Where in the template the undefined value came from (the name or attribute that was missing). */
    readonly at?: { line: number; col: number },
  ) {}
}

/**
 * Jinja2's default (lenient) Undefined, which Jinja2 uses for an inline `if` without `else` even
 * under StrictUndefined: it prints as '', is false and iterates as empty.
 */
export class PlainUndefined extends Undefined {}

/** A dict view (`d.keys()`, `d.values()`, `d.items()`): a list of its elements that renders like Python's view. */
export class PyDictView<T = unknown> extends Array<T> {
  kind: 'dict_keys' | 'dict_values' | 'dict_items' = 'dict_keys';
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

export function dictView(kind: 'dict_keys' | 'dict_values' | 'dict_items', items: Iterable<unknown>): PyDictView {
  const arr = Array.isArray(items) ? items : [...items];
  const v = new PyDictView(arr.length);
  for (let i = 0; i < arr.length; i++) v[i] = arr[i];
  v.kind = kind;
  return v;
}

/** A Python range (`range(3)`): a list of its ints that renders as `range(0, 3)`. */
export class PyRange extends Array<number> {
  start = 0;
  stop = 0;
  step = 1;
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/** Raised when an Undefined value is used. */
export class UndefinedError extends Error {
  override name = 'UndefinedError';
  constructor(
    message: string,
    readonly variable?: string,
    /** Where the undefined value came from in the template, when known. */
    readonly at?: { line: number; col: number },
  ) {
    super(message);
  }
}

/** A Python exception raised while evaluating (TypeError, ValueError, …): `pyType` is its class name. */
export class PyError extends Error {
  override name = 'PyError';
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

export function undefinedError(u: Undefined): UndefinedError {
  return new UndefinedError(u.message, u.name, u.at);
}

/** A strict Undefined (Ansible's AnsibleUndefined): using it raises. PlainUndefined is not strict. */
export function isStrictUndefined(v: unknown): v is Undefined {
  return v instanceof Undefined && !(v instanceof PlainUndefined);
}

export function isUndefined(v: unknown): v is Undefined {
  return v instanceof Undefined;
}

/** Throws if v is Undefined, otherwise returns it. */
export function defined<T>(v: T): Exclude<T, Undefined> {
  if (v instanceof Undefined) throw undefinedError(v);
  return v as Exclude<T, Undefined>;
}

export function isDict(v: unknown): v is PyDict {
  return v instanceof Map;
}

export function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !(v instanceof PyTuple);
}

export function isTuple(v: unknown): v is PyTuple {
  return v instanceof PyTuple;
}

export function isSequence(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

export function isInt(v: unknown): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}

/** int, float or bool: anything Python does arithmetic on. */
export function isNumeric(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v instanceof PyFloat;
}

/** The JS number of an int/float/bool. */
export function num(v: unknown): number {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return v as number;
}

/** A Python float with value n: boxed when integral so that it still renders as a float. */
export function float(n: number): number | PyFloat {
  return Number.isInteger(n) ? new PyFloat(n) : n;
}

/** A Python int from a JS integer: a bigint when beyond 2**53. */
export function int(n: number | bigint): number | bigint {
  if (typeof n === 'bigint') return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  return n;
}

/** Python's type name of a value, for error messages (`'int' object is not iterable`). */
export function typeName(v: unknown): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (isFloat(v)) return 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDictView) return v.kind;
  if (v instanceof PyRange) return 'range';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Undefined) return 'AnsibleUndefined';
  if (typeof v === 'function') return 'function';
  return (v as object)?.constructor?.name ?? typeof v;
}

/** Python truthiness. Undefined raises (StrictUndefined). */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (v instanceof PlainUndefined) return false;
  if (v instanceof Undefined) throw undefinedError(v);
  return true;
}

/** Python's repr() of a float. */
export function floatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  // Both JS and Python print the shortest digit string that round-trips; only the layout differs.
  const [mant, expStr] = Math.abs(n).toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const digits = mant.replace('.', '');
  const sign = n < 0 ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr() of a str. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's repr(). */
export function pyRepr(v: unknown): string {
  if (typeof v === 'string') return strRepr(v);
  if (v instanceof PyTuple) return `(${v.map(pyRepr).join(', ')}${v.length === 1 ? ',' : ''})`;
  if (v instanceof PyDictView) return `${v.kind}([${v.map(pyRepr).join(', ')}])`;
  if (v instanceof PyRange) return v.step === 1 ? `range(${v.start}, ${v.stop})` : `range(${v.start}, ${v.stop}, ${v.step})`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyStr(v);
}

/** Python's str(), which is what `{{ value }}` writes. Undefined raises. */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return Math.abs(v) < 1e21 ? v.toFixed(0) : BigInt(v).toString();
    return floatRepr(v);
  }
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (v instanceof PlainUndefined) return '';
  if (v instanceof Undefined) throw undefinedError(v);
  if (Array.isArray(v) || v instanceof Map) return pyRepr(v);
  if (isSecret(v)) return v.reveal();
  return String(v);
}

/** Python's ==. Numbers compare across int/float/bool; a list never equals a tuple. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a instanceof Undefined || b instanceof Undefined) {
    if (isStrictUndefined(a)) throw undefinedError(a);
    if (isStrictUndefined(b)) throw undefinedError(b);
    return a instanceof PlainUndefined && b instanceof PlainUndefined;
  }
  if (isNumeric(a) && isNumeric(b)) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      return isInt(a) && isInt(b) ? BigInt(a as number) === BigInt(b as number) : num(a) === num(b);
    }
    return num(a) === num(b);
  }
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a instanceof PyTuple !== b instanceof PyTuple || a.length !== b.length) return false;
    if (a instanceof PyDictView !== b instanceof PyDictView || a instanceof PyRange !== b instanceof PyRange) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, x] of a) {
      const key = dictKey(b, k);
      if (key === NO_KEY || !pyEquals(x, b.get(key))) return false;
    }
    return true;
  }
  return a === b;
}

const NO_KEY = Symbol('no key');

/** The key of `d` that equals `k` in Python (1, 1.0 and True are one key), or NO_KEY. */
function dictKey(d: PyDict, k: unknown): unknown {
  if (d.has(k)) return k;
  if (isNumeric(k)) {
    for (const key of d.keys()) if (isNumeric(key) && num(key) === num(k)) return key;
  }
  return NO_KEY;
}

/** d[k] with Python's key equality, or `missing` when absent. */
export function dictGet(d: PyDict, k: unknown, missing: unknown = undefined): unknown {
  const key = dictKey(d, k instanceof PyFloat ? k.value : k);
  return key === NO_KEY ? missing : d.get(key);
}

/** d[k] = v with Python's key equality (an existing equal key keeps its identity and position). */
export function dictSet(d: PyDict, k: unknown, v: unknown): void {
  const key = dictKey(d, k instanceof PyFloat ? k.value : k);
  d.set(key === NO_KEY ? (k instanceof PyFloat ? k.value : k) : key, v);
}

export function dictHas(d: PyDict, k: unknown): boolean {
  return dictKey(d, k instanceof PyFloat ? k.value : k) !== NO_KEY;
}

/** Python's ordering (<): numbers, strings, and sequences of the same kind, lexicographically. */
export function pyCompare(a: unknown, b: unknown, op = '<'): number {
  if (a instanceof Undefined) throw undefinedError(a);
  if (b instanceof Undefined) throw undefinedError(b);
  if (isNumeric(a) && isNumeric(b)) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      if (isInt(a) && isInt(b)) {
        const x = BigInt(a as number);
        const y = BigInt(b as number);
        return x < y ? -1 : x > y ? 1 : 0;
      }
    }
    const x = num(a);
    const y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    // Code point order, as Python compares str.
    const ca = [...a];
    const cb = [...b];
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
      const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return ca.length - cb.length < 0 ? -1 : ca.length > cb.length ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b) && a instanceof PyTuple === b instanceof PyTuple) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i], op);
    }
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  }
  throw new PyError('TypeError', `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

const toPyCache = new WeakMap<object, { out: unknown; secret: boolean }>();

/**
 * A dict whose values are converted when read (and then kept for this view): a read marks the
 * render sensitive only when the value read holds a Secret; iterating reads every value.
 */
class LazyDict extends Map<unknown, unknown> {
  private readonly done = new Map<string, unknown>();
  constructor(
    protected readonly src: Record<string, unknown>,
    protected readonly sink: (() => void) | undefined,
  ) {
    super();
    for (const k of Reflect.ownKeys(src)) if (typeof k === 'string') super.set(k, null);
  }
  protected convertValue(v: unknown): unknown {
    const r = convert(v, this.sink);
    if (r.secret) this.sink?.();
    return r.out;
  }
  override get(k: unknown): unknown {
    if (typeof k !== 'string' || !super.has(k)) return undefined;
    if (this.done.has(k)) return this.done.get(k);
    const out = this.convertValue(this.src[k]);
    this.done.set(k, out);
    return out;
  }
  override *entries(): MapIterator<[unknown, unknown]> {
    for (const k of super.keys()) yield [k, this.get(k)];
  }
  override *values(): MapIterator<unknown> {
    for (const k of super.keys()) yield this.get(k);
  }
  override [Symbol.iterator](): MapIterator<[unknown, unknown]> {
    return this.entries();
  }
  override forEach(fn: (v: unknown, k: unknown, m: Map<unknown, unknown>) => void, self?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(self, v, k, this);
  }
}

/**
 * A live view of a Proxy (`hostvars`: each host's variables are computed when read, and change as
 * the run registers results and sets facts): its keys are the proxy's; a host's variables are a
 * LazyDict, read when first used by this view (one template render), never cached across renders
 * — converting hostvars once would freeze every host's variables as they were at the first
 * template that read it. Reading hostvars[h].address is sensitive only if that value is a secret.
 */
class LiveDict extends LazyDict {
  protected override convertValue(v: unknown): unknown {
    if (isPlainRecord(v)) return new LazyDict(v, this.sink);
    return super.convertValue(v);
  }
}

/**
 * Controller data → Python values: plain objects become dicts (Maps), Secrets their revealed string,
 * `undefined` None. Values already in the model pass through. Cached per object, so converting the
 * same facts twice is free (a Proxy — hostvars — is a live view, never cached, nor is what holds
 * one). `onSecret` is called when `v` holds a Secret anywhere inside (the engine converts one
 * top-level variable at a time, when a template first reads it, and marks the render's result
 * sensitive; a Secret read later through a live view calls it then).
 */
export function toPy(v: unknown, onSecret?: () => void): unknown {
  const { out, secret } = convert(v, onSecret);
  if (secret) onSecret?.();
  return out;
}

function convert(v: unknown, sink: (() => void) | undefined): { out: unknown; secret: boolean; live?: boolean } {
  if (v === undefined) return { out: null, secret: false };
  if (v === null || typeof v !== 'object') return { out: v, secret: false };
  if (isSecret(v)) return { out: v.reveal(), secret: true };
  if (v instanceof PyFloat || v instanceof Undefined) return { out: v, secret: false };
  if (types.isProxy(v)) return { out: new LiveDict(v as Record<string, unknown>, sink), secret: false, live: true };
  const hit = toPyCache.get(v);
  if (hit) return hit;
  let secret = false;
  let live = false;
  const sub = (x: unknown): unknown => {
    const r = convert(x, sink);
    secret ||= r.secret;
    live ||= r.live === true;
    return r.out;
  };
  let out: unknown;
  if (v instanceof PyTuple) out = tuple(v.map(sub));
  else if (Array.isArray(v)) out = v.map(sub);
  else if (v instanceof Map) out = new Map([...v].map(([k, x]) => [k, sub(x)]));
  else if (v instanceof Date) out = v.toISOString();
  else if (isPlainRecord(v)) out = new Map(Object.entries(v).map(([k, x]) => [k, sub(x)]));
  else return { out: v, secret: false };
  const r = { out, secret, live };
  if (!live) toPyCache.set(v, r);
  return r;
}

/** Python values → plain data for module parameters: dicts become objects (keys as str()), tuples arrays, floats numbers. */
export function fromPy(v: unknown): unknown {
  if (v instanceof Undefined) throw undefinedError(v);
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return Array.from(v, fromPy);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    // defineProperty: a '__proto__' key is a key, never the object's prototype.
    for (const [k, x] of v) Object.defineProperty(o, pyStr(k), { value: fromPy(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}
