/**
 * YAML loading that keeps positions. Every value Kiln reads from YAML can be traced back to
 * `file:line:col`, so schema errors point at the offending key or value. Scalars resolve as in
 * Ansible (YAML 1.1 as PyYAML reads it: see pyyaml-schema.ts). Vault data (a whole
 * vault file, `!vault` values) is decrypted with the password the caller passes in `VaultOptions`.
 */
import { readFileSync } from 'node:fs';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node, type ParsedNode } from 'yaml';
import { type Diagnostic, InputError, type Loc } from '../../core/diagnostic.ts';
import { yamlTags } from '../../core/secret/vault-tag.ts';
import { Secret } from '../../core/secret/secret.ts';
import { decryptVault, isVaultText, type VaultOptions } from '../../core/secret/vault.ts';
import { withPyyamlScalars } from './pyyaml-schema.ts';
import { decodeUtf8 } from '../../core/text.ts';

export interface YamlFile {
  file: string;
  source: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** Plain JS value (secrets as Secret instances). */
  value: unknown;
}

export function parseYaml(file: string, source: string, vault: VaultOptions = {}): { result?: YamlFile; errors: Diagnostic[] } {
  const lines = new LineCounter();
  // YAML 1.1 with PyYAML's scalar resolution (what Ansible reads): `yes` is true, `0644` is 420.
  const doc = parseDocument(source, {
    lineCounter: lines,
    prettyErrors: false,
    schema: 'yaml-1.1',
    customTags: (tags) => [...(withPyyamlScalars(tags) as typeof tags), ...yamlTags(vault)],
    uniqueKeys: true,
  });
  const errors: Diagnostic[] = [];
  for (const e of [...doc.errors]) {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    errors.push({ file, line: pos.line, col: pos.col, message: `YAML syntax error: ${firstLine(e.message)}` });
  }
  if (errors.length) return { errors };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    errors.push({ file, line: 1, col: 1, message: `YAML error: ${(err as Error).message}` });
    return { errors };
  }
  return { result: { file, source, doc, lines, value }, errors };
}

/** Reads and parses a YAML file; throws InputError with located diagnostics. */
export function loadYamlFile(file: string, vault: VaultOptions = {}): YamlFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError({ file, message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
  let source = decodeUtf8(bytes, file);
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
