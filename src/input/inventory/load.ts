/**
 * loadInventory: one or several `-i` sources (files or directories), merged, with the
 * group_vars/ and host_vars/ beside each source. All problems are collected and thrown as one
 * InputError; warnings (vars files for unknown groups/hosts, …) are returned. Vault files and
 * `!vault` values are decrypted with `vault.vaultPassword`.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { type Diagnostic, DiagnosticBag, InputError } from '../../core/diagnostic.ts';
import { readInputText } from '../../core/limits.ts';
import type { VaultOptions } from '../../core/secret/vault.ts';
import { InventoryBuilder } from './builder.ts';
import { looksLikeIni, readIniInventory } from './ini-inventory.ts';
import type { Inventory, VarLayer } from './types.ts';
import { loadVarsFiles } from './vars-files.ts';
import { loadYamlInventory } from './yaml-inventory.ts';

const SKIP_IN_DIR = /(~|\.(bak|orig|retry|swp|md|txt|j2|sh|py|cfg|json|pyc))$/;

/** The inventory files of a directory source: *.yml, *.yaml, *.ini and extensionless files. */
function filesOfDir(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && !SKIP_IN_DIR.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        if (!statSync(p).isFile()) return false;
      } catch {
        return false;
      }
      const ext = extname(p);
      return ext === '' || ext === '.yml' || ext === '.yaml' || ext === '.ini';
    });
}

export function loadInventory(paths: string | string[], vault: VaultOptions = {}): { inventory: Inventory; warnings: Diagnostic[] } {
  const list = (Array.isArray(paths) ? paths : [paths]).map((p) => resolve(p));
  if (!list.length) throw new InputError({ file: '<inventory>', message: 'no inventory given (use -i FILE or DIR)' });
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const files: string[] = [];
  const dirs: string[] = [];
  for (const p of list) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      errors.push({ file: p, message: `inventory not found (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      continue;
    }
    const dir = isDir ? p : dirname(p);
    if (!dirs.includes(dir)) dirs.push(dir);
    if (isDir) {
      const inDir = filesOfDir(p);
      if (!inDir.length) warnings.push({ file: p, message: 'inventory directory contains no inventory files' });
      for (const f of inDir) if (!files.includes(f)) files.push(f);
    } else if (!files.includes(p)) files.push(p);
  }
  const dir = dirs[0] ?? dirname(list[0]!);
  const label = (f: string) => relative(dir, f) || basename(f);

  const b = new InventoryBuilder();
  for (const f of files) {
    const ext = extname(f);
    if (ext === '.yml' || ext === '.yaml' || ext === '.json') {
      loadYamlInventory(f, label(f), b, errors, vault);
      continue;
    }
    let text: string;
    try {
      text = readInputText(f);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      errors.push(...err.diagnostics);
      continue;
    }
    if (ext === '.ini' || looksLikeIni(text)) readIniInventory(f, text, label(f), b, errors);
    else loadYamlInventory(f, label(f), b, errors, vault);
  }

  if (b.tooMany) throw new InputError(errors); // past the host limit: no group_vars, no closure over every host

  // group_vars / host_vars beside each source (file form < directory form; first -i < later -i).
  const groupFiles = new Map<string, { file: string; layer: VarLayer }[]>();
  const hostFiles = new Map<string, { file: string; layer: VarLayer }[]>();
  for (const d of dirs) {
    for (const [kind, target] of [
      ['group_vars', groupFiles],
      ['host_vars', hostFiles],
    ] as const) {
      for (const [name, layers] of loadVarsFiles(d, kind, dir, errors, vault).layers) {
        if (!target.has(name)) target.set(name, []);
        target.get(name)!.push(...layers);
      }
    }
  }
  const knownGroups = new Set([...b.groups.keys(), 'all', 'ungrouped']);
  for (const [name, layers] of groupFiles) {
    if (!knownGroups.has(name)) {
      for (const l of layers) warnings.push({ file: l.file, message: `group_vars for group '${name}', which is not in the inventory` });
      continue;
    }
    const g = b.group(name);
    for (const l of layers) g.layers.push(l.layer);
  }
  for (const [name, layers] of hostFiles) {
    if (!b.hosts.has(name)) {
      for (const l of layers) warnings.push({ file: l.file, message: `host_vars for host '${name}', which is not in the inventory` });
      continue;
    }
    const h = b.hosts.get(name)!;
    for (const l of layers) h.layers.push(l.layer);
  }

  const inventory = b.finish({ file: files[0] ?? list[0]!, files, dir, dirs }, errors, warnings);
  const bag = new DiagnosticBag();
  bag.addAll(errors);
  bag.throwIfAny();
  return { inventory, warnings };
}
