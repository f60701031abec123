/**
 * A task's module and arguments, as Ansible's ModuleArgsParser finds them: the module key (or
 * `action:`), its value as a mapping or a free-form `key=value` string (splitter.ts; for
 * command/shell the rest of the line is the command), `args:` underneath (the module's own
 * arguments win), then Ansible's option names and aliases mapped onto Kiln's parameters, and
 * Ansible options Kiln does not support refused by name.
 */
import type { Diagnostic } from '../../core/diagnostic.ts';
import { type PathSeg, YamlCursor } from '../yaml/document.ts';
import { parseKv, SplitError } from './splitter.ts';
import type { ModuleCatalog } from './types.ts';

export interface TaskArgs {
  /** The key the task named its module with (`apt`, `ansible.builtin.file`). */
  moduleKey: string;
  /** Kiln's module. */
  module: string;
  params: Record<string, unknown>;
  paramPaths: Record<string, PathSeg[]>;
  /** Where the module's arguments are written. */
  modulePath: PathSeg[];
}

const isTemplate = (s: string) => s.includes('{{') || s.includes('{%');

/** The Kiln module a task key names, if any. */
export function kilnModuleOf(key: string, catalog: ModuleCatalog): string | undefined {
  const m = (Object.hasOwn(catalog.aliases, key) ? catalog.aliases[key] : undefined) ?? key;
  return catalog.names.includes(m) && catalog.args(key) ? m : undefined;
}

/**
 * Resolves the module of a task whose module key (or `action`) is `key` with value `value` (at
 * cursor `vc`). `c` is the task's cursor. Problems go to `diags`; undefined when there is none to run.
 */
export function taskArgs(c: YamlCursor, key: string, catalog: ModuleCatalog, diags: Diagnostic[]): TaskArgs | undefined {
  const raw = c.value as Record<string, unknown>;
  let moduleKey = key;
  let value: unknown = raw[key];
  const valuePath: PathSeg[] = [...c.path, key];
  const fail = (at: YamlCursor, message: string, onKey = false) => {
    diags.push(at.diag(message, onKey));
    return undefined;
  };
  if (key === 'action' || key === 'local_action') {
    // Old style: `action: copy src=a dest=b` or `action: { module: copy, src: a }` (local_action alike).
    if (typeof value === 'string') {
      const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(value);
      if (!m) return fail(c.child(key), `${key}: no module named`);
      moduleKey = m[1]!;
      value = m[2]!;
    } else if (value && typeof value === 'object' && !Array.isArray(value) && typeof (value as { module?: unknown }).module === 'string') {
      const { module, ...rest } = value as Record<string, unknown>;
      const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(module as string)!;
      moduleKey = m[1]!;
      if (m[2])
        return fail(
          c.child(key, 'module'),
          `${key}: key=value arguments after the module name in \`module:\` are not supported; give them as keys`,
        );
      value = rest;
    } else return fail(c.child(key), `${key}: takes "module key=value ..." or a mapping with \`module:\``);
  }
  const module = kilnModuleOf(moduleKey, catalog);
  if (!module) return fail(c.child(key), `unknown module '${moduleKey}'`, key !== 'action' && key !== 'local_action');
  const spec = catalog.args(moduleKey)!;

  const params: Record<string, unknown> = {};
  const paths: Record<string, PathSeg[]> = {};
  // `args:` first: the module's own arguments win (Ansible's additional_args).
  const args = raw.args;
  if (args !== undefined && args !== null) {
    if (typeof args === 'string') {
      return fail(
        c.child('args'),
        isTemplate(args) ? 'args: a template as the whole of args is not supported; give a mapping' : 'args: must be a mapping',
      );
    }
    if (typeof args !== 'object' || Array.isArray(args)) return fail(c.child('args'), 'args: must be a mapping');
    for (const [k, v] of Object.entries(args)) {
      params[k] = v;
      paths[k] = [...c.path, 'args', k];
    }
  }
  if (typeof value === 'string') {
    let kv: Record<string, string>;
    try {
      kv = parseKv(value, spec.freeForm !== undefined && !spec.rawParams);
    } catch (err) {
      if (err instanceof SplitError) return fail(c.child(key), `${moduleKey}: ${err.message}`);
      throw err;
    }
    const rawParams = kv._raw_params;
    delete kv._raw_params;
    if (rawParams !== undefined && rawParams !== '') {
      if (!spec.freeForm) {
        return fail(
          c.child(key),
          isTemplate(rawParams)
            ? `${moduleKey}: a template as the module's whole arguments is not supported; give a mapping`
            : `this task '${moduleKey}' has extra params, which is only allowed in the following modules: command, shell (found: ${JSON.stringify(rawParams)})`,
        );
      }
      if ('cmd' in kv || 'cmd' in params)
        return fail(c.child(key), "The 'cmd' argument cannot be used when other raw parameters are specified.");
      kv[spec.freeForm] = rawParams;
    }
    for (const [k, v] of Object.entries(kv)) {
      params[k] = v;
      paths[k] = valuePath;
    }
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      params[k] = v;
      paths[k] = [...valuePath, k];
    }
  } else if (value !== null && value !== undefined) {
    return fail(c.child(key), `parameters of '${moduleKey}' must be a mapping or key=value text`);
  }
  // Ansible's option names and aliases → Kiln's; Ansible options Kiln refuses.
  const out: Record<string, unknown> = {};
  const outPaths: Record<string, PathSeg[]> = {};
  const writtenAs: Record<string, string> = {};
  let ok = true;
  // A mapping's key, or the free-form text the option was written in.
  const at = (k: string) => new YamlCursor(c.y, paths[k]!).loc(paths[k] !== valuePath);
  for (const [k, v] of Object.entries(params)) {
    const refused = Object.hasOwn(spec.refused, k) ? spec.refused[k] : undefined;
    if (refused !== undefined) {
      diags.push({ ...at(k), message: refused });
      ok = false;
      continue;
    }
    const name = (Object.hasOwn(spec.rename, k) ? spec.rename[k] : undefined) ?? k;
    if (Object.hasOwn(writtenAs, name)) {
      diags.push({ ...at(k), message: `${moduleKey}: '${k}' and '${writtenAs[name]}' are the same option ('${name}'); give it once` });
      ok = false;
      continue;
    }
    writtenAs[name] = k;
    out[name] = v;
    outPaths[name] = paths[k]!;
  }
  if (!ok) return undefined;
  return { moduleKey, module, params: out, paramPaths: outPaths, modulePath: valuePath };
}
