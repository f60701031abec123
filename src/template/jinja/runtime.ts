/**
 * The runtime objects of a render (jinja2/runtime.py and jinja2/utils.py): variable scopes, the
 * output buffer, the `loop` object, macros, `namespace()`, `cycler()`, `joiner()`, and the
 * protocol the interpreter uses for their attributes and calls.
 */
import {
  isStrictUndefined,
  PlainUndefined,
  PyDictView,
  PyError,
  PyRange,
  PyTuple,
  pyEquals,
  pyRepr,
  tuple,
  Undefined,
  undefinedError,
} from './value.ts';

/** Marks an absent variable or attribute (distinct from None, which is null). */
export const MISSING: unique symbol = Symbol('missing');

/**
 * A Python object of the runtime (loop, macro, namespace, …): `attr` is Python's getattr (MISSING
 * when absent), `call` makes it callable, `typeRepr` is Jinja2's object_type_repr for messages.
 */
export abstract class PyObject {
  abstract readonly typeRepr: string;
  attr(_name: string): unknown {
    return MISSING;
  }
}

export interface Callable {
  call(args: unknown[], kwargs: Map<string, unknown>): unknown;
}

export function isCallable(v: unknown): v is Callable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<Callable>).call === 'function';
}

/** A scope of variables: the template's context (top level), a loop iteration, a macro call, a with block. */
export class Scope {
  readonly vars = new Map<string, unknown>();
  constructor(
    readonly parent: Scope | null,
    /** Where names go after this scope when it has no parent: the render context (user variables, globals). */
    readonly fallback?: (name: string) => unknown,
  ) {}

  get(name: string): unknown {
    let s: Scope | null = this;
    for (;;) {
      const v = s.vars.get(name);
      if (v !== undefined || s.vars.has(name)) return v;
      if (s.parent) s = s.parent;
      else return s.fallback ? s.fallback(name) : MISSING;
    }
  }
}

/** What a render writes: text, and how many output nodes wrote it (Ansible's concat looks at one node specially). */
export class Out {
  private buf = '';
  nodes = 0;
  /** The single node was the result of a filter Ansible marks as text (to_json, to_yaml, string, …). */
  nativeText = false;

  push(s: string): void {
    this.buf += s;
    this.nodes++;
  }

  text(): string {
    return this.buf;
  }
}

/** The `loop` variable of a for loop. */
export class LoopContext extends PyObject implements Callable {
  readonly typeRepr = 'jinja2.runtime.LoopContext object';
  index0 = -1;
  private lastChanged: unknown[] | undefined;

  constructor(
    private readonly items: unknown[],
    readonly depth0: number,
    private readonly recurse: ((items: unknown, depth: number) => unknown) | null,
  ) {
    super();
  }

  get length(): number {
    return this.items.length;
  }

  override attr(name: string): unknown {
    switch (name) {
      case 'index':
        return this.index0 + 1;
      case 'index0':
        return this.index0;
      case 'revindex':
        return this.items.length - this.index0;
      case 'revindex0':
        return this.items.length - this.index0 - 1;
      case 'first':
        return this.index0 === 0;
      case 'last':
        return this.index0 === this.items.length - 1;
      case 'length':
        return this.items.length;
      case 'depth':
        return this.depth0 + 1;
      case 'depth0':
        return this.depth0;
      case 'previtem':
        return this.index0 === 0 ? new Undefined('there is no previous item', 'loop.previtem') : this.items[this.index0 - 1];
      case 'nextitem':
        return this.index0 >= this.items.length - 1 ? new Undefined('there is no next item', 'loop.nextitem') : this.items[this.index0 + 1];
      case 'cycle':
        return method((args) => {
          if (!args.length) throw new PyError('TypeError', 'no items for cycling given');
          return args[this.index0 % args.length];
        });
      case 'changed':
        return method((args) => {
          if (this.lastChanged === undefined || !pyEquals(tuple(this.lastChanged), tuple(args))) {
            this.lastChanged = args;
            return true;
          }
          return false;
        });
      default:
        return MISSING;
    }
  }

  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    if (!this.recurse) throw new PyError('TypeError', "The loop must have the 'recursive' marker to be called recursively.");
    if (args.length !== 1 || kwargs.size)
      throw new PyError('TypeError', `__call__() takes 2 positional arguments but ${args.length + 1} were given`);
    return this.recurse(args[0], this.depth0 + 1);
  }

  override toString(): string {
    return `<LoopContext ${this.index0 + 1}/${this.items.length}>`;
  }
}

/** A method of a runtime object (loop.cycle, cycler.next, …). */
export class RuntimeMethod implements Callable {
  constructor(readonly fn: (args: unknown[], kwargs: Map<string, unknown>) => unknown) {}
  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    return this.fn(args, kwargs);
  }
  toString(): string {
    return '<bound method>';
  }
}

function method(fn: (args: unknown[], kwargs: Map<string, unknown>) => unknown): RuntimeMethod {
  return new RuntimeMethod(fn);
}

/** Extra arguments a macro body receives besides its parameters. */
export interface MacroExtras {
  caller?: unknown;
  varargs?: unknown;
  kwargs?: unknown;
}

/** A macro (`{% macro %}`, or the `caller` of a call block), with Jinja2's argument binding. */
export class Macro extends PyObject implements Callable {
  readonly typeRepr = 'jinja2.runtime.Macro object';
  private readonly explicitCaller: boolean;

  constructor(
    readonly name: string,
    readonly argNames: string[],
    readonly catchKwargs: boolean,
    readonly catchVarargs: boolean,
    readonly callerParam: boolean,
    private readonly invoke: (args: unknown[], extras: MacroExtras) => unknown,
  ) {
    super();
    this.explicitCaller = argNames.includes('caller');
  }

  override attr(name: string): unknown {
    switch (name) {
      case 'name':
        return this.name;
      case 'arguments':
        return tuple(this.argNames);
      case 'catch_kwargs':
        return this.catchKwargs;
      case 'catch_varargs':
        return this.catchVarargs;
      case 'caller':
        return this.callerParam;
      default:
        return MISSING;
    }
  }

  call(args: unknown[], kwargsIn: Map<string, unknown>): unknown {
    const kwargs = kwargsIn.size ? new Map(kwargsIn) : kwargsIn;
    const count = this.argNames.length;
    const bound: unknown[] = args.slice(0, count);
    let foundCaller = false;
    if (bound.length !== count) {
      for (const name of this.argNames.slice(bound.length)) {
        let value: unknown = MISSING;
        if (kwargs.has(name)) {
          value = kwargs.get(name);
          kwargs.delete(name);
        }
        if (name === 'caller') foundCaller = true;
        bound.push(value);
      }
    } else foundCaller = this.explicitCaller;
    const extras: MacroExtras = {};
    if (this.callerParam && !foundCaller) {
      let caller = kwargs.get('caller');
      kwargs.delete('caller');
      if (caller === undefined || caller === null) caller = new Undefined('No caller defined', 'caller');
      extras.caller = caller;
    }
    if (this.catchKwargs) extras.kwargs = new Map(kwargs);
    else if (kwargs.size) {
      if (kwargs.has('caller'))
        throw new PyError(
          'TypeError',
          `macro ${pyRepr(this.name)} was invoked with two values for the special caller argument. This is most likely a bug.`,
        );
      throw new PyError('TypeError', `macro ${pyRepr(this.name)} takes no keyword argument ${pyRepr(kwargs.keys().next().value)}`);
    }
    if (this.catchVarargs) extras.varargs = tuple(args.slice(count));
    else if (args.length > count) throw new PyError('TypeError', `macro ${pyRepr(this.name)} takes not more than ${count} argument(s)`);
    return this.invoke(bound, extras);
  }

  override toString(): string {
    return `<Macro ${pyRepr(this.name)}>`;
  }
}

/** `namespace(...)`: the one object a template may assign attributes on from an inner scope. */
export class Namespace extends PyObject {
  readonly typeRepr = 'jinja2.utils.Namespace object';
  constructor(readonly attrs: Map<string, unknown>) {
    super();
  }
  override attr(name: string): unknown {
    return this.attrs.has(name) ? this.attrs.get(name) : MISSING;
  }
  override toString(): string {
    return `<Namespace ${pyRepr(this.attrs)}>`;
  }
}

/** `cycler(a, b, …)`. */
export class Cycler extends PyObject {
  readonly typeRepr = 'jinja2.utils.Cycler object';
  private pos = 0;
  constructor(private readonly items: unknown[]) {
    super();
    if (!items.length) throw new PyError('RuntimeError', 'at least one item has to be provided');
  }
  override attr(name: string): unknown {
    switch (name) {
      case 'current':
        return this.items[this.pos];
      case 'items':
        return tuple(this.items);
      case 'pos':
        return this.pos;
      case 'next':
        return method(() => {
          const v = this.items[this.pos];
          this.pos = (this.pos + 1) % this.items.length;
          return v;
        });
      case 'reset':
        return method(() => {
          this.pos = 0;
          return null;
        });
      default:
        return MISSING;
    }
  }
  override toString(): string {
    return '<jinja2.utils.Cycler object>';
  }
}

/** `joiner(sep)`: '' on the first call, then the separator. */
export class Joiner extends PyObject implements Callable {
  readonly typeRepr = 'jinja2.utils.Joiner object';
  private used = false;
  constructor(private readonly sep: unknown) {
    super();
  }
  override attr(name: string): unknown {
    return name === 'sep' ? this.sep : MISSING;
  }
  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    if (args.length || kwargs.size) throw new PyError('TypeError', '__call__() takes 1 positional argument');
    if (!this.used) {
      this.used = true;
      return '';
    }
    return this.sep;
  }
  override toString(): string {
    return '<jinja2.utils.Joiner object>';
  }
}

/** A global function (range, dict, lookup, …) as a template value. */
export class GlobalFunction implements Callable {
  constructor(
    readonly name: string,
    readonly fn: (args: unknown[], kwargs: Map<string, unknown>) => unknown,
    readonly undefinedOk = false,
  ) {}
  call(args: unknown[], kwargs: Map<string, unknown>): unknown {
    if (!this.undefinedOk) {
      for (const a of args) if (isStrictUndefined(a)) throw undefinedError(a);
      for (const a of kwargs.values()) if (isStrictUndefined(a)) throw undefinedError(a);
    }
    return this.fn(args, kwargs);
  }
  toString(): string {
    return `<function ${this.name}>`;
  }
}

/** An imported template (`{% import 'x' as m %}`): its exported macros and variables as attributes. */
export class TemplateModule extends PyObject {
  readonly typeRepr = 'jinja2.environment.TemplateModule object';
  constructor(
    readonly name: string,
    readonly exported: Map<string, unknown>,
    readonly body: string,
  ) {
    super();
  }
  override attr(name: string): unknown {
    return this.exported.has(name) ? this.exported.get(name) : MISSING;
  }
  override toString(): string {
    return this.body;
  }
}

/** `self` in a template: its blocks, callable by name. */
export class TemplateReference extends PyObject {
  readonly typeRepr = 'jinja2.runtime.TemplateReference object';
  constructor(private readonly block: (name: string) => Callable | undefined) {
    super();
  }
  override attr(name: string): unknown {
    return this.block(name) ?? MISSING;
  }
  override toString(): string {
    return '<TemplateReference>';
  }
}

/** The lenient Undefined of an inline `if` without `else`. */
export function condExprUndefined(line: number): PlainUndefined {
  return new PlainUndefined(`the inline if-expression on line ${line} evaluated to false and no else section was defined.`, '<inline if>');
}

/** Deep copy of a value (a template that mutates gets its own copy of each variable it reads). */
export function deepCopy(v: unknown): unknown {
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(k, deepCopy(x));
    return m;
  }
  if (Array.isArray(v)) {
    if (v instanceof PyDictView || v instanceof PyRange) return v;
    const out = v instanceof PyTuple ? new PyTuple(v.length) : new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = deepCopy(v[i]);
    return out;
  }
  return v;
}

/**
 * The context lookup of an included or imported template: the includer's names, or only the
 * globals. A template that mutates what it reads gets a copy of each name, once (as Ansible's
 * variables are templated afresh for each template).
 */
export function contextLookup(get: (name: string) => unknown, copy: boolean): (name: string) => unknown {
  if (!copy) return get;
  const copies = new Map<string, unknown>();
  return (name) => {
    if (copies.has(name)) return copies.get(name);
    const v = deepCopy(get(name));
    copies.set(name, v);
    return v;
  };
}
