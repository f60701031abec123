/**
 * PyYAML's `yaml.load(text, Loader=CSafeLoader)` (Ansible's `from_yaml` / `from_yaml_all`) over
 * the `yaml` package's parser: the document is parsed with the failsafe schema (every scalar a
 * string, quoting and explicit tags kept) and then constructed the way PyYAML's SafeConstructor
 * does it — YAML 1.1 implicit types for plain scalars (`yes`/`on` booleans, `0755` octal,
 * `1:30` sexagesimal, `~`), merge keys `<<`, aliases as shared objects, later duplicate keys
 * winning. Timestamps, binary and sets (Python date/bytes/set objects) are refused.
 */
import { Alias, isMap, isPair, isScalar, isSeq, type Node, parseAllDocuments, Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseFloatStr, parseIntStr } from '../jinja/convert.ts';
import { dictSet, float, PyError, pyRepr } from '../jinja/value.ts';
import { hashKey } from './py.ts';
import { resolvePlain, TAG } from './yaml-resolve.ts';

const OPTIONS = { schema: 'failsafe', version: '1.1', uniqueKeys: false, strict: false } as const;

function constructorError(msg: string): PyError {
  return new PyError('ConstructorError', msg);
}

function intValue(text: string): number | bigint {
  let v = text.replace(/_/g, '');
  let sign = 1n;
  if (v[0] === '-') sign = -1n;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  let n: bigint;
  if (v === '0') return 0;
  if (v.startsWith('0b')) n = BigInt(parseIntStr(v.slice(2), 2));
  else if (v.startsWith('0x')) n = BigInt(parseIntStr(v.slice(2), 16));
  else if (v[0] === '0') n = BigInt(parseIntStr(v, 8));
  else if (v.includes(':')) {
    n = 0n;
    let base = 1n;
    for (const part of v.split(':').reverse()) {
      n += BigInt(parseIntStr(part)) * base;
      base *= 60n;
    }
  } else n = BigInt(parseIntStr(v));
  const r = sign * n;
  return r >= BigInt(Number.MIN_SAFE_INTEGER) && r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
}

function floatValue(text: string): number {
  let v = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (v[0] === '-') sign = -1;
  if (v[0] === '+' || v[0] === '-') v = v.slice(1);
  if (v === '.inf') return sign * Number.POSITIVE_INFINITY;
  if (v === '.nan') return Number.NaN;
  if (v.includes(':')) {
    let x = 0;
    let base = 1;
    for (const part of v.split(':').reverse()) {
      x += parseFloatStr(part) * base;
      base *= 60;
    }
    return sign * x;
  }
  return sign * parseFloatStr(v);
}

const BOOLS: Record<string, boolean> = { yes: true, no: false, true: true, false: false, on: true, off: false };

function scalarValue(tag: string, text: string): unknown {
  switch (tag) {
    case `${TAG}str`:
      return text;
    case `${TAG}null`:
      return null;
    case `${TAG}bool`: {
      const b = BOOLS[text.toLowerCase()];
      if (b === undefined) throw constructorError(`invalid boolean ${pyRepr(text)}`);
      return b;
    }
    case `${TAG}int`:
      return intValue(text);
    case `${TAG}float`:
      return float(floatValue(text));
    case `${TAG}merge`:
    case `${TAG}value`:
      return text;
    case `${TAG}timestamp`:
      throw new PyError(
        'NotSupported',
        `from_yaml: the timestamp ${pyRepr(text)} would be a Python date object, which Kiln does not support (quote it)`,
      );
    case `${TAG}binary`:
      throw new PyError('NotSupported', 'from_yaml: !!binary (Python bytes) is not supported by Kiln');
    default:
      throw constructorError(`could not determine a constructor for the tag '${tag}'`);
  }
}

function tagOf(node: Node): string | undefined {
  const t = node.tag;
  if (!t) return undefined;
  return t.startsWith('!!') ? TAG + t.slice(2) : t;
}

function construct(root: Node | null): unknown {
  const done = new Map<Node, unknown>();
  const build = (node: Node | null): unknown => {
    if (node === null) return null;
    if (node instanceof Alias) {
      const target = node.source ? findAnchor(node.source) : undefined;
      if (!target || !done.has(target)) throw new PyError('ComposerError', `found undefined alias ${pyRepr(node.source)}`);
      return done.get(target);
    }
    if (done.has(node)) return done.get(node);
    if (node.anchor) anchors.set(node.anchor, node);
    const tag = tagOf(node);
    if (isScalar(node)) {
      const text = String((node as Scalar).value ?? '');
      const t = tag ?? ((node as Scalar).type === Scalar.PLAIN ? resolvePlain(text) : `${TAG}str`);
      const v = scalarValue(t, text);
      done.set(node, v);
      return v;
    }
    if (isSeq(node)) {
      if (tag && tag !== `${TAG}seq`) throw constructorError(`could not determine a constructor for the tag '${tag}'`);
      const out: unknown[] = [];
      done.set(node, out);
      for (const item of (node as YAMLSeq).items) out.push(build(item as Node | null));
      return out;
    }
    if (isMap(node)) {
      if (tag && tag !== `${TAG}map`) throw constructorError(`could not determine a constructor for the tag '${tag}'`);
      const out = new Map<unknown, unknown>();
      done.set(node, out);
      for (const [k, v] of flatten(node as YAMLMap)) {
        const key = build(k);
        try {
          hashKey(key);
        } catch {
          throw constructorError('while constructing a mapping found unhashable key');
        }
        dictSet(out, key, build(v));
      }
      return out;
    }
    throw constructorError('unexpected node');
  };
  const anchors = new Map<string, Node>();
  const findAnchor = (name: string) => anchors.get(name);
  const deref = (n: Node | null): Node | null => (n instanceof Alias && n.source ? (findAnchor(n.source) ?? n) : n);
  /** PyYAML's flatten_mapping: `<<` merges (a map or a list of maps), merged pairs first. */
  const flatten = (map: YAMLMap): [Node | null, Node | null][] => {
    const merged: [Node | null, Node | null][] = [];
    const own: [Node | null, Node | null][] = [];
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const k = pair.key as Node | null;
      const v = pair.value as Node | null;
      const isMerge =
        k !== null &&
        isScalar(k) &&
        (tagOf(k) ?? ((k as Scalar).type === Scalar.PLAIN ? resolvePlain(String((k as Scalar).value)) : '')) === `${TAG}merge`;
      if (!isMerge) {
        own.push([k, v]);
        continue;
      }
      const target = deref(v);
      if (target && isMap(target)) {
        registerAnchors(target);
        merged.push(...flatten(target as YAMLMap));
      } else if (target && isSeq(target)) {
        const subs: [Node | null, Node | null][][] = [];
        for (const sub of (target as YAMLSeq).items) {
          const s = deref(sub as Node | null);
          if (!s || !isMap(s)) throw constructorError('while constructing a mapping expected a mapping for merging');
          registerAnchors(s);
          subs.push(flatten(s as YAMLMap));
        }
        for (const s of subs.reverse()) merged.push(...s);
      } else throw constructorError('while constructing a mapping expected a mapping or list of mappings for merging');
    }
    return [...merged, ...own];
  };
  const registerAnchors = (n: Node) => {
    if (n.anchor) anchors.set(n.anchor, n);
  };
  return build(root);
}

function checkErrors(doc: { errors: { message: string }[] }): void {
  if (doc.errors.length) throw new PyError('YAMLError', doc.errors[0]!.message);
}

/** yaml.load(text, CSafeLoader): one document (or None for an empty stream). */
export function loadYaml(text: string): unknown {
  const docs = parseAllDocuments(text, OPTIONS);
  if (!Array.isArray(docs)) {
    checkErrors(docs);
    return null;
  }
  if (docs.length > 1) throw new PyError('ComposerError', 'expected a single document in the stream');
  if (!docs.length) return null;
  checkErrors(docs[0]!);
  return construct(docs[0]!.contents as Node | null);
}

/** yaml.load_all(text, CSafeLoader): every document. */
export function loadYamlAll(text: string): unknown[] {
  const docs = parseAllDocuments(text, OPTIONS);
  if (!Array.isArray(docs)) {
    checkErrors(docs);
    return [];
  }
  return docs.map((d) => {
    checkErrors(d);
    return construct(d.contents as Node | null);
  });
}
