/**
 * `group_vars/` and `host_vars/` beside an inventory: `<name>.yml` (also `.yaml`, `.json`, or no
 * extension) and/or a directory `<name>/` whose files (recursively, `*.yml|*.yaml|*.json`) are
 * merged in name order. The file form comes before the directory form. Whole-file vault files
 * are decrypted and their strings become Secrets (see yaml/document.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Diagnostic } from '../../core/diagnostic.ts';
import { InputError } from '../../core/diagnostic.ts';
import type { VaultOptions } from '../../core/secret/vault.ts';
import { loadYamlFile, YamlCursor } from '../yaml/document.ts';
import { normalizeVars } from './connection-keys.ts';
import type { VarLayer } from './types.ts';
import { isPlainObject, kind, mappingEntries } from './yaml-inventory.ts';

const VAR_FILE = /^(.*?)(\.ya?ml|\.json)?$/;

export interface VarsFileSet {
  /** name (group or host) → layers, low → high. */
  layers: Map<string, { file: string; layer: VarLayer }[]>;
}

function listDir(dir: string): { name: string; isDir: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.') && !/(~|\.(bak|orig|swp|retry|md|txt))$/.test(n))
    .sort()
    .map((name) => {
      let isDir = false;
      try {
        isDir = statSync(join(dir, name)).isDirectory();
      } catch {
        /* broken link: treated as a file, reported when read */
      }
      return { name, isDir };
    });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of listDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDir) out.push(...filesUnder(p));
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Reads `<invDir>/<kind>/`. Sources are labelled relative to `labelBase` (the inventory dir),
 * e.g. `group_vars/web.yml`.
 */
export function loadVarsFiles(
  invDir: string,
  kind: 'group_vars' | 'host_vars',
  labelBase: string,
  errors: Diagnostic[],
  vault: VaultOptions = {},
): VarsFileSet {
  const base = join(invDir, kind);
  const byName = new Map<string, string[]>();
  const add = (name: string, file: string) => {
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name)!.push(file);
  };
  const entries = listDir(base);
  // Files first, then directories, so `<name>.yml` < `<name>/…`.
  for (const e of entries) if (!e.isDir) add(VAR_FILE.exec(e.name)![1]!, join(base, e.name));
  for (const e of entries) if (e.isDir) for (const f of filesUnder(join(base, e.name))) add(e.name, f);

  const layers = new Map<string, { file: string; layer: VarLayer }[]>();
  for (const [name, files] of byName) {
    const list: { file: string; layer: VarLayer }[] = [];
    for (const file of files) {
      const layer = loadVarsFile(file, relative(labelBase, file) || file, errors, vault);
      if (layer) list.push({ file, layer });
    }
    layers.set(name, list);
  }
  return { layers };
}

/** One vars file as a layer (undefined after reporting an error). */
export function loadVarsFile(file: string, source: string, errors: Diagnostic[], vault: VaultOptions = {}): VarLayer | undefined {
  let y;
  try {
    y = loadYamlFile(file, vault);
  } catch (err) {
    if (err instanceof InputError) {
      errors.push(...err.diagnostics);
      return undefined;
    }
    throw err;
  }
  const root = new YamlCursor(y, []);
  if (root.value === null || root.value === undefined) return { source, vars: {}, locs: {} };
  if (!isPlainObject(root.value)) {
    errors.push(root.diag(`a vars file must be a mapping of variable names to values, got ${kind(root.value)}`));
    return undefined;
  }
  const { vars, locs } = normalizeVars(mappingEntries(root), errors);
  return { source, vars, locs };
}
