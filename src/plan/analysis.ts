/**
 * What `kiln validate` can know of a task's templates without rendering them (analyzeTemplate):
 * filters, tests and functions that do not exist, and variables defined nowhere (not in the
 * inventory, vars, role defaults or vars, extra vars, registered results, facts, loop variables or
 * magic variables) and not guarded by `is defined` / `default`. Rendering every task for every
 * host (instance.ts) finds what a run would find; this finds the rest: templates in tasks whose
 * `when` was false everywhere, tasks that wait for a registered result, handlers, the template
 * files they use.
 */
import { existsSync } from 'node:fs';
import { type Diagnostic, InputError } from '../core/diagnostic.ts';
import { readInputText } from '../core/limits.ts';
import type { Condition, KeywordValue, TaskDef } from '../input/playbook/types.ts';
import { locate, type PathSeg } from '../input/yaml/document.ts';
import { analyzeTemplate, isTemplated, TemplateError } from '../template/engine.ts';
import { filterTable, globalTable, testTable } from '../template/library.ts';
import { findRoleFile, locateInText } from './instance.ts';
import { compile as compilePyRe } from '../template/filters/pyre.ts';
import { getModule, moduleCatalog } from '../modules/registry.ts';

/** Jinja2's own global functions (engine.ts JINJA_GLOBAL_NAMES). */
const JINJA_GLOBALS = new Set(['range', 'dict', 'namespace', 'cycler', 'joiner', 'lipsum']);

/** Variables the template module adds (instance.ts templateVars). */
const TEMPLATE_VARS = [
  'ansible_managed',
  'template_host',
  'template_path',
  'template_fullpath',
  'template_destpath',
  'template_uid',
  'template_run_date',
  'template_mtime',
];

interface Field {
  text: string;
  /** Where it is written (a YAML value). */
  yaml: TaskDef['yaml'];
  path: PathSeg[];
  /** A bare expression (a condition), not a template. */
  expr: boolean;
  /**
   * Evaluated only after the module ran (changed_when, failed_when): rendering the task before the
   * run never sees it, so its variables are always checked here.
   */
  afterRun?: boolean;
  /** The keyword of a condition (when, changed_when, failed_when), named in its messages. */
  keyword?: string;
  /** Undefined variables are allowed (with_first_found passes over a name it cannot render). */
  undefinedOk?: boolean;
}

function strings(v: unknown, yaml: TaskDef['yaml'], path: PathSeg[], out: Field[]): void {
  if (typeof v === 'string') {
    if (isTemplated(v)) out.push({ text: v, yaml, path, expr: false });
  } else if (Array.isArray(v)) v.forEach((x, i) => strings(x, yaml, [...path, i], out));
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) strings(x, yaml, [...path, k], out);
  }
}

/** Every templated field of a task, where it is written. */
export function taskFields(task: TaskDef): Field[] {
  const out: Field[] = [];
  const conds = (keyword: string, cs?: Condition[], afterRun = false) => {
    for (const c of cs ?? [])
      if (typeof c.expr === 'string') out.push({ text: c.expr, yaml: c.yaml, path: c.path, expr: !isTemplated(c.expr), afterRun, keyword });
  };
  conds('when', task.when);
  conds('changed_when', task.changedWhen, true);
  conds('failed_when', task.failedWhen, true);
  // until: evaluated after each attempt, with the attempt's result under the register name.
  conds('until', task.retry?.until, true);
  for (const k of [task.become, task.becomeUser, task.checkMode, task.diff, task.ignoreErrors, task.noLog] as (
    | KeywordValue<unknown>
    | undefined
  )[]) {
    if (k && 'template' in k) out.push({ text: k.template, yaml: k.yaml, path: k.path, expr: false });
  }
  const loopFields: Field[] = [];
  strings(task.loop, task.yaml, [...task.path, task.loopWith === undefined ? 'loop' : `with_${task.loopWith}`], loopFields);
  out.push(...loopFields.map((f) => (task.loopWith === 'first_found' ? { ...f, undefinedOk: true } : f)));
  for (const k of [task.retry?.retries, task.retry?.delay, task.loopControl.pause])
    if (k && 'template' in k) out.push({ text: k.template, yaml: k.yaml, path: k.path, expr: false });
  if (task.loopControl.label) strings(task.loopControl.label, task.yaml, [...task.path, 'loop_control', 'label'], out);
  for (const [k, v] of Object.entries(task.params)) strings(v, task.yaml, task.paramPaths[k] ?? task.modulePath, out);
  for (const [k, v] of Object.entries(task.vars)) strings(v, task.yaml, [...task.path, 'vars', k], out);
  return out;
}

export interface AnalysisOptions {
  /** Names defined for the task somewhere (any host's variables, registered results, …). */
  known: ReadonlySet<string>;
  /** Report variables defined nowhere (false when the task was rendered for every host already). */
  variables: boolean;
  playbookDir: string;
}

/** The problems analysis finds in a task's templates (and the template file it renders). */
export function analyzeTask(task: TaskDef, opts: AnalysisOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const lc = task.loopControl;
  const loopNames =
    task.loop === undefined
      ? []
      : [
          lc.loopVar,
          'ansible_loop_var',
          ...(lc.indexVar ? [lc.indexVar, 'ansible_index_var'] : []),
          ...(lc.extended ? ['ansible_loop'] : []),
        ];
  const known = new Set([...opts.known, ...loopNames]);
  type At = (line: number, col: number) => { file: string; line: number; col: number };
  const check = (source: string, file: string, at: At, extra: string[] = [], variables = opts.variables, keyword?: string) => {
    const kw = keyword ? `${keyword}: ` : '';
    let a: ReturnType<typeof analyzeTemplate>;
    try {
      a = analyzeTemplate(source, file);
    } catch (err) {
      if (err instanceof TemplateError) out.push({ ...at(err.line ?? 1, err.col ?? 1), message: `${kw}${err.message}` });
      else throw err;
      return;
    }
    for (const r of regexLiterals(source)) {
      try {
        compilePyRe(r.pattern);
      } catch (err) {
        out.push({
          ...at(r.line, r.col),
          message: `${kw}${r.via}: ${JSON.stringify(r.pattern)} is not a valid Python regular expression: ${(err as Error).message}`,
        });
      }
    }
    for (const f of a.filters)
      if (!Object.hasOwn(filterTable, f.name)) out.push({ ...at(f.line, f.col), message: `no filter named '${f.name}'` });
    for (const t of a.tests)
      if (!Object.hasOwn(testTable, t.name)) out.push({ ...at(t.line, t.col), message: `no test named '${t.name}'` });
    for (const g of a.globals) {
      if (!Object.hasOwn(globalTable, g.name) && !JINJA_GLOBALS.has(g.name) && !known.has(g.name))
        out.push({ ...at(g.line, g.col), message: `'${g.name}' is undefined (called as a function)` });
    }
    if (!variables) return;
    const defined = new Set([...known, ...extra]);
    for (const v of a.variables) {
      if (!v.guarded && !defined.has(v.name))
        out.push({
          ...at(v.line, v.col),
          message: `${kw}'${v.name}' is undefined: it is defined nowhere (inventory, vars, roles, registered results, facts, extra vars)`,
        });
    }
  };
  for (const f of taskFields(task)) {
    const source = f.expr ? `{{ ${f.text} }}` : f.text;
    check(source, f.yaml.file, locateInText(f, f.text, f.expr ? 3 : 0), [], !f.undefinedOk && (opts.variables || f.afterRun), f.keyword);
  }
  // A literal regular expression parameter (lineinfile's regexp) of a task never rendered here.
  const schema = moduleCatalog.names.includes(task.module)
    ? (getModule(task.module)?.schema as { properties?: Record<string, { 'x-python-re'?: boolean }> } | undefined)
    : undefined;
  for (const [k, v] of Object.entries(task.params)) {
    if (!schema?.properties?.[k]?.['x-python-re'] || typeof v !== 'string' || isTemplated(v)) continue;
    try {
      compilePyRe(v);
    } catch (err) {
      out.push({
        ...locate(task.yaml, task.paramPaths[k] ?? task.modulePath),
        message: `${task.module}: parameter '${k}' is not a valid Python regular expression: ${(err as Error).message}`,
      });
    }
  }
  // The template file a template task renders (a literal src).
  if (task.module === 'template' && typeof task.params.src === 'string' && !isTemplated(task.params.src)) {
    const file = findRoleFile(task, 'templates', task.params.src, opts.playbookDir);
    if (file && existsSync(file)) {
      // Within the input size limit (core/limits.ts), else a located error: validation stays fast.
      let text: string | undefined;
      try {
        text = readInputText(file, 'template');
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        out.push(...err.diagnostics);
      }
      if (text !== undefined) check(text, file, (line, col) => ({ file, line, col }), TEMPLATE_VARS);
    }
  }
  return out;
}

/** A string literal's text, unescaped as Jinja reads it (Python's escapes; an unknown one keeps its backslash). */
function unquote(body: string): string {
  const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '\n': '' };
  return body.replace(/\\([\s\S])/g, (all, c: string) => esc[c] ?? all);
}

const REGEX_USE =
  /\b(regex_replace|regex_search|regex_findall|match|search|regex)\s*\(\s*('((?:[^'\\]|\\[\s\S])*)'|"((?:[^"\\]|\\[\s\S])*)")/g;

/**
 * The literal patterns a template gives the regex_* filters and the match/search/regex tests (the
 * first argument, written as a string literal), with where each is in the template. A heuristic
 * over the text: a pattern built from variables is checked when it renders.
 */
function regexLiterals(source: string): { pattern: string; via: string; line: number; col: number }[] {
  const out: { pattern: string; via: string; line: number; col: number }[] = [];
  for (const m of source.matchAll(REGEX_USE)) {
    const at = (m.index ?? 0) + m[0].length - m[2]!.length;
    // Only inside an expression: after a `{{` or `{%` that is not closed before it.
    const before = source.slice(0, at);
    const open = Math.max(before.lastIndexOf('{{'), before.lastIndexOf('{%'));
    if (open < 0 || Math.max(before.lastIndexOf('}}'), before.lastIndexOf('%}')) > open) continue;
    const line = before.split('\n').length;
    const col = at - (before.lastIndexOf('\n') + 1) + 1;
    out.push({ pattern: unquote(m[3] ?? m[4] ?? ''), via: m[1]!, line, col });
  }
  return out;
}
