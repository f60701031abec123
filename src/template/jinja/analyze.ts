/**
 * Static analysis of a parsed template, for `kiln validate` to report problems before any host is
 * contacted: the filters, tests and global functions it uses, the templates it includes, and its
 * free variables (names read that the template does not bind itself), each with line and column.
 *
 * A free variable is `guarded` where the template itself checks it first: the subject of
 * `is defined` / `is undefined` or of `default` (`x.y | default(1)`), or inside a branch guarded by
 * such a test (`{% if x is defined %}…{{ x }}…`, `x is defined and x.y`, `… if x is defined else …`).
 */
import type { At, Expr, Stmt, TemplateNode } from './nodes.ts';

export interface NameUse {
  name: string;
  line: number;
  col: number;
}

export interface VariableUse extends NameUse {
  /** The path read: `haproxy.maxconn`, `users[0].name`, `hostvars[…].address` (`[…]`: a computed key). */
  path: string;
  guarded: boolean;
}

export interface TemplateAnalysis {
  /** Filters used (ansible.builtin./ansible.legacy. prefixes removed). */
  filters: NameUse[];
  tests: NameUse[];
  /** Names called as functions that the template does not bind (lookup, query, range, …, or an unknown name). */
  globals: NameUse[];
  /** Free variables, one entry per occurrence. */
  variables: VariableUse[];
  /** Constant template names of include, import, from-import and extends. */
  templates: NameUse[];
}

const GUARD_TESTS = new Set(['defined', 'undefined']);
const GUARD_FILTERS = new Set(['default', 'd']);

function plugin(name: string): string {
  return name.replace(/^ansible\.(builtin|legacy)\./, '');
}

/** The root name and static path of an attribute/item chain (`a.b['c']` → a, a.b.c). */
function chain(e: Expr): { name: string; path: string } | undefined {
  if (e.kind === 'Name') return { name: e.name, path: e.name };
  if (e.kind === 'Getattr') {
    const c = chain(e.node);
    return c && { name: c.name, path: `${c.path}.${e.attr}` };
  }
  if (e.kind === 'Getitem') {
    const c = chain(e.node);
    if (!c) return undefined;
    const k = e.arg.kind === 'Const' ? e.arg.value : undefined;
    if (typeof k === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return { name: c.name, path: `${c.path}.${k}` };
    if (typeof k === 'string') return { name: c.name, path: `${c.path}[${JSON.stringify(k)}]` };
    if (typeof k === 'number') return { name: c.name, path: `${c.path}[${k}]` };
    return { name: c.name, path: `${c.path}[…]` };
  }
  return undefined;
}

/** Names a condition proves defined (when true) or undefined (when true). */
function definedBy(e: Expr, positive: boolean): Set<string> {
  const out = new Set<string>();
  const walk = (x: Expr, pos: boolean) => {
    if (x.kind === 'Test' && GUARD_TESTS.has(plugin(x.name))) {
      const c = chain(x.node);
      const isDefined = plugin(x.name) === 'defined';
      if (c && isDefined === pos) out.add(c.path);
    } else if (x.kind === 'Not') walk(x.node, !pos);
    else if (x.kind === 'And' && pos) {
      walk(x.left, pos);
      walk(x.right, pos);
    } else if (x.kind === 'Or' && !pos) {
      walk(x.left, pos);
      walk(x.right, pos);
    }
  };
  walk(e, positive);
  return out;
}

class Analyzer {
  readonly result: TemplateAnalysis = { filters: [], tests: [], globals: [], variables: [], templates: [] };

  constructor(private readonly globalNames: ReadonlySet<string>) {}

  private use(list: NameUse[], name: string, at: At): void {
    list.push({ name, line: at.line, col: at.col });
  }

  /** Names bound by statements of one scope (not inside nested scopes). */
  private bound(stmts: Stmt[], into: Set<string>): Set<string> {
    const targets = (t: Expr) => {
      if (t.kind === 'Name') into.add(t.name);
      else if (t.kind === 'Tuple') t.items.forEach(targets);
    };
    for (const s of stmts) {
      switch (s.kind) {
        case 'Assign':
        case 'AssignBlock':
          targets(s.target);
          break;
        case 'Macro':
          into.add(s.name);
          break;
        case 'Import':
          into.add(s.target);
          break;
        case 'FromImport':
          for (const n of s.names) into.add(n.alias);
          break;
        case 'If':
          this.bound(s.body, into);
          for (const b of s.elif) this.bound(b.body, into);
          this.bound(s.else, into);
          break;
      }
    }
    return into;
  }

  private isBound(scopes: Set<string>[], name: string): boolean {
    return scopes.some((s) => s.has(name));
  }

  expr(e: Expr | null, scopes: Set<string>[], guards: Set<string>): void {
    if (!e) return;
    switch (e.kind) {
      case 'Name': {
        if (e.ctx !== 'load' || this.isBound(scopes, e.name) || e.name === 'self' || e.name === 'super') return;
        if (this.globalNames.has(e.name)) return;
        this.result.variables.push({ name: e.name, path: e.name, line: e.line, col: e.col, guarded: guards.has(e.name) });
        return;
      }
      case 'Getattr':
      case 'Getitem': {
        const c = chain(e);
        if (c && !this.isBound(scopes, c.name) && !this.globalNames.has(c.name) && c.name !== 'self' && c.name !== 'super') {
          const guarded = [...guards].some((g) => c.path === g || c.path.startsWith(`${g}.`) || g === c.name);
          this.result.variables.push({ name: c.name, path: c.path, line: e.line, col: e.col, guarded });
          if (e.kind === 'Getitem') this.expr(e.arg, scopes, guards);
          this.skipChain(e, scopes, guards);
          return;
        }
        this.expr(e.node, scopes, guards);
        if (e.kind === 'Getitem') this.expr(e.arg, scopes, guards);
        return;
      }
      case 'Call':
        if (e.node.kind === 'Name' && !this.isBound(scopes, e.node.name)) this.use(this.result.globals, e.node.name, e.node);
        else if (e.node.kind === 'Getattr')
          this.expr(e.node.node, scopes, guards); // a method call: the object is what is read
        else this.expr(e.node, scopes, guards);
        this.callArgs(e, scopes, guards);
        return;
      case 'Filter': {
        const name = plugin(e.name);
        this.use(this.result.filters, name, e);
        if (GUARD_FILTERS.has(name) && e.node) {
          const c = chain(e.node);
          this.expr(e.node, scopes, c ? new Set([...guards, c.path, c.name]) : guards);
        } else this.expr(e.node, scopes, guards);
        this.callArgs(e, scopes, guards);
        return;
      }
      case 'Test': {
        const name = plugin(e.name);
        this.use(this.result.tests, name, e);
        if (GUARD_TESTS.has(name)) {
          const c = chain(e.node);
          this.expr(e.node, scopes, c ? new Set([...guards, c.path, c.name]) : guards);
        } else this.expr(e.node, scopes, guards);
        this.callArgs(e, scopes, guards);
        return;
      }
      case 'And':
        this.expr(e.left, scopes, guards);
        this.expr(e.right, scopes, new Set([...guards, ...definedBy(e.left, true)]));
        return;
      case 'Or':
        this.expr(e.left, scopes, guards);
        this.expr(e.right, scopes, new Set([...guards, ...definedBy(e.left, false)]));
        return;
      case 'CondExpr':
        this.expr(e.test, scopes, guards);
        this.expr(e.expr1, scopes, new Set([...guards, ...definedBy(e.test, true)]));
        this.expr(e.expr2, scopes, new Set([...guards, ...definedBy(e.test, false)]));
        return;
      case 'Not':
      case 'Neg':
      case 'Pos':
        this.expr(e.node, scopes, guards);
        return;
      case 'BinOp':
        this.expr(e.left, scopes, guards);
        this.expr(e.right, scopes, guards);
        return;
      case 'Concat':
      case 'Tuple':
      case 'List':
        for (const n of e.kind === 'Concat' ? e.nodes : e.items) this.expr(n, scopes, guards);
        return;
      case 'Dict':
        for (const { key, value } of e.items) {
          this.expr(key, scopes, guards);
          this.expr(value, scopes, guards);
        }
        return;
      case 'Compare':
        this.expr(e.expr, scopes, guards);
        for (const o of e.ops) this.expr(o.expr, scopes, guards);
        return;
      case 'Slice':
        this.expr(e.start, scopes, guards);
        this.expr(e.stop, scopes, guards);
        this.expr(e.step, scopes, guards);
        return;
      case 'Const':
      case 'NSRef':
        return;
    }
  }

  /** Visits the non-chain parts (item keys) of an attribute chain already recorded as one variable use. */
  private skipChain(e: Expr, scopes: Set<string>[], guards: Set<string>): void {
    if (e.kind === 'Getattr') this.skipChain(e.node, scopes, guards);
    else if (e.kind === 'Getitem') {
      this.skipChain(e.node, scopes, guards);
      this.expr(e.arg, scopes, guards);
    }
  }

  private callArgs(
    c: { args: Expr[]; kwargs: { value: Expr }[]; dynArgs: Expr | null; dynKwargs: Expr | null },
    scopes: Set<string>[],
    guards: Set<string>,
  ): void {
    for (const a of c.args) this.expr(a, scopes, guards);
    for (const k of c.kwargs) this.expr(k.value, scopes, guards);
    this.expr(c.dynArgs, scopes, guards);
    this.expr(c.dynKwargs, scopes, guards);
  }

  private templateName(e: Expr): void {
    if (e.kind === 'Const' && typeof e.value === 'string') this.use(this.result.templates, e.value, e);
    else if (e.kind === 'List' || e.kind === 'Tuple') for (const i of e.items) this.templateName(i);
  }

  /** A body that opens a scope: its own bindings plus `extra`. */
  body(stmts: Stmt[], scopes: Set<string>[], guards: Set<string>, extra: string[] = []): void {
    const own = this.bound(stmts, new Set(extra));
    this.stmts(stmts, [...scopes, own], guards);
  }

  stmts(list: Stmt[], scopes: Set<string>[], guards: Set<string>): void {
    for (const s of list) this.stmt(s, scopes, guards);
  }

  private targetNames(t: Expr, into: string[] = []): string[] {
    if (t.kind === 'Name') into.push(t.name);
    else if (t.kind === 'Tuple') for (const i of t.items) this.targetNames(i, into);
    return into;
  }

  private stmt(s: Stmt, scopes: Set<string>[], guards: Set<string>): void {
    switch (s.kind) {
      case 'Output':
        for (const n of s.nodes) if (n.kind !== 'TemplateData') this.expr(n as Expr, scopes, guards);
        return;
      case 'If': {
        this.expr(s.test, scopes, guards);
        this.stmts(s.body, scopes, new Set([...guards, ...definedBy(s.test, true)]));
        let elseGuards = new Set([...guards, ...definedBy(s.test, false)]);
        for (const b of s.elif) {
          this.expr(b.test, scopes, elseGuards);
          this.stmts(b.body, scopes, new Set([...elseGuards, ...definedBy(b.test, true)]));
          elseGuards = new Set([...elseGuards, ...definedBy(b.test, false)]);
        }
        this.stmts(s.else, scopes, elseGuards);
        return;
      }
      case 'For': {
        this.expr(s.iter, scopes, guards);
        const names = this.targetNames(s.target);
        const loopScope = [...scopes, new Set([...names, 'loop'])];
        this.expr(s.test, loopScope, guards);
        this.body(s.body, scopes, guards, [...names, 'loop']);
        this.body(s.else, scopes, guards);
        return;
      }
      case 'Assign':
        this.expr(s.node, scopes, guards);
        if (s.target.kind === 'NSRef')
          this.expr({ kind: 'Name', name: s.target.name, ctx: 'load', line: s.target.line, col: s.target.col }, scopes, guards);
        return;
      case 'AssignBlock':
        this.body(s.body, scopes, guards);
        this.expr(s.filter, scopes, guards);
        return;
      case 'Macro':
        for (const d of s.defaults) this.expr(d, [...scopes, new Set(s.args)], guards);
        this.body(s.body, scopes, guards, [...s.args, 'varargs', 'kwargs', 'caller']);
        return;
      case 'CallBlock':
        this.expr(s.call, scopes, guards);
        for (const d of s.defaults) this.expr(d, [...scopes, new Set(s.args)], guards);
        this.body(s.body, scopes, guards, [...s.args, 'varargs', 'kwargs']);
        return;
      case 'FilterBlock':
        this.body(s.body, scopes, guards);
        this.expr(s.filter, scopes, guards);
        return;
      case 'With': {
        for (const v of s.values) this.expr(v, scopes, guards);
        const names = s.targets.flatMap((t) => this.targetNames(t));
        this.body(s.body, scopes, guards, names);
        return;
      }
      case 'Autoescape':
        this.expr(s.value, scopes, guards);
        this.body(s.body, scopes, guards);
        return;
      case 'Block':
        this.body(s.body, s.scoped ? scopes : scopes.slice(0, 1), guards);
        return;
      case 'Extends':
      case 'Include':
      case 'Import':
      case 'FromImport':
        this.templateName(s.template);
        this.expr(s.template, scopes, guards);
        return;
    }
  }
}

/** Analyses a parsed template. `globalNames`: names that resolve to global functions (not variables). */
export function analyze(ast: TemplateNode, globalNames: ReadonlySet<string>): TemplateAnalysis {
  const a = new Analyzer(globalNames);
  a.body(ast.body, [], new Set());
  return a.result;
}
