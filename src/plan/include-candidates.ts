/**
 * What `kiln validate` can know of a dynamic include before the run: the file (or role) name
 * rendered with the host's variables, or, when it depends on values known only at run time
 * (facts, registered results, set_fact, the include's loop), the files whose names match its
 * literal parts (each `{{ … }}` / `{% … %}` globbed as `*`), which validation checks instead and
 * names in a note.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { analyzeTemplate, isTemplated } from '../template/engine.ts';

/** The variable names a template uses (empty if it cannot be parsed). */
export function templateNames(source: string, file: string): string[] {
  if (!isTemplated(source)) return [];
  try {
    const a = analyzeTemplate(source, file);
    return [...new Set(a.variables.map((v) => v.name))];
  } catch {
    return [];
  }
}

/** A file name template as a glob: each expression is `*`. */
export function templateGlob(source: string): string {
  return source.replace(/\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}/gs, '*');
}

const MAX_CANDIDATES = 50;

/** The files matching `pattern` (`*` within a path segment) under each of `roots`, in order, each once. */
export function globFiles(pattern: string, roots: string[], dirsOnly = false): string[] {
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  const out = new Set<string>();
  const walk = (dir: string, i: number) => {
    if (out.size >= MAX_CANDIDATES) return;
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const names = seg.includes('*') ? list(dir).filter((n) => segRegex(seg).test(n)) : [seg];
    for (const n of names.sort()) {
      const p = join(dir, n);
      if (!existsSync(p)) continue;
      const st = statSync(p);
      if (last) {
        if (dirsOnly ? st.isDirectory() : st.isFile()) out.add(resolve(p));
      } else if (st.isDirectory()) walk(p, i + 1);
    }
  };
  if (isAbsolute(pattern)) walk('/', 1);
  else for (const r of roots) if (existsSync(r)) walk(r, 0);
  return [...out];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function segRegex(seg: string): RegExp {
  return new RegExp(
    `^${seg
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}
