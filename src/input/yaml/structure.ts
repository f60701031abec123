/**
 * Checks on a parsed YAML document's structure that the yaml library either does slowly or
 * reports without a position, each located at the offending node (issue 15, items 7 and 8):
 * - a duplicate key in a mapping (the library's own check is quadratic in the keys: 60,000 keys
 *   took minutes); Kiln refuses duplicate keys where Ansible warns and keeps the last;
 * - an alias to an anchor that is not defined before it (PyYAML: "found undefined alias");
 * - an alias inside the very node it names (a recursive structure: nothing in Kiln could use it);
 * - aliases that expand past LIMITS.aliasNodes nodes ("billion laughs"): reported at the alias
 *   where the total crosses the limit;
 * - collections nested deeper than LIMITS.yamlDepth.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, type ParsedNode } from 'yaml';
import type { Diagnostic, Loc } from '../../core/diagnostic.ts';
import { LIMITS } from '../../core/limits.ts';

export function structureErrors(doc: Document.Parsed, at: (offset: number) => Loc): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const anchors = new Map<string, Node>();
  const targets = new Map<Node, Node>();
  const open = new Set<Node>();
  const sizes = new Map<Node, number>();
  const cap = LIMITS.aliasNodes + 1;
  let expanded = 0;
  let stop = false;
  const here = (n: unknown) => at((n as ParsedNode).range?.[0] ?? 0);

  /** Nodes `n` stands for once its aliases are expanded (capped just past the limit). */
  const sizeOf = (n: unknown): number => {
    if (!n || typeof n !== 'object') return 1;
    const node = n as Node;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let total = 1;
    if (isAlias(node)) total = sizeOf(targets.get(node));
    else if (isMap(node) || isSeq(node)) {
      sizes.set(node, cap); // a cycle (already refused) counts as too big
      for (const item of node.items) {
        total += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
        if (total >= cap) break;
      }
    }
    total = Math.min(total, cap);
    sizes.set(node, total);
    return total;
  };

  const walk = (n: unknown, depth: number): void => {
    if (stop || !n || typeof n !== 'object') return;
    const node = n as Node;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        errors.push({ ...here(node), message: `YAML error: undefined alias '*${node.source}' (no anchor &${node.source} before it)` });
      } else if (open.has(target)) {
        errors.push({
          ...here(node),
          message: `YAML error: alias '*${node.source}' is inside the node it refers to (a recursive structure)`,
        });
      } else {
        targets.set(node, target);
        expanded += sizeOf(target);
        if (expanded > LIMITS.aliasNodes) {
          errors.push({
            ...here(node),
            message: `YAML error: aliases expand to more than ${LIMITS.aliasNodes} nodes here (an alias bomb?): Kiln's limit per file`,
          });
          stop = true;
        }
      }
      return;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    if (!isMap(node) && !isSeq(node)) return;
    if (depth > LIMITS.yamlDepth) {
      errors.push({ ...here(node), message: `YAML error: collections nested more than ${LIMITS.yamlDepth} deep` });
      stop = true;
      return;
    }
    open.add(node);
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (keys.has(pair.key.value)) errors.push({ ...here(pair.key), message: 'YAML syntax error: Map keys must be unique' });
          keys.add(pair.key.value);
        }
        walk(pair.key, depth + 1);
        walk(pair.value, depth + 1);
      }
    } else for (const item of node.items) walk(item, depth + 1);
    open.delete(node);
  };
  walk(doc.contents, 0);
  return errors;
}
