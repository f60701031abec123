/**
 * The layers of src/ import only downward, and nothing imports in a cycle: not two files, not two
 * folders. The order is the one docs/architecture.md describes; a new top-level folder must be
 * placed in it here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Lowest first. Folders of one rank may not import each other. */
const LAYERS: string[][] = [
  ['core'],
  ['sh', 'template'],
  ['input'],
  ['transport'],
  ['modules'],
  ['facts'],
  ['plan'],
  ['engine'],
  ['output'],
  ['cli'],
];
/** Islands: import only these layers (besides themselves), and only cli imports them. */
const ISLANDS: Record<string, string[]> = { lab: ['core'] };

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** file → the src files it imports (relative specifiers, type-only imports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(re)].map((m) => resolve(dirname(f), m[1] ?? m[2]!));
    graph.set(
      relative(SRC, f),
      deps.map((d) => relative(SRC, d)),
    );
  }
  return graph;
}

/** Strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The graph of folders at `depth` (1 = src/<top>, 2 = src/<top>/<sub>), edges between different folders. */
function folderGraph(graph: Map<string, string[]>, depth: number): Map<string, string[]> {
  const folder = (f: string) => {
    const parts = f.split('/');
    return parts.length > depth ? parts.slice(0, depth).join('/') : undefined;
  };
  const g = new Map<string, Set<string>>();
  for (const [f, deps] of graph) {
    const a = folder(f);
    for (const d of deps) {
      const b = folder(d);
      if (a && b && a !== b) g.set(a, (g.get(a) ?? new Set()).add(b));
    }
  }
  return new Map([...g].map(([k, v]) => [k, [...v]]));
}

const rank = (top: string) => LAYERS.findIndex((l) => l.includes(top));

describe('src layers', () => {
  const graph = importGraph();

  it('every top-level folder of src has a layer', () => {
    const tops = [...new Set([...graph.keys()].map((f) => f.split('/')[0]!).filter((t) => !t.endsWith('.ts')))];
    expect(tops.filter((t) => rank(t) === -1 && !(t in ISLANDS))).toEqual([]);
  });

  it('imports go only to lower layers (or within the same folder); islands stay islands', () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      const a = f.split('/')[0]!;
      for (const d of deps) {
        const b = d.split('/')[0]!;
        if (a === b) continue;
        const ok = a in ISLANDS ? ISLANDS[a]!.includes(b) : b in ISLANDS ? a === 'cli' : rank(b) !== -1 && rank(b) < rank(a);
        if (!ok) bad.push(`${f} → ${d}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no file import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('no folder import cycles (top-level folders and their sub-folders)', () => {
    expect(cycles(folderGraph(graph, 1))).toEqual([]);
    expect(cycles(folderGraph(graph, 2))).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const g = new Map([
      ['a/x.ts', ['b/y.ts']],
      ['b/y.ts', ['c/z.ts']],
      ['c/z.ts', ['a/x.ts']],
      ['d/w.ts', ['a/x.ts']],
    ]);
    expect(cycles(g)).toEqual([['a/x.ts', 'b/y.ts', 'c/z.ts']]);
    expect(cycles(folderGraph(g, 1))).toEqual([['a', 'b', 'c']]);
  });
});
