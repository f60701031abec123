/**
 * How the engine calls filters, tests and global functions (lookup/query, range, …).
 *
 * Values are in the Python model of ./value.ts. Positional args come in order; keyword args in a
 * Map in call order. A callable validates its own signature like Python would (unknown keyword →
 * `PyError('TypeError', "…() got an unexpected keyword argument 'x'")`), see `bindArgs`.
 *
 * Undefined: unless a callable is registered with `undefinedOk`, the engine raises UndefinedError
 * before calling it when the value or any argument is Undefined (Ansible's StrictUndefined).
 */

/** Where lookups find files, and the rest of the controller they may read. */
export interface LookupContext {
  /**
   * Directories searched for a relative path, most specific first, for each kind of lookup
   * (Ansible: the role's files/ or templates/ dir, the role dir, the playbook's files/ or
   * templates/ dir, the playbook dir).
   */
  searchPaths(kind: 'files' | 'templates' | 'vars'): string[];
  /** The controller's environment (lookup('env')). */
  env: Readonly<Record<string, string | undefined>>;
  /** The project directory: lookup('password') stores generated passwords beneath it. */
  projectDir: string;
}

export interface CallEnv {
  callFilter(name: string, value: unknown, args: unknown[], kwargs?: Map<string, unknown>): unknown;
  callTest(name: string, value: unknown, args: unknown[], kwargs?: Map<string, unknown>): boolean;
  hasFilter(name: string): boolean;
  hasTest(name: string): boolean;
  /** A variable of the render's context, converted to the Python model (Undefined when absent). */
  resolve(name: string): unknown;
  /** Renders template text with the render's variables (lookup('template')). */
  renderString(source: string, file: string): string;
  /** Lookups' context; absent where lookups are not allowed (the error says so). */
  lookup?: LookupContext;
  /** Marks the render's result sensitive (it was derived from a secret: vault value, password lookup). */
  markSecret(): void;
  /** Has the render read a secret so far? */
  readSecret?(): boolean;
}

export type FilterFn = (env: CallEnv, value: unknown, args: unknown[], kwargs: Map<string, unknown>) => unknown;
export type TestFn = (env: CallEnv, value: unknown, args: unknown[], kwargs: Map<string, unknown>) => boolean;
export type GlobalFn = (env: CallEnv, args: unknown[], kwargs: Map<string, unknown>) => unknown;

export interface Registered<F> {
  fn: F;
  /** The callable handles Undefined itself (default, mandatory, `defined`, `undefined`). */
  undefinedOk?: boolean;
  /** One of Ansible's plugins: it also answers to `ansible.builtin.X` / `ansible.legacy.X` (Jinja2's builtins do not). */
  plugin?: boolean;
}

export type FilterTable = Record<string, Registered<FilterFn>>;
export type TestTable = Record<string, Registered<TestFn>>;
export type GlobalTable = Record<string, Registered<GlobalFn>>;
