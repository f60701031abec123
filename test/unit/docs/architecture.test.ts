/**
 * docs/architecture.md names real places: every `src/…` path it gives in backticks exists.
 * Renaming or moving a layer, the contract or a domain folder means updating the page too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { proseLines, read, root } from './markdown.ts';

const srcPaths = [
  ...new Set(proseLines(read('docs/architecture.md')).flatMap(({ text }) => [...text.matchAll(/`(src\/[^`\s]*)`/g)].map((m) => m[1]))),
];

describe('docs/architecture.md', () => {
  it('names the layers by their src/ paths', () => {
    expect(srcPaths.length).toBeGreaterThan(10);
  });

  it.each(srcPaths)('%s exists', (path) => {
    expect(existsSync(join(root, path)), `${path} is named in docs/architecture.md`).toBe(true);
  });
});
