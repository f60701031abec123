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
 * - import_tasks and import_role are expanded in place; the keywords of plays, role entries,
 *   blocks and imports are inherited by the tasks as Ansible's parent chain gives them (`when`
 *   ANDed, `tags` unioned, the nearest `become`, …; see `inherit`);
 * - blocks are flattened in order (block, rescue, always), each task carrying its frames
 *   (`TaskDef.blocks`, ids unique within the play) for the engine's block semantics;
 * - include_tasks / include_role (and a dynamic `include`) are tasks of their own (module
 *   include_tasks / include_role, `TaskDef.include`), expanded at run time by `expandTasks` /
 *   `expandRole` (includes.ts) with this loader's caches;
 * - import_playbook entries are replaced by the imported playbook's plays (vars, tags, when);
 * - every task of a play has `pos = [index]`;
 * - a task's module arguments are parsed like Ansible's (task-args.ts).
 *
 * Every structural error (unknown keys, unknown modules, missing roles, bad types) is collected
 * instead of stopping at the first. Vault data is decrypted with `opts.vaultPassword`.
 */
import { gatherKeywords } from './gather-subset.ts';
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
import {
  boolKeyword,
  conditions,
  hostOrder,
  playStrategy,
  isTemplate,
  mapping,
  varsMapping,
  nameList,
  pyScalar,
  tagList,
  taskKeywords,
} from './fields.ts';
import {
  ANSIBLE_ONLY_MODULES,
  type KeywordRule,
  REPLACED_MODULES,
  BLOCK_KEYWORDS,
  HANDLER_KEYWORDS,
  IMPORT_PLAYBOOK_KEYWORDS,
  INCLUDE_KEYWORDS,
  INCLUDE_ROLE_ARGS,
  INCLUDE_TASKS_ARGS,
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
import type {
  BlockFrame,
  Condition,
  IncludeInfo,
  LoopControl,
  ModuleCatalog,
  PlayDef,
  Playbook,
  RoleDef,
  RoleRef,
  TaskDef,
  TaskKeywords,
} from './types.ts';
import { loopKeywords, numberKeyword, retryKeywords } from './with-loop.ts';
import { foreignPackageArgs, foreignTaskArgs } from './foreign-task.ts';
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
  /** The next block frame id of the play. */
  nextBlock: number;
}

/** The task-list actions written with or without Ansible's collection prefix (`ansible.builtin.include_tasks`). */
const ACTIONS = ['import_tasks', 'import_role', 'include_tasks', 'include_role', 'include'] as const;
type ActionName = (typeof ACTIONS)[number];

/** The key a task-list entry writes `action` with (`include_tasks`, `ansible.builtin.include_tasks`), if any. */
export function actionKey(raw: Record<string, unknown>, action: ActionName): string | undefined {
  return [action, `ansible.builtin.${action}`, `ansible.legacy.${action}`].find((k) => Object.hasOwn(raw, k));
}

/** Where a task list is being placed: the role whose files it is in, and what it inherits beyond its imports. */
interface Placement {
  scope?: { ref: RoleRef; chain: RoleRef[]; occurrence: number };
  /** Sources after the task's imports and before its role (an import_role's own chain). */
  outer: Source[];
  /** The blocks around the list (an import_role in a block), play ids, outermost first. */
  frames?: BlockFrame[];
  /** Instead of outer + role chain + play: everything the list inherits (an included file: its include's). */
  sources?: Source[];
}

export class PlaybookLoader {
  bag = new DiagnosticBag();
  private readonly files = new Map<string, YamlFile | null>();
  /** The task files being imported, outermost first (an import of one of them is a cycle). */
  private readonly importing: string[] = [];
  /** import_tasks files loaded so far (LIMITS.imports). */
  private importCount = 0;
  /** Block ids of the loader (each block gets one; a play renumbers them when it places tasks). */
  private blockSeq = 0;
  /** The playbooks being imported (import_playbook cycles), outermost first. */
  private readonly playbooks: string[] = [];
  private readonly roleFilesCache = new Map<string, RoleFiles | null>();
  /** The problems found loading each role's files (given again to each later user of the cache). */
  private readonly roleDiagnostics = new Map<string, Diagnostic[]>();
  /** Each role instance's files. */
  private readonly refFiles = new Map<RoleRef, RoleFiles>();
  private readonly roleDirs: string[];
  private readonly modules: ModuleCatalog;
  private readonly vault: VaultOptions;
  readonly baseDir: string;

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
    this.playbooks.push(resolve(file));
    this.loadPlays(root, book, []);
    this.playbooks.pop();
    if (!book.plays.length && !this.bag.size) this.bag.add(root.diag('the playbook has no plays'));
    return book;
  }

  /** The entries of a playbook (`root`): plays, and import_playbook entries expanded in place. */
  private loadPlays(root: YamlCursor, book: Playbook, imports: PlaybookImport[]): void {
    (root.value as unknown[]).forEach((item, i) => {
      if (item && typeof item === 'object' && !Array.isArray(item) && actionKeyOf(item, 'import_playbook')) {
        this.importPlaybook(root.child(i), book, imports);
        return;
      }
      const play = this.loadPlay(root.child(i), book.plays.length, imports);
      if (play) book.plays.push(play);
    });
  }

  /**
   * import_playbook (ansible-core 2.14's PlaybookInclude): the file's plays, in place, each with
   * the import's `vars` over its own play vars (a `tags` var is added to the play's tags), the
   * import's `tags` added to its tags, and its `when` prepended to every task's conditions.
   */
  private importPlaybook(c: YamlCursor, book: Playbook, imports: PlaybookImport[]): void {
    const key = actionKeyOf(c.value as object, 'import_playbook')!;
    let ok =
      keysCheck(c, { ...IMPORT_PLAYBOOK_KEYWORDS, [key]: { use: 'supported' } }, 'import_playbook', this.bag, (k) =>
        Object.hasOwn(PLAY_KEYWORDS, k)
          ? `'${k}' is not valid on import_playbook: set it on the imported plays`
          : `'${k}' is not a valid attribute for a PlaybookInclude`,
      ) === 0;
    const raw = c.value as Record<string, unknown>;
    for (const k of Object.keys(raw)) {
      if (k !== key && !Object.hasOwn(IMPORT_PLAYBOOK_KEYWORDS, k)) ok = false;
    }
    const fc = c.child(key);
    const v = fc.value;
    if (v === undefined || v === null) {
      this.bag.add(fc.diag('playbook import parameter is missing'));
      return;
    }
    if (typeof v !== 'string') {
      this.bag.add(
        fc.diag(`playbook import parameter must be a string indicating a file path, got ${Array.isArray(v) ? 'list' : typeof v} instead`),
      );
      return;
    }
    const rel = v.trim();
    if (!rel) {
      this.bag.add(fc.diag('import_playbook statements must specify the file name to import'));
      return;
    }
    if (/\s/.test(rel)) {
      this.bag.add(fc.diag('import_playbook: parameters after the file name are not supported (use `vars:`)'));
      return;
    }
    if (isTemplate(rel)) {
      this.bag.add(fc.diag('import_playbook: a templated file name is not supported'));
      return;
    }
    if (raw.vars !== undefined && raw.vars !== null && (typeof raw.vars !== 'object' || Array.isArray(raw.vars))) {
      this.bag.add(c.child('vars').diag('vars for import_playbook statements must be specified as a dictionary'));
      return;
    }
    const here = dirname(resolve(c.y.file));
    const file = isAbsolute(rel) ? rel : resolve(here, rel);
    if (dirname(file) !== this.baseDir) {
      this.bag.add(
        fc.diag(
          `import_playbook: '${rel}' is in another directory than the playbook (${this.baseDir}): Ansible resolves its roles, files and templates from its own directory; Kiln supports playbooks beside the main one`,
        ),
      );
      return;
    }
    const at = this.playbooks.indexOf(file);
    if (at >= 0) {
      const names = [...this.playbooks.slice(at), file].map((f) => relative(this.baseDir, f) || f);
      this.bag.add(fc.diag(`import_playbook cycle: ${names.join(' imports ')}`));
      return;
    }
    if (this.playbooks.length > LIMITS.importDepth) {
      this.bag.add(fc.diag(`import_playbook nested more than ${LIMITS.importDepth} files deep: Kiln's limit`));
      return;
    }
    if (++this.importCount > LIMITS.imports) {
      if (this.importCount === LIMITS.imports + 1)
        this.bag.add(fc.diag(`more than ${LIMITS.imports} imports in this playbook (counting each time a file is imported): Kiln's limit`));
      return;
    }
    const imp: PlaybookImport = {
      vars: varsMapping(c.child('vars'), 'vars', this.bag),
      when: conditions(c.child('when'), this.bag) ?? [],
      tags: tagList(c.child('tags'), this.bag),
    };
    if (!ok) return;
    const y = this.yaml(file, fc.loc());
    if (!y) return;
    const root = new YamlCursor(y, []);
    if (!Array.isArray(y.value)) {
      this.bag.add(
        root.diag(
          `A playbook must be a list of plays, got a ${y.value === null || y.value === undefined ? 'NoneType' : typeof y.value} instead: ${file}`,
        ),
      );
      return;
    }
    if (!y.value.length) {
      this.bag.add(root.diag(`A playbook must contain at least one play: ${file}`));
      return;
    }
    this.playbooks.push(file);
    try {
      // The innermost import's vars first (an outer import's win), its when last (an outer one's first).
      this.loadPlays(root, book, [imp, ...imports]);
    } finally {
      this.playbooks.pop();
    }
  }

  private loadPlay(c: YamlCursor, index: number, imports: PlaybookImport[] = []): PlayDef | undefined {
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
    // import_playbook vars: over the play's vars (an outer import's over an inner one's), under its vars_files.
    const importTags: string[] = [];
    for (const imp of imports) Object.assign(vars, imp.vars);
    if (imports.some((imp) => 'tags' in imp.vars)) {
      const t = vars.tags;
      delete vars.tags;
      if (typeof t === 'string') importTags.push(...t.split(','));
      else if (t !== null && t !== undefined)
        this.bag.add(c.diag('import_playbook: the `tags` variable must be a comma-separated string (Ansible splits it)'));
    }
    const importWhen = [...imports].reverse().flatMap((imp) => imp.when);
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
    const gather = gatherKeywords(c, this.bag);
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
      tags: [...new Set([...tagList(c.child('tags'), this.bag), ...importTags, ...imports.flatMap((imp) => imp.tags)])],
      ...kw,
      // Ansible's default (gathering = implicit): a play gathers facts unless it says false.
      gatherFacts: gf && 'value' in gf ? gf.value : true,
      ...gather,
      ...(importWhen.length ? { importWhen } : {}),
      order: hostOrder(c.child('order'), this.bag), // part G
      strategy: playStrategy(c.child('strategy'), this.bag),
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
    if (play.strategy === 'free' || play.strategy === 'host_pinned') {
      // Ansible 2.14's free strategy only warns about these and gives them no meaning (plan/strategy.ts).
      const s = play.strategy;
      if (raw.max_fail_percentage !== undefined && raw.max_fail_percentage !== null)
        this.bag.add(
          c
            .child('max_fail_percentage')
            .diag(
              `max_fail_percentage: not supported with strategy ${s} (Ansible 2.14 only warns and never checks it: tasks run independently on each host)`,
            ),
        );
      if (play.runOnce && !('value' in play.runOnce && play.runOnce.value === false))
        this.bag.add(
          c.child('run_once').diag(`run_once: not supported with strategy ${s} (Ansible 2.14 only warns and runs the task on every host)`),
        );
      if (play.anyErrorsFatal && !('value' in play.anyErrorsFatal && play.anyErrorsFatal.value === false))
        this.bag.add(
          c
            .child('any_errors_fatal')
            .diag(
              `any_errors_fatal: not supported with strategy ${s} (Ansible 2.14 only warns: each host runs on its own, a failure does not stop the others)`,
            ),
        );
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
      play: { ...kw, when: importWhen, tags: [] },
      nextId: 0,
      handlerBlocks: 0,
      nextBlock: 0,
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
    play.tasks = [...pre, ...roleTasks, ...tasks, ...post].map((t, i) => ({ ...t, index: i, pos: [i] }));
    // Handlers: the roles' (dependencies first), then the play's.
    const own = this.place(this.loadTaskList(c.child('handlers'), undefined, true), top, pr);
    const ownBlock = pr.handlerBlocks++;
    // import_playbook's `when` is not given to the handlers (Ansible prepends it to the task blocks only).
    const notImported = (h: TaskDef): TaskDef => (importWhen.length ? { ...h, when: h.when.filter((w) => !importWhen.includes(w)) } : h);
    play.handlers = [...pr.handlers, ...own.map((h) => ({ ...h, handlerBlock: ownBlock }))].map((h, i) => ({
      ...notImported(h),
      index: i,
      pos: [i],
    }));
    play.roles = pr.list;
    // part G: ansible-core 2.14 runs a run_once handler on more than one of the notified hosts
    // (the first two, checked with ansible-playbook): refused rather than guessed.
    for (const h of play.handlers) {
      if (h.runOnce && !('value' in h.runOnce && h.runOnce.value === false))
        this.bag.add({
          ...h.loc,
          message: `handler '${h.name}': run_once on a handler is not supported (ansible-core 2.14 runs it on more than one notified host)`,
        });
    }
    return play;
  }

  // ---- dynamic includes (run time: includes.ts) ----

  /** Block and role ids of expansions: above any play's own (unique within the play). */
  private expansionIds = { block: 1_000_000, role: 1_000_000, handlerBlock: 1_000_000 };
  /** An included file's entries, loaded once per file, role and directories (with their diagnostics). */
  private readonly includeCache = new Map<string, { items: Item[]; diagnostics: Diagnostic[] }>();

  /** A PlayRoles for one expansion: fresh role instances and block ids that do not clash with the play's. */
  private expansionRoles(): PlayRoles {
    return {
      byKey: new Map(),
      list: [],
      loading: [],
      occurrences: new Map(),
      handlersOf: new Set(),
      handlers: [],
      play: { when: [], tags: [] },
      nextId: this.expansionIds.role,
      handlerBlocks: this.expansionIds.handlerBlock,
      nextBlock: this.expansionIds.block,
    };
  }

  private endExpansion(pr: PlayRoles): void {
    this.expansionIds = { block: pr.nextBlock, role: pr.nextId, handlerBlock: pr.handlerBlocks };
  }

  /** What the included tasks inherit: `apply`, the include's vars (and loop variables), then what the include inherits. */
  private includedSources(parent: TaskDef, itemVars: Record<string, unknown>): Source[] {
    const inc = parent.include!;
    return [...(inc.apply ? [inc.apply] : []), { when: [], tags: [], vars: { ...parent.vars, ...itemVars } }, ...inc.sources];
  }

  /**
   * Where include_tasks finds `rel` (ansible-core 2.14's IncludedFile): in a role, its tasks/
   * directory first; then the directories of the files the include is in (innermost first); then
   * the role's directory, then the playbook's directory.
   */
  includePath(parent: TaskDef, rel: string): { file: string; searched: string[] } {
    if (isAbsolute(rel)) return { file: rel, searched: [rel] };
    const role = parent.role;
    const dirs = parent.include?.dirs ?? [dirname(parent.yaml.file)];
    const searched = [
      ...new Set([
        ...(role ? [join(role.dir, 'tasks', rel)] : []),
        ...dirs.map((d) => resolve(d, rel)),
        ...(role ? [join(role.dir, rel)] : []),
        resolve(this.baseDir, rel),
      ]),
    ];
    return { file: searched.find((p) => existsSync(p) && statSync(p).isFile()) ?? searched[0]!, searched };
  }

  /** include_tasks / include at run time: the file's tasks, placed under `parent` (see includes.ts). */
  expandTasks(
    parent: TaskDef,
    rel: string,
    item: number,
    itemVars: Record<string, unknown>,
  ): { tasks: TaskDef[]; diagnostics: Diagnostic[] } {
    this.bag = new DiagnosticBag();
    const inc = parent.include;
    const at = new YamlCursor(parent.yaml, parent.paramPaths.file ?? parent.modulePath);
    if (!inc) {
      this.bag.add(at.diag(`${parent.ansibleModule}: not an include task`));
      return { tasks: [], diagnostics: this.bag.sorted() };
    }
    const { file, searched } = this.includePath(parent, rel);
    if (!existsSync(file) || !statSync(file).isFile()) {
      this.bag.add(at.diag(`Could not find or access '${rel}' (searched ${searched.join(', ')})`));
      return { tasks: [], diagnostics: this.bag.sorted() };
    }
    if (inc.depth >= LIMITS.importDepth) {
      this.bag.add(at.diag(`${inc.kind} nested more than ${LIMITS.importDepth} files deep: Kiln's limit`));
      return { tasks: [], diagnostics: this.bag.sorted() };
    }
    const key = `${resolve(file)}\0${parent.role?.dir ?? ''}\0${inc.dirs.join('\0')}\0${inc.depth}`;
    let cached = this.includeCache.get(key);
    if (!cached) {
      const y = this.yaml(file, at.loc());
      let items: Item[] = [];
      if (y && y.value !== null && y.value !== undefined) {
        const body = new YamlCursor(y, []);
        if (!Array.isArray(y.value)) this.bag.add(body.diag('included task files must contain a list of tasks'));
        else items = this.loadTaskList(body, parent.role, false, [], inc.depth + 1, inc.dirs, [], true);
      }
      cached = { items, diagnostics: this.bag.sorted() };
      this.includeCache.set(key, cached);
    }
    this.bag = new DiagnosticBag();
    this.bag.addAll(cached.diagnostics);
    const pr = this.expansionRoles();
    const placed = this.place(cached.items, { scope: parent.scope, outer: [], sources: this.includedSources(parent, itemVars) }, pr);
    if (pr.handlers.length)
      this.bag.add(at.diag(`${inc.kind}: an import_role with handlers in an included file is not supported (use include_role)`));
    this.endExpansion(pr);
    const pos = [...(parent.pos ?? [parent.index]), item];
    const tasks = placed.map((t, j) => ({ ...t, index: parent.index, pos: [...pos, j] }));
    return { tasks, diagnostics: this.bag.sorted() };
  }

  /** include_role at run time: the role's tasks (dependencies first) and handlers, placed under `parent` (see includes.ts). */
  expandRole(
    parent: TaskDef,
    spec: { name: string; tasksFrom?: string; varsFrom?: string; defaultsFrom?: string; handlersFrom?: string; allowDuplicates: boolean },
    item: number,
    itemVars: Record<string, unknown>,
  ): { tasks: TaskDef[]; handlers: TaskDef[]; role?: RoleRef; diagnostics: Diagnostic[] } {
    this.bag = new DiagnosticBag();
    const inc = parent.include;
    const vc = new YamlCursor(parent.yaml, parent.modulePath);
    const none = () => ({ tasks: [], handlers: [], diagnostics: this.bag.sorted() });
    if (!inc) {
      this.bag.add(vc.diag(`${parent.ansibleModule}: not an include task`));
      return none();
    }
    const from: Record<string, string> = {};
    for (const [k, v] of [
      ['tasks', spec.tasksFrom],
      ['vars', spec.varsFrom],
      ['defaults', spec.defaultsFrom],
      ['handlers', spec.handlersFrom],
    ] as const) {
      if (v === undefined) continue;
      if (v.includes('/')) {
        this.bag.add(
          new YamlCursor(parent.yaml, parent.paramPaths[`${k}_from`] ?? parent.modulePath).diag(
            `${k}_from: Ansible 2.14 uses only the file name (${basename(v)}) of '${v}'; give a file of the role's ${k}/ directory`,
          ),
        );
        return none();
      }
      from[k] = v;
    }
    const pr = this.expansionRoles();
    const chain = parent.scope?.chain.map((r) => r.role.name) ?? [];
    const ref = this.roleEntry(vc, pr, chain, true, from, spec.allowDuplicates, {}, spec.name);
    if (!ref) {
      this.endExpansion(pr);
      return none();
    }
    if (parent.scope?.chain.some((r) => r.role.dir === ref.role.dir && r.key === ref.key)) {
      this.bag.add(vc.diag(`role include cycle: ${[...chain, ref.role.name].join(' → ')}`));
      this.endExpansion(pr);
      return none();
    }
    const placed = this.placeRole(ref, parent.scope?.chain ?? [], this.includedSources(parent, itemVars), pr);
    this.endExpansion(pr);
    const pos = [...(parent.pos ?? [parent.index]), item];
    const tasks = placed.map((t, j) => ({ ...t, index: parent.index, pos: [...pos, j] }));
    const handlers = pr.handlers.map((h, j) => ({ ...h, blocks: [], pos: [...pos, j] }));
    return { tasks, handlers, role: ref, diagnostics: this.bag.sorted() };
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
    /** include_role: the rendered role name. */
    includeName?: string,
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
      name = includeName ?? (v as { name?: string }).name;
      vars = importVars;
    }
    if (!name) {
      this.bag.add(c.diag('a role entry is a role name or a mapping with `role:`'));
      return undefined;
    }
    if (isTemplate(name) && includeName === undefined) {
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
    if (this.roleFilesCache.has(cacheKey)) {
      // Its problems again: a run-time include_role of it has a bag of its own (the play's holds them once).
      this.bag.addAll(this.roleDiagnostics.get(cacheKey) ?? []);
      return this.roleFilesCache.get(cacheKey) ?? undefined;
    }
    this.roleFilesCache.set(cacheKey, null);
    const outer = this.bag;
    this.bag = new DiagnosticBag();
    let files: RoleFiles | undefined;
    try {
      files = loadRoleFiles(name, dir, from, at, this);
    } finally {
      const found = this.bag.sorted();
      this.bag = outer;
      this.bag.addAll(found);
      this.roleDiagnostics.set(cacheKey, found);
    }
    if (files) this.roleFilesCache.set(cacheKey, files);
    return files;
  }

  /**
   * A role instance's tasks placed in the play: its dependencies' first (each placed again: an
   * occurrence of its own), then its own. Its handlers (and its dependencies') join the play's
   * handlers once per instance.
   */
  private placeRole(ref: RoleRef, parents: RoleRef[], outer: Source[], pr: PlayRoles, frames: BlockFrame[] = []): TaskDef[] {
    const chain = [...parents, ref];
    if (!pr.list.includes(ref) && parents.length === 0) pr.list.push(ref);
    const out: TaskDef[] = [];
    for (const dep of ref.deps) out.push(...this.placeRole(dep, chain, outer, pr, frames));
    const occurrence = (pr.occurrences.get(ref) ?? 0) + 1;
    pr.occurrences.set(ref, occurrence);
    const files = this.refFiles.get(ref);
    const placement: Placement = { scope: { ref, chain, occurrence }, outer, frames };
    if (files) out.push(...this.place(files.tasks, placement, pr));
    if (!pr.handlersOf.has(ref)) {
      pr.handlersOf.add(ref);
      const block = pr.handlerBlocks++;
      if (files)
        pr.handlers.push(...this.place(files.handlers, { ...placement, frames: [] }, pr).map((h) => ({ ...h, handlerBlock: block })));
    }
    return out;
  }

  // ---- task lists ----

  /**
   * A task list's entries: tasks, blocks flattened (block, rescue, always; each task given its
   * frames), import_tasks expanded, import_role and dynamic includes as entries. `dynamic`: the
   * list is in a dynamically included file (a plain `include` there is dynamic too, as in 2.14).
   */
  loadTaskList(
    c: YamlCursor,
    role: RoleDef | undefined,
    handlers: boolean,
    imports: Source[] = [],
    depth = 0,
    dirs: string[] = [],
    frames: BlockFrame[] = [],
    dynamic = false,
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
      if ('block' in raw || 'rescue' in raw || 'always' in raw) {
        out.push(...this.loadBlock(tc, role, handlers, imports, depth, dirs, frames, dynamic));
        return;
      }
      const inc = actionKey(raw, 'include');
      const dynamicInclude =
        inc !== undefined &&
        (dynamic ||
          raw.loop !== undefined ||
          Object.keys(raw).some((k) => k.startsWith('with_')) ||
          (typeof raw[inc] === 'string' && isTemplate(raw[inc] as string)));
      if (actionKey(raw, 'include_tasks') || actionKey(raw, 'include_role') || dynamicInclude) {
        const t = this.loadInclude(tc, handlers, depth, [dirname(tc.y.file), ...dirs]);
        if (t) out.push({ kind: 'task', task: { ...t, role }, imports, ownNotify: true, blocks: frames });
        return;
      }
      const imp = actionKey(raw, 'import_tasks') ?? inc;
      if (imp) {
        out.push(...this.importTasks(tc, imp, role, handlers, imports, depth, dirs, frames));
        return;
      }
      const ir = actionKey(raw, 'import_role');
      if (ir) {
        if (handlers) {
          this.bag.add(tc.child(ir).diag('import_role in handlers is not supported', true));
          return;
        }
        const source = this.importSource(tc, ir);
        if (source) out.push({ kind: 'import_role', source, c: tc, imports, blocks: frames });
        return;
      }
      const t = this.loadTask(tc, role, handlers);
      if (t) out.push({ kind: 'task', task: t, imports, ownNotify: raw.notify !== undefined && raw.notify !== null, blocks: frames });
    });
    return out;
  }

  /**
   * A block, flattened: its `block` tasks, then `rescue`, then `always`, each task with the
   * block's frame (one id, its section) and inheriting the block's keywords (a source, like an
   * import's: `when` ANDed, tags unioned, vars under the task's, the nearest become/…/notify).
   */
  private loadBlock(
    c: YamlCursor,
    role: RoleDef | undefined,
    handlers: boolean,
    imports: Source[],
    depth: number,
    dirs: string[],
    frames: BlockFrame[],
    dynamic: boolean,
  ): Item[] {
    const raw = c.value as Record<string, unknown>;
    if (handlers && frames.length) {
      this.bag.add(c.diag('Using a block as a handler is not supported.'));
      return [];
    }
    for (const k of ['rescue', 'always']) {
      if (k in raw && !('block' in raw)) {
        this.bag.add(c.diag(`'${k}' keyword cannot be used without 'block'`));
        return [];
      }
    }
    let ok = true;
    const refused = keysCheck(c, BLOCK_KEYWORDS, 'block keyword', this.bag, (k) => {
      ok = false;
      return Object.hasOwn(TASK_KEYWORDS, k) || Object.hasOwn(TASK_ACTIONS, k) || k.startsWith('with_') || kilnModuleOf(k, this.modules)
        ? `'${k}' is not a valid attribute for a Block: put it on the tasks inside (a block takes ${Object.keys(BLOCK_KEYWORDS)
            .filter((x) => BLOCK_KEYWORDS[x]!.use === 'supported')
            .join(', ')})`
        : `unknown block keyword '${k}'${suggest(k, Object.keys(BLOCK_KEYWORDS))}`;
    });
    if (refused) ok = false;
    const sections = (['block', 'rescue', 'always'] as const).filter((k) => raw[k] !== undefined && raw[k] !== null);
    for (const k of sections) {
      if (!Array.isArray(raw[k])) {
        this.bag.add(
          c.child(k).diag(`A malformed block was encountered while loading ${k === 'block' ? 'a block' : k}: ${k} must be a list of tasks`),
        );
        ok = false;
      }
    }
    const source = this.keywordSource(c);
    if (!ok) return [];
    const id = this.blockSeq++;
    const hasRescue = Array.isArray(raw.rescue) && raw.rescue.length > 0;
    const name = typeof raw.name === 'string' ? raw.name : raw.name === undefined || raw.name === null ? undefined : pyScalar(raw.name);
    const out: Item[] = [];
    for (const section of sections) {
      const frame: BlockFrame = { id, section, hasRescue, ...(name !== undefined ? { name } : {}), loc: c.loc() };
      out.push(...this.loadTaskList(c.child(section), role, handlers, [source, ...imports], depth, dirs, [...frames, frame], dynamic));
    }
    return out;
  }

  /**
   * include_tasks / include_role / a dynamic `include`: one task (module include_tasks or
   * include_role, its parameters as written) that splices its file's tasks in at run time
   * (includes.ts). Its keywords are TaskInclude's: `when`, `loop`, `tags`, … apply to the include
   * itself; `vars` and `apply` are given to the included tasks.
   */
  private loadInclude(tc: YamlCursor, handlers: boolean, depth: number, dirs: string[]): TaskDef | undefined {
    const raw = tc.value as Record<string, unknown>;
    const key = actionKey(raw, 'include_tasks') ?? actionKey(raw, 'include_role') ?? actionKey(raw, 'include')!;
    const short = key.replace(/^ansible\.(builtin|legacy)\./, '') as 'include_tasks' | 'include_role' | 'include';
    // Ansible 2.14: include_tasks (and a dynamic include) is a handler (HandlerTaskInclude, which
    // also takes `listen`): notified, it runs its file's tasks as handlers on the notified hosts.
    if (handlers && short === 'include_role') {
      this.bag.add(tc.child(key).diag("Using 'include_role' as a handler is not supported.", true));
      return undefined;
    }
    const cls = short === 'include_role' ? 'IncludeRole' : handlers ? 'HandlerTaskInclude' : 'TaskInclude';
    const keywords: Record<string, KeywordRule> = { ...INCLUDE_KEYWORDS, ...(handlers ? { listen: HANDLER_KEYWORDS.listen! } : {}) };
    let bad =
      keysCheck(tc, { ...keywords, [key]: { use: 'supported' } }, `${short} keyword`, this.bag, (k) => {
        if (Object.hasOwn(TASK_ACTIONS, k.replace(/^ansible\.(builtin|legacy)\./, '')) || kilnModuleOf(k, this.modules))
          return `a task has exactly one action: found ${key} and '${k}'`;
        if (Object.hasOwn(HANDLER_KEYWORDS, k)) return `'${k}' is not a valid attribute for a ${cls}`;
        return `unknown ${short} keyword '${k}'${suggest(k, Object.keys(INCLUDE_KEYWORDS))}`;
      }) > 0;
    for (const k of Object.keys(raw)) if (k !== key && !Object.hasOwn(keywords, k) && !k.startsWith('with_')) bad = true;
    const params: Record<string, unknown> = {};
    const paramPaths: Record<string, (string | number)[]> = {};
    const ac = tc.child('args');
    if (raw.args !== undefined && raw.args !== null) {
      if (typeof raw.args !== 'object' || Array.isArray(raw.args)) {
        this.bag.add(ac.diag('args: must be a mapping'));
        bad = true;
      } else
        for (const [k, v] of Object.entries(raw.args as Record<string, unknown>)) {
          params[k] = v;
          paramPaths[k] = ac.child(k).path;
        }
    }
    const vc = tc.child(key);
    const v = vc.value;
    if (typeof v === 'string') {
      if (short === 'include_role') {
        this.bag.add(vc.diag("include_role takes a mapping with 'name'"));
        return undefined;
      }
      if (short === 'include' && /\s/.test(v.trim()) && !isTemplate(v)) {
        this.bag.add(vc.diag('include: parameters after the file name are not supported (Ansible passes them as variables: use `vars:`)'));
        return undefined;
      }
      params.file = v;
      paramPaths.file = vc.path;
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const table = short === 'include_role' ? INCLUDE_ROLE_ARGS : INCLUDE_TASKS_ARGS;
      if (keysCheck(vc, table, short, this.bag, (k) => `Invalid options for ${short}: ${k}`)) bad = true;
      for (const k of Object.keys(v)) if (!Object.hasOwn(table, k)) bad = true;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        params[k === '_raw_params' ? 'file' : k] = x;
        paramPaths[k === '_raw_params' ? 'file' : k] = vc.child(k).path;
      }
    } else if (v !== undefined && v !== null) {
      this.bag.add(vc.diag(`${short} takes ${short === 'include_role' ? "a mapping with 'name'" : 'a file name'}`));
      return undefined;
    }
    const at = (k: string) => new YamlCursor(tc.y, paramPaths[k] ?? vc.path);
    if (short === 'include_role') {
      if (typeof params.name !== 'string' && typeof params.role === 'string') params.name = params.role;
      delete params.role;
      if (typeof params.name !== 'string' || !params.name.trim()) {
        this.bag.add(vc.diag(`'name' is a required field for ${short}.`));
        return undefined;
      }
      for (const k of ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from']) {
        if (params[k] !== undefined && params[k] !== null && typeof params[k] !== 'string') {
          this.bag.add(at(k).diag(`Expected a string for ${k} but got ${typeof params[k]} instead`));
          bad = true;
        }
      }
      for (const k of ['public', 'allow_duplicates']) {
        const b = params[k] === undefined ? undefined : boolKeyword(at(k), this.bag);
        if (params[k] !== undefined && params[k] !== null && !b) bad = true;
      }
    } else if (typeof params.file !== 'string' || !params.file.trim()) {
      this.bag.add(vc.diag(`No file specified for ${short}`));
      return undefined;
    }
    let apply: Source | undefined;
    if (params.apply !== undefined && params.apply !== null) {
      if (short === 'include') {
        this.bag.add(at('apply').diag('Invalid options for include: apply'));
        bad = true;
      } else apply = this.applySource(at('apply'));
      if (!apply) bad = true;
    }
    if (bad) return undefined;
    if (depth > LIMITS.importDepth) {
      this.bag.add(vc.diag(`${short} nested more than ${LIMITS.importDepth} files deep: Kiln's limit`));
      return undefined;
    }
    const register = raw.register;
    if (register !== undefined && (typeof register !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(register))) {
      this.bag.add(tc.child('register').diag('register takes a variable name'));
      return undefined;
    }
    const module = short === 'include_role' ? 'include_role' : 'include_tasks';
    const withKey = Object.keys(raw).find((k) => k.startsWith('with_'));
    if (withKey && raw.loop !== undefined) {
      this.bag.add(tc.child(withKey).diag(`a task has one loop: found loop and ${withKey}`, true));
      return undefined;
    }
    const include: IncludeInfo = { kind: short, sources: [], ...(apply ? { apply } : {}), dirs, depth };
    return {
      name:
        typeof raw.name === 'string'
          ? raw.name
          : raw.name === undefined || raw.name === null
            ? `${module} ${String(short === 'include_role' ? params.name : params.file)}`
            : pyScalar(raw.name),
      module,
      ansibleModule: key,
      params,
      paramPaths,
      loc: tc.loc(),
      yaml: tc.y,
      path: tc.path,
      modulePath: vc.path,
      when: conditions(tc.child('when'), this.bag) ?? [],
      // A with_<lookup> loop (when supported: keywords.ts) is the include's loop, as on any task.
      ...(withKey ? { loop: raw[withKey], loopWith: withKey.slice(5) } : { loop: raw.loop }),
      loopControl: this.loopControl(tc.child('loop_control')),
      register: typeof register === 'string' ? register : undefined,
      notify: [],
      listen: handlers ? (nameList(tc.child('listen'), this.bag) ?? []) : [],
      tags: tagList(tc.child('tags'), this.bag),
      ...taskKeywords(tc, this.bag),
      vars: varsMapping(tc.child('vars'), 'vars', this.bag),
      index: 0,
      include,
    };
  }

  /** An include's `apply:`: a block's keywords (Ansible loads it as a Block around the included tasks). */
  private applySource(c: YamlCursor): Source | undefined {
    const v = c.value;
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      this.bag.add(c.diag(`Expected a dict for apply but got ${Array.isArray(v) ? 'list' : typeof v} instead`));
      return undefined;
    }
    const table = Object.fromEntries(Object.entries(BLOCK_KEYWORDS).filter(([k]) => !['block', 'rescue', 'always'].includes(k)));
    let ok = true;
    const refused = keysCheck(c, table, 'apply', this.bag, (k) => {
      ok = false;
      return `'${k}' is not a valid attribute for a Block (apply takes block keywords)`;
    });
    if (refused) ok = false;
    const source = this.keywordSource(c);
    return ok ? source : undefined;
  }

  /** The keywords at `c` that tasks inherit (a block's, an `apply`'s, an import's), as a Source. */
  private keywordSource(c: YamlCursor): Source {
    return {
      ...taskKeywords(c, this.bag),
      when: conditions(c.child('when'), this.bag) ?? [],
      tags: tagList(c.child('tags'), this.bag),
      notify: nameList(c.child('notify'), this.bag),
      vars: varsMapping(c.child('vars'), 'vars', this.bag),
    };
  }

  /** An import's keywords, as a source its tasks inherit from (refusing the keywords that would have no effect). */
  private importSource(c: YamlCursor, key: string): Source | undefined {
    const raw = c.value as Record<string, unknown>;
    const action = key.replace(/^ansible\.(builtin|legacy)\./, '');
    let ok = true;
    keysCheck(c, { ...TASK_KEYWORDS, [key]: { use: 'supported' } }, `${action} keyword`, this.bag, (k) => {
      ok = false;
      return Object.hasOwn(TASK_ACTIONS, k) || kilnModuleOf(k, this.modules)
        ? `a task has exactly one action: found ${action} and '${k}'`
        : `unknown ${action} keyword '${k}'${suggest(k, Object.keys(TASK_KEYWORDS))}`;
    });
    for (const k of Object.keys(raw)) {
      if (NOT_INHERITED_BY_IMPORTS.has(k) || k.startsWith('with_')) {
        if (k === 'loop' || k.startsWith('with_')) {
          this.bag.add(
            c.child(k).diag(`You cannot use loops on '${action}' statements. You should use 'include_${action.slice(7)}' instead.`, true),
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
    const source = this.keywordSource(c);
    return ok ? source : undefined;
  }

  /** import_tasks, or a static `include` (2.14: a literal file name, no loop, not in a dynamically included file). */
  private importTasks(
    tc: YamlCursor,
    key: string,
    role: RoleDef | undefined,
    handlers: boolean,
    imports: Source[],
    depth: number,
    dirs: string[],
    frames: BlockFrame[],
  ): Item[] {
    const action = key.replace(/^ansible\.(builtin|legacy)\./, '');
    const source = this.importSource(tc, key);
    const ic = tc.child(key);
    let rel: unknown = ic.value;
    if (rel && typeof rel === 'object' && !Array.isArray(rel)) {
      keysCheck(ic, IMPORT_TASKS_ARGS, action, this.bag, (k) => `Invalid options for ${action}: ${k}`);
      rel = (rel as Record<string, unknown>).file ?? (rel as Record<string, unknown>)._raw_params;
    }
    if (typeof rel !== 'string' || !rel.trim()) {
      this.bag.add(ic.diag(`No file specified for ${action}`));
      return [];
    }
    if (isTemplate(rel)) {
      this.bag.add(ic.diag('import_tasks: templated file names are not supported'));
      return [];
    }
    if (action === 'include' && /\s/.test(rel.trim())) {
      this.bag.add(ic.diag('include: parameters after the file name are not supported (Ansible passes them as variables: use `vars:`)'));
      return [];
    }
    if (!source) return [];
    if (depth > LIMITS.importDepth) {
      this.bag.add(ic.diag(`${action} nested more than ${LIMITS.importDepth} files deep: Kiln's limit`));
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
      return this.loadTaskList(body, role, handlers, [source, ...imports], depth + 1, [here, ...dirs], frames);
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
    // local_action: the module as in `action:`, run on the controller (delegate_to: localhost). Part G.
    if (raw.local_action !== undefined) {
      if (raw.action !== undefined) {
        this.bag.add(c.child('local_action').diag('action and local_action are mutually exclusive', true));
        return undefined;
      }
      if (raw.delegate_to !== undefined) {
        this.bag.add(
          c.child('delegate_to').diag('delegate_to: local_action runs on localhost already (Ansible would ignore this delegate_to)', true),
        );
        return undefined;
      }
      moduleKeys.push('local_action');
    }
    if (bad) return undefined;
    if (moduleKeys.length === 0) {
      this.bag.add(c.diag(`task has no module (one of: ${[...this.modules.names].sort().join(', ')})`));
      return undefined;
    }
    if (moduleKeys.length > 1) {
      const known = moduleKeys.filter(
        (k) => k === 'action' || k === 'local_action' || kilnModuleOf(k, this.modules) || foreignTaskArgs(c, k),
      );
      for (const k of moduleKeys.filter((k) => !known.includes(k))) this.bag.add(c.child(k).diag(this.unknownKey(k, handler), true));
      if (known.length > 1) this.bag.add(c.diag(`a task has exactly one module, found ${known.join(', ')}`));
      if (known.length !== 1) return undefined;
      moduleKeys.splice(0, moduleKeys.length, known[0]!);
    }
    const key = moduleKeys[0]!;
    // A module for another operating system loads as a `foreign` task (foreign-task.ts).
    const foreign = key === 'action' || !kilnModuleOf(key, this.modules) ? foreignTaskArgs(c, key) : foreignPackageArgs(c, key);
    if (key !== 'action' && key !== 'local_action' && !foreign && !kilnModuleOf(key, this.modules)) {
      this.bag.add(c.child(key).diag(this.unknownKey(key, handler, true), true));
      return undefined;
    }
    const diags: Diagnostic[] = [];
    const args = foreign ?? taskArgs(c, key, this.modules, diags);
    this.bag.addAll(diags);
    if (!args) return undefined;
    // Loops and retries (with-loop.ts): with_<lookup> as Ansible's lookup loop, until/retries/delay.
    const loop = loopKeywords(c, this.bag);
    const retry = retryKeywords(c, this.bag);
    if (loop.bad) return undefined;
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
      loop: loop.loop,
      loopWith: loop.loopWith,
      loopControl: lc,
      retry,
      register: typeof register === 'string' ? register : undefined,
      notify: nameList(c.child('notify'), this.bag) ?? [],
      listen: handler ? (nameList(c.child('listen'), this.bag) ?? []) : [],
      tags: tagList(c.child('tags'), this.bag),
      ...taskKeywords(c, this.bag),
      ...(key === 'local_action' ? { delegateTo: { value: 'localhost' } } : {}),
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
    if (Object.hasOwn(REPLACED_MODULES, short)) return REPLACED_MODULES[short];
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
      pause: this.loopPause(c),
    };
  }

  /** loop_control.pause: seconds (a float, or a template) between a loop's items. */
  private loopPause(c: YamlCursor): LoopControl['pause'] {
    const p = c.value && typeof c.value === 'object' ? numberKeyword(c.child('pause'), 'float', this.bag) : undefined;
    if (p && 'value' in p && p.value < 0) {
      this.bag.add(c.child('pause').diag('loop_control.pause: sleep length must be non-negative'));
      return undefined;
    }
    return p && 'value' in p && p.value === 0 ? undefined : p;
  }

  /** Places task list entries in the play: import_role expanded, every task given what it inherits. */
  private place(items: Item[], placement: Placement, pr: PlayRoles): TaskDef[] {
    const out: TaskDef[] = [];
    const roleSources = placement.scope ? [...placement.scope.chain].reverse() : [];
    // The loader's block ids → the play's (a role placed twice has its blocks twice).
    const ids = new Map<number, number>();
    const frames = (item: Item): BlockFrame[] => [
      ...(placement.frames ?? []),
      ...item.blocks.map((f) => {
        if (!ids.has(f.id)) ids.set(f.id, pr.nextBlock++);
        return { ...f, id: ids.get(f.id)! };
      }),
    ];
    for (const item of items) {
      if (item.kind === 'task') {
        const sources = [...item.imports, ...(placement.sources ?? [...placement.outer, ...roleSources, pr.play])];
        const t = inherit(item.task, sources, placement.scope, item.ownNotify);
        t.blocks = frames(item);
        if (t.include) t.include = { ...t.include, sources };
        out.push(t);
        continue;
      }
      const key = actionKey(item.c.value as Record<string, unknown>, 'import_role')!;
      const args = this.importRoleArgs(item.c, key);
      if (!args) continue;
      const ref = this.roleEntry(
        item.c.child(key),
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
        this.bag.add(item.c.child(key).diag(`role import cycle: ${names.join(' → ')}`));
        continue;
      }
      if (!pr.list.includes(ref)) pr.list.push(ref);
      const outer = [item.source, ...item.imports, ...(placement.sources ?? [...placement.outer, ...roleSources, pr.play])];
      out.push(...this.placeRole(ref, placement.scope?.chain ?? [], outer, pr, frames(item)));
    }
    return out;
  }

  private importRoleArgs(tc: YamlCursor, key: string): { from: Record<string, string>; allowDuplicates: boolean } | undefined {
    const c = tc.child(key);
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

/** One import_playbook around a play: what it gives the play. */
interface PlaybookImport {
  vars: Record<string, unknown>;
  when: Condition[];
  tags: string[];
}

/** The key of `action` in a mapping, with or without the collection prefix. */
function actionKeyOf(raw: object, action: string): string | undefined {
  return [action, `ansible.builtin.${action}`, `ansible.legacy.${action}`].find((k) => Object.hasOwn(raw, k));
}

function defaultName(module: string, params: Record<string, unknown>): string {
  const first = ['name', 'path', 'dest', 'cmd', 'src'].map((k) => params[k]).find((x) => typeof x === 'string' || Array.isArray(x));
  return first ? `${module} ${Array.isArray(first) ? first.join(', ') : first}` : module;
}

/** The loader of each loaded playbook: dynamic includes are loaded by it at run time (includes.ts), with its caches. */
const loaders = new WeakMap<Playbook, PlaybookLoader>();

export function loadPlaybook(file: string, opts: LoadOptions): { playbook: Playbook; diagnostics: Diagnostic[] } {
  const loader = new PlaybookLoader(file, opts);
  const playbook = loader.load();
  const diagnostics = loader.bag.sorted();
  loaders.set(playbook, loader);
  return { playbook, diagnostics };
}

/** The loader `playbook` was loaded with (undefined for a Playbook not made by loadPlaybook). */
export function loaderOf(playbook: Playbook): PlaybookLoader | undefined {
  return loaders.get(playbook);
}
