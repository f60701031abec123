/**
 * Loads a playbook, its roles and their task files into typed definitions with locations, as
 * ansible-core 2.14 loads them:
 *
 * - every key is looked up in Ansible's keyword tables (keywords.ts): supported with Ansible's
 *   meaning, or refused by name with a hint; anything else on a task must be a module;
 * - roles: defaults/ and vars/ (main.yml, or a main/ directory merged in name order),
 *   meta/main.yml dependencies (run before the role, recursively; a cycle is an error), role
 *   entries' keywords and parameters; a role listed again with the same parameters is the same
 *   role instance (RoleRef.key), whose tasks run once per host unless `allow_duplicates`
 *   (engine/role-runs.ts);
 * - import_tasks and import_role are expanded in place; the keywords of plays, role entries and
 *   imports are inherited by the tasks as Ansible's parent chain gives them (`when` ANDed,
 *   `tags` unioned, the nearest `become`, …; see `inherit`);
 * - a task's module arguments are parsed like Ansible's (task-args.ts).
 *
 * Every structural error (unknown keys, unknown modules, missing roles, bad types) is collected
 * instead of stopping at the first. Vault data is decrypted with `opts.vaultPassword`.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type Diagnostic, DiagnosticBag, InputError, type Loc } from '../../core/diagnostic.ts';
import { LIMITS } from '../../core/limits.ts';
import type { VaultOptions } from '../../core/secret/vault.ts';
import { didYouMean as suggest } from '../../core/suggest.ts';
import { loadYamlFile, YamlCursor, type YamlFile } from '../yaml/document.ts';
import { plainNumbers } from '../yaml/pyyaml-schema.ts';
import { ansibleBoolean, BooleanError } from './boolean.ts';
import { serialProblem } from './serial.ts';
import { boolKeyword, conditions, isTemplate, mapping, varsMapping, nameList, pyScalar, tagList, taskKeywords } from './fields.ts';
import {
  ANSIBLE_ONLY_MODULES,
  HANDLER_KEYWORDS,
  IMPORT_ROLE_ARGS,
  IMPORT_TASKS_ARGS,
  LOOP_CONTROL_KEYS,
  NOT_INHERITED_BY_IMPORTS,
  PLAY_KEYWORDS,
  refusal,
  ROLE_KEYWORDS,
  TASK_ACTIONS,
  TASK_KEYWORDS,
} from './keywords.ts';
import { roleFiles } from './role-files.ts';
import { inherit, type Item, type Source } from './inherit.ts';
import { loadRoleFiles, type RoleFiles } from './role-def.ts';
import { keysCheck, stable } from './keys-check.ts';
import { kilnModuleOf, taskArgs } from './task-args.ts';
import { foreignTaskArgs } from './foreign-task.ts';
import type { Condition, LoopControl, ModuleCatalog, PlayDef, Playbook, RoleDef, RoleRef, TaskDef, TaskKeywords } from './types.ts';
import { reservedVarNameProblem } from '../../core/var-name.ts';

export interface LoadOptions extends VaultOptions {
  /** The modules tasks may name (the module registry, handed down by the caller). */
  modules: ModuleCatalog;
  /** Extra role directories searched after the playbook's. */
  rolesPath?: string[];
}

/** The roles of one play: Ansible's per-play role cache. */
interface PlayRoles {
  byKey: Map<string, RoleRef>;
  /** play.roles: the play's roles and imported roles, each instance once, in order. */
  list: RoleRef[];
  /** Role keys being loaded (dependency cycles). */
  loading: string[];
  occurrences: Map<RoleRef, number>;
  handlersOf: Set<RoleRef>;
  handlers: TaskDef[];
  play: Source;
  nextId: number;
  handlerBlocks: number;
}

/** Where a task list is being placed: the role whose files it is in, and what it inherits beyond its imports. */
interface Placement {
  scope?: { ref: RoleRef; chain: RoleRef[]; occurrence: number };
  /** Sources after the task's imports and before its role (an import_role's own chain). */
  outer: Source[];
}

export class PlaybookLoader {
  readonly bag = new DiagnosticBag();
  private readonly files = new Map<string, YamlFile | null>();
  /** The task files being imported, outermost first (an import of one of them is a cycle). */
  private readonly importing: string[] = [];
  /** import_tasks files loaded so far (LIMITS.imports). */
  private importCount = 0;
  private readonly roleFilesCache = new Map<string, RoleFiles | null>();
  /** Each role instance's files. */
  private readonly refFiles = new Map<RoleRef, RoleFiles>();
  private readonly roleDirs: string[];
  private readonly modules: ModuleCatalog;
  private readonly vault: VaultOptions;
  private readonly baseDir: string;

  constructor(
    readonly playbookFile: string,
    opts: LoadOptions,
  ) {
    this.modules = opts.modules;
    this.vault = { vaultPassword: opts.vaultPassword };
    this.baseDir = dirname(resolve(playbookFile));
    const dir = this.baseDir;
    this.roleDirs = [join(dir, 'roles'), join(dir, '..', 'roles'), join(process.cwd(), 'roles'), ...(opts.rolesPath ?? [])].map((d) =>
      resolve(d),
    );
  }

  yaml(file: string, from?: Loc): YamlFile | undefined {
    const key = resolve(file);
    if (this.files.has(key)) return this.files.get(key) ?? undefined;
    try {
      const y = loadYamlFile(file, this.vault);
      this.files.set(key, y);
      return y;
    } catch (err) {
      if (err instanceof InputError) {
        if (from && err.diagnostics.length === 1 && /cannot read file/.test(err.diagnostics[0]!.message)) {
          this.bag.add({ ...from, message: `${err.diagnostics[0]!.message}: ${file}` });
        } else this.bag.addAll(err.diagnostics);
      } else throw err;
      this.files.set(key, null);
      return undefined;
    }
  }

  load(): Playbook {
    const file = this.playbookFile;
    const y = this.yaml(file);
    const book: Playbook = { file, dir: this.baseDir, plays: [] };
    if (!y) return book;
    const root = new YamlCursor(y, []);
    if (!Array.isArray(root.value)) {
      this.bag.add(root.diag('a playbook is a list of plays'));
      return book;
    }
    (root.value as unknown[]).forEach((item, i) => {
      if (item && typeof item === 'object' && 'import_playbook' in item) {
        this.bag.add(root.child(i, 'import_playbook').diag('import_playbook is not supported yet: list the plays in one playbook', true));
        return;
      }
      const play = this.loadPlay(root.child(i), book.plays.length);
      if (play) book.plays.push(play);
    });
    if (!book.plays.length && !this.bag.size) this.bag.add(root.diag('the playbook has no plays'));
    return book;
  }

  private loadPlay(c: YamlCursor, index: number): PlayDef | undefined {
    const v = c.value;
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      this.bag.add(c.diag('a play must be a mapping with at least `hosts`'));
      return undefined;
    }
    const raw = v as Record<string, unknown>;
    const serial = plainNumbers(raw.serial);
    const maxFail = plainNumbers(raw.max_fail_percentage);
    keysCheck(c, PLAY_KEYWORDS, 'play keyword', this.bag, (k) =>
      Object.hasOwn(TASK_KEYWORDS, k) || Object.hasOwn(TASK_ACTIONS, k) || kilnModuleOf(k, this.modules)
        ? `'${k}' is not a play keyword: put tasks under \`tasks:\``
        : `unknown play keyword '${k}'${suggest(k, Object.keys(PLAY_KEYWORDS))}`,
    );
    let hosts = '';
    if (typeof raw.hosts === 'string' && raw.hosts.trim()) hosts = raw.hosts;
    else if (Array.isArray(raw.hosts) && raw.hosts.length && raw.hosts.every((h) => typeof h === 'string' && h.trim())) {
      hosts = (raw.hosts as string[]).join(':');
    } else {
      this.bag.add((raw.hosts === undefined ? c : c.child('hosts')).diag('a play needs `hosts:` (a host pattern, or a list of them)'));
    }
    const vars = { ...varsMapping(c.child('vars'), 'vars', this.bag) };
    const vfc = c.child('vars_files');
    const vfs = vfc.value;
    if (vfs !== undefined && vfs !== null) {
      const list = typeof vfs === 'string' ? [vfs] : Array.isArray(vfs) ? vfs : undefined;
      if (!list) this.bag.add(vfc.diag('vars_files must be a file name or a list of them'));
      list?.forEach((vf, i) => {
        const at = typeof vfs === 'string' ? vfc : vfc.child(i);
        if (typeof vf !== 'string') {
          this.bag.add(at.diag('vars_files: an entry is a file name (lists of alternatives are not supported)'));
          return;
        }
        if (isTemplate(vf)) {
          this.bag.add(at.diag('vars_files: templated file names are not supported'));
          return;
        }
        // Ansible looks in the play's vars/ directory, then beside the playbook.
        const base = dirname(c.y.file);
        const file = [resolve(base, 'vars', vf), resolve(base, vf)].find((p) => existsSync(p)) ?? resolve(base, vf);
        const vy = this.yaml(file, at.loc());
        if (vy) Object.assign(vars, varsMapping(new YamlCursor(vy, []), 'a vars file', this.bag));
      });
    }
    const kw = taskKeywords(c, this.bag);
    const gf = boolKeyword(c.child('gather_facts'), this.bag);
    if (gf && 'template' in gf) this.bag.add(c.child('gather_facts').diag('gather_facts: a templated value is not supported'));
    const play: PlayDef = {
      name: typeof raw.name === 'string' ? raw.name : `play ${index + 1} (${hosts})`,
      hosts,
      hostsLoc: c.child('hosts').loc(),
      vars,
      roles: [],
      tasks: [],
      handlers: [],
      serial: serial as PlayDef['serial'],
      maxFailPercentage: typeof maxFail === 'number' ? maxFail : undefined,
      tags: tagList(c.child('tags'), this.bag),
      ...kw,
      gatherFacts: gf && 'value' in gf ? gf.value : false,
      loc: c.loc(),
      index,
    };
    if (serial !== undefined) {
      const sc = c.child('serial');
      if (Array.isArray(serial)) {
        serial.forEach((x, i) => {
          const why = serialProblem(x);
          if (why) this.bag.add(sc.child(i).diag(why));
        });
      } else {
        const why = serialProblem(serial);
        if (why) this.bag.add(sc.diag(why));
      }
    }
    if (maxFail !== undefined && (typeof maxFail !== 'number' || maxFail < 0 || maxFail > 100)) {
      this.bag.add(c.child('max_fail_percentage').diag('max_fail_percentage must be a number from 0 to 100'));
    }
    const pr: PlayRoles = {
      byKey: new Map(),
      list: [],
      loading: [],
      occurrences: new Map(),
      handlersOf: new Set(),
      handlers: [],
      play: { ...kw, when: [], tags: [] },
      nextId: 0,
      handlerBlocks: 0,
    };
    const top: Placement = { outer: [] };
    const pre = this.place(this.loadTaskList(c.child('pre_tasks'), undefined, false), top, pr);
    const roleTasks: TaskDef[] = [];
    const rc = c.child('roles');
    if (rc.value !== undefined && rc.value !== null) {
      if (!Array.isArray(rc.value)) this.bag.add(rc.diag('roles must be a list'));
      else
        (rc.value as unknown[]).forEach((_, i) => {
          const ref = this.roleEntry(rc.child(i), pr, [], false);
          if (ref) roleTasks.push(...this.placeRole(ref, [], [], pr));
        });
    }
    const tasks = this.place(this.loadTaskList(c.child('tasks'), undefined, false), top, pr);
    const post = this.place(this.loadTaskList(c.child('post_tasks'), undefined, false), top, pr);
    play.tasks = [...pre, ...roleTasks, ...tasks, ...post].map((t, i) => ({ ...t, index: i }));
    // Handlers: the roles' (dependencies first), then the play's.
    const own = this.place(this.loadTaskList(c.child('handlers'), undefined, true), top, pr);
    const ownBlock = pr.handlerBlocks++;
    play.handlers = [...pr.handlers, ...own.map((h) => ({ ...h, handlerBlock: ownBlock }))].map((h, i) => ({ ...h, index: i }));
    play.roles = pr.list;
    return play;
  }

  // ---- roles ----

  private findRole(name: string): string | undefined {
    if (name.includes('/')) {
      const p = isAbsolute(name) ? name : resolve(this.baseDir, name);
      return existsSync(p) && statSync(p).isDirectory() ? p : undefined;
    }
    return this.roleDirs.map((d) => join(d, name)).find((d) => existsSync(d) && statSync(d).isDirectory());
  }

  /**
   * A role entry (`roles:` of a play, `dependencies:` in meta/main.yml) or an import_role: its
   * role instance, loaded with its dependencies. `chain` is the roles above it (cycles).
   */
  private roleEntry(
    c: YamlCursor,
    pr: PlayRoles,
    chain: string[],
    fromImport: boolean,
    from: Record<string, string> = {},
    importAllowDuplicates?: boolean,
    importVars: Record<string, unknown> = {},
  ): RoleRef | undefined {
    const v = c.value;
    let name: string | undefined;
    let vars: Record<string, unknown> = {};
    const params: Record<string, unknown> = {};
    let when: Condition[] = [];
    let tags: string[] = [];
    let kw: TaskKeywords = {};
    let nameAt = c;
    if (typeof v === 'string') name = v;
    else if (!fromImport && v && typeof v === 'object' && !Array.isArray(v)) {
      const r = v as Record<string, unknown>;
      keysCheck(c, ROLE_KEYWORDS, 'role keyword', this.bag, (k) => {
        if (['src', 'scm', 'version'].includes(k))
          return `role entry '${k}': Galaxy requirement keys are not supported (install the role under roles/)`;
        if (Object.hasOwn(TASK_KEYWORDS, k) || k.startsWith('with_')) {
          return `'${k}' is not a role keyword: Ansible would pass it to the role as a parameter (a variable named '${k}'); rename it, or put it on the role's tasks`;
        }
        // A parameter is a variable of the role.
        const problem = reservedVarNameProblem(k);
        if (problem) return problem;
        params[k] = r[k];
        return undefined;
      });
      const nameKey = typeof r.role === 'string' ? 'role' : typeof r.name === 'string' ? 'name' : undefined;
      if (nameKey) {
        name = r[nameKey] as string;
        nameAt = c.child(nameKey);
      }
      vars = varsMapping(c.child('vars'), 'role vars', this.bag);
      tags = tagList(c.child('tags'), this.bag);
      when = conditions(c.child('when'), this.bag) ?? [];
      kw = taskKeywords(c, this.bag);
    } else if (fromImport) {
      name = (v as { name?: string }).name;
      vars = importVars;
    }
    if (!name) {
      this.bag.add(c.diag('a role entry is a role name or a mapping with `role:`'));
      return undefined;
    }
    if (isTemplate(name)) {
      this.bag.add(nameAt.diag('a templated role name is not supported'));
      return undefined;
    }
    const dir = this.findRole(name);
    if (!dir) {
      this.bag.add(nameAt.diag(`role '${name}' not found (searched ${[...new Set(this.roleDirs)].join(', ')})`));
      return undefined;
    }
    const files = this.roleFiles(name, dir, from, nameAt.loc());
    if (!files) return undefined;
    const key = `${dir}\0${stable({ params, when: when.map((w) => w.expr), tags, from, vars, fromImport })}`;
    const cached = pr.byKey.get(key);
    if (cached) return cached;
    if (pr.loading.includes(key) || chain.length > 50) {
      this.bag.add(c.diag(`role dependency cycle: ${[...chain, name].join(' → ')}`));
      return undefined;
    }
    const ref: RoleRef = {
      id: pr.nextId++,
      role: files.def,
      key,
      vars,
      params,
      when,
      tags,
      deps: [],
      allowDuplicates: importAllowDuplicates ?? files.def.allowDuplicates,
      fromImport,
      loc: c.loc(),
      paramLocs: Object.fromEntries(Object.keys(params).map((k) => [k, c.child(k).loc()])),
      varLocs: Object.fromEntries(
        Object.keys(vars).map((k) => [
          k,
          (fromImport ? new YamlCursor(c.y, [...c.path.slice(0, -1), 'vars']) : c.child('vars')).child(k).loc(),
        ]),
      ),
      ...kw,
    };
    this.refFiles.set(ref, files);
    pr.loading.push(key);
    for (const dc of this.metaDependencies(dir)) {
      const dep = this.roleEntry(dc, pr, [...chain, name], false);
      if (dep) ref.deps.push(dep);
    }
    pr.loading.pop();
    pr.byKey.set(key, ref);
    return ref;
  }

  /** The entries of meta/main.yml's `dependencies` (keys of meta/main.yml are checked when the role's files load). */
  private metaDependencies(dir: string): YamlCursor[] {
    const found = roleFiles(dir, 'meta', undefined, false);
    const file = found?.files[0];
    if (!file) return [];
    const y = this.yaml(file);
    if (!y) return [];
    const c = new YamlCursor(y, ['dependencies']);
    const deps = c.value;
    if (deps === undefined || deps === null) return [];
    if (!Array.isArray(deps)) return [];
    return deps.map((_, i) => c.child(i));
  }

  /** A role's files with a choice of tasks/vars/defaults/handlers files, loaded once. */
  private roleFiles(name: string, dir: string, from: Record<string, string>, at: Loc): RoleFiles | undefined {
    const cacheKey = `${dir}\0${stable(from)}`;
    if (this.roleFilesCache.has(cacheKey)) return this.roleFilesCache.get(cacheKey) ?? undefined;
    this.roleFilesCache.set(cacheKey, null);
    const files = loadRoleFiles(name, dir, from, at, this);
    if (files) this.roleFilesCache.set(cacheKey, files);
    return files;
  }

  /**
   * A role instance's tasks placed in the play: its dependencies' first (each placed again: an
   * occurrence of its own), then its own. Its handlers (and its dependencies') join the play's
   * handlers once per instance.
   */
  private placeRole(ref: RoleRef, parents: RoleRef[], outer: Source[], pr: PlayRoles): TaskDef[] {
    const chain = [...parents, ref];
    if (!pr.list.includes(ref) && parents.length === 0) pr.list.push(ref);
    const out: TaskDef[] = [];
    for (const dep of ref.deps) out.push(...this.placeRole(dep, chain, outer, pr));
    const occurrence = (pr.occurrences.get(ref) ?? 0) + 1;
    pr.occurrences.set(ref, occurrence);
    const files = this.refFiles.get(ref);
    const placement: Placement = { scope: { ref, chain, occurrence }, outer };
    if (files) out.push(...this.place(files.tasks, placement, pr));
    if (!pr.handlersOf.has(ref)) {
      pr.handlersOf.add(ref);
      const block = pr.handlerBlocks++;
      if (files) pr.handlers.push(...this.place(files.handlers, placement, pr).map((h) => ({ ...h, handlerBlock: block })));
    }
    return out;
  }

  // ---- task lists ----

  loadTaskList(
    c: YamlCursor,
    role: RoleDef | undefined,
    handlers: boolean,
    imports: Source[] = [],
    depth = 0,
    dirs: string[] = [],
  ): Item[] {
    const v = c.value;
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.bag.add(c.diag(`${handlers ? 'handlers' : 'tasks'} must be a list`));
      return [];
    }
    const out: Item[] = [];
    v.forEach((item, i) => {
      const tc = c.child(i);
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        this.bag.add(tc.diag('a task must be a mapping with a module key'));
        return;
      }
      const raw = item as Record<string, unknown>;
      if ('import_tasks' in raw) {
        out.push(...this.importTasks(tc, role, handlers, imports, depth, dirs));
        return;
      }
      if ('import_role' in raw) {
        if (handlers) {
          this.bag.add(tc.child('import_role').diag('import_role in handlers is not supported', true));
          return;
        }
        const source = this.importSource(tc, 'import_role');
        if (source) out.push({ kind: 'import_role', source, c: tc, imports });
        return;
      }
      const t = this.loadTask(tc, role, handlers);
      if (t) out.push({ kind: 'task', task: t, imports, ownNotify: raw.notify !== undefined && raw.notify !== null });
    });
    return out;
  }

  /** An import's keywords, as a source its tasks inherit from (refusing the keywords that would have no effect). */
  private importSource(c: YamlCursor, action: 'import_tasks' | 'import_role'): Source | undefined {
    const raw = c.value as Record<string, unknown>;
    let ok = true;
    keysCheck(c, { ...TASK_KEYWORDS, [action]: { use: 'supported' } }, `${action} keyword`, this.bag, (k) => {
      ok = false;
      return Object.hasOwn(TASK_ACTIONS, k) || kilnModuleOf(k, this.modules)
        ? `a task has exactly one action: found ${action} and '${k}'`
        : `unknown ${action} keyword '${k}'${suggest(k, Object.keys(TASK_KEYWORDS))}`;
    });
    for (const k of Object.keys(raw)) {
      if (NOT_INHERITED_BY_IMPORTS.has(k) || k.startsWith('with_')) {
        if (k === 'loop' || k.startsWith('with_')) {
          this.bag.add(
            c
              .child(k)
              .diag(
                `You cannot use loops on '${action}' statements (include_${action.slice(7)} is ${'not supported yet (issue 16)'})`,
                true,
              ),
          );
        } else
          this.bag.add(
            c
              .child(k)
              .diag(`'${k}' has no effect on ${action} in Ansible (it is not passed to the imported tasks): move it to the tasks`, true),
          );
        ok = false;
      }
    }
    const source: Source = {
      ...taskKeywords(c, this.bag),
      when: conditions(c.child('when'), this.bag) ?? [],
      tags: tagList(c.child('tags'), this.bag),
      notify: nameList(c.child('notify'), this.bag),
      vars: varsMapping(c.child('vars'), 'vars', this.bag),
    };
    return ok ? source : undefined;
  }

  private importTasks(
    tc: YamlCursor,
    role: RoleDef | undefined,
    handlers: boolean,
    imports: Source[],
    depth: number,
    dirs: string[],
  ): Item[] {
    const source = this.importSource(tc, 'import_tasks');
    const ic = tc.child('import_tasks');
    let rel: unknown = ic.value;
    if (rel && typeof rel === 'object' && !Array.isArray(rel)) {
      keysCheck(ic, IMPORT_TASKS_ARGS, 'import_tasks', this.bag, (k) => `Invalid options for import_tasks: ${k}`);
      rel = (rel as Record<string, unknown>).file ?? (rel as Record<string, unknown>)._raw_params;
    }
    if (typeof rel !== 'string' || !rel.trim()) {
      this.bag.add(ic.diag('No file specified for import_tasks'));
      return [];
    }
    if (isTemplate(rel)) {
      this.bag.add(ic.diag('import_tasks: templated file names are not supported'));
      return [];
    }
    if (!source) return [];
    if (depth > LIMITS.importDepth) {
      this.bag.add(ic.diag(`import_tasks nested more than ${LIMITS.importDepth} files deep: Kiln's limit`));
      return [];
    }
    // Ansible: relative to the importing file's directory first (then the role's tasks/ or handlers/, or the playbook's directory).
    const sub = handlers ? 'handlers' : 'tasks';
    const here = dirname(tc.y.file);
    const candidates = isAbsolute(rel)
      ? [rel]
      : [
          ...[here, ...dirs].map((d) => resolve(d, rel as string)),
          ...(role ? [join(role.dir, sub, rel), join(role.dir, rel)] : [resolve(this.baseDir, rel)]),
        ];
    const file = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
    // A file importing itself, directly or through others, would expand forever (Ansible recurses
    // until Python's recursion limit): refused at the import that closes the cycle.
    const chain = [...this.importing, resolve(tc.y.file)];
    const at = chain.indexOf(resolve(file));
    if (at >= 0) {
      const names = [...chain.slice(at), resolve(file)].map((f) => relative(this.baseDir, f) || f);
      this.bag.add(ic.diag(`import cycle: ${names.join(' imports ')}`));
      return [];
    }
    if (++this.importCount > LIMITS.imports) {
      if (this.importCount === LIMITS.imports + 1)
        this.bag.add(
          ic.diag(`more than ${LIMITS.imports} import_tasks in this playbook (counting each time a file is imported): Kiln's limit`),
        );
      return [];
    }
    const y = this.yaml(file, ic.loc());
    if (!y) return [];
    const body = new YamlCursor(y, []);
    if (y.value === null || y.value === undefined) return [];
    if (!Array.isArray(y.value)) {
      this.bag.add(body.diag('included task files must contain a list of tasks'));
      return [];
    }
    this.importing.push(resolve(tc.y.file));
    try {
      return this.loadTaskList(body, role, handlers, [source, ...imports], depth + 1, [here, ...dirs]);
    } finally {
      this.importing.pop();
    }
  }

  private loadTask(c: YamlCursor, role: RoleDef | undefined, handler: boolean): TaskDef | undefined {
    const raw = c.value as Record<string, unknown>;
    const table = handler ? HANDLER_KEYWORDS : TASK_KEYWORDS;
    const moduleKeys: string[] = [];
    let bad = false;
    for (const k of Object.keys(raw)) {
      const action = Object.hasOwn(TASK_ACTIONS, k) ? TASK_ACTIONS[k] : undefined;
      if (action && action.use === 'refused') {
        this.bag.add(c.child(k).diag(refusal('task', k, action), true));
        bad = true;
      } else if (!Object.hasOwn(table, k) && !k.startsWith('with_')) moduleKeys.push(k);
    }
    if (keysCheck(c, table, 'task keyword', this.bag, () => undefined)) bad ||= moduleKeys.length === 0;
    if (raw.action !== undefined) moduleKeys.push('action');
    if (bad) return undefined;
    if (moduleKeys.length === 0) {
      this.bag.add(c.diag(`task has no module (one of: ${[...this.modules.names].sort().join(', ')})`));
      return undefined;
    }
    if (moduleKeys.length > 1) {
      const known = moduleKeys.filter((k) => k === 'action' || kilnModuleOf(k, this.modules) || foreignTaskArgs(c, k));
      for (const k of moduleKeys.filter((k) => !known.includes(k))) this.bag.add(c.child(k).diag(this.unknownKey(k, handler), true));
      if (known.length > 1) this.bag.add(c.diag(`a task has exactly one module, found ${known.join(', ')}`));
      if (known.length !== 1) return undefined;
      moduleKeys.splice(0, moduleKeys.length, known[0]!);
    }
    const key = moduleKeys[0]!;
    // A module for another operating system loads as a `foreign` task (foreign-task.ts).
    const foreign = key === 'action' || !kilnModuleOf(key, this.modules) ? foreignTaskArgs(c, key) : undefined;
    if (key !== 'action' && !foreign && !kilnModuleOf(key, this.modules)) {
      this.bag.add(c.child(key).diag(this.unknownKey(key, handler, true), true));
      return undefined;
    }
    const diags: Diagnostic[] = [];
    const args = foreign ?? taskArgs(c, key, this.modules, diags);
    this.bag.addAll(diags);
    if (!args) return undefined;
    const lc = this.loopControl(c.child('loop_control'));
    const register = raw.register;
    if (register !== undefined && (typeof register !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(register))) {
      this.bag.add(c.child('register').diag('register takes a variable name'));
    } else if (typeof register === 'string' && reservedVarNameProblem(register)) {
      this.bag.add(c.child('register').diag(`register: ${reservedVarNameProblem(register)}`));
    }
    const name =
      typeof raw.name === 'string'
        ? raw.name
        : raw.name === undefined || raw.name === null
          ? defaultName(args.module, args.params)
          : pyScalar(raw.name);
    return {
      name,
      module: args.module,
      ansibleModule: args.moduleKey,
      params: args.params,
      paramPaths: args.paramPaths,
      loc: c.loc(),
      yaml: c.y,
      path: c.path,
      modulePath: args.modulePath,
      when: conditions(c.child('when'), this.bag) ?? [],
      loop: raw.loop,
      loopControl: lc,
      register: typeof register === 'string' ? register : undefined,
      notify: nameList(c.child('notify'), this.bag) ?? [],
      listen: handler ? (nameList(c.child('listen'), this.bag) ?? []) : [],
      tags: tagList(c.child('tags'), this.bag),
      ...taskKeywords(c, this.bag),
      changedWhen: conditions(c.child('changed_when'), this.bag),
      failedWhen: conditions(c.child('failed_when'), this.bag),
      vars: varsMapping(c.child('vars'), 'vars', this.bag),
      role,
      index: 0,
    };
  }

  /** The message for a task key that is neither a keyword nor a module (`only`: the task's one candidate module). */
  private unknownKey(k: string, handler: boolean, only = false): string {
    const short = k.replace(/^ansible\.(builtin|legacy)\./, '');
    if (ANSIBLE_ONLY_MODULES.has(short))
      return `module '${k}' is not supported by Kiln (Kiln has: ${[...this.modules.names].sort().join(', ')})`;
    if (/^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$/.test(k)) return `module '${k}' is not supported by Kiln (a collection module)`;
    if (only) return `unknown module '${k}'${suggest(k, this.modules.names)}`;
    const keys = Object.keys(handler ? HANDLER_KEYWORDS : TASK_KEYWORDS);
    return `unknown task keyword or module '${k}'${suggest(k, [...keys, ...this.modules.names])}`;
  }

  private loopControl(c: YamlCursor): LoopControl {
    const lc = mapping(c, 'loop_control', this.bag);
    if (c.value && typeof c.value === 'object') {
      keysCheck(
        c,
        LOOP_CONTROL_KEYS,
        'loop_control',
        this.bag,
        (k) => `unknown loop_control key '${k}'${suggest(k, Object.keys(LOOP_CONTROL_KEYS))}`,
      );
    }
    const str = (k: string): string | undefined => {
      const x = lc[k];
      if (x === undefined || x === null) return undefined;
      if (typeof x === 'string') return x;
      this.bag.add(c.child(k).diag(`loop_control.${k} must be a string`));
      return undefined;
    };
    const bool = (k: string): boolean => {
      const x = boolKeyword(c.child(k), this.bag);
      if (x && 'template' in x) this.bag.add(c.child(k).diag(`loop_control.${k}: a templated value is not supported`));
      return x !== undefined && 'value' in x ? x.value : false;
    };
    const loopVar = str('loop_var') ?? 'item';
    if (isTemplate(loopVar)) this.bag.add(c.child('loop_var').diag('loop_control.loop_var: a templated name is not supported'));
    else if (reservedVarNameProblem(loopVar))
      this.bag.add(c.child('loop_var').diag(`loop_control.loop_var: ${reservedVarNameProblem(loopVar)}`));
    return {
      loopVar,
      indexVar: str('index_var'),
      label: str('label'),
      extended: bool('extended'),
      extendedAllitems: lc.extended_allitems === undefined ? true : bool('extended_allitems'),
    };
  }

  /** Places task list entries in the play: import_role expanded, every task given what it inherits. */
  private place(items: Item[], placement: Placement, pr: PlayRoles): TaskDef[] {
    const out: TaskDef[] = [];
    const roleSources = placement.scope ? [...placement.scope.chain].reverse() : [];
    for (const item of items) {
      if (item.kind === 'task') {
        out.push(inherit(item.task, [...item.imports, ...placement.outer, ...roleSources, pr.play], placement.scope, item.ownNotify));
        continue;
      }
      const args = this.importRoleArgs(item.c);
      if (!args) continue;
      const ref = this.roleEntry(
        item.c.child('import_role'),
        pr,
        placement.scope?.chain.map((r) => r.role.name) ?? [],
        true,
        args.from,
        args.allowDuplicates,
        item.source.vars,
      );
      if (!ref) continue;
      if (placement.scope?.chain.includes(ref)) {
        const names = [...placement.scope.chain.map((r) => r.role.name), ref.role.name];
        this.bag.add(item.c.child('import_role').diag(`role import cycle: ${names.join(' → ')}`));
        continue;
      }
      if (!pr.list.includes(ref)) pr.list.push(ref);
      const outer = [item.source, ...item.imports, ...placement.outer, ...roleSources, pr.play];
      out.push(...this.placeRole(ref, placement.scope?.chain ?? [], outer, pr));
    }
    return out;
  }

  private importRoleArgs(tc: YamlCursor): { from: Record<string, string>; allowDuplicates: boolean } | undefined {
    const c = tc.child('import_role');
    const v = c.value;
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      this.bag.add(c.diag("import_role takes a mapping with 'name'"));
      return undefined;
    }
    let ok = true;
    keysCheck(c, IMPORT_ROLE_ARGS, 'import_role', this.bag, (k) => {
      ok = false;
      return `Invalid options for import_role: ${k}`;
    });
    const raw = v as Record<string, unknown>;
    if (typeof raw.name !== 'string' && typeof raw.role === 'string') raw.name = raw.role;
    if (typeof raw.name !== 'string') {
      this.bag.add(c.diag("'name' is a required field for import_role."));
      return undefined;
    }
    const from: Record<string, string> = {};
    for (const k of ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from']) {
      const x = raw[k];
      if (x === undefined || x === null) continue;
      if (typeof x !== 'string') {
        this.bag.add(c.child(k).diag(`Expected a string for ${k}`));
        ok = false;
      } else if (isTemplate(x)) {
        this.bag.add(c.child(k).diag(`${k}: a templated file name is not supported`));
        ok = false;
      } else if (x.includes('/')) {
        this.bag.add(
          c
            .child(k)
            .diag(
              `${k}: Ansible 2.14 uses only the file name (${basename(x)}) of '${x}'; give a file of the role's ${k.slice(0, -5)}/ directory`,
            ),
        );
        ok = false;
      } else from[k.slice(0, -5)] = x;
    }
    let allowDuplicates = true;
    if (raw.allow_duplicates !== undefined) {
      try {
        allowDuplicates = ansibleBoolean(raw.allow_duplicates);
      } catch (err) {
        if (!(err instanceof BooleanError)) throw err;
        this.bag.add(c.child('allow_duplicates').diag(`allow_duplicates: ${err.message}`));
        ok = false;
      }
    }
    return ok ? { from, allowDuplicates } : undefined;
  }
}

function defaultName(module: string, params: Record<string, unknown>): string {
  const first = ['name', 'path', 'dest', 'cmd', 'src'].map((k) => params[k]).find((x) => typeof x === 'string' || Array.isArray(x));
  return first ? `${module} ${Array.isArray(first) ? first.join(', ') : first}` : module;
}

export function loadPlaybook(file: string, opts: LoadOptions): { playbook: Playbook; diagnostics: Diagnostic[] } {
  const loader = new PlaybookLoader(file, opts);
  const playbook = loader.load();
  return { playbook, diagnostics: loader.bag.sorted() };
}
