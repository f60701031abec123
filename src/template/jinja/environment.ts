/**
 * A Jinja2 environment configured as ansible-core 2.14 configures it, and one render:
 *
 * - options (delimiters, trim_blocks on, lstrip_blocks off, newline_sequence '\n', the final
 *   newline dropped by the lexer and restored by Ansible), overridable per template by a
 *   `#jinja2:` first line;
 * - two modes: `template` (the template module: Ansible's ansible_concat, text) and `value`
 *   (Templar.template on playbook values: backslashes in `{{ }}` strings escaped, and
 *   ansible_eval_concat, which turns a result that looks like a list/dict/bool into one);
 * - the compile cache (by options and source), the template loader for include/import/extends,
 *   Jinja2's default globals (range, dict, namespace, cycler, joiner), and the CallEnv that
 *   filters, tests and global functions receive.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isTainted, registerSecretValue } from '../../core/secret/secret.ts';
import type { CallEnv, FilterTable, GlobalTable, LookupContext, TestTable } from './callables.ts';
import { type Compiled, compileExpression, compileTemplate, type LoadedTemplate, locate, type Runtime, runTemplate } from './compiler.ts';
import { JinjaSyntaxError } from './errors.ts';
import { escapeBackslashes, type LexerOptions } from './lexer.ts';
import { literalEval } from './literal-eval.ts';
import type { TemplateNode } from './nodes.ts';
import { Parser } from './parser.ts';
import { Cycler, deepCopy, GlobalFunction, Joiner, MISSING, Namespace, Out, Scope } from './runtime.ts';
import {
  dictSet,
  isDict,
  isInt,
  isSequence,
  isStrictUndefined,
  isTuple,
  PyError,
  PyRange,
  toPy,
  truthy,
  Undefined,
  undefinedError,
} from './value.ts';

export type { LexerOptions } from './lexer.ts';

/** The template module's defaults (ansible-core 2.14 with Jinja2 3.x). */
export const ANSIBLE_OPTIONS: Readonly<LexerOptions> = Object.freeze({
  blockStart: '{%',
  blockEnd: '%}',
  variableStart: '{{',
  variableEnd: '}}',
  commentStart: '{#',
  commentEnd: '#}',
  trimBlocks: true,
  lstripBlocks: false,
  newlineSequence: '\n',
  keepTrailingNewline: false,
});

export interface Tables {
  filters: FilterTable;
  tests: TestTable;
  globals: GlobalTable;
}

export type Mode = 'template' | 'value';

export interface RenderRequest {
  source: string;
  file: string;
  vars: Readonly<Record<string, unknown>>;
  mode: Mode;
  lookup?: LookupContext;
  /** The template module's options (trim_blocks, newline_sequence, delimiters…), before a `#jinja2:` header. */
  options?: Partial<LexerOptions>;
}

export interface RenderResult {
  /** The rendered text (template mode), or the value (value mode, in the Python model). */
  value: unknown;
  /** A Secret was read, or a filter/lookup marked the result sensitive. */
  secret: boolean;
}

const HEADER = '#jinja2:';

/**
 * The `#jinja2:` keys Ansible honours, as the lexer's option names. The template module's own
 * options are the same names less keep_trailing_newline (engine.ts).
 */
export const HEADER_KEYS = {
  trim_blocks: 'trimBlocks',
  lstrip_blocks: 'lstripBlocks',
  keep_trailing_newline: 'keepTrailingNewline',
  newline_sequence: 'newlineSequence',
  block_start_string: 'blockStart',
  block_end_string: 'blockEnd',
  variable_start_string: 'variableStart',
  variable_end_string: 'variableEnd',
  comment_start_string: 'commentStart',
  comment_end_string: 'commentEnd',
} as const satisfies Record<string, keyof LexerOptions>;

/** A template source with its `#jinja2:` header applied: the body, the options, and how many lines the header took. */
export interface Prepared {
  source: string;
  options: LexerOptions;
  headerLines: number;
}

/** Applies a `#jinja2:` first line as Ansible's do_template does (errors are JinjaSyntaxError at line 1). */
export function applyHeader(source: string, base: LexerOptions): Prepared {
  if (!source.startsWith(HEADER)) return { source, options: base, headerLines: 0 };
  const eol = source.indexOf('\n');
  // Python's data[len(JINJA2_OVERRIDE):eol] with eol == -1 drops the last character, and keeps the whole text.
  const line = source.slice(HEADER.length, eol === -1 ? -1 : eol);
  const body = source.slice(eol + 1);
  const options: LexerOptions = { ...base };
  const at = { line: 1, col: 1 };
  for (const pair of line.split(',')) {
    const i = pair.indexOf(':');
    if (i < 0)
      throw new JinjaSyntaxError(
        `failed to parse jinja2 override '${pair.trim()}'. Did you use something different from colon as key-value separator?`,
        at,
      );
    const key = pair.slice(0, i).trim();
    const raw = pair.slice(i + 1).trim();
    const opt: keyof LexerOptions | undefined = Object.hasOwn(HEADER_KEYS, key) ? HEADER_KEYS[key as keyof typeof HEADER_KEYS] : undefined;
    if (!opt)
      throw new JinjaSyntaxError(`#jinja2: override '${key}' is not supported (supported: ${Object.keys(HEADER_KEYS).join(', ')})`, at);
    const parsed = literalEval(raw);
    if (!parsed.ok) throw new JinjaSyntaxError(`#jinja2: override ${key}: malformed node or string: ${raw}`, at);
    const v = parsed.value;
    if (opt === 'trimBlocks' || opt === 'lstripBlocks' || opt === 'keepTrailingNewline') options[opt] = truthy(v);
    else {
      if (typeof v !== 'string' || !v) throw new JinjaSyntaxError(`#jinja2: override ${key} must be a non-empty string`, at);
      if (opt === 'newlineSequence' && !['\n', '\r\n', '\r'].includes(v))
        throw new JinjaSyntaxError('newline_sequence set to unknown line ending string.', at);
      options[opt] = v;
    }
  }
  return { source: eol === -1 ? source : body, options, headerLines: eol === -1 ? 0 : 1 };
}

/** Ansible's _count_newlines_from_end. */
function trailingNewlines(s: string): number {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\n'; i--) n++;
  return n;
}

type CacheEntry = { compiled: Compiled } | { error: JinjaSyntaxError };

const CACHE_LIMIT = 4000;

export class Environment {
  private readonly cache = new Map<string, CacheEntry>();

  readonly tables: Tables;

  constructor(tables: Tables) {
    this.tables = { ...tables, filters: taintingFilters(tables.filters) };
  }

  /** Parses (no compile): for analysis. Errors: JinjaSyntaxError. */
  parse(source: string, options: LexerOptions = ANSIBLE_OPTIONS): TemplateNode {
    return new Parser(source, options).parse();
  }

  /** Compiles, cached by options and source. Errors: JinjaSyntaxError. */
  compile(source: string, options: LexerOptions): Compiled {
    const key = `${options.blockStart}\0${options.blockEnd}\0${options.variableStart}\0${options.variableEnd}\0${options.commentStart}\0${options.commentEnd}\0${+options.trimBlocks}${+options.lstripBlocks}${+options.keepTrailingNewline}\0${options.newlineSequence}\0${source}`;
    let entry = this.cache.get(key);
    if (!entry) {
      try {
        entry = { compiled: compileTemplate(new Parser(source, options).parse(), this.tables.filters, this.tables.tests) };
      } catch (e) {
        if (!(e instanceof JinjaSyntaxError)) throw e;
        entry = { error: e };
      }
      if (this.cache.size >= CACHE_LIMIT) {
        let n = CACHE_LIMIT / 4;
        for (const k of this.cache.keys()) {
          this.cache.delete(k);
          if (--n <= 0) break;
        }
      }
      this.cache.set(key, entry);
    }
    if ('error' in entry) throw new JinjaSyntaxError(entry.error.message, entry.error.pos);
    return entry.compiled;
  }

  /** Renders a template (template mode) or a playbook value (value mode). */
  render(req: RenderRequest): RenderResult {
    const base: LexerOptions = { ...ANSIBLE_OPTIONS, ...req.options };
    const prepared = applyHeader(req.source, base);
    let source = prepared.source;
    if (req.mode === 'value') source = escapeBackslashes(source, prepared.options);
    const compiled = this.compile(source, prepared.options);
    const r = new Render(this, req, prepared.options, compiled.mutates);
    const root = new Scope(null, (n) => r.contextVar(n));
    const out = new Out();
    runTemplate({ compiled, file: req.file, name: req.file }, root, r, out);
    let value: unknown = req.mode === 'value' ? evalConcat(out) : out.text();
    if (typeof value === 'string') {
      // Ansible's preserve_trailing_newlines: the lexer dropped the final newline; put back what the source had.
      const want = trailingNewlines(req.source);
      const have = trailingNewlines(value);
      if (want > have) value += prepared.options.newlineSequence.repeat(want - have);
    }
    return { value, secret: r.secret };
  }

  /** Evaluates a bare expression against variables (no output step): the Python value. */
  evaluate(expr: string, vars: Readonly<Record<string, unknown>>, file: string, lookup?: LookupContext): RenderResult {
    const e = new Parser(expr, ANSIBLE_OPTIONS, 'variable').parseExpressionOnly();
    const { fn, mutates } = compileExpression(e, this.tables.filters, this.tables.tests);
    const r = new Render(this, { source: expr, file, vars, mode: 'value', lookup }, ANSIBLE_OPTIONS, mutates);
    const root = new Scope(null, (n) => r.contextVar(n));
    const f = { scope: root, rt: r, tpl: { file, ctx: { root, blocks: new Map() } }, toplevel: true };
    try {
      return { value: fn(f), secret: r.secret };
    } catch (err) {
      throw locate(err, e, f);
    }
  }

  hasFilter(name: string): boolean {
    return Object.hasOwn(this.tables.filters, name);
  }

  hasTest(name: string): boolean {
    return Object.hasOwn(this.tables.tests, name);
  }

  filterEntry(name: string) {
    return Object.hasOwn(this.tables.filters, name) ? this.tables.filters[name] : undefined;
  }

  testEntry(name: string) {
    return Object.hasOwn(this.tables.tests, name) ? this.tables.tests[name] : undefined;
  }

  globalEntry(name: string) {
    return Object.hasOwn(this.tables.globals, name) ? this.tables.globals[name] : undefined;
  }

  /** Loads a template for include/import/extends as Jinja2's FileSystemLoader does over Ansible's search path. */
  loadTemplate(name: string, topFile: string, options: LexerOptions, lookup?: LookupContext): LoadedTemplate | undefined {
    const pieces: string[] = [];
    for (const p of name.split('/')) {
      if (p === '..') return undefined;
      if (p && p !== '.') pieces.push(p);
    }
    if (!pieces.length) return undefined;
    const roots = [...(lookup?.searchPaths('templates') ?? []), dirname(topFile)];
    const seen = new Set<string>();
    for (const r of roots) {
      for (const dir of [join(r, 'templates'), r]) {
        if (seen.has(dir)) continue;
        seen.add(dir);
        const file = join(dir, ...pieces);
        if (existsSync(file) && statSync(file).isFile()) {
          const source = readFileSync(file, 'utf8');
          try {
            return { compiled: this.compile(source, options), file, name };
          } catch (e) {
            if (e instanceof JinjaSyntaxError) e.file = file;
            throw e;
          }
        }
      }
    }
    return undefined;
  }
}

/** Ansible's ansible_eval_concat over a render's output. */
function evalConcat(out: Out): unknown {
  if (out.nodes === 0) return '';
  const text = out.text();
  if (out.nodes === 1 && out.nativeText) return text;
  if (text.startsWith('{') || text.startsWith('[') || text === 'True' || text === 'False') {
    const r = literalEval(text);
    if (r.ok) return r.value;
  }
  return text;
}

const MAX_RANGE = 10_000_000;

function intArg(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!isInt(v))
    throw new PyError(
      'TypeError',
      `'${v === null ? 'NoneType' : typeof v === 'string' ? 'str' : 'float'}' object cannot be interpreted as an integer`,
    );
  return Number(v);
}

function rangeOf(args: unknown[], kwargs: Map<string, unknown>): PyRange {
  if (kwargs.size) throw new PyError('TypeError', 'range() takes no keyword arguments');
  if (!args.length || args.length > 3)
    throw new PyError(
      'TypeError',
      args.length ? `range expected at most 3 arguments, got ${args.length}` : 'range expected at least 1 argument, got 0',
    );
  const [start, stop, step] =
    args.length === 1 ? [0, intArg(args[0]), 1] : [intArg(args[0]), intArg(args[1]), args.length === 3 ? intArg(args[2]) : 1];
  if (step === 0) throw new PyError('ValueError', 'range() arg 3 must not be zero');
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (count > MAX_RANGE) throw new PyError('OverflowError', `range() of ${count} items is too large for Kiln templates`);
  const r = new PyRange();
  r.start = start;
  r.stop = stop;
  r.step = step;
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) r.push(i);
  return r;
}

/** Python's dict(...) from a mapping or an iterable of pairs, plus keywords. */
function dictOf(args: unknown[], kwargs: Map<string, unknown>, what = 'dict'): Map<unknown, unknown> {
  if (args.length > 1) throw new PyError('TypeError', `${what} expected at most 1 argument, got ${args.length}`);
  const d = new Map<unknown, unknown>();
  if (args.length) {
    const src = args[0];
    if (isStrictUndefined(src)) throw undefinedError(src);
    if (isDict(src)) for (const [k, v] of src) dictSet(d, k, v);
    else if (isSequence(src)) {
      src.forEach((pair, i) => {
        const kv = typeof pair === 'string' ? [...pair] : isSequence(pair) ? pair : null;
        if (!kv) throw new PyError('TypeError', `cannot convert dictionary update sequence element #${i} to a sequence`);
        if (kv.length !== 2)
          throw new PyError('ValueError', `dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
        if ((Array.isArray(kv[0]) && !isTuple(kv[0])) || isDict(kv[0])) throw new PyError('TypeError', "unhashable type: 'list'");
        dictSet(d, kv[0], kv[1]);
      });
    } else throw new PyError('TypeError', `'${src === null ? 'NoneType' : typeof src}' object is not iterable`);
  }
  for (const [k, v] of kwargs) dictSet(d, k, v);
  return d;
}

/** Jinja2's default globals (Ansible sets `dict` to Python's dict). lipsum is refused. */
const JINJA_GLOBALS: Record<string, (args: unknown[], kwargs: Map<string, unknown>) => unknown> = {
  range: rangeOf,
  dict: (a, k) => dictOf(a, k),
  namespace: (a, k) => new Namespace(new Map([...dictOf(a, k, 'namespace')].map(([x, y]) => [String(x), y]))),
  cycler: (a, k) => {
    if (k.size) throw new PyError('TypeError', 'Cycler.__init__() got an unexpected keyword argument');
    return new Cycler(a);
  },
  joiner: (a, k) => {
    if (a.length > 1)
      throw new PyError('TypeError', `Joiner.__init__() takes from 1 to 2 positional arguments but ${a.length + 1} were given`);
    for (const key of k.keys())
      if (key !== 'sep') throw new PyError('TypeError', `Joiner.__init__() got an unexpected keyword argument '${key}'`);
    return new Joiner(a.length ? a[0] : k.has('sep') ? k.get('sep') : ', ');
  },
  lipsum: () => {
    throw new PyError('NotImplementedError', 'lipsum() is not supported in Kiln templates');
  },
};

/**
 * Taint through filters: the text a filter computes from secret text (hash, b64encode, to_json,
 * password_hash, …) is registered with the redactor as well, so it is hidden wherever it is
 * printed, on its own or inside a larger value. (The render's result is a Secret anyway.)
 */
function taintingFilters(filters: FilterTable): FilterTable {
  const out: FilterTable = {};
  for (const [name, reg] of Object.entries(filters)) {
    out[name] = {
      ...reg,
      fn(env, value, args, kwargs) {
        const result = reg.fn(env, value, args, kwargs);
        if (
          typeof result === 'string' &&
          env.readSecret?.() &&
          (isTainted(value) || args.some(isTainted) || [...kwargs.values()].some(isTainted))
        ) {
          registerSecretValue(result);
        }
        return result;
      },
    };
  }
  return out;
}

/** One render: its variables (converted once each, when first read), its secret flag, its CallEnv. */
class Render implements Runtime {
  depth = 0;
  secret = false;
  readonly callEnv: CallEnv;
  readonly filters: FilterTable;
  readonly tests: TestTable;
  private readonly vars = new Map<string, unknown>();
  private readonly globalsCache = new Map<string, unknown>();

  constructor(
    private readonly env: Environment,
    private readonly req: RenderRequest,
    private readonly options: LexerOptions,
    private readonly copyVars: boolean,
  ) {
    this.filters = env.tables.filters;
    this.tests = env.tables.tests;
    const self = this;
    const normalize = (name: string) => name.replace(/^ansible\.(builtin|legacy)\./, '');
    this.callEnv = {
      callFilter(name, value, args, kwargs = new Map()) {
        const reg = env.filterEntry(normalize(name));
        if (!reg) throw new PyError('TemplateRuntimeError', `no filter named '${name}'`);
        if (!reg.undefinedOk) {
          if (isStrictUndefined(value)) throw undefinedError(value);
          for (const a of [...args, ...kwargs.values()]) if (isStrictUndefined(a)) throw undefinedError(a);
        }
        return reg.fn(self.callEnv, value, args, kwargs);
      },
      callTest(name, value, args, kwargs = new Map()) {
        const reg = env.testEntry(normalize(name));
        if (!reg) throw new PyError('TemplateRuntimeError', `no test named '${name}'`);
        if (!reg.undefinedOk) {
          if (isStrictUndefined(value)) throw undefinedError(value);
          for (const a of [...args, ...kwargs.values()]) if (isStrictUndefined(a)) throw undefinedError(a);
        }
        return reg.fn(self.callEnv, value, args, kwargs);
      },
      hasFilter: (name) => env.hasFilter(normalize(name)),
      hasTest: (name) => env.hasTest(normalize(name)),
      resolve(name) {
        const v = self.contextVar(name);
        return v === MISSING ? new Undefined(`'${name}' is undefined`, name) : v;
      },
      renderString(source, file) {
        const r = env.render({ source, file, vars: req.vars, mode: 'template', lookup: req.lookup });
        if (r.secret) self.secret = true;
        return r.value as string;
      },
      lookup: req.lookup,
      markSecret() {
        self.secret = true;
      },
      readSecret: () => self.secret,
    };
  }

  concat(out: Out): unknown {
    return this.req.mode === 'value' ? evalConcat(out) : out.text();
  }

  contextVar(name: string): unknown {
    let v = this.vars.get(name);
    if (v !== undefined || this.vars.has(name)) return v;
    if (Object.hasOwn(this.req.vars, name)) {
      v = toPy(this.req.vars[name], () => {
        this.secret = true;
      });
      if (this.copyVars) v = deepCopy(v);
      this.vars.set(name, v);
      return v;
    }
    return this.globalVar(name);
  }

  globalVar(name: string): unknown {
    const hit = this.globalsCache.get(name);
    if (hit !== undefined) return hit;
    let v: unknown = MISSING;
    const g = this.env.globalEntry(name);
    if (g) v = new GlobalFunction(name, (a, k) => g.fn(this.callEnv, a, k), g.undefinedOk);
    else if (Object.hasOwn(JINJA_GLOBALS, name)) v = new GlobalFunction(name, JINJA_GLOBALS[name]!);
    if (v !== MISSING) this.globalsCache.set(name, v);
    return v;
  }

  load(name: string, _from: string): LoadedTemplate | undefined {
    return this.env.loadTemplate(name, this.req.file, this.options, this.req.lookup);
  }
}
