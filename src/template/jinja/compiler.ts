/**
 * Compiles a template's syntax tree into JavaScript closures once (cached by the environment), and
 * runs them: Jinja2's semantics over Python values, as ansible-core 2.14 configures Jinja2
 * (StrictUndefined-like AnsibleUndefined, a finalize that prints None as '', Python's getattr and
 * getitem, scoping of loops, macros, blocks, includes and imports).
 *
 * A compiled expression is `(frame) => value`; a statement `(frame, out) => void`.
 */
import type { CallEnv, FilterFn, FilterTable, Registered, TestFn, TestTable } from './callables.ts';
import { JinjaRuntimeError, JinjaSyntaxError, type Pos } from './errors.ts';
import { BoundMethod, isDictMethod, MUTATING_METHODS, methodImpl, methodOf } from './methods.ts';
import type { At, CallArgs, Expr, ExprOf, Stmt, StmtOf, TemplateData, TemplateNode } from './nodes.ts';
import { binop, compare, concatStr, iterate, neg, PySlice, pos, sliceSeq, unpack } from './operators.ts';
import {
  type Callable,
  condExprUndefined,
  contextLookup,
  GlobalFunction,
  isCallable,
  LoopContext,
  MISSING,
  Macro,
  type MacroExtras,
  Namespace,
  Out,
  PyObject,
  RuntimeMethod,
  Scope,
  TemplateModule,
  TemplateReference,
} from './runtime.ts';
import {
  dictGet,
  dictSet,
  isDict,
  isInt,
  isSequence,
  isStrictUndefined,
  isTuple,
  PlainUndefined,
  PyDictView,
  PyError,
  PyRange,
  pyRepr,
  pyStr,
  truthy,
  tuple,
  typeName,
  Undefined,
  UndefinedError,
  undefinedError,
} from './value.ts';

/** Filters whose result Ansible keeps as text even when it looks like a list or dict (C.STRING_TYPE_FILTERS). */
export const NATIVE_TEXT_FILTERS = new Set(['string', 'to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml', 'ppretty', 'json']);

type ExprFn = (f: Frame) => unknown;
type StmtFn = (f: Frame, out: Out) => void;

/** A template loaded for include/import/extends: its compiled form and file. */
export interface LoadedTemplate {
  compiled: Compiled;
  file: string;
  name: string;
}

/** What a render provides to compiled code. */
export interface Runtime {
  readonly callEnv: CallEnv;
  readonly filters: FilterTable;
  readonly tests: TestTable;
  /** Ansible's concat for macro bodies, block sets, call and filter blocks (template: text; value: literal_eval'd). */
  concat(out: Out): unknown;
  /** A name from the render's context: user variables, then globals (MISSING when absent). */
  contextVar(name: string): unknown;
  /** Globals only (imports without context). */
  globalVar(name: string): unknown;
  /** Loads a template by name for include/import/extends, relative to the including file. */
  load(name: string, from: string): LoadedTemplate | undefined;
  depth: number;
}

/** The context of one template render: its top-level variables and its blocks (shared along `extends`). */
interface Context {
  root: Scope;
  blocks: Map<string, BlockImpl[]>;
}

interface BlockImpl {
  body: StmtFn;
  scoped: boolean;
  tpl: TemplateState;
}

interface TemplateState {
  file: string;
  ctx: Context;
  parent?: LoadedTemplate;
}

export interface Frame {
  scope: Scope;
  rt: Runtime;
  tpl: TemplateState;
  /** At the template's top level (not in a macro, block or call body): output after `extends` is dropped. */
  toplevel: boolean;
  /** The value a filter block or block set passes to its filter chain. */
  hole?: unknown;
}

export interface Compiled {
  root: StmtFn;
  blocks: Map<string, { body: StmtFn; scoped: boolean }>;
  /** The template calls a method that changes its object (append, update, …): it gets its own copy of the variables. */
  mutates: boolean;
  ast: TemplateNode;
}

const MAX_DEPTH = 200;

function posOf(n: At): Pos {
  return { line: n.line, col: n.col };
}

/** Turns any error thrown while evaluating `node` into a JinjaRuntimeError located there (unless already located). */
export function locate(e: unknown, node: At, f: Frame): JinjaRuntimeError {
  if (e instanceof JinjaRuntimeError) return e;
  if (e instanceof UndefinedError) return new JinjaRuntimeError(e.message, e.at ?? posOf(node), e.variable, f.tpl.file);
  if (e instanceof PyError) return new JinjaRuntimeError(`${e.pyType}: ${e.message}`, posOf(node), undefined, f.tpl.file);
  if (e instanceof JinjaSyntaxError) return new JinjaRuntimeError(e.message, e.pos, undefined, e.file ?? f.tpl.file);
  if (e instanceof RangeError && /call stack/i.test(e.message))
    return new JinjaRuntimeError('RecursionError: maximum recursion depth exceeded', posOf(node), undefined, f.tpl.file);
  const msg = e instanceof Error ? e.message : String(e);
  return new JinjaRuntimeError(msg, posOf(node), undefined, f.tpl.file);
}

/** Wraps an expression so that what it throws is located at `node`. */
function guarded(node: At, fn: ExprFn): ExprFn {
  return (f) => {
    try {
      return fn(f);
    } catch (e) {
      throw locate(e, node, f);
    }
  };
}

/** Wraps a statement so that what it throws is located at `node`. */
function guardedStmt(node: At, fn: StmtFn): StmtFn {
  return (f, out) => {
    try {
      fn(f, out);
    } catch (e) {
      throw locate(e, node, f);
    }
  };
}

/** A frame like `f` with another scope (an object literal: faster than spreading). */
function inScope(f: Frame, scope: Scope): Frame {
  return { scope, rt: f.rt, tpl: f.tpl, toplevel: f.toplevel, hole: f.hole };
}

/** Jinja2's globals that are Python classes (range, dict, …); Ansible's templar methods (lookup, query, …). */
const CLASS_GLOBALS = new Set(['range', 'dict', 'cycler', 'joiner', 'namespace']);
const METHOD_GLOBALS = new Set(['lookup', 'query', 'q', 'now', 'undef']);

/** Jinja2's object_type_repr, for "… has no attribute" messages. */
function typeRepr(obj: unknown): string {
  if (obj === null) return 'None';
  if (obj instanceof PyObject) return obj.typeRepr;
  if (obj instanceof GlobalFunction)
    return CLASS_GLOBALS.has(obj.name) ? 'type object' : METHOD_GLOBALS.has(obj.name) ? 'method object' : 'function object';
  if (obj instanceof BoundMethod || obj instanceof RuntimeMethod) return 'builtin_function_or_method object';
  if (isCallable(obj)) return 'function object';
  return `${typeName(obj)} object`;
}

function missingAttr(obj: unknown, name: string, path: string, at: Pos): Undefined {
  return new Undefined(`${pyRepr(typeRepr(obj))} has no attribute ${pyRepr(name)}`, path, at);
}

function missingItem(obj: unknown, key: unknown, path: string, at: Pos): Undefined {
  if (typeof key === 'string') return missingAttr(obj, key, path, at);
  return new Undefined(`${typeRepr(obj)} has no element ${key instanceof PySlice ? sliceRepr(key) : pyRepr(key)}`, path, at);
}

function sliceRepr(s: PySlice): string {
  const r = (v: unknown) => (v === null || v === undefined ? 'None' : pyRepr(v));
  return `slice(${r(s.start)}, ${r(s.stop)}, ${r(s.step)})`;
}

/**
 * Python's special attributes (`__class__`, `__init__`, `__globals__`, …) are where Jinja2's
 * sandbox escapes start: refused, with the message of Jinja2's SandboxedEnvironment. (JavaScript's
 * own properties — constructor, __proto__, prototype, call — are never reached: attribute access
 * finds only dict keys and the emulated Python attributes and methods.)
 */
/** JavaScript's own `__x__` properties: not Python attributes, so to a template just missing ones (never reached). */
const JS_ONLY = new Set(['__proto__', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

function isSpecial(name: string): boolean {
  return name.length > 4 && name.startsWith('__') && name.endsWith('__') && !JS_ONLY.has(name);
}

function refuseDunder(obj: unknown, name: string): void {
  if (isSpecial(name))
    throw new PyError('SecurityError', `access to attribute '${name}' of '${typeRepr(obj).replace(/ object$/, '')}' object is unsafe.`);
}

/** Python's getattr, then the item (Jinja2's Environment.getattr). */
export function getattr(obj: unknown, name: string, path: string, at: Pos): unknown {
  if (obj instanceof Map && !isDictMethod(name) && !isSpecial(name)) {
    // The common case, `item.name` on a dict: a string key (no int/float/bool key equality involved).
    const v = obj.get(name);
    if (v !== undefined || obj.has(name)) return v;
    return missingAttr(obj, name, path, at);
  }
  if (obj instanceof PlainUndefined) throw undefinedError(obj);
  if (obj instanceof Undefined) return obj;
  refuseDunder(obj, name);
  const m = methodOf(obj, name);
  if (m) return m;
  if (obj instanceof PyObject) {
    const v = obj.attr(name);
    if (v !== MISSING) return v;
  }
  if (isTuple(obj)) {
    // A named tuple (groupby's (grouper, list)): a tuple carrying its field names in `fields`.
    const fields = (obj as { fields?: unknown }).fields;
    if (Array.isArray(fields)) {
      const i = fields.indexOf(name);
      if (i >= 0) return obj[i];
    }
  }
  if (isDict(obj)) {
    const v = dictGet(obj, name, MISSING);
    if (v !== MISSING) return v;
  }
  return missingAttr(obj, name, path, at);
}

/** The item, then Python's getattr for a string key (Jinja2's Environment.getitem). */
export function getitem(obj: unknown, key: unknown, path: string, at: Pos): unknown {
  if (obj instanceof PlainUndefined) throw undefinedError(obj);
  if (obj instanceof Undefined) return obj;
  if (isStrictUndefined(key)) throw undefinedError(key);
  if (isDict(obj)) {
    if (Array.isArray(key) && !isTuple(key)) throw new PyError('TypeError', "unhashable type: 'list'");
    if (isDict(key)) throw new PyError('TypeError', "unhashable type: 'dict'");
    const v = dictGet(obj, key, MISSING);
    if (v !== MISSING) return v;
  } else if ((isSequence(obj) && !(obj instanceof PyDictView)) || typeof obj === 'string') {
    if (key instanceof PySlice) return sliceSeq(obj, key);
    if (isInt(key) || typeof key === 'boolean') {
      const items = typeof obj === 'string' ? [...obj] : obj;
      let i = Number(key);
      if (i < 0) i += items.length;
      if (i >= 0 && i < items.length) return items[i];
      return missingItem(obj, key, path, at);
    }
  } else if (obj instanceof PyObject && typeof key === 'string') {
    // Runtime objects are not subscriptable: Jinja2 falls back to the attribute.
  }
  if (typeof key === 'string') {
    refuseDunder(obj, key);
    const m = methodOf(obj, key);
    if (m) return m;
    if (obj instanceof PyObject) {
      const v = obj.attr(key);
      if (v !== MISSING) return v;
    }
  }
  return missingItem(obj, key, path, at);
}

/** Calls a template value. */
export function callValue(fn: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
  if (fn instanceof Undefined) throw undefinedError(fn);
  if (fn instanceof BoundMethod) {
    for (const a of args) if (isStrictUndefined(a)) throw undefinedError(a);
    for (const a of kwargs.values()) if (isStrictUndefined(a)) throw undefinedError(a);
    return fn.invoke(args, kwargs);
  }
  if (isCallable(fn)) return fn.call(args, kwargs);
  throw new PyError('TypeError', `'${typeName(fn)}' object is not callable`);
}

/** Ansible's finalize for `{{ }}` output: fails on an Undefined anywhere inside, None → '', views and ranges → lists. */
export function finalize(v: unknown): string {
  if (typeof v === 'string') return v;
  failOnUndefined(v);
  if (v === null) return '';
  if (v instanceof PyDictView || v instanceof PyRange) return pyStr([...v]);
  return pyStr(v);
}

function failOnUndefined(v: unknown): void {
  if (isStrictUndefined(v)) throw undefinedError(v);
  if (isDict(v)) for (const x of v.values()) failOnUndefined(x);
  else if (Array.isArray(v)) for (const x of v) failOnUndefined(x);
}

/** The static dotted path of an expression (`haproxy.maxconn`, `x['a']`), for naming undefined variables. */
function pathOf(e: Expr): string {
  switch (e.kind) {
    case 'Name':
      return e.name;
    case 'Getattr':
      return `${pathOf(e.node)}.${e.attr}`;
    case 'Getitem':
      if (e.arg.kind === 'Const' && (typeof e.arg.value === 'string' || isInt(e.arg.value)))
        return typeof e.arg.value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e.arg.value)
          ? `${pathOf(e.node)}.${e.arg.value}`
          : `${pathOf(e.node)}[${pyRepr(e.arg.value)}]`;
      return `${pathOf(e.node)}[…]`;
    default:
      return '…';
  }
}

/** Normalises a filter/test name: ansible.builtin.X and ansible.legacy.X are X; other collections are refused. */
export function pluginName(name: string, kind: 'filter' | 'test', at: Pos): string {
  const m = /^ansible\.(builtin|legacy)\.(\w+)$/.exec(name);
  if (m) return m[2]!;
  if (name.includes('.'))
    throw new JinjaSyntaxError(
      `${kind} '${name}' is not supported: only ansible.builtin (and ansible.legacy) ${kind}s are available in Kiln`,
      at,
    );
  return name;
}

/** Names read (loaded) anywhere in a body, for a macro's varargs/kwargs/caller. */
function loadedNames(stmts: Stmt[], names: Set<string>): Set<string> {
  const found = new Set<string>();
  const visit = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    const node = n as { kind?: string; name?: string; ctx?: string };
    if (node.kind === 'Block') return;
    if (node.kind === 'Name' && node.ctx === 'load' && names.has(node.name!)) found.add(node.name!);
    for (const v of Object.values(node)) if (v && typeof v === 'object') visit(v);
  };
  visit(stmts);
  return found;
}

function assignsLoop(target: Expr): boolean {
  if (target.kind === 'Name') return target.name === 'loop';
  return target.kind === 'Tuple' && target.items.some(assignsLoop);
}

function hasScopedBlock(stmts: Stmt[]): boolean {
  let found = false;
  const visit = (n: unknown): void => {
    if (found || !n || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    const node = n as { kind?: string; scoped?: boolean };
    if (node.kind === 'Block' && node.scoped) found = true;
    for (const v of Object.values(node)) if (v && typeof v === 'object') visit(v);
  };
  visit(stmts);
  return found;
}

class Compiler {
  mutates = false;
  readonly blocks = new Map<string, { body: StmtFn; scoped: boolean }>();

  constructor(
    private readonly filters: FilterTable,
    private readonly tests: TestTable,
  ) {}

  // ------------------------------------------------------------------------------------------
  // Expressions

  expr(e: Expr, hole?: ExprFn): ExprFn {
    switch (e.kind) {
      case 'Const': {
        const v = e.value;
        return () => v;
      }
      case 'Name':
        return this.name(e);
      case 'Tuple': {
        const items = e.items.map((i) => this.expr(i, hole));
        return (f) => tuple(items.map((i) => i(f)));
      }
      case 'List': {
        const items = e.items.map((i) => this.expr(i, hole));
        return (f) => items.map((i) => i(f));
      }
      case 'Dict': {
        const items = e.items.map(({ key, value }) => [this.expr(key, hole), this.expr(value, hole)] as const);
        return guarded(e, (f) => {
          const d = new Map<unknown, unknown>();
          for (const [k, v] of items) {
            const key = k(f);
            if ((Array.isArray(key) && !isTuple(key)) || isDict(key)) throw new PyError('TypeError', `unhashable type: '${typeName(key)}'`);
            if (isStrictUndefined(key)) throw undefinedError(key);
            dictSet(d, key, v(f));
          }
          return d;
        });
      }
      case 'Getattr': {
        const obj = this.expr(e.node, hole);
        const path = pathOf(e);
        const at = posOf(e);
        const attr = e.attr;
        return guarded(e, (f) => getattr(obj(f), attr, path, at));
      }
      case 'Getitem': {
        const obj = this.expr(e.node, hole);
        const key = this.expr(e.arg, hole);
        const path = pathOf(e);
        const at = posOf(e);
        return guarded(e, (f) => getitem(obj(f), key(f), path, at));
      }
      case 'Slice': {
        const start = e.start ? this.expr(e.start, hole) : () => null;
        const stop = e.stop ? this.expr(e.stop, hole) : () => null;
        const step = e.step ? this.expr(e.step, hole) : () => null;
        return (f) => new PySlice(start(f), stop(f), step(f));
      }
      case 'Call':
        return this.call(e, hole);
      case 'Filter':
        return this.filter(e, hole);
      case 'Test':
        return this.test(e, hole);
      case 'CondExpr': {
        const test = this.expr(e.test, hole);
        const a = this.expr(e.expr1, hole);
        const b = e.expr2 ? this.expr(e.expr2, hole) : null;
        const line = e.line;
        return guarded(e, (f) => (truthy(test(f)) ? a(f) : b ? b(f) : condExprUndefined(line)));
      }
      case 'And': {
        const l = this.expr(e.left, hole);
        const r = this.expr(e.right, hole);
        return guarded(e, (f) => {
          const v = l(f);
          return truthy(v) ? r(f) : v;
        });
      }
      case 'Or': {
        const l = this.expr(e.left, hole);
        const r = this.expr(e.right, hole);
        return guarded(e, (f) => {
          const v = l(f);
          return truthy(v) ? v : r(f);
        });
      }
      case 'Not': {
        const v = this.expr(e.node, hole);
        return guarded(e, (f) => !truthy(v(f)));
      }
      case 'Neg': {
        const v = this.expr(e.node, hole);
        return guarded(e, (f) => neg(v(f)));
      }
      case 'Pos': {
        const v = this.expr(e.node, hole);
        return guarded(e, (f) => pos(v(f)));
      }
      case 'BinOp': {
        const l = this.expr(e.left, hole);
        const r = this.expr(e.right, hole);
        const op = e.op;
        return guarded(e, (f) => binop(op, l(f), r(f)));
      }
      case 'Concat': {
        const parts = e.nodes.map((n) => this.expr(n, hole));
        return guarded(e, (f) => {
          let out = '';
          for (const p of parts) out += concatStr(p(f));
          return out;
        });
      }
      case 'Compare': {
        const first = this.expr(e.expr, hole);
        const ops = e.ops.map(({ op, expr }) => ({ op, expr: this.expr(expr, hole) }));
        return guarded(e, (f) => {
          let left = first(f);
          for (const { op, expr } of ops) {
            const right = expr(f);
            if (!compare(op, left, right)) return false;
            left = right;
          }
          return true;
        });
      }
      case 'NSRef':
        throw new JinjaSyntaxError("can't use a namespace reference here", posOf(e));
    }
  }

  private name(e: ExprOf<'Name'>): ExprFn {
    const name = e.name;
    const at = posOf(e);
    if (name === 'self') {
      return (f) => {
        const v = f.scope.get('self');
        if (v !== MISSING && !(v instanceof Undefined)) return v;
        return new TemplateReference((block) => {
          const impls = f.tpl.ctx.blocks.get(block);
          if (!impls?.length) return undefined;
          return { call: () => this.renderBlock(f, block, impls, 0) };
        });
      };
    }
    return (f) => {
      const v = f.scope.get(name);
      return v === MISSING ? new Undefined(`${pyRepr(name)} is undefined`, name, at) : v;
    };
  }

  private args(c: CallArgs, hole?: ExprFn): (f: Frame) => { args: unknown[]; kwargs: Map<string, unknown> } {
    const args = c.args.map((a) => this.expr(a, hole));
    const kwargs = c.kwargs.map((k) => [k.key, this.expr(k.value, hole)] as const);
    const dynArgs = c.dynArgs ? this.expr(c.dynArgs, hole) : null;
    const dynKwargs = c.dynKwargs ? this.expr(c.dynKwargs, hole) : null;
    return (f) => {
      const a = args.map((x) => x(f));
      if (dynArgs) a.push(...iterate(dynArgs(f)));
      const kw = new Map<string, unknown>();
      for (const [k, v] of kwargs) kw.set(k, v(f));
      if (dynKwargs) {
        const d = dynKwargs(f);
        if (isStrictUndefined(d)) throw undefinedError(d);
        if (!isDict(d)) throw new PyError('TypeError', `argument after ** must be a mapping, not ${typeName(d)}`);
        for (const [k, v] of d) {
          if (typeof k !== 'string') throw new PyError('TypeError', 'keywords must be strings');
          if (kw.has(k)) throw new PyError('TypeError', `got multiple values for keyword argument '${k}'`);
          kw.set(k, v);
        }
      }
      return { args: a, kwargs: kw };
    };
  }

  private call(e: ExprOf<'Call'>, hole?: ExprFn, extraKwargs?: (f: Frame) => Map<string, unknown>): ExprFn {
    const args = this.args(e, hole);
    if (e.node.kind === 'Getattr' && !extraKwargs) {
      // obj.method(...): call Python's method directly, without a bound method object.
      if (MUTATING_METHODS.has(e.node.attr)) this.mutates = true;
      const obj = this.expr(e.node.node, hole);
      const name = e.node.attr;
      const path = pathOf(e.node);
      const at = posOf(e.node);
      return guarded(e, (f) => {
        const self = obj(f);
        const a = args(f);
        const impl = methodImpl(self, name);
        if (impl) {
          for (const x of a.args) if (isStrictUndefined(x)) throw undefinedError(x);
          for (const x of a.kwargs.values()) if (isStrictUndefined(x)) throw undefinedError(x);
          return impl(self, a.args, a.kwargs);
        }
        return callValue(getattr(self, name, path, at), a.args, a.kwargs);
      });
    }
    const callee = this.expr(e.node, hole);
    return guarded(e, (f) => {
      const fn = callee(f);
      const a = args(f);
      if (extraKwargs) for (const [k, v] of extraKwargs(f)) a.kwargs.set(k, v);
      return callValue(fn, a.args, a.kwargs);
    });
  }

  private filter(e: ExprOf<'Filter'>, hole?: ExprFn): ExprFn {
    const at = posOf(e);
    const reg = this.registered(this.filters, e.name, 'filter', at);
    const base = e.node ? this.expr(e.node, hole) : hole;
    if (!base) throw new JinjaSyntaxError('a filter needs a value', at);
    return this.callRegistered(e, reg, base, this.args(e, hole));
  }

  private test(e: ExprOf<'Test'>, hole?: ExprFn): ExprFn {
    const reg = this.registered(this.tests, e.name, 'test', posOf(e));
    return this.callRegistered(e, reg, this.expr(e.node, hole), this.args(e, hole));
  }

  /** The filter or test a (possibly ansible.builtin-qualified) name refers to; a located error if none. */
  private registered<F>(table: Record<string, Registered<F>>, raw: string, kind: 'filter' | 'test', at: Pos): Registered<F> {
    const name = pluginName(raw, kind, at);
    const reg = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!reg) throw new JinjaSyntaxError(`no ${kind} named ${pyRepr(name)}`, at);
    if (name !== raw && !reg.plugin)
      throw new JinjaSyntaxError(
        `could not load ${kind} "${raw}": Jinja2's own ${kind}s have no collection name in Ansible (write '${name}')`,
        at,
      );
    return reg;
  }

  /** Calls a filter or test on its value; Undefined arguments raise first unless it handles them. */
  private callRegistered(
    e: Expr,
    reg: Registered<FilterFn> | Registered<TestFn>,
    base: ExprFn,
    args: (f: Frame) => { args: unknown[]; kwargs: Map<string, unknown> },
  ): ExprFn {
    return guarded(e, (f) => {
      const v = base(f);
      const a = args(f);
      if (!reg.undefinedOk) {
        if (isStrictUndefined(v)) throw undefinedError(v);
        for (const x of a.args) if (isStrictUndefined(x)) throw undefinedError(x);
        for (const x of a.kwargs.values()) if (isStrictUndefined(x)) throw undefinedError(x);
      }
      return reg.fn(f.rt.callEnv, v, a.args, a.kwargs);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Assignment

  private assigner(target: Expr): (f: Frame, v: unknown, into: Scope) => void {
    switch (target.kind) {
      case 'Name': {
        const name = target.name;
        return (_f, v, into) => {
          into.vars.set(name, v);
        };
      }
      case 'Tuple': {
        const parts = target.items.map((t) => this.assigner(t));
        return (f, v, into) => {
          const items = unpack(v, parts.length);
          parts.forEach((p, i) => p(f, items[i], into));
        };
      }
      case 'NSRef': {
        const { name, attr } = target;
        return (f, v) => {
          const ns = f.scope.get(name);
          if (!(ns instanceof Namespace)) throw new PyError('TemplateRuntimeError', 'cannot assign attribute on non-namespace object');
          ns.attrs.set(attr, v);
        };
      }
      default:
        throw new JinjaSyntaxError(`can't assign to ${pyRepr(target.kind.toLowerCase())}`, posOf(target));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Statements

  stmts(list: Stmt[]): StmtFn {
    const fns = list.map((s) => this.stmt(s));
    if (fns.length === 1) return fns[0]!;
    return (f, out) => {
      for (const fn of fns) fn(f, out);
    };
  }

  private stmt(s: Stmt): StmtFn {
    switch (s.kind) {
      case 'Output':
        return this.output(s);
      case 'If': {
        const branches = [{ test: this.expr(s.test), body: this.stmts(s.body), at: s as At }].concat(
          s.elif.map((b) => ({ test: this.expr(b.test), body: this.stmts(b.body), at: b.test as At })),
        );
        const otherwise = this.stmts(s.else);
        return (f, out) => {
          for (const b of branches) {
            let ok: boolean;
            try {
              ok = truthy(b.test(f));
            } catch (e) {
              throw locate(e, b.at, f);
            }
            if (ok) return b.body(f, out);
          }
          otherwise(f, out);
        };
      }
      case 'For':
        return this.forLoop(s);
      case 'Assign': {
        const value = this.expr(s.node);
        const assign = this.assigner(s.target);
        return guardedStmt(s, (f) => assign(f, value(f), f.scope));
      }
      case 'AssignBlock': {
        const body = this.stmts(s.body);
        const assign = this.assigner(s.target);
        const filter = s.filter ? this.expr(s.filter, (f) => f.hole) : null;
        return guardedStmt(s, (f) => {
          const inner = inScope(f, new Scope(f.scope));
          const o = new Out();
          body(inner, o);
          let v = f.rt.concat(o);
          if (filter) {
            inner.hole = v;
            v = filter(inner);
          }
          assign(f, v, f.scope);
        });
      }
      case 'Macro': {
        const make = this.macro(s.name, s.args, s.defaults, s.body, s);
        const name = s.name;
        return (f) => {
          f.scope.vars.set(name, make(f));
        };
      }
      case 'CallBlock': {
        const make = this.macro('caller', s.args, s.defaults, s.body, s);
        const call = this.call(s.call, undefined, (f) => new Map([['caller', make(f)]]));
        // Jinja2 writes a call block's output even after `extends` (unlike other output).
        return guardedStmt(s, (f, out) => {
          const v = call(f);
          if (isStrictUndefined(v)) throw undefinedError(v);
          out.push(pyStr(v));
        });
      }
      case 'FilterBlock': {
        const body = this.stmts(s.body);
        const filter = this.expr(s.filter, (f) => f.hole);
        return guardedStmt(s, (f, out) => {
          if (f.toplevel && f.tpl.parent) return;
          const inner = inScope(f, new Scope(f.scope));
          const o = new Out();
          body(inner, o);
          inner.hole = f.rt.concat(o);
          const v = filter(inner);
          if (isStrictUndefined(v)) throw undefinedError(v);
          out.push(pyStr(v));
        });
      }
      case 'With': {
        const values = s.values.map((v) => this.expr(v));
        const targets = s.targets.map((t) => this.assigner(t));
        const body = this.stmts(s.body);
        return (f, out) => {
          let vals: unknown[];
          try {
            vals = values.map((v) => v(f));
          } catch (e) {
            throw locate(e, s, f);
          }
          const inner = inScope(f, new Scope(f.scope));
          targets.forEach((t, i) => t(inner, vals[i], inner.scope));
          body(inner, out);
        };
      }
      case 'Autoescape': {
        const value = this.expr(s.value);
        const body = this.stmts(s.body);
        return (f, out) => {
          let on: boolean;
          try {
            on = truthy(value(f));
          } catch (e) {
            throw locate(e, s, f);
          }
          if (on)
            throw new JinjaRuntimeError('autoescape (HTML escaping) is not supported in Kiln templates', posOf(s), undefined, f.tpl.file);
          body(inScope(f, new Scope(f.scope)), out);
        };
      }
      case 'Block':
        return this.block(s);
      case 'Extends': {
        const template = this.expr(s.template);
        return guardedStmt(s, (f) => {
          if (f.tpl.parent) throw new PyError('TemplateRuntimeError', 'extended multiple times');
          const parent = this.loadOne(f, template(f), s);
          f.tpl.parent = parent;
          for (const [name, b] of parent.compiled.blocks) {
            const list = f.tpl.ctx.blocks.get(name) ?? [];
            list.push({ ...b, tpl: { file: parent.file, ctx: f.tpl.ctx } });
            f.tpl.ctx.blocks.set(name, list);
          }
        });
      }
      case 'Include':
        return this.include(s);
      case 'Import': {
        const template = this.expr(s.template);
        const { target, withContext } = s;
        return guardedStmt(s, (f) => {
          f.scope.vars.set(target, this.importModule(f, template(f), withContext, s));
        });
      }
      case 'FromImport': {
        const template = this.expr(s.template);
        const { names, withContext } = s;
        return guardedStmt(s, (f) => {
          const name = template(f);
          const mod = this.importModule(f, name, withContext, s);
          for (const n of names) {
            const v = mod.exported.has(n.name)
              ? mod.exported.get(n.name)
              : new Undefined(
                  `the template ${pyRepr(pyStr(name))} (imported on line ${s.line}) does not export the requested name ${pyRepr(n.name)}`,
                  n.name,
                  posOf(n.at),
                );
            f.scope.vars.set(n.alias, v);
          }
        });
      }
    }
  }

  private output(s: StmtOf<'Output'>): StmtFn {
    const parts = s.nodes.map((n): ((f: Frame, out: Out) => void) => {
      if (n.kind === 'TemplateData') {
        const data = (n as TemplateData).data;
        return (f, out) => {
          if (f.toplevel && f.tpl.parent) return;
          out.push(data);
          out.nativeText = false;
        };
      }
      const e = this.expr(n as Expr);
      const nativeText = n.kind === 'Filter' && NATIVE_TEXT_FILTERS.has(n.name.replace(/^ansible\.(builtin|legacy)\./, ''));
      return (f, out) => {
        if (f.toplevel && f.tpl.parent) return;
        let text: string;
        try {
          text = finalize(e(f));
        } catch (err) {
          throw locate(err, n, f);
        }
        out.push(text);
        out.nativeText = nativeText;
      };
    });
    if (parts.length === 1) return parts[0]!;
    return (f, out) => {
      for (const p of parts) p(f, out);
    };
  }

  private forLoop(s: StmtOf<'For'>): StmtFn {
    if (assignsLoop(s.target)) throw new JinjaSyntaxError("Can't assign to special loop variable in for-loop target", posOf(s.target));
    // Jinja2 defines `loop` only when the body uses it (so an included template does not see it otherwise).
    const extended = s.recursive || loadedNames(s.body, new Set(['loop'])).has('loop') || hasScopedBlock(s.body);
    const iter = this.expr(s.iter);
    const assign = this.assigner(s.target);
    const test = s.test ? this.expr(s.test) : null;
    const body = this.stmts(s.body);
    const otherwise = this.stmts(s.else);
    const run = (f: Frame, iterable: unknown, depth0: number, out: Out): void => {
      let items: unknown[];
      try {
        items = [...iterate(iterable)];
        if (test) {
          items = items.filter((item) => {
            const scope = new Scope(f.scope);
            assign(f, item, scope);
            return truthy(test(inScope(f, scope)));
          });
        }
      } catch (e) {
        throw locate(e, s.iter, f);
      }
      const recurse = s.recursive
        ? (next: unknown, depth: number) => {
            const o = new Out();
            run(f, next, depth, o);
            return f.rt.concat(o);
          }
        : null;
      const loop = new LoopContext(items, depth0, recurse);
      for (let i = 0; i < items.length; i++) {
        loop.index0 = i;
        const scope = new Scope(f.scope);
        if (extended) scope.vars.set('loop', loop);
        const inner = inScope(f, scope);
        try {
          assign(inner, items[i], scope);
        } catch (e) {
          throw locate(e, s.target, f);
        }
        body(inner, out);
      }
      if (!items.length) otherwise(inScope(f, new Scope(f.scope)), out);
    };
    return (f, out) => {
      let iterable: unknown;
      try {
        iterable = iter(f);
      } catch (e) {
        throw locate(e, s.iter, f);
      }
      run(f, iterable, 0, out);
    };
  }

  /** A macro factory: given the defining frame, the Macro object. */
  private macro(name: string, argNames: string[], defaults: Expr[], bodyStmts: Stmt[], at: At): (f: Frame) => Macro {
    const body = this.stmts(bodyStmts);
    const defaultFns = defaults.map((d) => this.expr(d));
    const firstDefault = argNames.length - defaults.length;
    const special = loadedNames(bodyStmts, new Set(['caller', 'kwargs', 'varargs']));
    const callerIdx = argNames.indexOf('caller');
    if (special.has('caller') && callerIdx >= 0 && callerIdx < firstDefault)
      throw new JinjaSyntaxError(
        "When defining macros or call blocks the special 'caller' argument must be omitted or be given a default.",
        posOf(at),
      );
    const catchKwargs = special.has('kwargs') && !argNames.includes('kwargs');
    const catchVarargs = special.has('varargs') && !argNames.includes('varargs');
    const callerParam = special.has('caller') && callerIdx < 0;
    return (def) =>
      new Macro(name, argNames, catchKwargs, catchVarargs, callerParam, (bound: unknown[], extras: MacroExtras) => {
        const rt = def.rt;
        if (++rt.depth > MAX_DEPTH) {
          rt.depth = 0;
          throw new PyError('RecursionError', 'maximum recursion depth exceeded');
        }
        try {
          const scope = new Scope(def.scope);
          const f: Frame = { scope, rt: def.rt, tpl: def.tpl, toplevel: false, hole: undefined };
          argNames.forEach((arg, i) => {
            let v = bound[i];
            if (v === MISSING) {
              v = i >= firstDefault ? defaultFns[i - firstDefault]!(f) : new Undefined(`parameter ${pyRepr(arg)} was not provided`, arg);
            }
            scope.vars.set(arg, v);
          });
          if ('caller' in extras) scope.vars.set('caller', extras.caller);
          if ('kwargs' in extras) scope.vars.set('kwargs', extras.kwargs);
          if ('varargs' in extras) scope.vars.set('varargs', extras.varargs);
          const out = new Out();
          body(f, out);
          return rt.concat(out);
        } finally {
          rt.depth--;
        }
      });
  }

  private block(s: StmtOf<'Block'>): StmtFn {
    const body = this.stmts(s.body);
    if (this.blocks.has(s.name)) throw new JinjaSyntaxError(`block ${pyRepr(s.name)} defined twice`, posOf(s));
    this.blocks.set(s.name, { body, scoped: s.scoped });
    const name = s.name;
    return (f, out) => {
      if (f.toplevel && f.tpl.parent) return;
      const impls = f.tpl.ctx.blocks.get(name);
      if (!impls?.length) return;
      const text = this.renderBlock(f, name, impls, 0);
      out.push(text);
      out.nativeText = false;
    };
  }

  private renderBlock(f: Frame, name: string, impls: BlockImpl[], index: number): string {
    const impl = impls[index]!;
    const scope = new Scope(impl.scoped ? f.scope : f.tpl.ctx.root);
    if (index + 1 < impls.length) scope.vars.set('super', { call: () => this.renderBlock(f, name, impls, index + 1) } satisfies Callable);
    else scope.vars.set('super', new Undefined(`there is no parent block called ${pyRepr(name)}.`, 'super'));
    const o = new Out();
    impl.body({ scope, rt: f.rt, tpl: { file: impl.tpl.file, ctx: f.tpl.ctx }, toplevel: false }, o);
    return o.text();
  }

  private include(s: StmtOf<'Include'>): StmtFn {
    const template = this.expr(s.template);
    const { ignoreMissing, withContext } = s;
    return guardedStmt(s, (f, out) => {
      if (f.toplevel && f.tpl.parent) return;
      const names = template(f);
      const loaded = this.loadAny(f, names, s, ignoreMissing);
      if (!loaded) return;
      const get = withContext ? (n: string) => f.scope.get(n) : (n: string) => f.rt.globalVar(n);
      runTemplate(loaded, new Scope(null, contextLookup(get, loaded.compiled.mutates)), f.rt, out);
    });
  }

  private importModule(f: Frame, name: unknown, withContext: boolean, at: At): TemplateModule {
    const loaded = this.loadOne(f, name, at);
    const get = withContext ? (n: string) => f.scope.get(n) : (n: string) => f.rt.globalVar(n);
    const root = new Scope(null, contextLookup(get, loaded.compiled.mutates));
    const o = new Out();
    runTemplate(loaded, root, f.rt, o);
    const exported = new Map<string, unknown>();
    for (const [k, v] of root.vars) if (!k.startsWith('_')) exported.set(k, v);
    return new TemplateModule(loaded.name, exported, o.text());
  }

  private loadOne(f: Frame, name: unknown, at: At): LoadedTemplate {
    if (isStrictUndefined(name)) throw undefinedError(name);
    if (typeof name !== 'string') throw new PyError('TypeError', `template name must be a string, not ${typeName(name)}`);
    const t = f.rt.load(name, f.tpl.file);
    if (!t) throw new JinjaRuntimeError(`TemplateNotFound: ${name}`, posOf(at), undefined, f.tpl.file);
    return t;
  }

  private loadAny(f: Frame, names: unknown, at: At, ignoreMissing: boolean): LoadedTemplate | undefined {
    if (isStrictUndefined(names)) throw undefinedError(names);
    const list = typeof names === 'string' ? [names] : isSequence(names) ? names : null;
    if (!list) throw new PyError('TypeError', `template name must be a string or a list, not ${typeName(names)}`);
    for (const n of list) {
      if (typeof n !== 'string') throw new PyError('TypeError', `template name must be a string, not ${typeName(n)}`);
      const t = f.rt.load(n, f.tpl.file);
      if (t) return t;
    }
    if (ignoreMissing) return undefined;
    if (typeof names === 'string') throw new JinjaRuntimeError(`TemplateNotFound: ${names}`, posOf(at), undefined, f.tpl.file);
    throw new JinjaRuntimeError(
      `TemplatesNotFound: none of the templates given were found: ${list.map((n) => pyStr(n)).join(', ')}`,
      posOf(at),
      undefined,
      f.tpl.file,
    );
  }
}

/** Compiles a parsed template (errors: JinjaSyntaxError, e.g. an unknown filter). */
export function compileTemplate(ast: TemplateNode, filters: FilterTable, tests: TestTable): Compiled {
  const c = new Compiler(filters, tests);
  const root = c.stmts(ast.body);
  return { root, blocks: c.blocks, mutates: c.mutates, ast };
}

/** Compiles a bare expression (for `evaluate`). */
export function compileExpression(e: Expr, filters: FilterTable, tests: TestTable): { fn: ExprFn; mutates: boolean } {
  const c = new Compiler(filters, tests);
  const fn = c.expr(e);
  return { fn, mutates: c.mutates };
}

/** Runs a template's top level with `root` as its context's variables, following `extends`. */
export function runTemplate(t: LoadedTemplate, root: Scope, rt: Runtime, out: Out): void {
  const ctx: Context = { root, blocks: new Map() };
  const tpl: TemplateState = { file: t.file, ctx };
  for (const [name, b] of t.compiled.blocks) ctx.blocks.set(name, [{ ...b, tpl }]);
  if (++rt.depth > MAX_DEPTH) {
    rt.depth = 0;
    throw new JinjaRuntimeError('RecursionError: maximum recursion depth exceeded (include/import loop?)', undefined, undefined, t.file);
  }
  try {
    let current: LoadedTemplate = t;
    let state = tpl;
    for (;;) {
      current.compiled.root({ scope: root, rt, tpl: state, toplevel: true }, out);
      if (!state.parent) break;
      current = state.parent;
      state = { file: current.file, ctx };
    }
  } finally {
    rt.depth--;
  }
}
