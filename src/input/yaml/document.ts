/**
 * YAML loading that keeps positions. Every value Kiln reads from YAML can be traced back to
 * `file:line:col`, so schema errors point at the offending key or value. Scalars resolve as in
 * Ansible (YAML 1.1 as PyYAML reads it: see pyyaml-schema.ts). Vault data (a whole
 * vault file, `!vault` values) is decrypted with the password the caller passes in `VaultOptions`.
 */
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node, type ParsedNode } from 'yaml';
import { type Diagnostic, InputError, type Loc } from '../../core/diagnostic.ts';
import { LIMITS, readInputText } from '../../core/limits.ts';
import { structureErrors } from './structure.ts';
import { yamlTags } from '../../core/secret/vault-tag.ts';
import { Secret } from '../../core/secret/secret.ts';
import { decryptVault, isVaultText, type VaultOptions } from '../../core/secret/vault.ts';
import { withPyyamlScalars } from './pyyaml-schema.ts';

export interface YamlFile {
  file: string;
  source: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Plain JS value (secrets as Secret instances). */
  value: unknown;
}

export function parseYaml(file: string, text: string, vault: VaultOptions = {}): { result?: YamlFile; errors: Diagnostic[] } {
  // A UTF-8 byte-order mark is not content (PyYAML drops it too): columns count from after it.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineCounter();
  const bad = NON_PRINTABLE.exec(source);
  if (bad) {
    const before = source.slice(0, bad.index);
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    const hex = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { errors: [{ file, line, col, message: `YAML error: unacceptable character #x${hex}: control characters are not allowed` }] };
  }
  // YAML 1.1 with PyYAML's scalar resolution (what Ansible reads): `yes` is true, `0644` is 420.
  // Duplicate keys are found by structureErrors (the yaml library's own check is quadratic).
  let doc: Document.Parsed;
  try {
    doc = parseDocument(source, {
      lineCounter: lines,
      prettyErrors: false,
      schema: 'yaml-1.1',
      customTags: (tags) => [...(withPyyamlScalars(tags) as typeof tags), ...yamlTags(vault)],
      uniqueKeys: false,
    });
  } catch (err) {
    if (err instanceof RangeError) return { errors: [{ file, line: 1, col: 1, message: 'YAML error: nested too deeply' }] };
    throw err;
  }
  const at = (offset: number): Loc => {
    const p = lines.linePos(offset);
    return { file, line: p.line, col: p.col };
  };
  const errors: Diagnostic[] = [];
  // The parser's own recursion gave out (thousands of nested collections): one error, where it happened.
  const overflow = doc.errors.find((e) => /Maximum call stack/.test(e.message));
  if (overflow) {
    // Where the parser gave out depends on the stack left; the bracket past the nesting limit does not.
    const deep = flowDepthPast(source, LIMITS.yamlDepth);
    if (deep !== undefined)
      return { errors: [{ ...at(deep), message: `YAML error: collections nested more than ${LIMITS.yamlDepth} deep` }] };
    return { errors: [{ ...at(overflow.pos[0]), message: 'YAML syntax error: collections nested too deeply' }] };
  }
  for (const e of [...doc.errors]) {
    errors.push({ ...at(syntaxErrorOffset(doc, e.code, e.message, e.pos[0])), message: `YAML syntax error: ${firstLine(e.message)}` });
  }
  // A tab in the indentation of the line of the first error is the cause (PyYAML: "found a tab
  // character that violates indentation"), not the tokens the yaml library then trips over.
  if (errors.length) {
    const first = errors[0]!;
    const text = source.split('\n')[(first.line ?? 1) - 1] ?? '';
    const indent = /^[ \t]*/.exec(text)![0];
    if (indent.includes('\t'))
      return {
        errors: [
          { file, line: first.line, col: indent.indexOf('\t') + 1, message: 'YAML syntax error: Tabs are not allowed as indentation' },
        ],
      };
  }
  // The yaml library only warns about a tag it cannot resolve and reads the value as a string;
  // PyYAML (Ansible) refuses it: "could not determine a constructor for the tag '!foo'".
  for (const w of doc.warnings) {
    if (w.code === 'TAG_RESOLVE_FAILED')
      errors.push({
        ...at(w.pos[0]),
        message: `YAML error: ${firstLine(w.message).replace(/^Unresolved tag/, 'unknown tag')} (no constructor for it)`,
      });
  }
  if (errors.length) return { errors };
  errors.push(...structureErrors(doc, at));
  if (errors.length) return { errors };
  let value: unknown;
  try {
    // structureErrors bounded what aliases expand to (and refused undefined or recursive ones).
    value = doc.toJS({ maxAliasCount: -1 });
  } catch (err) {
    errors.push({ file, line: 1, col: 1, message: `YAML error: ${(err as Error).message}` });
    return { errors };
  }
  return { result: { file, source, doc, lines, value }, errors };
}

/**
 * Where a syntax error is: the yaml library reports an unclosed quote, or a flow collection never
 * closed, at the end of the file; the user needs where the quote or the bracket opens (PyYAML
 * names both: "while scanning a quoted scalar … found unexpected end of stream").
 */
function syntaxErrorOffset(doc: Document.Parsed, code: string, message: string, offset: number): number {
  let open: number | undefined;
  if (code === 'MISSING_CHAR' && /quote/.test(message)) {
    visit(doc, {
      Scalar(_k, n) {
        if ((n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE') && n.range?.[1] === offset) {
          open = n.range[0];
          return visit.BREAK;
        }
      },
    });
  } else if (/^Flow (sequence|map) .* end with a [\]}]/.test(message)) {
    // The innermost flow collection of that kind that runs to the error without its bracket.
    const seq = message.startsWith('Flow sequence');
    visit(doc, {
      Node(_k, n) {
        if ((seq ? isSeq(n) : isMap(n)) && (n as { flow?: boolean }).flow && n.range?.[1] === offset)
          open = Math.max(open ?? -1, n.range[0]);
      },
    });
  }
  return open ?? offset;
}

/** The offset of the first flow bracket nested deeper than `limit` (quotes and comments skipped; a rough scan for a rare case). */
function flowDepthPast(source: string, limit: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '"' || c === "'") {
      for (i++; i < source.length && source[i] !== c; i++) if (c === '"' && source[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(source[i - 1]!))) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > limit) return i;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** PyYAML refuses these anywhere in a stream ("unacceptable character #x0007: control characters are not allowed"). */
const NON_PRINTABLE = /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Reads and parses a YAML file; throws InputError with located diagnostics. */
export function loadYamlFile(file: string, vault: VaultOptions = {}): YamlFile {
  let source = readInputText(file);
  let secretFile = false;
  if (isVaultText(source)) {
    try {
      source = decryptVault(source, vault.vaultPassword);
      secretFile = true;
    } catch (err) {
      throw new InputError({ file, line: 1, col: 1, message: (err as Error).message });
    }
  }
  const { result, errors } = parseYaml(file, source, vault);
  if (!result) throw new InputError(errors);
  // A whole-file vault: every string in it is a secret.
  if (secretFile) result.value = wrapSecrets(result.value);
  return result;
}

function wrapSecrets(v: unknown): unknown {
  if (typeof v === 'string') return new Secret(v, 'vault');
  if (Array.isArray(v)) return v.map(wrapSecrets);
  if (v && typeof v === 'object' && !(v instanceof Secret)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrapSecrets(x)]));
  }
  return v;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

export type PathSeg = string | number;

/** Finds the node at a path (map keys / sequence indexes). With `key`, returns the key node of the last map entry. */
export function nodeAt(root: unknown, path: PathSeg[], key = false): Node | undefined {
  let node = root as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (!node) return undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return node;
      if (key && i === path.length - 1) return pair.key as Node;
      node = (pair.value ?? pair.key) as Node;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (!item) return node;
      node = item as Node;
    } else {
      return node;
    }
  }
  return node;
}

/** Location of the node at `path` within the YAML file (falls back to the nearest existing parent). */
export function locate(y: YamlFile, path: PathSeg[], key = false): Loc {
  const node = nodeAt(y.doc.contents, path, key) as ParsedNode | undefined;
  const offset = node?.range?.[0] ?? 0;
  const p = y.lines.linePos(offset);
  return { file: y.file, line: p.line, col: p.col };
}

/** A position-aware view of a sub-tree of a YAML file, used by loaders to report errors. */
export class YamlCursor {
  constructor(
    readonly y: YamlFile,
    readonly path: PathSeg[],
  ) {}

  get value(): unknown {
    let v: unknown = this.y.value;
    for (const seg of this.path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string | number, unknown>)[seg];
    }
    return v;
  }

  child(...segs: PathSeg[]): YamlCursor {
    return new YamlCursor(this.y, [...this.path, ...segs]);
  }

  loc(key = false): Loc {
    return locate(this.y, this.path, key);
  }

  diag(message: string, key = false): Diagnostic {
    return { ...this.loc(key), message };
  }
}
