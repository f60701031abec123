/**
 * PyYAML's `yaml.dump(data, Dumper=AnsibleDumper, allow_unicode=True, …)` as Ansible's `to_yaml`
 * and `to_nice_yaml` call it, byte for byte: AnsibleDumper is CSafeDumper, i.e. PyYAML's
 * SafeRepresenter and YAML 1.1 Resolver (Python) feeding libyaml 0.2.5's emitter (C). This file
 * ports the three:
 *
 * - representer: None/bool/int/float/str/list/tuple/dict (dict keys sorted when they can be),
 *   a collection of plain scalars in flow style when `default_flow_style` is None, shared
 *   lists/dicts as anchors (`&id001` … `*id001`);
 * - resolver: a string that would read back as another type (`'yes'`, `'8080'`, `''`, `'~'`) is
 *   quoted;
 * - emitter: libyaml's scalar analysis and style choice (plain, single, double quoted), line
 *   folding at `width` (80), indentation (`indent`, indentless sequences in mappings), simple vs
 *   complex (`? `) keys. libyaml differs from PyYAML's own emitter in a few places (characters
 *   outside the BMP are escaped, keys up to 128 bytes are simple); those follow libyaml.
 */
import { floatRepr, isFloat, isInt, num, PyError, PyTuple, pyCompare, pyRepr, Undefined, undefinedError } from '../jinja/value.ts';
import { PyDatetime } from './datetime.ts';
import { resolvePlain, TAG } from './yaml-resolve.ts';

type Node =
  | { kind: 'scalar'; tag: string; value: string }
  | { kind: 'seq'; items: Node[]; flow: boolean }
  | { kind: 'map'; pairs: [Node, Node][]; flow: boolean };

export interface DumpOptions {
  /** null: flow style for collections of scalars only (yaml.dump's default); true/false: all flow/all block. */
  defaultFlowStyle: boolean | null;
  indent: number;
  width: number;
  sortKeys: boolean;
  explicitStart: boolean;
  explicitEnd: boolean;
}

function floatText(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Number.POSITIVE_INFINITY) return '.inf';
  if (x === Number.NEGATIVE_INFINITY) return '-.inf';
  const r = floatRepr(x).toLowerCase();
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

/** SafeRepresenter: values → nodes (shared lists/dicts → the same node, which becomes an anchor). */
function represent(data: unknown, o: DumpOptions): Node {
  const seen = new Map<object, Node>();
  const rep = (v: unknown): Node => {
    if (v === null) return { kind: 'scalar', tag: `${TAG}null`, value: 'null' };
    if (typeof v === 'string') return { kind: 'scalar', tag: `${TAG}str`, value: v };
    if (typeof v === 'boolean') return { kind: 'scalar', tag: `${TAG}bool`, value: v ? 'true' : 'false' };
    if (isInt(v)) return { kind: 'scalar', tag: `${TAG}int`, value: String(v) };
    if (isFloat(v)) return { kind: 'scalar', tag: `${TAG}float`, value: floatText(num(v)) };
    if (v instanceof PyDatetime) return { kind: 'scalar', tag: `${TAG}timestamp`, value: v.isoformat(' ') };
    if (v instanceof Undefined) throw undefinedError(v);
    if (Array.isArray(v)) {
      if (v instanceof PyTuple && v.length === 0) return seq([]);
      const hit = seen.get(v);
      if (hit) return hit;
      const node: Node = { kind: 'seq', items: [], flow: false };
      seen.set(v, node);
      node.items = v.map(rep);
      node.flow = o.defaultFlowStyle ?? node.items.every((n) => n.kind === 'scalar');
      return node;
    }
    if (v instanceof Map) {
      const hit = seen.get(v);
      if (hit) return hit;
      const node: Node = { kind: 'map', pairs: [], flow: false };
      seen.set(v, node);
      let entries = [...v];
      if (o.sortKeys) {
        try {
          entries = [...entries].sort((a, b) => pyCompare(a[0], b[0]) || pyCompare(a[1], b[1]));
        } catch (e) {
          if (!(e instanceof PyError && e.pyType === 'TypeError')) throw e;
        }
      }
      node.pairs = entries.map(([k, x]) => [rep(k), rep(x)]);
      node.flow = o.defaultFlowStyle ?? node.pairs.every(([k, x]) => k.kind === 'scalar' && x.kind === 'scalar');
      return node;
    }
    throw new PyError('RepresenterError', `cannot represent an object: ${pyRepr(v)}`);
  };
  const seq = (items: Node[]): Node => ({ kind: 'seq', items, flow: o.defaultFlowStyle ?? true });
  return rep(data);
}

/** The serializer's anchors: nodes met twice, numbered id001… in order of their second meeting. */
function anchors(root: Node): Map<Node, string> {
  const seen = new Map<Node, string | null>();
  let last = 0;
  const visit = (n: Node) => {
    if (seen.has(n)) {
      if (seen.get(n) === null) seen.set(n, `id${String(++last).padStart(3, '0')}`);
      return;
    }
    seen.set(n, null);
    if (n.kind === 'seq') n.items.forEach(visit);
    else if (n.kind === 'map')
      for (const [k, v] of n.pairs) {
        visit(k);
        visit(v);
      }
  };
  visit(root);
  const out = new Map<Node, string>();
  for (const [n, a] of seen) if (a !== null) out.set(n, a);
  return out;
}

const BREAKS = '\r\n\x85\u2028\u2029';

function isBreak(c: string | undefined): boolean {
  return c !== undefined && BREAKS.includes(c);
}

function isBlankz(c: string | undefined): boolean {
  return c === undefined || c === ' ' || c === '\t' || c === '\0' || isBreak(c);
}

/** libyaml's IS_PRINTABLE: characters outside the BMP are not. */
function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

interface Analysis {
  empty: boolean;
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  /** UTF-8 length, as libyaml measures simple keys. */
  bytes: number;
}

function analyze(s: string): Analysis {
  const cps = [...s];
  const bytes = Buffer.byteLength(s, 'utf8');
  if (!cps.length) return { empty: true, multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, bytes };
  let blockInd = false;
  let flowInd = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) {
    blockInd = true;
    flowInd = true;
  }
  let precededByWs = true;
  let followedByWs = isBlankz(cps[1]);
  let prevSpace = false;
  let prevBreak = false;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) {
        flowInd = true;
        blockInd = true;
      }
      if (c === '?' || c === ':') {
        flowInd = true;
        if (followedByWs) blockInd = true;
      }
      if (c === '-' && followedByWs) {
        flowInd = true;
        blockInd = true;
      }
    } else {
      if (',?[]{}'.includes(c)) flowInd = true;
      if (c === ':') {
        flowInd = true;
        if (followedByWs) blockInd = true;
      }
      if (c === '#' && precededByWs) {
        flowInd = true;
        blockInd = true;
      }
    }
    if (!isPrintable(c)) special = true;
    if (isBreak(c)) lineBreaks = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = isBlankz(c);
    if (i + 1 < cps.length) followedByWs = isBlankz(cps[i + 2]);
  }
  let flowPlain = true;
  let blockPlain = true;
  let singleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) flowPlain = blockPlain = false;
  if (breakSpace) flowPlain = blockPlain = singleQuoted = false;
  if (spaceBreak || special) flowPlain = blockPlain = singleQuoted = false;
  if (lineBreaks) flowPlain = blockPlain = false;
  if (flowInd) flowPlain = false;
  if (blockInd) blockPlain = false;
  return { empty: false, multiline: lineBreaks, flowPlain, blockPlain, singleQuoted, bytes };
}

const ESCAPES: Record<number, string> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

class Emitter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;
  indent = -1;
  indents: number[] = [];
  flowLevel = 0;
  rootContext = false;
  sequenceContext = false;
  mappingContext = false;
  simpleKeyContext = false;
  emitted = new Set<Node>();

  constructor(
    readonly bestIndent: number,
    readonly bestWidth: number,
    readonly anchorOf: Map<Node, string>,
  ) {}

  put(s: string): void {
    this.out += s;
    this.column += [...s].length;
  }

  putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  writeIndicator(ind: string, needWs: boolean, isWs: boolean, isIndention: boolean): void {
    if (needWs && !this.whitespace) this.put(' ');
    this.put(ind);
    this.whitespace = isWs;
    this.indention = this.indention && isIndention;
  }

  writeIndent(): void {
    const indent = this.indent >= 0 ? this.indent : 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  checkSimpleKey(n: Node): boolean {
    if (this.emitted.has(n)) return (this.anchorOf.get(n)?.length ?? 0) <= 128;
    let length = this.anchorOf.get(n)?.length ?? 0;
    if (n.kind === 'scalar') {
      const a = analyze(n.value);
      if (a.multiline) return false;
      length += a.bytes;
    } else if (n.kind === 'seq' ? n.items.length : n.pairs.length) return false;
    return length <= 128;
  }

  processAnchor(n: Node, alias: boolean): void {
    const a = this.anchorOf.get(n);
    if (a === undefined) return;
    this.writeIndicator(alias ? '*' : '&', true, false, false);
    this.put(a);
    this.whitespace = false;
    this.indention = false;
  }

  node(n: Node, ctx: { root?: boolean; sequence?: boolean; mapping?: boolean; simpleKey?: boolean }): void {
    this.rootContext = !!ctx.root;
    this.sequenceContext = !!ctx.sequence;
    this.mappingContext = !!ctx.mapping;
    this.simpleKeyContext = !!ctx.simpleKey;
    if (this.emitted.has(n)) {
      this.processAnchor(n, true);
      if (this.simpleKeyContext) this.put(' ');
      return;
    }
    this.emitted.add(n);
    if (n.kind === 'scalar') return this.scalar(n);
    this.processAnchor(n, false);
    const empty = n.kind === 'seq' ? !n.items.length : !n.pairs.length;
    if (n.kind === 'seq') {
      if (this.flowLevel || n.flow || empty) this.flowSeq(n);
      else this.blockSeq(n);
    } else if (this.flowLevel || n.flow || empty) this.flowMap(n);
    else this.blockMap(n);
  }

  scalar(n: { tag: string; value: string }): void {
    const a = analyze(n.value);
    const isStr = n.tag === `${TAG}str`;
    const plainImplicit = resolvePlain(n.value) === n.tag;
    const quotedImplicit = isStr;
    if (!plainImplicit && !quotedImplicit) throw new PyError('NotSupported', `to_yaml: a ${n.tag} scalar would need an explicit tag`);
    let style: 'plain' | 'single' | 'double' = 'plain';
    if (this.simpleKeyContext && a.multiline) style = 'double';
    if (style === 'plain') {
      if ((this.flowLevel && !a.flowPlain) || (!this.flowLevel && !a.blockPlain)) style = 'single';
      if (a.empty && (this.flowLevel || this.simpleKeyContext)) style = 'single';
      if (!plainImplicit) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style !== 'plain' && !quotedImplicit) throw new PyError('NotSupported', `to_yaml: a ${n.tag} scalar would need an explicit tag`);
    this.processAnchor(n as Node, false);
    this.increaseIndent(true, false);
    const split = !this.simpleKeyContext;
    if (style === 'plain') this.writePlain(n.value, split);
    else if (style === 'single') this.writeSingle(n.value, split);
    else this.writeDouble(n.value, split);
    this.indent = this.indents.pop()!;
  }

  writePlain(text: string, allowBreaks: boolean): void {
    const cps = [...text];
    if (!this.whitespace && (cps.length || this.flowLevel)) this.put(' ');
    let spaces = false;
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && cps[i + 1] !== ' ') this.writeIndent();
        else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        this.indention = false;
        spaces = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  writeBreak(c: string): void {
    if (c === '\n') this.putBreak();
    else {
      this.out += c;
      this.column = 0;
    }
  }

  writeSingle(text: string, allowBreaks: boolean): void {
    const cps = [...text];
    let spaces = false;
    let breaks = false;
    this.writeIndicator("'", true, false, false);
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i !== 0 && i !== cps.length - 1 && cps[i + 1] !== ' ') {
          this.writeIndent();
        } else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (breaks) this.writeIndent();
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  writeDouble(text: string, allowBreaks: boolean): void {
    const cps = [...text];
    let spaces = false;
    this.writeIndicator('"', true, false, false);
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i]!;
      const cp = c.codePointAt(0)!;
      if (!isPrintable(c) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
        const e = ESCAPES[cp];
        if (e !== undefined) this.put(`\\${e}`);
        else if (cp <= 0xff) this.put(`\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`);
        else if (cp <= 0xffff) this.put(`\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`);
        else this.put(`\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`);
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i !== 0 && i !== cps.length - 1) {
          this.writeIndent();
          if (cps[i + 1] === ' ') this.put('\\');
        } else this.put(c);
        spaces = true;
      } else {
        this.put(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  flowSeq(n: { items: Node[] }): void {
    this.writeIndicator('[', true, true, false);
    this.increaseIndent(true, false);
    this.flowLevel++;
    n.items.forEach((item, i) => {
      if (i > 0) this.writeIndicator(',', false, false, false);
      if (this.column > this.bestWidth) this.writeIndent();
      this.node(item, { sequence: true });
    });
    this.flowLevel--;
    this.indent = this.indents.pop()!;
    this.writeIndicator(']', false, false, false);
  }

  flowMap(n: { pairs: [Node, Node][] }): void {
    this.writeIndicator('{', true, true, false);
    this.increaseIndent(true, false);
    this.flowLevel++;
    n.pairs.forEach(([k, v], i) => {
      if (i > 0) this.writeIndicator(',', false, false, false);
      if (this.column > this.bestWidth) this.writeIndent();
      if (this.checkSimpleKey(k)) {
        this.node(k, { mapping: true, simpleKey: true });
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, false);
        this.node(k, { mapping: true });
        if (this.column > this.bestWidth) this.writeIndent();
        this.writeIndicator(':', true, false, false);
      }
      this.node(v, { mapping: true });
    });
    this.flowLevel--;
    this.indent = this.indents.pop()!;
    this.writeIndicator('}', false, false, false);
  }

  blockSeq(n: { items: Node[] }): void {
    this.increaseIndent(false, this.mappingContext && !this.indention);
    for (const item of n.items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, { sequence: true });
    }
    this.indent = this.indents.pop()!;
  }

  blockMap(n: { pairs: [Node, Node][] }): void {
    this.increaseIndent(false, false);
    for (const [k, v] of n.pairs) {
      this.writeIndent();
      if (this.checkSimpleKey(k)) {
        this.node(k, { mapping: true, simpleKey: true });
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.node(k, { mapping: true });
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(v, { mapping: true });
    }
    this.indent = this.indents.pop()!;
  }
}

/** yaml.dump(data, Dumper=AnsibleDumper, allow_unicode=True, …) */
export function dumpYaml(data: unknown, opts: Partial<DumpOptions> = {}): string {
  const o: DumpOptions = {
    defaultFlowStyle: opts.defaultFlowStyle === undefined ? null : opts.defaultFlowStyle,
    indent: opts.indent ?? 2,
    width: opts.width ?? 80,
    sortKeys: opts.sortKeys ?? true,
    explicitStart: opts.explicitStart ?? false,
    explicitEnd: opts.explicitEnd ?? false,
  };
  const indent = o.indent < 2 || o.indent > 9 ? 2 : o.indent;
  let width = o.width;
  if (width >= 0 && width <= indent * 2) width = 80;
  if (width < 0) width = Number.MAX_SAFE_INTEGER;
  const root = represent(data, o);
  const e = new Emitter(indent, width, anchors(root));
  if (o.explicitStart) {
    e.writeIndent();
    e.writeIndicator('---', true, false, false);
  }
  e.node(root, { root: true });
  e.writeIndent();
  if (o.explicitEnd) {
    e.writeIndicator('...', true, false, false);
    e.writeIndent();
  }
  return e.out;
}
