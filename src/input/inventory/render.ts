/** Text renderings for `kiln inventory …` (pure: they return strings). Secrets print as ********. */
import { redact, REDACTED, isSecret } from '../../core/secret/secret.ts';
import { hostVarsOf, mergeVarLayers, type MergedVars } from './layers.ts';
import { plainNumbers } from '../yaml/pyyaml-schema.ts';
import type { Inventory, VarLayer } from './types.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Hosts in inventory order with the address to dial and their groups. */
export function renderInventoryList(inv: Inventory): string {
  const rows = [['HOST', 'ADDRESS', 'GROUPS']];
  for (const h of inv.hosts.values()) {
    const vars = hostVarsOf(inv, h.name);
    const address = vars.address === undefined ? h.name : isSecret(vars.address) ? REDACTED : String(vars.address);
    const port = typeof vars.port === 'number' && vars.port !== 22 ? `:${vars.port}` : '';
    const groups = h.groups.filter((g) => g !== 'all' && g !== 'ungrouped').sort();
    rows.push([h.name, address + port, groups.join(',') || '-']);
  }
  return redact(table(rows)) + '\n';
}

/** Like `ansible-inventory --graph`: child groups (by name), then hosts (by name). */
export function renderInventoryGraph(inv: Inventory, root = 'all'): string {
  const out: string[] = [];
  const line = (name: string, depth: number) => out.push(depth ? '  |'.repeat(depth) + '--' + name : name);
  const walk = (g: string, depth: number, path: string[]) => {
    line(`@${g}:`, depth);
    if (path.includes(g)) return;
    const grp = inv.groups.get(g)!;
    for (const c of [...grp.children].sort()) walk(c, depth + 1, [...path, g]);
    if (g !== 'all') for (const h of [...grp.hosts].sort()) line(h, depth + 1);
  };
  if (!inv.groups.has(root)) throw new Error(`no group named '${root}' in the inventory`);
  walk(root, 0, []);
  return out.join('\n') + '\n';
}

export function formatVarValue(v: unknown): string {
  if (isSecret(v)) return REDACTED;
  if (v === undefined) return 'undefined';
  return redact(JSON.stringify(plainNumbers(v)) ?? String(v));
}

/**
 * Each var, its value and where it came from, sorted by name. Accepts layers (merged here) or
 * an already merged result.
 */
export function renderHostVars(input: VarLayer[] | MergedVars): string {
  const merged = Array.isArray(input) ? mergeVarLayers(input) : input;
  const keys = Object.keys(merged.vars).sort();
  if (!keys.length) return '(no variables)\n';
  const rows = [['VARIABLE', 'VALUE', 'SOURCE'], ...keys.map((k) => [k, formatVarValue(merged.vars[k]), merged.sources[k] ?? '?'])];
  return redact(table(rows)) + '\n';
}
