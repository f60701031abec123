/**
 * Where a role's files are and which of them Ansible loads (ansible/playbook/role/__init__.py,
 * `_load_role_yaml`): `<dir>/main.yml`, `main.yaml`, `main.json` or `main` (a file, or for vars
 * and defaults a directory whose files are merged in name order, recursively, hidden files and
 * backups~ skipped); with `tasks_from: x` (etc.), `x`, `x.yml`, `x.yaml`, `x.json`. Also the role
 * directories Kiln cannot honour (plugins, modules: keywords.ts PLUGIN_DIRS).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const EXTS = ['.yml', '.yaml', '.json'];

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The files of a vars directory in Ansible's order (sorted names; subdirectories without an extension recursed). */
export function varsDirFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const p = join(dir, name);
    const ext = extname(name);
    if (isDir(p)) {
      if (!ext) out.push(...varsDirFiles(p));
    } else if (!ext || EXTS.includes(ext)) out.push(p);
  }
  return out;
}

export interface FoundFiles {
  /** The files to load, in order (merged when there are several). */
  files: string[];
  /** Several forms of `main` exist (Ansible would load only the first): refused. */
  ambiguous?: string[];
}

/**
 * The files of `<role>/<sub>/` Ansible loads: `main` (or `from`), for vars/defaults a directory too.
 * Without `from` and with no file: no files. With `from` and no file: undefined (an error).
 */
export function roleFiles(roleDir: string, sub: string, from: string | undefined, allowDir: boolean): FoundFiles | undefined {
  const base = join(roleDir, sub);
  if (!isDir(base)) return from === undefined ? { files: [] } : undefined;
  const name = from ?? 'main';
  // Ansible: with the default name the bare `main` comes last; with `x_from` first.
  const exts = from === undefined ? [...EXTS, ''] : ['', ...EXTS];
  const found: string[] = [];
  for (const ext of exts) {
    const p = join(base, name + ext);
    if (!existsSync(p)) continue;
    if (isDir(p)) {
      if (allowDir) found.push(p);
    } else found.push(p);
  }
  if (!found.length) return from === undefined ? { files: [] } : undefined;
  const first = found[0]!;
  const files = isDir(first) ? varsDirFiles(first) : [first];
  // `main.yml` beside `main/` (or `main.yaml`): Ansible reads only the first, silently. Refused instead.
  return { files, ambiguous: found.length > 1 ? found : undefined };
}

/** Non-empty plugin or module directories of a role (Ansible would load code from them). */
export function pluginDirsIn(roleDir: string, names: readonly string[]): string[] {
  return names.filter((n) => {
    const p = join(roleDir, n);
    return isDir(p) && readdirSync(p).some((f) => !f.startsWith('.'));
  });
}
