/**
 * Ansible's YAML inventory structure:
 *   all: { vars: {…}, hosts: { name: {vars} | null }, children: { group: {…} } }
 * Top-level keys are groups (normally just `all`). A group has only `hosts`, `children`, `vars`.
 * Host keys may use ranges (`web[01:03]:`).
 */
import type { Diagnostic } from '../../core/diagnostic.ts';
import { InputError } from '../../core/diagnostic.ts';
import type { VaultOptions } from '../../core/secret/vault.ts';
import { loadYamlFile, YamlCursor, type YamlFile } from '../yaml/document.ts';
import type { InventoryBuilder } from './builder.ts';
import { normalizeVars, type RawVar } from './connection-keys.ts';
import { expandHostRange, HostRangeError } from './ranges.ts';

const GROUP_KEYS = ['hosts', 'children', 'vars'];
const MAX_DEPTH = 64;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Key/value entries of the mapping at `cur`, with the location of each key and value. */
export function mappingEntries(cur: YamlCursor): RawVar[] {
  const v = cur.value as Record<string, unknown>;
  return Object.keys(v).map((key) => ({ key, value: v[key], keyLoc: cur.child(key).loc(true), valueLoc: cur.child(key).loc() }));
}

export function loadYamlInventory(file: string, label: string, b: InventoryBuilder, errors: Diagnostic[], vault: VaultOptions = {}): void {
  let y: YamlFile;
  try {
    y = loadYamlFile(file, vault);
  } catch (err) {
    if (err instanceof InputError) {
      errors.push(...err.diagnostics);
      return;
    }
    throw err;
  }
  readYamlInventory(y, label, b, errors);
}

export function readYamlInventory(y: YamlFile, label: string, b: InventoryBuilder, errors: Diagnostic[]): void {
  const root = new YamlCursor(y, []);
  if (root.value === null || root.value === undefined) return;
  if (!isPlainObject(root.value)) {
    errors.push(root.diag('an inventory must be a mapping of group names (e.g. `all:`)'));
    return;
  }
  const walk = (cur: YamlCursor, name: string, parent: string | undefined, depth: number) => {
    const keyLoc = cur.loc(true);
    b.group(name, keyLoc);
    if (parent !== undefined) b.addChild(parent, name, keyLoc);
    const v = cur.value;
    if (v === null || v === undefined) return;
    if (!isPlainObject(v)) {
      errors.push(cur.diag(`group '${name}' must be a mapping with hosts, children or vars, got ${kind(v)}`));
      return;
    }
    if (depth > MAX_DEPTH) {
      errors.push(cur.diag(`groups nested deeper than ${MAX_DEPTH} levels`));
      return;
    }
    for (const key of Object.keys(v)) {
      if (!GROUP_KEYS.includes(key)) {
        errors.push(cur.child(key).diag(`unknown key '${key}' in group '${name}' (expected hosts, children, vars)`, true));
      }
    }
    // Keys in document order, so hosts keep the order in which they appear in the file.
    for (const key of Object.keys(v)) {
      if (v[key] === null || v[key] === undefined) continue;
      if (key === 'vars') {
        const vc = cur.child('vars');
        if (!isPlainObject(v.vars)) errors.push(vc.diag(`'vars' of group '${name}' must be a mapping, got ${kind(v.vars)}`));
        else {
          const { vars, locs } = normalizeVars(mappingEntries(vc), errors);
          b.addVars(b.group(name), `${label}: group ${name}`, vars, locs);
        }
      }
      if (key === 'hosts') {
        const hc = cur.child('hosts');
        if (!isPlainObject(v.hosts))
          errors.push(hc.diag(`'hosts' of group '${name}' must be a mapping of host names, got ${kind(v.hosts)}`));
        else {
          for (const hostKey of Object.keys(v.hosts)) {
            const one = hc.child(hostKey);
            const loc = one.loc(true);
            let names: string[];
            try {
              names = expandHostRange(hostKey);
            } catch (err) {
              if (!(err instanceof HostRangeError)) throw err;
              errors.push({ ...loc, col: loc.col + err.offset, message: err.message });
              continue;
            }
            const tooMany = b.tooManyHosts(names);
            if (tooMany) {
              errors.push({ ...loc, message: tooMany });
              return;
            }
            const hv = one.value;
            let normalized: ReturnType<typeof normalizeVars> | undefined;
            if (hv !== null && hv !== undefined) {
              if (!isPlainObject(hv)) {
                errors.push(one.diag(`host '${hostKey}' must map to its vars (or nothing), got ${kind(hv)}`));
              } else {
                normalized = normalizeVars(mappingEntries(one), errors);
              }
            }
            for (const h of names) {
              b.addHostToGroup(h, name, loc);
              if (normalized) b.addVars(b.host(h, loc), `${label}: host ${h}`, normalized.vars, normalized.locs);
            }
          }
        }
      }
      if (key === 'children') {
        const cc = cur.child('children');
        if (!isPlainObject(v.children))
          errors.push(cc.diag(`'children' of group '${name}' must be a mapping of group names, got ${kind(v.children)}`));
        else for (const child of Object.keys(v.children)) walk(cc.child(child), child, name, depth + 1);
      }
    }
  };
  for (const name of Object.keys(root.value)) walk(root.child(name), name, undefined, 0);
}

export function kind(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
