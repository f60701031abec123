/**
 * From task definitions to task instances: the per-host, per-loop-item unit the engine probes,
 * plans and applies. Instantiation does what Ansible's TaskExecutor does before running a module:
 * render `loop`; per item, evaluate `when` (each condition located where it is written, an
 * undefined variable an error naming it), then the templated keywords (`become`, `no_log`,
 * `ignore_errors`, … with Ansible's boolean conversion), then render the params, drop `omit`ted
 * ones, convert them as Ansible's argspec would (argspec.ts), validate them against the module's
 * schema and run the module's controller-side `prepare` (reading files, rendering templates with
 * Ansible's template variables). It is pure with respect to the hosts: the validator runs it for
 * every host before any connection is opened.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type Diagnostic, formatDiagnostic, InputError, type Loc } from '../core/diagnostic.ts';
import { decodeUtf8 } from '../core/text.ts';
import { readInputBytes } from '../core/limits.ts';
import { getModule } from '../modules/registry.ts';
import { type BoundTask, type ModuleContext, type PrepareContext, type RunMemory, VarPathError } from '../modules/contract.ts';
import type { Condition, KeywordValue, PlayDef, TaskDef } from '../input/playbook/types.ts';
import { ansibleBoolean, BooleanError } from '../input/playbook/boolean.ts';
import { hasSecret, isSecret, revealDeep, Secret, SecretInArgvError } from '../core/secret/secret.ts';
import {
  analyzeTemplate,
  evaluate,
  evaluateCondition,
  isTemplated,
  renderTemplateInfo,
  renderValue,
  TemplateError,
} from '../template/engine.ts';
import { firstFoundSubdir } from '../input/playbook/with-loop.ts';
import type { RenderOptions } from '../template/engine.ts';
import { lookupContext, searchDirs } from '../input/playbook/search-path.ts';
import { locate, nodeAt, type PathSeg } from '../input/yaml/document.ts';
import { isScalar } from 'yaml';
import { OMIT } from '../input/inventory/omit.ts';
import { userNameProblem } from '../core/user-name.ts';
import { PyFloat, pyStr } from '../template/jinja/value.ts';
import { PyDatetime } from '../template/filters/datetime.ts';
import { adjustAnsibleArgs, ANSIBLE_MODULE_NAMES } from '../modules/ansible/mapping.ts';
import { moduleCatalog } from '../modules/registry.ts';
import { type SchemaError, schemaErrors } from './schema.ts';
import { convertParams, needsPathExpansion, removeOmit } from './argspec.ts';
import { secretProperties } from '../modules/schema-types.ts';
import { delegateHost, renderEnvironment, WhereError, withEnvironment } from './where-and-when.ts';
import { guardSelinux, takeSelinux } from '../modules/files/selinux.ts';

export interface TaskInstance {
  task: TaskDef;
  /** The module bound to this instance's rendered, validated and prepared params. */
  bound: BoundTask;
  /** The params as the module got them: rendered, omitted ones dropped, converted, validated. */
  params: Record<string, unknown>;
  /** Display label: task name plus the loop item label. */
  label: string;
  item?: unknown;
  itemIndex?: number;
  become: boolean;
  becomeUser: string;
  /** Effective dry-run for this instance (global --check, or the task's check_mode). */
  check: boolean;
  diff: boolean;
  sensitive: boolean;
  /** no_log: the task's change summaries and messages are not shown (as Ansible hides its result). */
  noLog?: boolean;
  /** ignore_errors for this instance (a template is evaluated per item, as in Ansible). */
  ignoreErrors: boolean;
  ctx: ModuleContext;
  /** Variables the instance was rendered with (for changed_when / failed_when). */
  vars: Record<string, unknown>;
  /** In a loop: what Ansible adds to the item's result (item, ansible_loop_var, the index_var). */
  resultVars?: Record<string, unknown>;
  /** How the task's templates render (its lookups' context): for changed_when / failed_when. */
  render: RenderOptions;
  /** With `until`: the attempt running now (1, 2, …), which changed_when/failed_when see as `attempts`. */
  attempt?: number;
  // ---- where and when (part G, where-and-when.ts) ----
  /** The `environment` exported in the task's scripts (merged, nearest level winning), if any. */
  environment?: Record<string, string>;
  /** delegate_to: the host whose connection runs the task (an inventory host or a localhost name). */
  delegate?: string;
  runOnce: boolean;
  ignoreUnreachable: boolean;
  anyErrorsFatal: boolean;
  /** At most this many hosts run the task at once (0: no limit). */
  throttle: number;
}

export type Instantiation =
  /** `skipped`: a loop's items whose `when` was false (index, item), for the registered results. */
  | { kind: 'skip'; reason: string; task: TaskDef; skipped: LoopItem[] }
  | { kind: 'run'; instances: TaskInstance[]; task: TaskDef; skipped: LoopItem[] }
  /** `ignored`: the task's ignore_errors, when it could be evaluated. */
  | { kind: 'error'; diagnostics: Diagnostic[]; task: TaskDef; ignored?: boolean };

/** A loop item, with what Ansible adds to its result (ansible_loop_var, the index_var). */
export interface LoopItem {
  index: number;
  item: unknown;
  /** Variables Ansible puts in the item's result: the loop variable, ansible_loop_var, the index_var. */
  resultVars: Record<string, unknown>;
}

export interface InstantiateOptions {
  host: string;
  play: PlayDef;
  check: boolean;
  diff: boolean;
  playbookDir: string;
  /** The run's memory (one per `kiln apply` or validation). */
  run: RunMemory;
  /** Where a place inside a variable's value is defined (validation); undefined = unknown. */
  locateVar?: (name: string, path: (string | number)[], value: unknown) => Loc | undefined;
}

/** Finds a file for copy/template: `<dir>/files/x`, then `<dir>/x`, for each search directory. Absolute paths as-is. */
export function findRoleFile(task: TaskDef, kind: 'files' | 'templates', path: string, playbookDir: string): string | undefined {
  if (isAbsolute(path)) return existsSync(path) ? path : undefined;
  return searchDirs(task, playbookDir)
    .flatMap((d) => [join(d, kind, path), join(d, path)])
    .find((c) => existsSync(c));
}

/**
 * A template error's message; an undefined `ansible_*` name that is no magic variable is named
 * as the fact it would be (facts exist once a play gathered them, or a setup task ran).
 */
export function templateMessage(err: TemplateError): string {
  // Undefined only under --shard (vars-builder.ts, `sharded`).
  if (err.variable === 'play_hosts' || err.variable === 'ansible_play_batch')
    return `${err.message} (under --shard each controller has only its shard of the play's hosts, so Kiln leaves ${err.variable} undefined rather than name a part of them; run this play unsharded)`;
  if (!err.variable || !isFactName(err.variable) || err.variable === 'ansible_facts') return err.message;
  return `${err.message} (the Ansible fact '${err.variable.slice(8)}': facts exist once gathered — a play gathers them unless it says gather_facts: false, or a setup task — and this one was not gathered on this host${
    /^ansible_(lvm|devices|device_links|discovered_interpreter_python)$/.test(err.variable) ? ': Kiln does not gather it' : ''
  })`;
}

/** ansible_* names Kiln provides (magic variables), which are never facts. */
const MAGIC_ANSIBLE = new Set([
  'ansible_play_batch',
  'ansible_play_name',
  'ansible_play_hosts',
  'ansible_play_hosts_all',
  'ansible_play_role_names',
  'ansible_role_names',
  'ansible_check_mode',
  'ansible_diff_mode',
  'ansible_loop_var',
  'ansible_index_var',
  'ansible_loop',
  'ansible_managed',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
  'ansible_become_password',
  'ansible_become_pass',
  'ansible_parent_role_names',
  'ansible_parent_role_paths',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_version',
  'ansible_verbosity',
  'ansible_config_file',
  'ansible_inventory_sources',
  'ansible_playbook_python',
  'ansible_search_path',
  'ansible_failed_task',
  'ansible_failed_result',
  'ansible_collection_name',
  'ansible_dependent_role_names',
  'ansible_limit',
  'ansible_forks',
  'ansible_connection',
  'ansible_host',
  'ansible_port',
  'ansible_user',
  'ansible_password',
  'ansible_python_interpreter',
  'ansible_shell_type',
  'ansible_shell_executable',
  'ansible_private_key_file',
]);

/** A name that, when a play gathered facts, is a run-time value: `ansible_facts` or an `ansible_*` fact. */
export function isFactName(name: string): boolean {
  if (name === 'ansible_facts') return true;
  if (!name.startsWith('ansible_') || MAGIC_ANSIBLE.has(name)) return false;
  return !/^ansible_(ssh|sftp|scp|become|winrm|psrp|paramiko)_/.test(name) && !/_interpreter$/.test(name);
}

/** The fact names (`ansible_facts`, `ansible_*`) a task's templates use. */
export function factNamesUsed(task: TaskDef): string[] {
  let used = usedCache.get(task);
  if (used === undefined) usedCache.set(task, (used = namesUsed(task)));
  const out = new Set([...used.names].filter(isFactName));
  for (const m of used.text.matchAll(/\bansible_\w+/g)) if (isFactName(m[0])) out.add(m[0]);
  return [...out];
}

function taskDiag(task: TaskDef, message: string, sub: PathSeg[] = [], key = false): Diagnostic {
  return { ...locate(task.yaml, [...task.path, ...sub], key), message };
}

function atDiag(at: { yaml: TaskDef['yaml']; path: PathSeg[] }, message: string): Diagnostic {
  return { ...locate(at.yaml, at.path), message };
}

/** The diagnostic with the undefined variable that caused it (validation defers names only the run defines). */
function causeOf(err: TemplateError, d: Diagnostic): Diagnostic {
  return err.variable ? { ...d, undefinedName: err.variable } : d;
}

function templateDiag(task: TaskDef, err: TemplateError, where: PathSeg[]): Diagnostic {
  const cause = err.variable ? { undefinedName: err.variable } : {};
  if (err.file && err.file !== '<inline>' && existsSync(err.file)) {
    return { file: err.file, line: err.line ?? 1, col: err.col ?? 1, message: `${templateMessage(err)} (task '${task.name}')`, ...cause };
  }
  return { ...taskDiag(task, templateMessage(err), where), ...cause };
}

/** The templates of a task's templated fields (a condition as the expression it is). */
function templatesOf(task: TaskDef): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (isTemplated(v)) out.push(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object' && !isSecret(v)) Object.values(v).forEach(walk);
  };
  walk([task.loop, task.params, task.vars, task.loopControl.label ?? '']);
  // Expressions an action evaluates itself (debug's `var`, assert's `that`: 'x-expression').
  const props = (getModule(task.module)?.schema.properties ?? {}) as Record<string, { 'x-expression'?: boolean }>;
  for (const [k, p] of Object.entries(props)) {
    if (!p['x-expression']) continue;
    const v = (task.params as Record<string, unknown>)[k];
    for (const e of Array.isArray(v) ? v : [v]) if (typeof e === 'string' && !isTemplated(e)) out.push(`{{ ${e} }}`);
  }
  walk((task.environment ?? []).map((e) => e.value));
  for (const k of [
    task.become,
    task.becomeUser,
    task.checkMode,
    task.diff,
    task.ignoreErrors,
    task.noLog,
    task.runOnce,
    task.ignoreUnreachable,
    task.anyErrorsFatal,
    task.throttle,
    task.delegateTo,
  ]) {
    if (k && 'template' in k) out.push(k.template);
  }
  for (const k of [task.retry?.retries, task.retry?.delay, task.loopControl.pause]) if (k && 'template' in k) out.push(k.template);
  for (const c of [...(task.when ?? []), ...(task.changedWhen ?? []), ...(task.failedWhen ?? []), ...(task.retry?.until ?? [])]) {
    if (typeof c.expr === 'string') out.push(isTemplated(c.expr) ? c.expr : `{{ ${c.expr} }}`);
  }
  return out;
}

/**
 * The variable names a task's templates use (a parameter's or a mapping key's own name is not
 * one: a `register: dest` does not make a task with a `dest:` parameter wait for it). A template
 * that does not parse, or that reaches variables by name (`hostvars[…]['r']`, `vars`, lookups),
 * counts as using every name it mentions (its error is reported elsewhere).
 */
function namesUsed(task: TaskDef): { names: Set<string>; text: string } {
  const names = new Set<string>();
  let text = '';
  // A template task's template file uses names too (a set_fact or a registered result in motd.j2).
  const src = task.module === 'template' ? task.params.src : undefined;
  const file = typeof src === 'string' && !isTemplated(src) ? findRoleFile(task, 'templates', src, dirname(task.yaml.file)) : undefined;
  const sources: [string, string][] = templatesOf(task).map((t) => [t, task.yaml.file]);
  if (file) {
    try {
      sources.push([readFileSync(file, 'utf8'), file]);
    } catch {
      /* unreadable: reported when the task is prepared */
    }
  }
  for (const [t, f] of sources) {
    try {
      const a = analyzeTemplate(t, f);
      for (const v of [...a.variables, ...a.globals]) names.add(v.name);
      // hostvars[inventory_hostname]['r'], vars['r'], lookup('vars', 'r'): a name written as text.
      if (names.has('hostvars') || names.has('vars') || names.has('lookup') || names.has('query') || names.has('q')) text += ` ${t}`;
    } catch {
      text += ` ${t}`;
    }
  }
  return { names, text };
}

const usedCache = new WeakMap<TaskDef, { names: Set<string>; text: string }>();

/** Names referenced as variables anywhere in a task's templated fields. */
export function taskReferences(task: TaskDef, names: Iterable<string>): string[] {
  let used = usedCache.get(task);
  if (used === undefined) usedCache.set(task, (used = namesUsed(task)));
  const u = used;
  return [...names].filter((n) => u.names.has(n) || (u.text && new RegExp(`\\b${n}\\b`).test(u.text)));
}

function labelOf(item: unknown): string {
  if (isSecret(item)) return String(item);
  if (item instanceof PyFloat) return pyStr(item);
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const k = ['name', 'path', 'dest', 'key'].find((x) => typeof o[x] === 'string');
    return k ? String(o[k]) : JSON.stringify(item);
  }
  return String(item);
}

/**
 * Where position (line, col) of a field's `text` is in its YAML file: inside the scalar when the
 * text is written there as is on one line (a plain or quoted scalar without escapes), else the
 * scalar's start. `shift`: characters added before the text (`{{ ` around a condition).
 */
export function locateInText(at: { yaml: TaskDef['yaml']; path: PathSeg[] }, text: string, shift = 0): (line: number, col: number) => Loc {
  const start = locate(at.yaml, at.path);
  const node = nodeAt(at.yaml.doc.contents, at.path);
  const offset = node?.range?.[0];
  if (!node || !isScalar(node) || offset === undefined || text.includes('\n')) return () => start;
  const quote = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
  if (at.yaml.source.slice(offset + quote, offset + quote + text.length) !== text) return () => start;
  return (line, col) => {
    const c = col - 1 - shift;
    return line === 1 && c >= 0 && c <= text.length ? { ...start, col: start.col + quote + c } : start;
  };
}

/** A schema error of a task's parameters, located at the parameter (or inside it). */
function schemaDiag(task: TaskDef, e: SchemaError): Diagnostic {
  const at = task.paramPaths[String(e.path[0])];
  const path = at ? (at === task.modulePath ? at : [...at, ...e.path.slice(1)]) : [...task.modulePath, ...e.path];
  return { ...locate(task.yaml, path, e.key), message: `${task.module}: ${e.message}` };
}

function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return isTemplated(v);
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object' && !isSecret(v)) return Object.values(v).some(hasTemplate);
  return false;
}

/**
 * The schema errors of a task's parameters that do not depend on any template: for a task that
 * cannot be rendered before the run (it uses a registered result), its literal parameters are
 * still checked (an unknown parameter, a mode of 5000, a misspelt state). An error about a
 * templated parameter, or about the parameters as a whole when one is templated, waits for the run.
 */
export function staticParamErrors(task: TaskDef): Diagnostic[] {
  const module = getModule(task.module);
  if (!module) return [];
  const raw = task.params as Record<string, unknown>;
  const templated = new Set(Object.keys(raw).filter((k) => hasTemplate(raw[k])));
  const params = removeOmit({ ...raw }, OMIT);
  takeSelinux(params);
  adjustAnsibleArgs(ANSIBLE_MODULE_NAMES[task.ansibleModule], params);
  const converted = convertParams(module.schema, params);
  return schemaErrors(module, converted)
    .filter((e) => (e.path.length ? !templated.has(String(e.path[0])) : templated.size === 0))
    .map((e) => schemaDiag(task, e));
}

/** A located problem found while instantiating or evaluating a task's conditions. */
export class LocatedError extends Error {
  constructor(readonly diag: Diagnostic) {
    super(formatDiagnostic(diag));
  }
}

/** Evaluates a condition list (all must hold); an error is located at the condition that raised it. */
export function evalConditions(
  conds: Condition[],
  vars: Record<string, unknown>,
  keyword: string,
  taskName: string,
  render: RenderOptions = {},
): boolean {
  for (const c of conds) {
    try {
      if (!evaluateCondition(c.expr, vars, c.yaml.file, render)) return false;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const msg = err.variable
        ? `${keyword}: ${templateMessage(err)} in the condition ${JSON.stringify(String(c.expr))}`
        : `${keyword}: ${err.message} (condition ${JSON.stringify(String(c.expr))})`;
      // A syntax error in a bare expression: at the place inside it (the error's column counts in the expression).
      const bare = !err.variable && typeof c.expr === 'string' && !isTemplated(c.expr) && err.line !== undefined && err.col !== undefined;
      const loc = bare ? locateInText(c, c.expr as string)(err.line!, err.col!) : locate(c.yaml, c.path);
      throw new LocatedError({ ...loc, message: `${msg} (task '${taskName}')` });
    }
  }
  return true;
}

/** A keyword's value for this host and item: its literal, its template evaluated (Ansible's conversion), or `dflt`. */
function keyword<T extends boolean | string | number>(
  kv: KeywordValue<T> | undefined,
  dflt: T,
  vars: Record<string, unknown>,
  name: string,
  render: RenderOptions = {},
): T {
  if (kv === undefined) return dflt;
  if ('value' in kv) return kv.value;
  let v: unknown;
  try {
    v = renderValue(kv.template, vars, kv.yaml.file, render);
  } catch (err) {
    if (err instanceof TemplateError) throw new LocatedError(atDiag(kv, `${name}: ${templateMessage(err)}`));
    throw err;
  }
  if (isSecret(v)) v = v.reveal();
  if (v === OMIT) return dflt;
  if (typeof dflt === 'number') {
    // throttle: Ansible's int() of the rendered value.
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (Number.isInteger(n) && n >= 0) return n as T;
    throw new LocatedError(atDiag(kv, `${name}: ${JSON.stringify(kv.template)} gave ${JSON.stringify(v)}, not a positive integer`));
  }
  if (typeof dflt === 'string') {
    if (typeof v === 'string' || typeof v === 'number' || v instanceof PyFloat) return pyStr(v) as T;
    throw new LocatedError(atDiag(kv, `${name}: ${JSON.stringify(kv.template)} gave ${JSON.stringify(v)}, not a string`));
  }
  try {
    return ansibleBoolean(v) as T;
  } catch (err) {
    if (!(err instanceof BooleanError)) throw err;
    throw new LocatedError(
      atDiag(kv, `the field '${name}' has an invalid value (${kv.template}), and could not be converted to a bool. ${err.message}`),
    );
  }
}

const hasVar = (x: unknown) => x !== undefined && x !== null;

/**
 * What Ansible adds to a loop item's result: the loop variable, ansible_loop_var, the index_var
 * (with ansible_index_var), and with `extended` the item's ansible_loop.
 */
function loopResultVars(task: TaskDef, items: unknown[], index: number): Record<string, unknown> {
  const lc = task.loopControl;
  return {
    [lc.loopVar]: items[index],
    ansible_loop_var: lc.loopVar,
    ...(lc.indexVar ? { [lc.indexVar]: index, ansible_index_var: lc.indexVar } : {}),
    ...(lc.extended ? { ansible_loop: ansibleLoop(task, items, index) } : {}),
  };
}

/** loop_control.extended's `ansible_loop` for item i (2.14's TaskExecutor._run_loop). */
function ansibleLoop(task: TaskDef, items: unknown[], i: number): Record<string, unknown> {
  const n = items.length;
  return {
    ...(task.loopControl.extendedAllitems ? { allitems: items } : {}),
    index: i + 1,
    index0: i,
    revindex: n - i,
    revindex0: n - i - 1,
    first: i === 0,
    last: i === n - 1,
    length: n,
    ...(i > 0 ? { previtem: items[i - 1] } : {}),
    ...(i < n - 1 ? { nextitem: items[i + 1] } : {}),
  };
}

/**
 * A `with_<lookup>` loop's items, as 2.14's TaskExecutor._get_loop_items makes them: the terms
 * rendered (a string stripped first; first_found keeps a term whose variables are undefined as
 * written, then drops every term still holding template syntax) and made a list (a string or a
 * scalar becomes [term]; a mapping stays one term for `dict`), then the lookup run on them with
 * wantlist. first_found searches the directory of the task's action (with-loop.ts).
 */
function lookupLoopItems(task: TaskDef, name: string, vars: Record<string, unknown>, render: RenderOptions): unknown[] {
  const file = task.yaml.file;
  const raw = typeof task.loop === 'string' ? task.loop.trim() : task.loop;
  const lenient = name === 'first_found';
  let terms = lenient ? renderLenient(raw, vars, file, render) : renderValue(raw, vars, file, render);
  if (!Array.isArray(terms))
    terms = terms && typeof terms === 'object' && !isSecret(terms) && name !== 'dict' ? Object.keys(terms) : [terms];
  let list = terms as unknown[];
  if (lenient) list = list.filter((t) => !hasTemplate(t));
  let opts = render;
  if (name === 'first_found' && render.lookup) {
    const base = render.lookup;
    const subdir = firstFoundSubdir(task.ansibleModule);
    opts = { ...render, lookup: { ...base, searchPaths: (kind) => base.searchPaths(kind === 'files' ? subdir : kind) } };
  }
  const result = evaluate(`query(${JSON.stringify(name)}, *${LOOP_TERMS})`, { ...vars, [LOOP_TERMS]: list }, file, opts);
  return Array.isArray(result) ? result : [result];
}

/** The variable the rendered terms of a with_ loop are passed in. */
const LOOP_TERMS = '__kiln_loop_terms';

/** Templar.template(fail_on_undefined=False): a string whose variables are undefined stays as written. */
function renderLenient(v: unknown, vars: Record<string, unknown>, file: string, render: RenderOptions): unknown {
  if (typeof v === 'string') {
    try {
      return renderValue(v, vars, file, render);
    } catch (err) {
      if (err instanceof TemplateError && err.variable) return v;
      throw err;
    }
  }
  if (Array.isArray(v)) return v.map((x) => renderLenient(x, vars, file, render));
  if (v && typeof v === 'object' && !isSecret(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderLenient(x, vars, file, render)]));
  return v;
}

/** A connection variable (ansible_become, …) as a keyword value: a template to render, or a literal. */
function connVar<T extends boolean | string>(x: unknown, task: TaskDef, bool: boolean): KeywordValue<T> {
  if (bool ? typeof x === 'boolean' : typeof x === 'string' && !x.includes('{{') && !x.includes('{%')) return { value: x as T };
  // Rendered (a plain string renders to itself), then converted like the keyword.
  return { template: String(x), yaml: task.yaml, path: task.path };
}

/** A local datetime (Python's datetime.fromtimestamp) of a time in milliseconds. */
function localDatetime(ms: number): PyDatetime {
  const d = new Date(ms);
  const micro = Math.round((ms % 1000) * 1000);
  return new PyDatetime(d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), micro);
}

/**
 * The variables Ansible's template module adds (generate_ansible_template_vars): template_host,
 * template_path (src as written), template_fullpath, template_destpath, template_uid,
 * template_run_date, template_mtime, and ansible_managed (2.14's default: "Ansible managed").
 */
export function templateVars(src: string, fullpath: string, dest: string | undefined): Record<string, unknown> {
  const st = statSync(fullpath);
  let uid = String(st.uid);
  try {
    if (userInfo().uid === st.uid) uid = userInfo().username;
  } catch {
    /* no passwd entry: the number, as Ansible */
  }
  return {
    template_host: hostname(),
    template_path: src,
    template_fullpath: resolve(fullpath),
    template_destpath: dest ?? null,
    template_uid: uid,
    template_run_date: PyDatetime.now(false),
    template_mtime: localDatetime(st.mtimeMs),
    ansible_managed: 'Ansible managed',
  };
}

/** What an Ansible option of type `path` would do on the host that Kiln does not. */
function pathProblems(task: TaskDef, params: Record<string, unknown>): Diagnostic[] {
  const fqcn = ANSIBLE_MODULE_NAMES[task.ansibleModule];
  if (!fqcn) return [];
  const types = moduleCatalog.args(task.ansibleModule)?.types ?? {};
  return Object.entries(params)
    .filter(([k, v]) => types[k] === 'path' && needsPathExpansion(v))
    .map(([k, v]) => ({
      ...locate(task.yaml, task.paramPaths[k] ?? task.modulePath),
      message: `${task.module}: '${k}' is ${JSON.stringify(v)}: Ansible expands ~ and $VARIABLES in paths on the host, Kiln does not; write the path out`,
    }));
}

export function instantiate(task: TaskDef, vars: Record<string, unknown>, opts: InstantiateOptions): Instantiation {
  const module = getModule(task.module)!;
  const render: RenderOptions = { lookup: lookupContext(task, opts.playbookDir) };
  const fail = (d: Diagnostic | Diagnostic[]): Instantiation => {
    let ignored: boolean | undefined;
    try {
      ignored = keyword(task.ignoreErrors, false, vars, 'ignore_errors', render);
    } catch {
      ignored = undefined;
    }
    return { kind: 'error', diagnostics: Array.isArray(d) ? d : [d], task, ignored };
  };

  let items: unknown[] | undefined;
  if (task.loop !== undefined && task.loopWith !== undefined) {
    const key = `with_${task.loopWith}`;
    try {
      items = lookupLoopItems(task, task.loopWith, vars, render);
    } catch (err) {
      if (err instanceof TemplateError) return fail(causeOf(err, taskDiag(task, `${key}: ${templateMessage(err)}`, [key])));
      throw err;
    }
  } else if (task.loop !== undefined) {
    try {
      const l = renderValue(task.loop, vars, task.yaml.file, render);
      if (!Array.isArray(l)) {
        return fail(taskDiag(task, `Invalid data passed to 'loop', it requires a list, got this instead: ${JSON.stringify(l)}`, ['loop']));
      }
      items = l;
    } catch (err) {
      if (err instanceof TemplateError) return fail(causeOf(err, taskDiag(task, `loop: ${templateMessage(err)}`, ['loop'])));
      throw err;
    }
  }

  const lc = task.loopControl;
  const instances: TaskInstance[] = [];
  const skipped: LoopItem[] = [];
  const itemList = items ?? [undefined];
  for (const [i, item] of itemList.entries()) {
    let v = vars;
    if (items) {
      v = { ...vars, [lc.loopVar]: item, ansible_loop_var: lc.loopVar };
      if (lc.indexVar) Object.assign(v, { [lc.indexVar]: i, ansible_index_var: lc.indexVar });
      if (lc.extended) v.ansible_loop = ansibleLoop(task, items, i);
    }
    try {
      if (!evalConditions(task.when, v, 'when', task.name, render)) {
        if (items) skipped.push({ index: i, item, resultVars: loopResultVars(task, items, i) });
        continue;
      }
      // delegate_to (part G): the connection is the delegate's, the variables stay this host's.
      let delegate: string | undefined;
      if (task.delegateTo !== undefined) {
        const name = keyword(task.delegateTo, '', v, 'delegate_to', render);
        try {
          delegate = delegateHost(name, opts.host, v);
        } catch (err) {
          throw new LocatedError(
            'value' in task.delegateTo
              ? // Written on the task: at its key; inherited (a block's): at the task.
                nodeAt(task.yaml.doc.contents, [...task.path, 'delegate_to'])
                ? taskDiag(task, (err as Error).message, ['delegate_to'], true)
                : { ...task.loc, message: (err as Error).message }
              : atDiag(task.delegateTo, (err as Error).message),
          );
        }
      }
      // Connection variables (ansible_become, ansible_become_user: `become`, `become_user` in Kiln's
      // inventory) override the keywords, as in Ansible; a delegated task takes the delegate's.
      const cv: Record<string, unknown> = delegate
        ? ((vars.hostvars as Record<string, Record<string, unknown>> | undefined)?.[delegate] ?? {})
        : vars;
      const become = hasVar(cv.become)
        ? keyword(connVar<boolean>(cv.become, task, true), false, v, 'ansible_become', render)
        : keyword(task.become, false, v, 'become', render);
      const becomeUserKw = hasVar(cv.become_user) ? connVar<string>(cv.become_user, task, false) : task.becomeUser;
      const becomeUser = keyword(becomeUserKw, 'root', v, hasVar(cv.become_user) ? 'ansible_become_user' : 'become_user', render);
      // It goes into `sudo -u`: a rendered value must be a user name too (connection-keys.ts).
      const userProblem = become && becomeUserKw && !('value' in becomeUserKw) ? userNameProblem(becomeUser) : undefined;
      if (userProblem)
        throw new LocatedError(atDiag(becomeUserKw as { yaml: TaskDef['yaml']; path: PathSeg[] }, `become_user: ${userProblem}`));
      const checkMode = task.checkMode === undefined ? undefined : keyword(task.checkMode, opts.check, v, 'check_mode', render);
      const diffKw = keyword(task.diff, opts.diff, v, 'diff', render);
      const noLog = keyword(task.noLog, false, v, 'no_log', render);
      const ignoreErrors = keyword(task.ignoreErrors, false, v, 'ignore_errors', render);
      const runOnce = keyword(task.runOnce, false, v, 'run_once', render);
      const ignoreUnreachable = keyword(task.ignoreUnreachable, false, v, 'ignore_unreachable', render);
      const anyErrorsFatal = keyword(task.anyErrorsFatal, false, v, 'any_errors_fatal', render);
      const throttle = keyword(task.throttle, 0, v, 'throttle', render);
      let environment: ReturnType<typeof renderEnvironment>;
      try {
        environment = renderEnvironment(task.environment, v, render);
      } catch (err) {
        if (err instanceof WhereError)
          throw new LocatedError({
            ...err.loc,
            message: `${err.message} (task '${task.name}')`,
            ...(err.variable ? { undefinedName: err.variable } : {}),
          });
        throw err;
      }

      let params: Record<string, unknown>;
      try {
        params = renderValue(task.params, v, task.yaml.file, render) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof TemplateError)
          return fail(causeOf(err, taskDiag(task, `${task.module}: ${templateMessage(err)}`, task.modulePath.slice(task.path.length))));
        throw err;
      }
      // Taint is recorded here (a param rendered from a secret is a Secret, and registered with the
      // redactor); the module then gets the real values, so it quotes, validates and writes them
      // as they are. Secret-declared params become Secrets again below.
      const tainted = hasSecret(params) || (environment?.secret ?? false);
      params = revealDeep(params) as Record<string, unknown>;
      params = removeOmit(params, OMIT);
      const selinux = takeSelinux(params);
      adjustAnsibleArgs(ANSIBLE_MODULE_NAMES[task.ansibleModule], params);
      params = convertParams(module.schema, params);
      const pathDiags = pathProblems(task, params);
      if (pathDiags.length) return fail(pathDiags);
      // Secrets declared by the module stay Secrets even when written in plain text.
      for (const k of secretProperties(module.schema)) {
        if (typeof params[k] === 'string') params[k] = new Secret(params[k] as string, k);
      }
      const errors = schemaErrors(module, params);
      if (errors.length) return fail(errors.map((e) => schemaDiag(task, e)));
      const check = checkMode ?? opts.check;
      const ctx: ModuleContext = { run: opts.run, host: opts.host, check, diff: diffKw && !noLog, become, taskFile: task.yaml.file };
      // Modules' own scripts see `host` (the inventory name they run for); a delegated task's connection is the delegate's.
      let renderedSecret = false;
      const dest = typeof params.dest === 'string' ? params.dest : undefined;
      const prepCtx: PrepareContext = {
        ...ctx,
        // Read by prepare after rendering its template: true when the template read a secret.
        get sensitive() {
          return noLog || tainted || hasSecret(params) || renderedSecret;
        },
        readFile: (p) => {
          const f = findRoleFile(task, 'files', p, opts.playbookDir);
          if (!f) throw new PrepareError(`file not found: ${p}`, 'src');
          return readFileSync(f);
        },
        renderTemplate: (p) => {
          const f = findRoleFile(task, 'templates', p, opts.playbookDir);
          if (!f) throw new PrepareError(`template not found: ${p}`, 'src');
          // Past the input limit, or not UTF-8: a located error (never U+FFFD in the host's file).
          const r = renderTemplateInfo(
            decodeUtf8(readInputBytes(f), f, 'template'),
            { ...v, ...templateVars(p, f, dest) },
            resolve(f),
            render,
          );
          // A template that read a secret makes the task sensitive (no diff, no content shown).
          if (r.sensitive) renderedSecret = true;
          return r.text;
        },
      };
      let bound: BoundTask;
      try {
        bound = guardSelinux(module.bind(params, prepCtx), selinux);
      } catch (err) {
        if (err instanceof TemplateError) return fail(templateDiag(task, err, task.modulePath.slice(task.path.length)));
        if (err instanceof InputError) return fail(err.diagnostics);
        if (err instanceof PrepareError || err instanceof SecretInArgvError) {
          return fail({ ...locate(task.yaml, task.paramPaths[err.param] ?? task.modulePath), message: `${task.module}: ${err.message}` });
        }
        if (err instanceof VarPathError) {
          const at = taskDiag(task, '');
          const used = `(used by task '${task.name}', ${relative(process.cwd(), at.file) || at.file}:${at.line}:${at.col})`;
          return fail(
            err.problems.map((pr) => {
              const loc = opts.locateVar?.(err.varName, pr.path, err.value);
              return loc ? { ...loc, message: `${task.module}: ${pr.text} ${used}` } : taskDiag(task, `${task.module}: ${pr.text}`);
            }),
          );
        }
        return fail(taskDiag(task, `${task.module}: ${(err as Error).message}`));
      }
      let label = task.name;
      if (items) {
        let shown = labelOf(item);
        if (lc.label !== undefined) {
          try {
            shown = String(renderValue(lc.label, v, task.yaml.file, render));
          } catch (err) {
            if (err instanceof TemplateError) return fail(taskDiag(task, `loop_control.label: ${err.message}`, ['loop_control', 'label']));
            throw err;
          }
        }
        label = `${task.name} (${shown})`;
      }
      instances.push({
        task,
        bound,
        params,
        label,
        item,
        itemIndex: items ? i : undefined,
        become,
        becomeUser,
        check,
        diff: ctx.diff,
        sensitive: noLog || tainted || hasSecret(params) || renderedSecret,
        noLog,
        ignoreErrors,
        ctx,
        vars: v,
        resultVars: items ? loopResultVars(task, items, i) : undefined,
        render,
        ...(environment && Object.keys(environment.env).length ? { environment: environment.env } : {}),
        ...(delegate ? { delegate } : {}),
        runOnce,
        ignoreUnreachable,
        anyErrorsFatal,
        throttle,
      });
      if (environment && Object.keys(environment.env).length) {
        const last = instances[instances.length - 1]!;
        last.bound = withEnvironment(last.bound, environment.env);
      }
    } catch (err) {
      if (err instanceof LocatedError) return fail(err.diag);
      throw err;
    }
  }
  if (!instances.length) return { kind: 'skip', reason: items?.length === 0 ? 'empty loop' : 'condition false', task, skipped };
  return { kind: 'run', instances, task, skipped };
}

export class PrepareError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}
