/**
 * `kiln validate` — runs before any host is touched (and at the start of every `apply`).
 * Reports ALL errors at once, each located as file:line:col: YAML syntax, unknown modules and
 * keywords, module params against their JSON schemas (rendered per host), role variable
 * schemas, undefined host patterns and groups, missing templates and files, undefined template
 * variables, and notify names no handler answers to.
 *
 * It returns what it computed on the way: the `RunPlan` (each play's hosts and selected tasks,
 * from `selection.ts`), which the runner consumes. Its `VarsBuilder` is NOT handed on: the
 * builder caches each (play, host)'s rendered vars with the `play_hosts` of its first call, the
 * whole play here but the serial batch in the runner, so sharing it would change what
 * `{{ play_hosts }}` renders to inside play vars under `serial`.
 */
import { type Diagnostic, DiagnosticBag, InputError, type Loc } from '../core/diagnostic.ts';
import { type Inventory, loadInventory, patternErrors, type VarLayer } from '../input/inventory/index.ts';
import { loadPlaybook } from '../input/playbook/load.ts';
import { ansibleConfig } from '../input/playbook/ansible-config.ts';
import { getModule, moduleCatalog } from '../modules/registry.ts';
import { lookupContext } from '../input/playbook/search-path.ts';
import { RunMemory } from '../modules/contract.ts';
import type { PlayDef, Playbook, RoleDef, RoleRef, TaskDef } from '../input/playbook/types.ts';
import { allDependencies } from '../input/playbook/role-vars.ts';
import { factNamesUsed, instantiate, isFactName, staticParamErrors, taskReferences } from './instance.ts';
import { type PlanPlay, playHosts, type RunPlan, selectedTasks, tagSelected } from './selection.ts';

/** Modules whose result is facts (setup and gather_facts as tasks, package_facts, service_facts, getent's getent_<database>). */
const FACT_MODULES = new Set(['setup', 'gather_facts', 'package_facts', 'service_facts', 'getent']);
import { validateAgainst } from './schema.ts';
import { convertParams } from './argspec.ts';
import { analyzeTask } from './analysis.ts';
import { notifiableNames } from './handlers.ts';
import { freeStrategyProblems } from './strategy.ts';
import type { Shard } from './shard.ts';
import { shardPlayProblems, shardTaskProblems } from './shard-refusals.ts';
import { VarsBuilder } from '../input/inventory/vars-builder.ts';
import { isDeepStrictEqual } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Node, visit } from 'yaml';
import { loadYamlFile, locate, nodeAt, type YamlFile } from '../input/yaml/document.ts';
import type { VaultOptions } from '../core/secret/vault.ts';
import { connectionProblems, type PreflightOptions } from '../transport/ssh/preflight.ts';
import { expandIncludeRole, expandIncludeTasks } from '../input/playbook/includes.ts';
import { evaluateCondition, renderValue } from '../template/engine.ts';
import { LIMITS } from '../core/limits.ts';
import { globFiles, templateGlob, templateNames } from './include-candidates.ts';
import { relative } from 'node:path';

export interface ValidateOptions extends VaultOptions {
  playbook: string;
  inventory: string[];
  extraVars: Record<string, unknown>;
  limit?: string;
  /** `kiln apply --shard i/n`: plan only this shard's hosts, and refuse what sharding changes the meaning of (shard-refusals.ts). */
  shard?: Shard;
  tags?: string[];
  skipTags?: string[];
  check?: boolean;
  diff?: boolean;
  /** Check the selected hosts' connection inputs too (identity files, known_hosts, proxy_jump): transport/ssh/preflight.ts. */
  connection?: Omit<PreflightOptions, 'extraVars'>;
}

export interface Validated {
  playbook: Playbook;
  inventory: Inventory;
  warnings: Diagnostic[];
  /**
   * What validation could not check fully and says so (not errors): a dynamic include whose file
   * depends on run-time values, and the candidate files validated instead.
   */
  notes: Diagnostic[];
  /** Per play (in order): the hosts the run will touch and the tasks it will run. */
  plan: RunPlan;
}

export function validateRun(opts: ValidateOptions): Validated {
  const bag = new DiagnosticBag();
  let inventory: Inventory | undefined;
  let warnings: Diagnostic[] = [];
  try {
    const r = loadInventory(opts.inventory, { vaultPassword: opts.vaultPassword });
    inventory = r.inventory;
    warnings = r.warnings;
  } catch (err) {
    if (err instanceof InputError) bag.addAll(err.diagnostics);
    else throw err;
  }
  // Ansible's configuration, where it would change the playbook's meaning (refused), and its roles_path.
  const config = ansibleConfig();
  bag.addAll(config.problems);
  const { playbook, diagnostics } = loadPlaybook(opts.playbook, {
    modules: moduleCatalog,
    vaultPassword: opts.vaultPassword,
    rolesPath: config.rolesPath,
  });
  bag.addAll(diagnostics);
  // Ansible also reads group_vars/ and host_vars/ beside the playbook; Kiln reads them beside the inventory only.
  const inventoryDirs = opts.inventory.map((i) => resolve(existsSync(i) && statSync(i).isDirectory() ? i : dirname(i)));
  for (const kind of ['group_vars', 'host_vars']) {
    const d = join(playbook.dir, kind);
    if (existsSync(d) && !inventoryDirs.includes(playbook.dir)) {
      bag.add({
        file: d,
        message: `${kind}/ beside the playbook: Ansible reads it, Kiln reads ${kind}/ beside the inventory only; move it there`,
      });
    }
  }
  if (!inventory) {
    bag.throwIfAny();
    throw new Error('inventory failed to load');
  }
  if (opts.limit) {
    for (const e of patternErrors(inventory, opts.limit)) bag.add({ file: '--limit', message: e });
  }
  const run = new RunMemory({ vaultPassword: opts.vaultPassword });
  const vars = new VarsBuilder(inventory, {
    extraVars: opts.extraVars,
    check: opts.check ?? false,
    diff: opts.diff,
    playbook: opts.playbook,
    sharded: (opts.shard?.count ?? 1) > 1,
  });
  // Registered results live on through the run: any play's may be used by a later one. So do the
  // variables set_fact and include_vars define (actionNames).
  const defined = (t: TaskDef) => actionNames(t, playbook.dir, opts);
  const registeredNames = new Set(
    playbook.plays.flatMap((p) => [...p.tasks, ...p.handlers].flatMap((t) => [...(t.register ? [t.register] : []), ...(defined(t) ?? [])])),
  );
  const earlier = new Set<string>();
  const notes = new DiagnosticBag();
  /** An include_vars whose names are known only at run time ran in an earlier play: nothing later is checked before the run. */
  let unknownEarlier = false;
  // Said once per such include_vars: what validation could not check before the run, and why.
  for (const t of playbook.plays.flatMap((p) => [...p.tasks, ...p.handlers])) {
    if (defined(t) === null)
      warnings.push({
        ...t.loc,
        message: `${t.module}: the variables it defines are known only when it runs (a templated name or file, a directory, or a file not found now), so the tasks after it are checked then`,
      });
  }
  const plays = playbook.plays.map((play) => {
    const planned = checkPlay(play, playbook, inventory, vars, opts, bag, run, registeredNames, new Set(earlier), notes, unknownEarlier);
    for (const t of [...play.tasks, ...play.handlers]) {
      if (t.register) earlier.add(t.register);
      const names = defined(t);
      if (names === null) unknownEarlier = true;
      for (const n of names ?? []) earlier.add(n);
    }
    if (play.gatherFacts || [...play.tasks, ...play.handlers].some((t) => FACT_MODULES.has(t.module))) earlier.add('facts');
    return planned;
  });
  if (opts.connection && inventory) {
    const hosts = new Set(plays.flatMap((p) => p.hosts));
    // ssh refuses a config it cannot read (bad line, bad Port); so does Kiln, located (past the
    // input size limit, not UTF-8, unreadable Include too).
    bag.addAll(opts.connection.sshConfig?.diagnostics ?? []);
    bag.addAll(connectionProblems(inventory, hosts, { ...opts.connection, extraVars: opts.extraVars }));
  }
  bag.throwIfAny();
  return { playbook, inventory, warnings, notes: notes.sorted(), plan: { plays } };
}

/** Checks one play and returns its selection (no hosts when its pattern is invalid: an error then). */
function checkPlay(
  play: PlayDef,
  playbook: Playbook,
  inv: Inventory,
  vars: VarsBuilder,
  opts: ValidateOptions,
  bag: DiagnosticBag,
  run: RunMemory,
  allRegistered: ReadonlySet<string>,
  earlierRegisters: ReadonlySet<string>,
  notes: DiagnosticBag,
  unknownEarlier = false,
): PlanPlay {
  const playbookDir = playbook.dir;
  const tasks = selectedTasks(play, opts.tags ?? [], opts.skipTags ?? []);
  if (!play.hosts) return { play, hosts: [], tasks };
  const perr = patternErrors(inv, play.hosts);
  for (const e of perr) bag.add({ ...play.hostsLoc, message: `hosts: ${e}` });
  if (perr.length) return { play, hosts: [], tasks };
  // An invalid --limit is reported once by validateRun; the play is still checked, unlimited.
  const hosts = playHosts(inv, play, opts.limit && !patternErrors(inv, opts.limit).length ? opts.limit : undefined, opts.shard);
  // strategy: free refuses what it gives no meaning to (plan/strategy.ts).
  bag.addAll(freeStrategyProblems(play, [...play.tasks, ...play.handlers]));
  // --shard refuses what it would change the meaning of (plan/shard-refusals.ts).
  bag.addAll(shardPlayProblems(play, opts.shard));
  bag.addAll(shardTaskProblems(play, [...play.tasks, ...play.handlers], opts.shard));
  // notify → handler names (or listen topics) of this play.
  const handlerNames = notifiableNames(play.handlers);
  for (const t of [...play.tasks, ...play.handlers]) {
    t.notify.forEach((n, i) => {
      if (!handlerNames.has(n)) {
        bag.add({
          ...locate(t.yaml, [...t.path, 'notify', ...(Array.isArray(rawNotify(t)) ? [i] : [])]),
          message: `notify: no handler named '${n}' in play '${play.name}'${handlerNames.size ? ` (handlers: ${[...handlerNames].join(', ')})` : ''}`,
        });
      }
    });
  }
  // Registered results (and gathered facts) exist only at run time: tasks using them are checked then.
  // Registered results (of this play or an earlier one: they live on) exist only at run time.
  const registers = new Set<string>([...earlierRegisters, ...(play.gatherFacts ? ['facts'] : [])]);
  // What the files dynamic includes can reach register (their results exist only at run time too).
  const included = reachableRegisters(tasks, playbook, (t) => actionNames(t, playbookDir, opts));
  for (const r of included) registers.add(r);
  const registeredNames = new Set([...allRegistered, ...included]);
  for (const v of FAILED_VARS) registers.add(v);
  // Ansible's facts (`ansible_facts`, `ansible_*`) are run-time values once this play or an
  // earlier one gathers them, or a setup task ran before: tasks using them are checked then.
  let factsOn = play.gatherFacts || earlierRegisters.has('facts');
  const usesFacts = (t: TaskDef) => factsOn && factNamesUsed(t).length > 0;
  const deferred = new Set<number>();
  // Tasks after an include_vars whose names are not known before the run (a templated file, a
  // directory) are checked at run time, as are tasks using a name a set_fact or include_vars defines.
  let unknown = unknownEarlier;
  const blind = new Set<number>();
  tasks.forEach((t, i) => {
    if (unknown) blind.add(i);
    if (unknown || taskReferences(t, registers).length || usesFacts(t)) deferred.add(i);
    if (t.register) registers.add(t.register);
    if (FACT_MODULES.has(t.module)) factsOn = true;
    const names = actionNames(t, playbookDir, opts);
    if (names === null) unknown = true;
    for (const n of names ?? []) registers.add(n);
  });
  if (play.handlers.some((h) => FACT_MODULES.has(h.module))) factsOn = true;
  // Every role instance (a role listed twice with other parameters is two), dependencies first.
  const refs = [...new Set(play.roles.flatMap((r) => [...allDependencies(r), r]))];
  const roles = [...new Set(refs.map((r) => r.role))];
  /** Per task: the variable names any host has, the hosts it rendered on, whether it failed. */
  const known = new Map<TaskDef, Set<string>>();
  const rendered = new Map<TaskDef, number>();
  const failed = new Set<TaskDef>();
  /** A task's variables on `host`, their names kept for the analysis. */
  const namesOn = (host: string, t: TaskDef) => {
    const tv = vars.forTask(host, play, hosts, t);
    let set = known.get(t);
    if (!set) known.set(t, (set = new Set()));
    for (const k of Object.keys(tv)) set.add(k);
    return tv;
  };
  for (const host of hosts) {
    const names = (t: TaskDef) => namesOn(host, t);
    // Role variables are checked, per role instance, with what its first task sees (its role vars
    // and parameters), as Ansible validates a role's arguments when the role starts.
    for (const ref of refs) {
      if (!ref.role.argSchema) continue;
      // A role without tasks (handlers, vars, defaults only) is checked all the same: with its
      // first handler's view, or else the role's own scope (its vars, defaults and parameters).
      const t =
        play.tasks.find((x) => x.scope?.ref === ref) ?? play.handlers.find((x) => x.scope?.ref === ref) ?? roleProbe(ref, play.roles);
      checkRoleVars(ref.role, host, vars.layers(host, play, t), vars.forTask(host, play, hosts, t), bag, opts, t?.scope?.chain ?? [ref]);
    }
    const check = (t: TaskDef, diff: boolean) => {
      const tv = names(t);
      const layers = vars.layers(host, play, t);
      // A problem inside a variable's value (a firewall policy entry) is located where it is defined.
      const locateIn = (name: string, path: (string | number)[], value: unknown) =>
        isDeepStrictEqual(plainOf(tv[name]), plainOf(value)) ? locateVar(name, path, layers, roles, opts) : undefined;
      // An include task's own parameters are checked by its module when it is registered (controller actions).
      if (t.include && !getModule(t.module)) return;
      const r = instantiate(t, tv, { run, host, play, check: opts.check ?? false, diff, playbookDir, locateVar: locateIn });
      if (r.kind === 'error') {
        // A template file (or value) using a name only the run defines (a set_fact, a registered
        // result, a fact) is checked at run time, like a task using it in its parameters.
        const runtime = (n: string | undefined) => {
          const root = n?.split(/[.[]/)[0];
          return root !== undefined && (registers.has(root) || (factsOn && isFactName(root)));
        };
        const errors = r.diagnostics.filter((d) => !runtime(d.undefinedName));
        if (errors.length) {
          bag.addAll(errors);
          failed.add(t);
        } else bag.addAll(staticParamErrors(t));
      } else if (r.kind === 'run') rendered.set(t, (rendered.get(t) ?? 0) + 1);
    };
    /**
     * A dynamic include: the tasks of its file (or role), for this host, validated as if spliced
     * in; when its name depends on run-time values, the candidate files (a note says which).
     */
    /** `conditional`: an enclosing include runs only if a condition known at run time holds. */
    /** `blindIn`: an include_vars whose names are known only at run time ran before: the included tasks are checked then. */
    const checkInclude = (t: TaskDef, depth: number, chain: string[] = [], conditional = false, blindIn = false) => {
      const tv = names(t);
      const file = t.yaml.file;
      const at = locate(t.yaml, t.paramPaths[t.module === 'include_role' ? 'name' : 'file'] ?? t.modulePath);
      for (const w of t.when) {
        // A condition on Ansible's facts is decided at run time: validated as if it holds.
        if (factsOn && typeof w.expr === 'string' && templateNames(`{{ ${w.expr} }}`, file).some(isFactName)) {
          conditional = true;
          continue;
        }
        try {
          if (!evaluateCondition(w.expr, tv, file)) return;
        } catch {
          // Known at run time only: validated as if it holds.
          conditional = true;
        }
      }
      const lc = t.loopControl;
      let items: { item: number; vars: Record<string, unknown> }[] = [{ item: 0, vars: {} }];
      let loopNames: string[] = [];
      if (t.loop !== undefined) {
        try {
          const l = renderValue(t.loop, tv, file);
          if (!Array.isArray(l) || !l.length) return;
          if (l.length > MAX_ITEMS) {
            notes.add({ ...at, message: `${t.ansibleModule}: validated with the first ${MAX_ITEMS} of its ${l.length} loop items` });
          }
          items = l
            .slice(0, MAX_ITEMS)
            .map((x, i) => ({ item: i, vars: { [lc.loopVar]: x, ...(lc.indexVar ? { [lc.indexVar]: i } : {}) } }));
        } catch {
          loopNames = [lc.loopVar, ...(lc.indexVar ? [lc.indexVar] : []), 'ansible_loop'];
        }
      }
      const role = t.module === 'include_role';
      const nameT = role ? t.params.name : t.params.file;
      if (typeof nameT !== 'string') return;
      const checkTasks = (ts: TaskDef[], name: string) => {
        const key = `${t.role?.dir ?? ''}\0${file}\0${name}`;
        // A file that includes itself (Ansible allows it, with a condition that ends it): validated once.
        if (chain.includes(key)) return;
        let blindHere = blindIn;
        bag.addAll(freeStrategyProblems(play, ts));
        bag.addAll(shardTaskProblems(play, ts, opts.shard));
        for (const x of ts) {
          if (x.register) registers.add(x.register);
          if (FACT_MODULES.has(x.module)) factsOn = true;
          // Included tasks are selected by their own tags (and their blocks', apply's, the play's), as at run time.
          if (!tagSelected([...play.tags, ...x.tags], opts.tags ?? [], opts.skipTags ?? [])) continue;
          if (x.include) {
            bag.addAll(staticParamErrors(x));
            if (depth < LIMITS.importDepth && ++expansions.n <= LIMITS.imports)
              checkInclude(x, depth + 1, [...chain, key], conditional, blindHere);
            else if (expansions.n === LIMITS.imports + 1) {
              notes.add({
                ...at,
                message: `more than ${LIMITS.imports} includes expanded for this play: the rest are checked at run time`,
              });
            }
          } else if (
            blindHere ||
            taskReferences(x, [...registers, ...loopNames]).length ||
            (factsOn && factNamesUsed(x).length) ||
            // A module of another OS in a file included only when a run-time condition holds: decided then.
            (conditional && x.module === 'foreign')
          ) {
            bag.addAll(staticParamErrors(x));
          } else check(x, opts.diff ?? false);
          const defines = actionNames(x, playbookDir, opts);
          if (defines === null) blindHere = true;
          for (const n of defines ?? []) registers.add(n);
        }
      };
      for (const it of items) {
        const v = { ...tv, ...it.vars };
        const used = templateNames(nameT, file);
        let runtime = used.filter((n) => registers.has(n) || loopNames.includes(n) || (factsOn && isFactName(n)));
        let rendered: string | undefined;
        if (!runtime.length) {
          try {
            rendered = String(renderValue(nameT, v, file));
          } catch (err) {
            runtime = used.filter((n) => !(n in v));
            if (!runtime.length) {
              bag.add({ ...at, message: `${t.ansibleModule}: ${(err as Error).message}` });
              return;
            }
          }
        }
        const expand = (name: string) => {
          if (!role) return expandIncludeTasks(t, name, { playbook, item: it.item, itemVars: it.vars });
          const from: Record<string, string | undefined> = {};
          for (const k of ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from']) {
            const x = t.params[k];
            if (typeof x !== 'string') continue;
            try {
              from[k] = String(renderValue(x, v, file));
            } catch {
              notes.add({
                ...at,
                message: `${t.ansibleModule} '${nameT}': ${k} '${x}' depends on run-time values: its role was not validated`,
              });
              return undefined;
            }
          }
          const bool = (k: string, d: boolean) => (typeof t.params[k] === 'boolean' ? (t.params[k] as boolean) : d);
          return expandIncludeRole(
            t,
            {
              name,
              tasksFrom: from.tasks_from,
              varsFrom: from.vars_from,
              defaultsFrom: from.defaults_from,
              handlersFrom: from.handlers_from,
              public: bool('public', false),
              allowDuplicates: bool('allow_duplicates', true),
              vars: t.vars,
            },
            { playbook, item: it.item, itemVars: it.vars },
          );
        };
        if (rendered !== undefined) {
          const r = expand(rendered);
          if (!r) continue;
          bag.addAll(r.diagnostics);
          checkTasks(r.tasks, rendered);
          continue;
        }
        const found = includeCandidates(t, nameT, playbook);
        const shown = found.map((f) => (role ? f : relative(playbookDir, f) || f));
        notes.add({
          ...at,
          message: `${t.ansibleModule} '${nameT}' depends on ${runtime.join(', ')}, known at run time: ${
            found.length
              ? `validated the candidate ${role ? 'role' : 'file'}${found.length > 1 ? 's' : ''} ${shown.join(', ')}`
              : `no candidate ${role ? 'role' : 'file'}`
          }`,
        });
        for (const f of found) {
          const r = expand(f);
          if (!r) continue;
          bag.addAll(r.diagnostics);
          checkTasks(r.tasks, f);
        }
        break;
      }
    };
    const expansions = { n: 0 };
    tasks.forEach((t, i) => {
      // An include's literal arguments are checked by its module's schema (once the controller
      // actions register include_tasks/include_role); its file name is rendered by checkInclude.
      if (t.include) {
        bag.addAll(staticParamErrors(t));
        checkInclude(t, 0, [], false, blind.has(i));
      } else if (!deferred.has(i)) check(t, opts.diff ?? false);
      else names(t);
    });
    // Handlers may reference registered results; check those that do not.
    // After an include_vars of names known only at run time, handlers are checked then too.
    for (const h of play.handlers) {
      // include_tasks as a handler: its file is validated as a dynamic include's is.
      if (h.include) {
        bag.addAll(staticParamErrors(h));
        checkInclude(h, 0, [], false, unknown);
      } else if (!unknown && !taskReferences(h, registers).length && !usesFacts(h)) check(h, false);
      else names(h);
    }
  }
  // Tasks waiting for a registered result: their literal parameters are checked now.
  for (const t of [
    ...tasks.filter((_, i) => deferred.has(i)),
    ...play.handlers.filter((h) => unknown || taskReferences(h, registers).length || usesFacts(h)),
  ]) {
    const errs = staticParamErrors(t);
    if (errs.length) failed.add(t);
    bag.addAll(errs);
  }
  // What rendering could not see: templates of tasks not rendered on every host, handlers,
  // tasks waiting for a registered result, and the template files they use.
  const everywhere = new Set([
    ...registeredNames,
    ...(play.gatherFacts ? ['facts'] : []),
    ...FAILED_VARS,
    ...(factsOn ? [...tasks, ...play.handlers].flatMap(factNamesUsed) : []),
  ]);
  for (const t of [...tasks, ...play.handlers]) {
    // An include's name may depend on run-time values: checkInclude said what it could check.
    if (failed.has(t) || t.include) continue;
    const set = new Set([...(known.get(t) ?? []), ...everywhere]);
    const unknownNames = blind.has(tasks.indexOf(t)) || (unknown && play.handlers.includes(t));
    bag.addAll(analyzeTask(t, { known: set, variables: !unknownNames && (rendered.get(t) ?? 0) < hosts.length, playbookDir }));
  }
  return { play, hosts, tasks };
}

/** Loop items of an include validated (the others are checked at run time; a note says so). */
const MAX_ITEMS = 20;

/** The files (or role names) an include's templated name can be at run time: its literal parts globbed. */
function includeCandidates(t: TaskDef, nameT: string, playbook: Playbook): string[] {
  const pattern = templateGlob(nameT);
  if (t.module === 'include_role') {
    const dirs = [join(playbook.dir, 'roles'), join(playbook.dir, '..', 'roles'), join(process.cwd(), 'roles')];
    return [...new Set(globFiles(pattern, dirs, true).map((d) => d.split('/').pop()!))];
  }
  const role = t.role;
  const roots = [...(role ? [join(role.dir, 'tasks')] : []), ...(t.include?.dirs ?? []), ...(role ? [role.dir] : []), playbook.dir];
  // A name is found in the first directory that has it (as at run time): one file per name.
  const byName = new Map<string, string>();
  for (const root of new Set(roots)) {
    for (const f of globFiles(pattern, [root])) {
      const name = relative(root, f);
      if (!byName.has(name)) byName.set(name, f);
    }
  }
  return [...byName.values()];
}

/** The registered names of every file the play's dynamic includes can reach (literal names, or candidates). */
function reachableRegisters(tasks: TaskDef[], playbook: Playbook, defined: (t: TaskDef) => string[] | null | undefined): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (t: TaskDef, depth: number) => {
    if (depth > LIMITS.importDepth) return;
    const nameT = t.module === 'include_role' ? t.params.name : t.params.file;
    if (typeof nameT !== 'string') return;
    const names =
      t.params.tasks_from !== undefined || !templateNames(nameT, t.yaml.file).length ? [nameT] : includeCandidates(t, nameT, playbook);
    for (const n of names) {
      const key = `${t.module}\0${t.role?.dir ?? ''}\0${(t.include?.dirs ?? []).join(':')}\0${n}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let ts: TaskDef[] = [];
      if (t.module === 'include_role') {
        if (templateNames(n, t.yaml.file).length) continue;
        const from =
          typeof t.params.tasks_from === 'string' && !templateNames(t.params.tasks_from, t.yaml.file).length
            ? t.params.tasks_from
            : undefined;
        ts = expandIncludeRole(t, { name: n, tasksFrom: from, public: false, allowDuplicates: true, vars: {} }, { playbook }).tasks;
      } else ts = expandIncludeTasks(t, n, { playbook }).tasks;
      for (const x of ts) {
        if (x.register) out.add(x.register);
        for (const n of defined(x) ?? []) out.add(n);
        if (x.include) visit(x, depth + 1);
      }
    }
  };
  for (const t of tasks) if (t.include) visit(t, 0);
  return out;
}
/** Set by the engine when a block's rescue catches a failure (engine/iterator.ts): known only at run time, like a registered result. */
const FAILED_VARS = ['ansible_failed_task', 'ansible_failed_result'];

/**
 * The variables a controller-side action task defines (set_fact's keys, a literal include_vars
 * file's keys: modules/action.ts `defines`); `null` when known only at run time; undefined for
 * any other task.
 */
function actionNames(t: TaskDef, playbookDir: string, vault: VaultOptions): string[] | null | undefined {
  const m = getModule(t.module);
  if (!m?.defines) return undefined;
  try {
    return m.defines(t.params, { searchPaths: lookupContext(t, playbookDir).searchPaths, vaultPassword: vault.vaultPassword });
  } catch {
    return null;
  }
}

function rawNotify(t: { yaml: { value: unknown }; path: (string | number)[] }): unknown {
  let v: unknown = t.yaml.value;
  for (const s of t.path) v = (v as Record<string | number, unknown>)?.[s];
  return (v as Record<string, unknown>)?.notify;
}

/**
 * A stand-in task in the scope of role instance `ref` (for a role that has no task nor handler):
 * the chain of roles from the play's role down to `ref`, so its vars, defaults and parameters apply.
 */
function roleProbe(ref: RoleRef, playRoles: RoleRef[]): TaskDef | undefined {
  const chainTo = (roots: RoleRef[]): RoleRef[] | undefined => {
    for (const r of roots) {
      if (r === ref) return [r];
      const below = chainTo(r.deps);
      if (below) return [r, ...below];
    }
    return undefined;
  };
  const chain = chainTo(playRoles);
  if (!chain) return undefined;
  // Only what the var builder reads of a task: its scope, role, (no) vars and file (for lookups).
  const probe: Pick<TaskDef, 'name' | 'vars' | 'role' | 'scope'> & { yaml: Pick<TaskDef['yaml'], 'file'> } = {
    name: `role ${ref.role.name}`,
    vars: {},
    role: ref.role,
    scope: { ref, chain, occurrence: 0 },
    yaml: { file: join(ref.role.dir, 'meta', 'main.yml') },
  };
  return probe as TaskDef;
}

/** Validates a role's variables (meta/argument_schema.yml) for a host; locates errors at the var's source. */
function checkRoleVars(
  role: RoleDef,
  host: string,
  layers: VarLayer[],
  hv: Record<string, unknown>,
  bag: DiagnosticBag,
  vault: VaultOptions,
  chain: RoleRef[],
): void {
  if (!role.argSchema) return;
  const schema = { type: 'object', ...role.argSchema };
  let errors: ReturnType<typeof validateAgainst>;
  try {
    // Converted as Ansible's argument specs convert role arguments (a template renders to text: '8080').
    errors = validateAgainst(schema, convertParams(schema, pickSchemaVars(schema, hv)), 'variable');
  } catch (err) {
    // A schema ajv cannot compile (strict mode: a keyword without its type, …) is the role's bug.
    bag.add({
      file: role.argSchemaFile ?? role.dir,
      line: 1,
      col: 1,
      message: `role '${role.name}': invalid argument schema: ${(err as Error).message}`,
    });
    return;
  }
  for (const e of errors) {
    const name = String(e.path[0] ?? '');
    const loc = name ? locateVar(name, e.path.slice(1), layers, [role], vault, chain) : undefined;
    // A value without a file position (-e on the command line): say where it came from.
    const from = name && !loc ? layers.findLast((l) => name in l.vars)?.source : undefined;
    const where = loc ? '' : ` (host ${host}${from ? `; set by ${from}` : ''})`;
    bag.add({
      ...(loc ?? { file: role.argSchemaFile ?? role.dir, line: 1, col: 1 }),
      message: `role '${role.name}': ${e.message}${where}`,
    });
  }
}

/** Only the variables the schema describes are checked (role vars live among all others). */
function pickSchemaVars(schema: Record<string, unknown>, hv: Record<string, unknown>): Record<string, unknown> {
  const props = Object.keys((schema.properties as object) ?? {});
  return Object.fromEntries(props.filter((p) => hv[p] !== undefined).map((p) => [p, hv[p]]));
}

/**
 * Where variable `name` (and `rest` inside its value) is defined: the layer that wins, or
 * undefined (-e). Files are read again with the run's vault password (they may be vault files).
 */
function locateVar(
  name: string,
  rest: (string | number)[],
  layers: VarLayer[],
  roles: RoleDef[],
  vault: VaultOptions,
  chain: RoleRef[] = [],
): Loc | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    if (!(name in l.vars)) continue;
    const loc = l.locs?.[name];
    if (loc) return rest.length ? locateInside(loc, name, rest, vault) : loc;
    // A role entry's parameter or `vars:` (an import_role's `vars:`): the innermost that sets it.
    const kind = l.source.endsWith(' parameters') ? 'paramLocs' : / vars$/.test(l.source) ? 'varLocs' : undefined;
    const entry =
      kind &&
      [...chain]
        .reverse()
        .find(
          (r) => r[kind]?.[name] && isDeepStrictEqual(plainOf(r[kind === 'paramLocs' ? 'params' : 'vars'][name]), plainOf(l.vars[name])),
        );
    if (kind && entry) {
      const at = entry[kind]![name]!;
      return rest.length ? locateInside(at, name, rest, vault, true) : at;
    }
    const m = /^role (.+) (defaults|vars)$/.exec(l.source);
    const role = m ? roles.find((r) => r.name === m[1]) : undefined;
    if (role) {
      // The last of the role's files that defines it (they are merged in order).
      for (const f of [...(m![2] === 'defaults' ? role.defaultsFiles : role.varsFiles)].reverse()) {
        const y = loadYamlFile(f, vault);
        if (y.value && typeof y.value === 'object' && name in (y.value as object)) {
          return posOf(y, nodeAt(y.doc.contents, [name]), rest) ?? locate(y, [name, ...rest]);
        }
      }
    }
    return undefined;
  }
  return undefined;
}

/**
 * `rest` inside the value of the variable whose key (`atValue`: whose value) is at `loc` (a
 * group_vars file, an inventory's vars block, a role entry): the nearest node that exists on that
 * path; `loc` itself if unreadable.
 */
function locateInside(loc: Loc, name: string, rest: (string | number)[], vault: VaultOptions, atValue = false): Loc {
  try {
    const y = loadYamlFile(loc.file, vault);
    let found: Loc | undefined;
    visit(y.doc, {
      Pair(_, pair) {
        if (found || !isScalar(pair.key) || String(pair.key.value) !== name || !pair.key.range) return;
        const start = atValue ? (pair.value as Node | null)?.range?.[0] : pair.key.range[0];
        if (start === undefined) return;
        const at = y.lines.linePos(start);
        if (at.line !== loc.line || at.col !== loc.col) return;
        found = posOf(y, pair.value as Node, rest) ?? loc;
        return visit.BREAK;
      },
    });
    return found ?? loc;
  } catch {
    return loc;
  }
}

/**
 * The position of `rest` inside `value`: a scalar's own position (a wrong `from: lbb`), the key of
 * a mapping or list (an unknown section `dbb:`), or the nearest existing parent.
 */
function posOf(y: YamlFile, value: Node | undefined, rest: (string | number)[]): Loc | undefined {
  if (!value) return undefined;
  let node = nodeAt(value, rest) as Node | undefined;
  if (node && (isMap(node) || isSeq(node)) && typeof rest.at(-1) === 'string') node = nodeAt(value, rest, true) as Node | undefined;
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const p = y.lines.linePos(offset);
  return { file: y.file, line: p.line, col: p.col };
}

/** Secrets and other wrappers compared by their plain JSON form. */
function plainOf(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? null));
}
