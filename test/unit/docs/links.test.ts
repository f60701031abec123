/** README.md stays a newcomer's page, and every relative link in it and in docs/ leads somewhere. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchors, isExternal, links, markdownFiles, read, root, slug } from './markdown.ts';

describe('README and docs/', () => {
  it('README.md has at most 400 lines', () => {
    expect(read('README.md').replace(/\n$/, '').split('\n').length).toBeLessThanOrEqual(400);
  });

  it('README.md keeps the two commands CI runs', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm test');
    expect(readme).toContain('sudo npm run test:e2e');
  });

  it("README.md's Documentation list links every page in docs/", () => {
    const linked = new Set(links(read('README.md')).map((l) => l.target.split('#')[0]));
    const pages = markdownFiles().filter((f) => f.startsWith('docs/'));
    expect(pages.filter((p) => !linked.has(p))).toEqual([]);
  });

  it.each(markdownFiles())('every relative link and #anchor in %s resolves', (file) => {
    const broken: string[] = [];
    for (const { line, target } of links(read(file))) {
      if (isExternal(target)) continue;
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const path = pathPart ? normalize(join(dirname(file), decodeURIComponent(pathPart))) : file;
      const where = `${file}:${line}: ${target}`;
      if (path.startsWith('..') || !existsSync(join(root, path))) {
        broken.push(`${where} (no such file: ${relative('.', path)})`);
        continue;
      }
      if (anchor === undefined || !path.endsWith('.md') || statSync(join(root, path)).isDirectory()) continue;
      if (!anchors(read(path)).has(decodeURIComponent(anchor))) broken.push(`${where} (no heading '#${anchor}' in ${path})`);
    }
    expect(broken).toEqual([]);
  });
});

describe('GitHub heading anchors', () => {
  it('are the rendered text in lower case, punctuation dropped, spaces as dashes', () => {
    expect(slug('Role `tls`')).toBe('role-tls');
    expect(slug('What `up` writes into `.lab/` (in the current directory)')).toBe('what-up-writes-into-lab-in-the-current-directory');
    expect(slug('Vars files, INI inventories and ~/.ssh/config')).toBe('vars-files-ini-inventories-and-sshconfig');
    expect(slug('The data flow of one `kiln apply`')).toBe('the-data-flow-of-one-kiln-apply');
    expect(slug('mysql_db')).toBe('mysql_db');
  });

  it('number repeated headings and ignore code blocks', () => {
    const a = anchors('# A\n## A\n```\n# not a heading\n```\n## A\n');
    expect([...a]).toEqual(['a', 'a-1', 'a-2']);
  });
});
