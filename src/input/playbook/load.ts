/**
 * Loads a playbook, its roles and their task files into typed definitions with locations.
 * Collects every structural error (unknown keys, unknown modules, missing roles, bad types)
 * instead of stopping at the first. Vault data is decrypted with `opts.vaultPassword`.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Diagnostic, DiagnosticBag, InputError, type Loc } from '../../core/diagnostic.ts';
import type { VaultOptions } from '../../core/secret/vault.ts';
import { loadYamlFile, type PathSeg, YamlCursor, type YamlFile } from '../yaml/document.ts';
import type { ModuleCatalog, PlayDef, Playbook, RoleDef, RoleRef, TaskDef } from './types.ts';
import { didYouMean as suggest } from '../../core/suggest.ts';

const TASK_KEYS = new Set([
  'name',
  'when',
  'loop',
  'loop_control',
  'register',
  'notify',
  'tags',
  'become',
  'become_user',
  'check_mode',
  'changed_when',
  'failed_when',
  'ignore_errors',
  'no_log',
  'diff',
  'vars',
  'listen',
]);
const PLAY_KEYS = new Set([
  'name',
  'hosts',
  'vars',
  'vars_files',
  'roles',
  'pre_tasks',
  'tasks',
  'post_tasks',
  'handlers',
  'serial',
  'max_fail_percentage',
  'tags',
  'become',
  'become_user',
  'gather_facts',
]);
/** Modules whose parameters may be a plain string (`command: ls -l`). */
const FREE_FORM: Record<string, string> = { command: 'cmd', shell: 'cmd' };

export interface LoadOptions extends VaultOptions {
  /** The modules tasks may name (the module registry, handed down by the caller). */
  modules: ModuleCatalog;
  /** Extra role directories searched after the playbook's. */
  rolesPath?: string[];
}

function asStringList(c: YamlCursor, what: string, bag: DiagnosticBag): string[] {
  const v = c.value;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  bag.add(c.diag(`${what} must be a string or a list of strings`));
  return [];
}

function asMap(c: YamlCursor, what: string, bag: DiagnosticBag): Record<string, unknown> {
  const v = c.value;
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  bag.add(c.diag(`${what} must be a mapping`));
  return {};
}

function asBool(c: YamlCursor, what: string, bag: DiagnosticBag): boolean | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  bag.add(c.diag(`${what} must be true or false`));
  return undefined;
}

export class PlaybookLoader {
  readonly bag = new DiagnosticBag();
  private readonly roles = new Map<string, RoleDef | null>();
  private readonly files = new Map<string, YamlFile | null>();
  private readonly roleDirs: string[];

  private readonly modules: ModuleCatalog;
  private readonly vault: VaultOptions;

  constructor(
    readonly playbookFile: string,
    opts: LoadOptions,
  ) {
    this.modules = opts.modules;
    this.vault = { vaultPassword: opts.vaultPassword };
    const dir = dirname(resolve(playbookFile));
    this.roleDirs = [join(dir, 'roles'), join(dir, '..', 'roles'), join(process.cwd(), 'roles'), ...(opts.rolesPath ?? [])].map((d) =>
      resolve(d),
    );
  }

  private yaml(file: string, from?: Loc): YamlFile | undefined {
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
    const book: Playbook = { file, dir: dirname(resolve(file)), plays: [] };
    if (!y) return book;
    const root = new YamlCursor(y, []);
    if (!Array.isArray(root.value)) {
      this.bag.add(root.diag('a playbook is a list of plays'));
      return book;
    }
    (root.value as unknown[]).forEach((_, i) => {
      const play = this.loadPlay(root.child(i), i);
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
    for (const k of Object.keys(raw)) {
      if (!PLAY_KEYS.has(k)) this.bag.add(c.child(k).diag(`unknown play keyword '${k}'${suggest(k, PLAY_KEYS)}`, true));
    }
    if (typeof raw.hosts !== 'string' || !raw.hosts.trim()) {
      this.bag.add((raw.hosts === undefined ? c : c.child('hosts')).diag('a play needs `hosts:` (a host pattern string)'));
    }
    const vars = asMap(c.child('vars'), 'vars', this.bag);
    for (const [i, vf] of asStringList(c.child('vars_files'), 'vars_files', this.bag).entries()) {
      const path = resolve(dirname(c.y.file), vf);
      const vy = this.yaml(path, c.child('vars_files', i).loc());
      if (vy) Object.assign(vars, asMap(new YamlCursor(vy, []), 'a vars file', this.bag));
    }
    const play: PlayDef = {
      name: typeof raw.name === 'string' ? raw.name : `play ${index + 1} (${String(raw.hosts)})`,
      hosts: typeof raw.hosts === 'string' ? raw.hosts : '',
      hostsLoc: c.child('hosts').loc(),
      vars,
      roles: [],
      tasks: [],
      handlers: [],
      serial: raw.serial as PlayDef['serial'],
      maxFailPercentage: typeof raw.max_fail_percentage === 'number' ? raw.max_fail_percentage : undefined,
      tags: asStringList(c.child('tags'), 'tags', this.bag),
      become: asBool(c.child('become'), 'become', this.bag),
      becomeUser: typeof raw.become_user === 'string' ? raw.become_user : undefined,
      gatherFacts: asBool(c.child('gather_facts'), 'gather_facts', this.bag) ?? false,
      loc: c.loc(),
      index,
    };
    if (raw.serial !== undefined && !isSerial(raw.serial)) {
      this.bag.add(c.child('serial').diag('serial must be a number, a percentage like "30%", or a list of them'));
    }
    if (
      raw.max_fail_percentage !== undefined &&
      (typeof raw.max_fail_percentage !== 'number' || raw.max_fail_percentage < 0 || raw.max_fail_percentage > 100)
    ) {
      this.bag.add(c.child('max_fail_percentage').diag('max_fail_percentage must be a number from 0 to 100'));
    }
    const pre = this.loadTaskList(c.child('pre_tasks'), undefined, false);
    const roleTasks: TaskDef[] = [];
    const roleHandlers: TaskDef[] = [];
    const rc = c.child('roles');
    if (rc.value !== undefined && rc.value !== null) {
      if (!Array.isArray(rc.value)) this.bag.add(rc.diag('roles must be a list'));
      else
        (rc.value as unknown[]).forEach((_, i) => {
          const ref = this.loadRoleRef(rc.child(i));
          if (!ref) return;
          play.roles.push(ref);
          for (const t of ref.role.tasks) roleTasks.push(withRoleRef(t, ref));
          roleHandlers.push(...ref.role.handlers);
        });
    }
    const tasks = this.loadTaskList(c.child('tasks'), undefined, false);
    const post = this.loadTaskList(c.child('post_tasks'), undefined, false);
    play.tasks = [...pre, ...roleTasks, ...tasks, ...post].map((t, i) => ({ ...t, index: i }));
    // Handlers: roles' first, then the play's.
    const handlers = [...roleHandlers, ...this.loadTaskList(c.child('handlers'), undefined, true)];
    play.handlers = handlers.map((h, i) => ({ ...h, index: i }));
    return play;
  }

  private loadRoleRef(c: YamlCursor): RoleRef | undefined {
    const v = c.value;
    let name: string | undefined;
    let vars: Record<string, unknown> = {};
    let tags: string[] = [];
    let when: unknown;
    if (typeof v === 'string') name = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const r = v as Record<string, unknown>;
      name = typeof r.role === 'string' ? r.role : typeof r.name === 'string' ? r.name : undefined;
      vars = { ...asMap(c.child('vars'), 'role vars', this.bag) };
      tags = asStringList(c.child('tags'), 'tags', this.bag);
      when = r.when;
      for (const [k, x] of Object.entries(r)) if (!['role', 'name', 'vars', 'tags', 'when'].includes(k)) vars[k] = x;
    }
    if (!name) {
      this.bag.add(c.diag('a role entry is a role name or a mapping with `role:`'));
      return undefined;
    }
    const role = this.loadRole(name, c.loc());
    return role ? { role, vars, tags, when, loc: c.loc() } : undefined;
  }

  loadRole(name: string, from: Loc): RoleDef | undefined {
    if (this.roles.has(name)) return this.roles.get(name) ?? undefined;
    const dir = this.roleDirs.map((d) => join(d, name)).find((d) => existsSync(d) && statSync(d).isDirectory());
    if (!dir) {
      this.bag.add({ ...from, message: `role '${name}' not found (searched ${[...new Set(this.roleDirs)].join(', ')})` });
      this.roles.set(name, null);
      return undefined;
    }
    const role: RoleDef = { name, dir, defaults: {}, tasks: [], handlers: [] };
    this.roles.set(name, role);
    const defaultsFile = yamlFileIn(dir, 'defaults', 'main');
    if (defaultsFile) {
      const y = this.yaml(defaultsFile);
      if (y) {
        role.defaults = asMap(new YamlCursor(y, []), 'role defaults', this.bag);
        role.defaultsFile = defaultsFile;
      }
    }
    const schemaFile = yamlFileIn(dir, 'meta', 'argument_schema');
    if (schemaFile) {
      const y = this.yaml(schemaFile);
      if (y) {
        role.argSchema = asMap(new YamlCursor(y, []), 'argument schema', this.bag);
        role.argSchemaFile = schemaFile;
      }
    }
    const tasksFile = yamlFileIn(dir, 'tasks', 'main');
    if (tasksFile) {
      const y = this.yaml(tasksFile);
      if (y) role.tasks = this.loadTaskList(new YamlCursor(y, []), role, false);
    }
    const handlersFile = yamlFileIn(dir, 'handlers', 'main');
    if (handlersFile) {
      const y = this.yaml(handlersFile);
      if (y) role.handlers = this.loadTaskList(new YamlCursor(y, []), role, true);
    }
    return role;
  }

  loadTaskList(c: YamlCursor, role: RoleDef | undefined, handlers: boolean, depth = 0): TaskDef[] {
    const v = c.value;
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.bag.add(c.diag(`${handlers ? 'handlers' : 'tasks'} must be a list`));
      return [];
    }
    const out: TaskDef[] = [];
    v.forEach((item, i) => {
      const tc = c.child(i);
      if (item && typeof item === 'object' && !Array.isArray(item) && 'import_tasks' in item) {
        const rel = (item as Record<string, unknown>).import_tasks;
        if (typeof rel !== 'string') {
          this.bag.add(tc.child('import_tasks').diag('import_tasks takes a file name'));
          return;
        }
        if (depth > 10) {
          this.bag.add(tc.diag('import_tasks nested too deeply (a cycle?)'));
          return;
        }
        const base = role ? join(role.dir, 'tasks') : dirname(c.y.file);
        const y = this.yaml(resolve(base, rel), tc.child('import_tasks').loc());
        if (y) out.push(...this.loadTaskList(new YamlCursor(y, []), role, handlers, depth + 1));
        return;
      }
      const t = this.loadTask(tc, role, handlers, out.length);
      if (t) out.push(t);
    });
    return out;
  }

  private loadTask(c: YamlCursor, role: RoleDef | undefined, handler: boolean, index: number): TaskDef | undefined {
    const v = c.value;
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      this.bag.add(c.diag('a task must be a mapping with a module key'));
      return undefined;
    }
    const raw = v as Record<string, unknown>;
    const moduleKeys = Object.keys(raw).filter((k) => !TASK_KEYS.has(k));
    if (moduleKeys.length === 0) {
      this.bag.add(c.diag(`task has no module (one of: ${[...this.modules.names].sort().join(', ')})`));
      return undefined;
    }
    if (moduleKeys.length > 1) {
      const known = moduleKeys.filter((k) => this.modules.names.includes(resolveModuleName(k, this.modules)));
      const unknown = moduleKeys.filter((k) => !this.modules.names.includes(resolveModuleName(k, this.modules)));
      for (const k of unknown) {
        this.bag.add(c.child(k).diag(`unknown task keyword or module '${k}'${suggest(k, [...TASK_KEYS, ...this.modules.names])}`, true));
      }
      if (known.length > 1) this.bag.add(c.diag(`a task has exactly one module, found ${known.join(', ')}`));
      if (known.length !== 1) return undefined;
      moduleKeys.splice(0, moduleKeys.length, known[0]!);
    }
    const key = moduleKeys[0]!;
    const module = resolveModuleName(key, this.modules);
    if (!this.modules.names.includes(module)) {
      this.bag.add(c.child(key).diag(`unknown module '${key}'${suggest(key, this.modules.names)}`, true));
      return undefined;
    }
    let params = raw[key];
    if (typeof params === 'string' && FREE_FORM[module]) params = { [FREE_FORM[module]!]: params };
    if (params === null || params === undefined) params = {};
    if (typeof params !== 'object' || Array.isArray(params)) {
      this.bag.add(c.child(key).diag(`parameters of '${module}' must be a mapping`));
      return undefined;
    }
    const lc = asMap(c.child('loop_control'), 'loop_control', this.bag);
    const notify = asStringList(c.child('notify'), 'notify', this.bag);
    const register = raw.register;
    if (register !== undefined && (typeof register !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(register))) {
      this.bag.add(c.child('register').diag('register takes a variable name'));
    }
    const name = typeof raw.name === 'string' ? raw.name : defaultName(module, params as Record<string, unknown>);
    return {
      name,
      module,
      params: params as Record<string, unknown>,
      loc: c.loc(),
      yaml: c.y,
      path: c.path,
      paramsPath: [...c.path, key],
      when: raw.when,
      loop: raw.loop,
      loopVar: typeof lc.loop_var === 'string' ? lc.loop_var : 'item',
      loopLabel: typeof lc.label === 'string' ? lc.label : undefined,
      register: typeof register === 'string' ? register : undefined,
      notify,
      listen: handler ? asStringList(c.child('listen'), 'listen', this.bag) : [],
      tags: asStringList(c.child('tags'), 'tags', this.bag),
      become: asBool(c.child('become'), 'become', this.bag),
      becomeUser: typeof raw.become_user === 'string' ? raw.become_user : undefined,
      checkMode: asBool(c.child('check_mode'), 'check_mode', this.bag),
      changedWhen: raw.changed_when,
      failedWhen: raw.failed_when,
      ignoreErrors: asBool(c.child('ignore_errors'), 'ignore_errors', this.bag) ?? false,
      noLog: asBool(c.child('no_log'), 'no_log', this.bag) ?? false,
      diff: asBool(c.child('diff'), 'diff', this.bag),
      vars: asMap(c.child('vars'), 'vars', this.bag),
      role,
      index,
    };
  }
}

function withRoleRef(t: TaskDef, ref: RoleRef): TaskDef {
  const when =
    ref.when === undefined ? t.when : t.when === undefined ? ref.when : [ref.when, ...(Array.isArray(t.when) ? t.when : [t.when])];
  return { ...t, tags: [...new Set([...ref.tags, ...t.tags])], when, vars: { ...ref.vars, ...t.vars } };
}

function isSerial(v: unknown): boolean {
  const one = (x: unknown) => (typeof x === 'number' && x > 0) || (typeof x === 'string' && /^\d+%?$/.test(x));
  return one(v) || (Array.isArray(v) && v.length > 0 && v.every(one));
}

function yamlFileIn(dir: string, sub: string, base: string): string | undefined {
  for (const ext of ['yml', 'yaml']) {
    const f = join(dir, sub, `${base}.${ext}`);
    if (existsSync(f)) return f;
  }
  return undefined;
}

export function resolveModuleName(key: string, modules: ModuleCatalog): string {
  const short = key.replace(/^ansible\.(builtin|posix)\./, '');
  return modules.aliases[short] ?? short;
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
