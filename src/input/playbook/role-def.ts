/**
 * Reading one role's files as Ansible does (role-files.ts finds them): defaults/ and vars/ merged in
 * order, meta/main.yml (its keys checked: dependencies, allow_duplicates, galaxy_info), Kiln's
 * meta/argument_schema.yml, tasks/ and handlers/ as task lists; the role directories and files
 * Kiln cannot honour (plugins, argument_specs, two forms of main) refused.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DiagnosticBag, Loc } from '../../core/diagnostic.ts';
import { YamlCursor, type YamlFile } from '../yaml/document.ts';
import { ansibleBoolean, BooleanError } from './boolean.ts';
import { mapping, varsMapping } from './fields.ts';
import type { Item } from './inherit.ts';
import { keysCheck } from './keys-check.ts';
import { PLUGIN_DIRS, ROLE_META_KEYS } from './keywords.ts';
import { pluginDirsIn, roleFiles } from './role-files.ts';
import type { RoleDef } from './types.ts';

export interface RoleFiles {
  def: RoleDef;
  tasks: Item[];
  handlers: Item[];
}

/** What loading a role needs from the playbook loader. */
export interface RoleLoadHost {
  readonly bag: DiagnosticBag;
  yaml(file: string, from?: Loc): YamlFile | undefined;
  loadTaskList(c: YamlCursor, role: RoleDef | undefined, handlers: boolean): Item[];
}

/** A role's files (defaults, vars, meta, tasks, handlers; `from` chooses other files than main), checked. */
export function loadRoleFiles(name: string, dir: string, from: Record<string, string>, at: Loc, host: RoleLoadHost): RoleFiles | undefined {
  const fail = (message: string) => {
    host.bag.add({ ...at, message });
    return undefined;
  };
  for (const p of pluginDirsIn(dir, PLUGIN_DIRS)) {
    host.bag.add({ file: join(dir, p), message: `role '${name}': ${p}/ holds Ansible plugins or modules, which Kiln cannot run` });
  }
  if (existsSync(join(dir, 'meta', 'argument_specs.yml')) || existsSync(join(dir, 'meta', 'argument_specs.yaml'))) {
    host.bag.add({
      file: join(dir, 'meta', existsSync(join(dir, 'meta', 'argument_specs.yml')) ? 'argument_specs.yml' : 'argument_specs.yaml'),
      line: 1,
      col: 1,
      message: `role '${name}': ${ROLE_META_KEYS.argument_specs!.use === 'refused' ? (ROLE_META_KEYS.argument_specs as { hint: string }).hint : ''}`,
    });
  }
  const def: RoleDef = {
    name,
    dir,
    defaults: {},
    defaultsFiles: [],
    vars: {},
    varsFiles: [],
    allowDuplicates: false,
  };
  const load = (sub: string, fromKey: string, allowDir: boolean) => {
    const f = roleFiles(dir, sub, from[fromKey], allowDir);
    if (!f) return fail(`Could not find specified file in role: ${sub}/${from[fromKey]} (role '${name}')`);
    if (f.ambiguous) {
      host.bag.add({
        file: f.ambiguous[1]!,
        message: `role '${name}': ${f.ambiguous.map((p) => basename(p)).join(' and ')} both exist in ${sub}/: Ansible would read only ${basename(f.ambiguous[0]!)}; keep one`,
      });
    }
    return f.files;
  };
  for (const [sub, fromKey] of [
    ['defaults', 'defaults'],
    ['vars', 'vars'],
  ] as const) {
    const list = load(sub, fromKey, true) ?? [];
    const merged: Record<string, unknown> = {};
    for (const f of list) {
      const y = host.yaml(f);
      if (!y) continue;
      const val = y.value;
      if (val === null || val === undefined) continue;
      Object.assign(merged, varsMapping(new YamlCursor(y, []), `the ${sub} file of role '${name}'`, host.bag));
    }
    if (sub === 'defaults') {
      def.defaults = merged;
      def.defaultsFiles = list;
    } else {
      def.vars = merged;
      def.varsFiles = list;
    }
  }
  // meta/main.yml
  const meta = roleFiles(dir, 'meta', undefined, false);
  const metaFile = meta?.files[0];
  if (metaFile) {
    const y = host.yaml(metaFile);
    if (y && y.value !== null && y.value !== undefined) {
      const mc = new YamlCursor(y, []);
      if (typeof y.value !== 'object' || Array.isArray(y.value)) host.bag.add(mc.diag(`meta/main.yml of role '${name}' must be a mapping`));
      else {
        keysCheck(mc, ROLE_META_KEYS, 'role meta', host.bag, (k) => `'${k}' is not a valid attribute for a RoleMetadata (role '${name}')`);
        const ad = mc.child('allow_duplicates');
        if (ad.value !== undefined && ad.value !== null) {
          try {
            def.allowDuplicates = ansibleBoolean(ad.value);
          } catch (err) {
            if (!(err instanceof BooleanError)) throw err;
            host.bag.add(ad.diag(`allow_duplicates: ${err.message}`));
          }
        }
        const deps = mc.child('dependencies').value;
        if (deps !== undefined && deps !== null && !Array.isArray(deps))
          host.bag.add(mc.child('dependencies').diag('dependencies must be a list'));
      }
    }
  }
  const schemaFile = ['yml', 'yaml'].map((e) => join(dir, 'meta', `argument_schema.${e}`)).find(existsSync);
  if (schemaFile) {
    const y = host.yaml(schemaFile);
    if (y) {
      def.argSchema = mapping(new YamlCursor(y, []), 'argument schema', host.bag);
      def.argSchemaFile = schemaFile;
    }
  }
  const entry: RoleFiles = { def, tasks: [], handlers: [] };
  for (const [sub, handlers] of [
    ['tasks', false],
    ['handlers', true],
  ] as const) {
    const list = load(sub, sub, false) ?? [];
    const f = list[0];
    if (!f) continue;
    const y = host.yaml(f);
    if (y) entry[sub] = host.loadTaskList(new YamlCursor(y, []), def, handlers);
  }
  return entry;
}
