/**
 * Kiln's templating API over its own Jinja2 engine (./jinja), with ansible-core 2.14's semantics:
 *
 * - `renderTemplate`: what Ansible's `template` module writes (trim_blocks on, lstrip_blocks off,
 *   the trailing newlines kept, None printed as '', Python str()/repr() of values, a `#jinja2:`
 *   first line overriding the environment).
 * - `renderValue`: Templar.template on a playbook value (convert_data=True, jinja2_native=False):
 *   a string without template syntax is returned as is; `"{{ var }}"` with a bool/number/None
 *   variable returns it unchanged; otherwise the result is text, turned into a list/dict/bool when
 *   it reads as one (Python's ast.literal_eval). Lists and dict values are rendered recursively
 *   (dict keys are not, as in Ansible 2.14).
 * - `evaluateCondition`: Conditional._check_conditional (`when`, `changed_when`, …).
 * - `evaluate`: the native value of a bare expression, for internal callers.
 * - `parseTemplate` / `analyzeTemplate`: for `kiln validate` (filters, tests, functions and free
 *   variables a template uses).
 *
 * Errors are TemplateErrors located at the offending node (file:line:col), with `variable` set
 * when an undefined variable was the cause. Reading a Secret marks the result sensitive
 * (`renderTemplateInfo`; renderValue returns a Secret for a string result).
 */
import { isPlainRecord } from '../core/plain-object.ts';
import { Secret, taintDeep } from '../core/secret/secret.ts';
import { analyze, type TemplateAnalysis } from './jinja/analyze.ts';
import type { LookupContext } from './jinja/callables.ts';
import { ANSIBLE_OPTIONS, applyHeader, Environment, HEADER_KEYS, type LexerOptions, type Mode } from './jinja/environment.ts';
import { JinjaRuntimeError, JinjaSyntaxError, TemplateError } from './jinja/errors.ts';
import type { TemplateNode } from './jinja/nodes.ts';
import { fromPy, isStrictUndefined, toPy, truthy, UndefinedError, undefinedError } from './jinja/value.ts';
import { filterTable, globalTable, testTable } from './library.ts';

export { TemplateError };
export type { TemplateAnalysis, VariableUse, NameUse } from './jinja/analyze.ts';
export type { LookupContext } from './jinja/callables.ts';

export interface RenderOptions {
  /** Lookups' context (search paths, environment, project dir); without it lookups fail. */
  lookup?: LookupContext;
  /** The template module's environment options (trim_blocks, lstrip_blocks, newline_sequence, delimiters). */
  options?: Partial<TemplateOptions>;
}

/** The template module's options, as its arguments name them. */
export interface TemplateOptions {
  trim_blocks: boolean;
  lstrip_blocks: boolean;
  newline_sequence: string;
  block_start_string: string;
  block_end_string: string;
  variable_start_string: string;
  variable_end_string: string;
  comment_start_string: string;
  comment_end_string: string;
}

/** The template module's options as lexer options: the `#jinja2:` header's keys less keep_trailing_newline. */
const { keep_trailing_newline: _notAModuleOption, ...OPTION_NAMES } = HEADER_KEYS;

function lexerOptions(o?: Partial<TemplateOptions>): Partial<LexerOptions> | undefined {
  if (!o) return undefined;
  const out: Partial<LexerOptions> = {};
  for (const [k, v] of Object.entries(o)) {
    const name = OPTION_NAMES[k as keyof TemplateOptions];
    if (!name) throw new TemplateError(`template option '${k}' is not supported`, '<options>');
    if (v !== undefined) (out as Record<string, unknown>)[name] = v;
  }
  return out;
}

const env = new Environment({ filters: filterTable, tests: testTable, globals: globalTable });

/** Jinja2's default global functions (besides the library's). */
const JINJA_GLOBAL_NAMES = ['range', 'dict', 'namespace', 'cycler', 'joiner', 'lipsum'];

/** Converts the engine's errors into TemplateErrors of `file`, shifting positions by the header / condition wrapper. */
function toTemplateError(e: unknown, file: string, shift: { lines?: number; col1?: number } = {}): unknown {
  if (!(e instanceof JinjaSyntaxError) && !(e instanceof JinjaRuntimeError)) return e;
  const errFile = e.file && e.file !== file ? e.file : file;
  const own = errFile === file;
  let line = e.pos?.line;
  let col = e.pos?.col;
  if (own && line !== undefined) {
    if (line === 1 && col !== undefined && shift.col1) col = Math.max(1, col - shift.col1);
    line += shift.lines ?? 0;
  }
  const variable = e instanceof JinjaRuntimeError ? e.variable : undefined;
  let message = e.message;
  if (variable && /[.[]/.test(variable) && !message.includes(variable)) message += ` (${variable})`;
  return new TemplateError(message, errFile, line, col, variable);
}

function headerLines(source: string): number {
  try {
    return applyHeader(source, ANSIBLE_OPTIONS).headerLines;
  } catch {
    return 0;
  }
}

function render(source: string, vars: Record<string, unknown>, file: string, mode: Mode, opts?: RenderOptions) {
  try {
    return env.render({ source, file, vars, mode, lookup: opts?.lookup, options: lexerOptions(opts?.options) });
  } catch (e) {
    throw toTemplateError(e, file, { lines: headerLines(source) });
  }
}

/** Does the string contain template syntax (Ansible's is_possibly_template)? */
export function isTemplated(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#');
}

/** Renders a template file's contents as Ansible's template module writes it. */
export function renderTemplate(source: string, vars: Record<string, unknown>, file: string, opts?: RenderOptions): string {
  return render(source, vars, file, 'template', opts).value as string;
}

/** renderTemplate, also saying whether the result was derived from a secret. */
export function renderTemplateInfo(
  source: string,
  vars: Record<string, unknown>,
  file: string,
  opts?: RenderOptions,
): { text: string; sensitive: boolean } {
  const r = render(source, vars, file, 'template', opts);
  return { text: r.value as string, sensitive: r.secret };
}

/** Ansible's Templar.SINGLE_VAR: `{{ name }}` alone (Python's `$` also matches before a final newline). */
const SINGLE_VAR = /^\{\{\s*([\p{L}\p{N}_]*)\s*\}\}\n?$/u;

/**
 * Templar.template(value): see the module comment. Returns plain data; a value derived from a
 * secret is tainted: a string is a Secret, a list or dict holds Secrets for its strings.
 */
export function renderValue(v: unknown, vars: Record<string, unknown>, file = '<inline>', opts?: RenderOptions): unknown {
  if (typeof v === 'string') {
    if (!isTemplated(v)) return v;
    const single = SINGLE_VAR.exec(v);
    if (single && Object.hasOwn(vars, single[1]!)) {
      const val = vars[single[1]!];
      if (typeof val === 'boolean' || typeof val === 'number') return val;
      if (val === null || val === undefined) return null;
    }
    const r = render(v, vars, file, 'value', opts);
    let out: unknown;
    try {
      out = fromPy(r.value);
    } catch (e) {
      throw toTemplateError(e, file);
    }
    // Taint: a value derived from a secret is a secret (a list or dict: every string in it).
    return r.secret ? (typeof out === 'string' ? new Secret(out) : taintDeep(out)) : out;
  }
  if (Array.isArray(v)) return v.map((x) => renderValue(x, vars, file, opts));
  if (isPlainRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = renderValue(x, vars, file, opts);
    return out;
  }
  return v;
}

/** The native value of a bare Jinja expression (no braces), as plain data. An Undefined result is an error. */
export function evaluate(expr: string, vars: Record<string, unknown>, file = '<inline>', opts?: RenderOptions): unknown {
  try {
    const r = env.evaluate(expr, vars, file, opts?.lookup);
    if (isStrictUndefined(r.value)) throw undefinedError(r.value);
    const out = fromPy(r.value);
    return r.secret ? taintDeep(out) : out;
  } catch (e) {
    throw toTemplateError(e instanceof UndefinedError ? new JinjaRuntimeError(e.message, e.at, e.variable) : e, file);
  }
}

const DEFINED_RE = /(hostvars\[.+\]|[\w_]+)\s+(not\s+is|is|is\s+not)\s+(defined|undefined)/g;
const UNDEFINED_NAME_RE = /'(hostvars\[.+\]|[\w_]+)' is undefined/;

/** The `{% if %}` wrapper Ansible evaluates a condition in, and the prefix's length (for error columns). */
const COND_PREFIX = '{% if ';

/**
 * Ansible 2.14's Conditional: a bool is itself; None or '' is true; a string is first templated
 * (so `"{{ x }}"` works) and, when that gives a non-empty string, evaluated as
 * `{% if <cond> %} True {% else %} False {% endif %}`; anything else by its truth; a list means all.
 * An undefined variable is an error naming it, unless the condition tests that very variable with
 * `is defined` / `is undefined` (Ansible's fallback).
 */
export function evaluateCondition(cond: unknown, vars: Record<string, unknown>, file = '<inline>', opts?: RenderOptions): boolean {
  if (Array.isArray(cond)) {
    for (const c of cond) if (!checkConditional(c, vars, file, opts)) return false;
    return true;
  }
  return checkConditional(cond, vars, file, opts);
}

/** One condition of a `when` list (a nested list is a value like any other: true when not empty). */
function checkConditional(cond: unknown, vars: Record<string, unknown>, file: string, opts?: RenderOptions): boolean {
  if (cond === null || cond === undefined || cond === '') return true;
  if (typeof cond === 'boolean') return cond;
  const templated = renderValue(cond, vars, file, opts);
  if (typeof templated !== 'string' || templated === '') return truthy(toPy(templated));
  const presented = `${COND_PREFIX}${templated} %} True {% else %} False {% endif %}`;
  let val: string;
  try {
    const r = env.render({ source: presented, file, vars, mode: 'value', lookup: opts?.lookup });
    val = String(fromPy(r.value)).trim();
  } catch (e) {
    const err = toTemplateError(e, file, { col1: COND_PREFIX.length });
    if (err instanceof TemplateError && err.variable) {
      const m = UNDEFINED_NAME_RE.exec(err.message);
      if (m) {
        for (const [, name, logic, state] of templated.matchAll(DEFINED_RE)) {
          if (m[1]!.replace(/'/g, '"') === name!.replace(/'/g, '"')) {
            const shouldExist = logic!.includes('not') !== (state === 'defined');
            return !shouldExist;
          }
        }
      }
    }
    throw err;
  }
  if (val === 'True') return true;
  if (val === 'False') return false;
  throw new TemplateError(`unable to evaluate conditional: ${String(cond)}`, file);
}

const parsed = new Map<string, TemplateNode>();

/** Parses a template (cached by source). Errors are located TemplateErrors. */
export function parseTemplate(source: string, file: string): TemplateNode {
  let ast = parsed.get(source);
  if (!ast) {
    let lines = 0;
    try {
      const p = applyHeader(source, ANSIBLE_OPTIONS);
      lines = p.headerLines;
      ast = env.parse(p.source, p.options);
    } catch (e) {
      throw toTemplateError(e, file, { lines });
    }
    if (parsed.size > 2000) parsed.clear();
    parsed.set(source, ast);
  }
  return ast;
}

/**
 * What a template uses, for validation before any host is contacted: filters, tests, global
 * functions, included templates and free variables (see ./jinja/analyze.ts), each located.
 */
export function analyzeTemplate(source: string, file: string): TemplateAnalysis {
  const ast = parseTemplate(source, file);
  const globals = new Set([...JINJA_GLOBAL_NAMES, ...Object.keys(globalTable)]);
  const result = analyze(ast, globals);
  const shift = headerLines(source);
  if (shift) for (const list of Object.values(result)) for (const u of list as { line: number }[]) u.line += shift;
  return result;
}
