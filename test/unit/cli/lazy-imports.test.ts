/**
 * `kiln` starts by loading only the command line's definitions: what src/cli/main.ts imports
 * statically (transitively; `import type` and `import()` excluded) stays out of the engine, the
 * modules, the planner, the template engine, the SSH transport and the lab. A command's
 * implementation comes through `await import()` when it runs (README, Start-up).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../../src');

/** The src files `file` imports statically for their values (relative specifiers). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const re =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/g;
  return [...text.matchAll(re)].filter((m) => m[2] === undefined).map((m) => resolve(dirname(file), m[3] ?? m[4]!));
}

function closure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...staticImports(f));
  }
  return new Set([...seen].map((f) => relative(SRC, f)));
}

describe('the CLI loads commands lazily', () => {
  const loaded = closure(join(SRC, 'cli/main.ts'));

  it('finds the static imports (the walk works)', () => {
    expect(loaded).toContain('cli/options.ts');
    expect(loaded).toContain('core/diagnostic.ts');
    expect(loaded).toContain('cli/lab.ts');
  });

  it('main.ts reaches no engine, module, planner, template, transport or lab code statically', () => {
    const heavy = [...loaded].filter((f) =>
      /^(engine|modules|plan|template|output|facts|sh)\/|^transport\/ssh\/(connection|factory|preflight)\.ts$|^lab\/(?!errors\.ts$)|^cli\/(apply|facts|modules|extra-vars)\.ts$/.test(
        f,
      ),
    );
    expect(heavy).toEqual([]);
  });
});
