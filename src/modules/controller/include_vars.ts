/**
 * include_vars (ansible.builtin.include_vars): variables from a YAML/JSON file, or from the files
 * of a directory, as host variables at the include_vars level (above task vars, below set_fact)
 * for the rest of the run. As Ansible 2.14's action plugin:
 * - `file` (or the free-form value) is searched as Ansible's `_find_needle('vars', …)`: for each
 *   of the task's search directories (its roles, its file's directory, the playbook's), `<dir>/vars/x`
 *   then `<dir>/x`; an absolute path as is. Vault-encrypted files are decrypted (their values stay secret).
 * - `dir` is under the role's `vars/` (a role task) or the task file's directory; its files are
 *   read in sorted order, `depth` counting directories as Ansible's walk does, filtered by
 *   `files_matching` and `ignore_files`; a file without one of `extensions` fails the task unless
 *   `ignore_unknown_extensions`.
 * - `name` puts everything under one variable; `hash_behaviour: merge` merges dictionaries into
 *   the variables' current values.
 * Registered: `{ ansible_facts: {...}, ansible_included_var_files: [...], changed: false }`; a
 * failure says why in `message` (Ansible's key).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join } from 'node:path';
import { ActionError, defineAction, failure } from '../action.ts';
import { loadYamlFile } from '../../input/yaml/document.ts';
import { InputError, formatDiagnostic } from '../../core/diagnostic.ts';
import { isSecret } from '../../core/secret/secret.ts';
import type { DefinesContext } from '../contract.ts';

interface P {
  file?: string;
  _raw_params?: string;
  dir?: string;
  name?: string;
  depth?: number;
  files_matching?: string;
  ignore_files?: string | string[];
  extensions?: string | string[];
  ignore_unknown_extensions?: boolean;
  hash_behaviour?: 'replace' | 'merge';
}

const DIR_ARGS = ['dir', 'depth', 'files_matching', 'ignore_files', 'extensions', 'ignore_unknown_extensions'];
const FILE_ARGS = ['file', '_raw_params'];

/** Where `file` is: the first existing of the search candidates (absolute: itself). */
export function findVarsFile(file: string, searchPaths: (kind: 'vars') => string[]): { found?: string; tried: string[] } {
  if (isAbsolute(file)) return existsSync(file) ? { found: file, tried: [file] } : { tried: [file] };
  const tried = [...new Set(searchPaths('vars').map((d) => join(d, file)))];
  return { found: tried.find((c) => existsSync(c) && statSync(c).isFile()), tried };
}

function loadVars(file: string, vaultPassword: string | undefined): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = loadYamlFile(file, { vaultPassword }).value;
  } catch (err) {
    if (err instanceof InputError) throw new ActionError(err.diagnostics.map(formatDiagnostic).join('\n'));
    throw err;
  }
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return {};
  if (typeof value !== 'object' || Array.isArray(value) || isSecret(value)) return `${file} must be stored as a dictionary/hash`;
  return value as Record<string, unknown>;
}

/** Python's os.walk (top-down) of a directory: [dir, sorted file names] for every directory, sorted by path. */
function walk(root: string): { dir: string; files: string[] }[] {
  const out: { dir: string; files: string[] }[] = [];
  const visit = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    out.push({ dir: d, files: entries.filter((e) => !e.isDirectory()).map((e) => e.name) });
    for (const e of entries) if (e.isDirectory()) visit(join(d, e.name));
  };
  visit(root);
  out.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  for (const o of out) o.files.sort();
  return out;
}

/** Ansible's combine_vars(merge=True): dictionaries merged recursively, anything else replaced. */
function merge(a: unknown, b: unknown): unknown {
  const isDict = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === 'object' && !Array.isArray(v) && !isSecret(v) && Object.getPrototypeOf(v) === Object.prototype;
  if (!isDict(a) || !isDict(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

/** The directory a `dir` names: under the role's vars/ for a role task, else beside the task's file. */
function rootDir(dir: string, taskFile: string, roleDir: string | undefined): string {
  if (isAbsolute(dir)) return dir;
  if (roleDir) {
    if (dir.split('/')[0] === 'vars' && existsSync(join(roleDir, dir))) return join(roleDir, dir);
    return join(roleDir, 'vars', dir);
  }
  return join(dirname(taskFile), dir);
}

export default defineAction<P>({
  name: 'include_vars',
  description: 'load variables from a YAML/JSON file or a directory of them, on the controller (no round trip)',
  schema: {
    type: 'object',
    properties: {
      file: { type: 'string', description: "the file (searched in the role's vars/, beside the task file, the playbook's directory)" },
      _raw_params: { type: 'string', description: 'the free-form file name (`include_vars: x.yml`)' },
      dir: { type: 'string', description: "a directory of files (under the role's vars/, or beside the task file)" },
      name: { type: 'string', description: 'put all the variables under this one variable' },
      depth: { type: 'integer', minimum: 0, description: 'with dir: how many directories to read (0: all)' },
      files_matching: { type: 'string', description: 'with dir: only files whose name matches this regular expression' },
      ignore_files: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
        description: 'with dir: file names (regular expressions) to skip',
      },
      extensions: {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
        description: 'with dir: the file extensions read (default yaml, yml, json)',
      },
      ignore_unknown_extensions: { type: 'boolean', description: 'with dir: skip files of other extensions instead of failing' },
      hash_behaviour: { enum: ['replace', 'merge'], description: "merge: dictionaries are merged into the variables' current values" },
    },
    additionalProperties: false,
  },
  check(p) {
    const dirs = Object.keys(p).filter((k) => DIR_ARGS.includes(k)).length;
    const files = Object.keys(p).filter((k) => FILE_ARGS.includes(k)).length;
    if (dirs && files) throw new Error('You are mixing file only and dir only arguments, these are incompatible');
  },
  defines(p, ctx: DefinesContext) {
    if (p.name !== undefined) return /\{[{%]/.test(p.name) ? null : [p.name];
    const file = p.file ?? p._raw_params;
    if (p.dir !== undefined || file === undefined || /\{[{%]/.test(file)) return null;
    const { found } = findVarsFile(file, ctx.searchPaths);
    if (!found) return null;
    try {
      const v = loadVars(found, ctx.vaultPassword);
      return typeof v === 'string' ? null : Object.keys(v);
    } catch {
      return null;
    }
  },
  run(p, ctx) {
    const files: string[] = [];
    let results: Record<string, unknown> = {};
    const fail = (message: string) => failure(message, { ansible_facts: {}, ansible_included_var_files: files, message });
    const vault = ctx.run.settings.vaultPassword;
    if (p.dir !== undefined) {
      const depth = p.depth ?? 0;
      const matcher = p.files_matching ? new RegExp(p.files_matching) : undefined;
      const ignore = typeof p.ignore_files === 'string' ? p.ignore_files.split(/\s+/).filter(Boolean) : (p.ignore_files ?? []);
      // Python's list('yml') is its characters, as Ansible turns a string into a list.
      const exts = typeof p.extensions === 'string' ? [...p.extensions] : (p.extensions ?? ['yaml', 'yml', 'json']);
      const validExt = (f: string) => exts.includes(extname(f).slice(1));
      const ignored = (f: string) =>
        ignore.some((x) => {
          try {
            return new RegExp(`${x}$`).test(f);
          } catch {
            throw new ActionError(`Invalid regular expression: ${x}`);
          }
        });
      const root = rootDir(p.dir, ctx.taskFile, ctx.roleDir);
      if (!existsSync(root)) return fail(`${root} directory does not exist`);
      if (!statSync(root).isDirectory()) return fail(`${root} is not a directory`);
      let n = 0;
      for (const { dir, files: names } of walk(root)) {
        n++;
        if (!(n <= depth || depth === 0)) break;
        for (const f of names) {
          const path = join(dir, f);
          if (matcher && !matcher.test(f)) continue;
          if (!existsSync(path) || ignored(f)) continue;
          if (!validExt(f)) {
            if (p.ignore_unknown_extensions) continue;
            return fail(`${path} does not have a valid extension: ${exts.join(', ')}`);
          }
          const v = loadVars(path, vault);
          if (typeof v === 'string') return fail(v);
          files.push(path);
          Object.assign(results, v);
        }
      }
    } else {
      const file = (p.file ?? p._raw_params)?.replace(/\n+$/, '');
      if (!file) return fail('No file was found when using include_vars');
      const { found, tried } = findVarsFile(file, ctx.searchPaths ?? (() => [dirname(ctx.taskFile)]));
      if (!found)
        return fail(
          `Could not find or access '${file}'\nSearched in:\n${tried.map((t) => `\t${t}`).join('\n')} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option`,
        );
      const v = loadVars(found, vault);
      if (typeof v === 'string') return fail(v);
      files.push(found);
      results = { ...v };
    }
    if (p.name !== undefined) results = { [p.name]: results };
    if (p.hash_behaviour === 'merge') for (const [k, v] of Object.entries(results)) results[k] = merge(ctx.vars[k], v);
    return {
      changed: false,
      result: { ansible_facts: results, ansible_included_var_files: files },
      effects: [{ kind: 'include_vars', vars: results, files }],
    };
  },
});
