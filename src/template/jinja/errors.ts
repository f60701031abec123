/**
 * Errors of the Jinja2 engine, located in the template text.
 *
 * `TemplateError` is what every caller of the engine sees (src/template/engine.ts re-exports it):
 * a syntax error found while compiling, or a runtime error (an undefined variable, a Python
 * TypeError, …) raised while rendering, with the line and column of the offending node. `variable`
 * is set when the cause is an undefined variable: its name, or its dotted path (`haproxy.maxconn`).
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly col?: number,
    readonly variable?: string,
  ) {
    super(message);
  }

  get located(): string {
    return `${this.file}${this.line ? `:${this.line}:${this.col ?? 1}` : ''}: ${this.message}`;
  }
}

/** A position in a template's text: 1-based line and column. */
export interface Pos {
  line: number;
  col: number;
}

/**
 * A syntax error found by the lexer or parser (Jinja2's TemplateSyntaxError). It does not know the
 * file: the engine turns it into a TemplateError.
 */
export class JinjaSyntaxError extends Error {
  override name = 'JinjaSyntaxError';
  constructor(
    message: string,
    readonly pos: Pos,
    /** The template file, when the error is in another template than the one rendered (include/import). */
    public file?: string,
  ) {
    super(message);
  }
}

/**
 * A runtime error while rendering, already located at a node of the template (the engine adds the
 * file). `variable` names the undefined variable when that was the cause.
 */
export class JinjaRuntimeError extends Error {
  override name = 'JinjaRuntimeError';
  constructor(
    message: string,
    readonly pos: Pos | undefined,
    readonly variable?: string,
    /** The template file, when the error is in another template than the one rendered (include/import). */
    public file?: string,
  ) {
    super(message);
  }
}
