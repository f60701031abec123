/**
 * Jinja-compatible templating (nunjucks) with Ansible's everyday filters.
 *
 * - An undefined variable in output is an error naming the variable, the template file and line.
 * - A string that is exactly one `{{ expr }}` evaluates to the expression's native value
 *   (a list stays a list), as in Ansible.
 * - Secrets render as their real value only inside `revealing()`; callers decide whether the
 *   result is sensitive (a task instance is when it has no_log or a Secret among its params,
 *   see plan/instance.ts).
 * - An expression's native value is captured into a slot of that one render call (passed in its
 *   context); the only module-level state is the compile cache.
 */
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import nunjucks from 'nunjucks';
import { stringify as yamlStringify } from 'yaml';
import { isSecret, revealing, Secret } from '../core/secret/secret.ts';

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

/** The filter that captures an expression's native value, and the context name of the call's slot. */
const CAPTURE = '__kiln_capture';
const SLOT = '__kiln_slot';

/** Where one render call's captured value lands. */
interface Slot {
  value?: unknown;
}

function toBool(v: unknown): boolean {
  if (typeof v === 'string') return ['true', 'yes', 'on', '1', 'y'].includes(v.trim().toLowerCase());
  return Boolean(v);
}

function plain(v: unknown): unknown {
  return isSecret(v) ? v.toString() : v;
}

function makeEnv(): nunjucks.Environment {
  const env = new nunjucks.Environment(null, { throwOnUndefined: true, autoescape: false, trimBlocks: true });
  env.addFilter(CAPTURE, (v: unknown, slot: Slot) => {
    slot.value = v;
    return '';
  });
  env.addFilter('bool', toBool);
  env.addFilter('to_json', (v: unknown) => JSON.stringify(v));
  env.addFilter('to_nice_json', (v: unknown, indent = 2) => JSON.stringify(v, null, indent));
  env.addFilter('to_yaml', (v: unknown) => yamlStringify(v).trimEnd());
  env.addFilter('to_nice_yaml', (v: unknown) => yamlStringify(v, { indent: 2 }));
  env.addFilter('b64encode', (v: unknown) => Buffer.from(String(plain(v))).toString('base64'));
  env.addFilter('b64decode', (v: unknown) => Buffer.from(String(plain(v)), 'base64').toString('utf8'));
  env.addFilter('hash', (v: unknown, algo = 'sha1') =>
    createHash(algo)
      .update(String(plain(v)))
      .digest('hex'),
  );
  env.addFilter('basename', (v: unknown) => basename(String(v)));
  env.addFilter('dirname', (v: unknown) => dirname(String(v)));
  env.addFilter('quote', (v: unknown) => `'${String(plain(v)).replace(/'/g, `'"'"'`)}'`);
  env.addFilter('regex_replace', (v: unknown, re: string, rep = '') =>
    String(plain(v)).replace(new RegExp(re, 'g'), rep.replace(/\\(\d)/g, '$$$1')),
  );
  env.addFilter('regex_search', (v: unknown, re: string) => String(plain(v)).match(new RegExp(re))?.[0] ?? null);
  env.addFilter('unique', (v: unknown[]) => [...new Set(v)]);
  env.addFilter('union', (a: unknown[], b: unknown[]) => [...new Set([...a, ...b])]);
  env.addFilter('difference', (a: unknown[], b: unknown[]) => a.filter((x) => !b.includes(x)));
  env.addFilter('intersect', (a: unknown[], b: unknown[]) => a.filter((x) => b.includes(x)));
  env.addFilter('flatten', (a: unknown[]) => a.flat(Infinity));
  env.addFilter('map_attr', (a: Record<string, unknown>[], attr: string) => a.map((x) => x?.[attr]));
  env.addFilter('mandatory', (v: unknown) => {
    if (v === undefined || v === null) throw new Error('mandatory variable is not defined');
    return v;
  });
  env.addFilter('dict2items', (o: Record<string, unknown>) => Object.entries(o ?? {}).map(([key, value]) => ({ key, value })));
  env.addFilter('items2dict', (a: { key: string; value: unknown }[]) => Object.fromEntries(a.map((x) => [x.key, x.value])));
  env.addFilter('combine', (a: object, ...bs: object[]) => Object.assign({}, a, ...bs));
  env.addFilter('ternary', (c: unknown, a: unknown, b: unknown) => (c ? a : b));
  env.addFilter('comment', (v: unknown, prefix = '#') =>
    String(v)
      .split('\n')
      .map((l) => `${prefix} ${l}`.trimEnd())
      .join('\n'),
  );
  env.addGlobal('range', (a: number, b?: number, step = 1) => {
    const [s, e] = b === undefined ? [0, a] : [a, b];
    const r: number[] = [];
    for (let i = s; step > 0 ? i < e : i > e; i += step) r.push(i);
    return r;
  });
  return env;
}

const env = makeEnv();
const compiled = new Map<string, nunjucks.Template>();

function compile(source: string, file: string): nunjucks.Template {
  const key = `${file}\0${source}`;
  let t = compiled.get(key);
  if (!t) {
    t = new nunjucks.Template(source, env, file, true);
    compiled.set(key, t);
  }
  return t;
}

/** Does the string contain template syntax? */
export function isTemplated(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#');
}

const SINGLE_EXPR = /^\{\{\s*([\s\S]+?)\s*\}\}$/;

function render(source: string, ctx: Record<string, unknown>, file: string): string {
  try {
    return revealing(() => compile(source, file).render(ctx));
  } catch (err) {
    throw toTemplateError(err as Error, source, ctx, file);
  }
}

/** Renders a template file's contents with variables. Errors are TemplateErrors with file and line. */
export function renderTemplate(source: string, ctx: Record<string, unknown>, file: string): string {
  return render(source, ctx, file);
}

/**
 * Renders a value from YAML: strings are templated; a string that is a single expression keeps
 * the expression's native type. Objects and arrays are rendered recursively.
 */
export function renderValue(v: unknown, ctx: Record<string, unknown>, file = '<inline>'): unknown {
  if (typeof v === 'string') {
    if (!isTemplated(v)) return v;
    const m = SINGLE_EXPR.exec(v.trim());
    if (m && !m[1]!.includes('}}') && v.trim() === v) return evaluate(m[1]!, ctx, file);
    return render(v, ctx, file);
  }
  if (Array.isArray(v)) return v.map((x) => renderValue(x, ctx, file));
  if (v && typeof v === 'object' && !(v instanceof Secret)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderValue(x, ctx, file)]));
  }
  return v;
}

/** Evaluates a Jinja expression (no braces), returning its native value. Undefined output is an error. */
export function evaluate(expr: string, ctx: Record<string, unknown>, file = '<inline>'): unknown {
  const v = capture(`{{ (${expr}) | ${CAPTURE}(${SLOT}) }}`, `{{ ${expr} }}`, ctx, file);
  if (v === undefined) {
    const name = findUndefined(expr, ctx) ?? expr.trim();
    throw new TemplateError(`undefined variable '${name}'`, file, undefined, undefined, name);
  }
  return v;
}

/** Evaluates a condition (`when`, `changed_when`): a bare Jinja expression, a boolean, or a list (all must hold). */
export function evaluateCondition(cond: unknown, ctx: Record<string, unknown>, file = '<inline>'): boolean {
  if (typeof cond === 'boolean') return cond;
  if (Array.isArray(cond)) return cond.every((c) => evaluateCondition(c, ctx, file));
  if (typeof cond !== 'string') return Boolean(cond);
  const expr = cond.trim().replace(/^\{\{\s*([\s\S]*?)\s*\}\}$/, '$1');
  const src = `{% if ${expr} %}{{ true | ${CAPTURE}(${SLOT}) }}{% else %}{{ false | ${CAPTURE}(${SLOT}) }}{% endif %}`;
  return capture(src, expr, ctx, file) === true;
}

/**
 * Renders `src` (which pipes a value into the capture filter) with a slot of its own and returns
 * what was captured. `shown` is the source that errors are reported against.
 */
function capture(src: string, shown: string, ctx: Record<string, unknown>, file: string): unknown {
  const slot: Slot = {};
  try {
    revealing(() => compile(src, file).render({ ...ctx, [SLOT]: slot }));
  } catch (err) {
    throw toTemplateError(err as Error, shown, ctx, file);
  }
  return slot.value;
}

const IDENT_PATH = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[['"][^'"]+['"]\])*/g;
const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'is',
  'if',
  'else',
  'true',
  'false',
  'none',
  'True',
  'False',
  'None',
  'defined',
  'undefined',
  'loop',
]);

/** Finds the first variable path in an expression that is undefined in ctx. */
export function findUndefined(expr: string, ctx: Record<string, unknown>): string | undefined {
  const noStrings = expr.replace(/'[^']*'|"[^"]*"/g, (m) => ' '.repeat(m.length));
  for (const m of noStrings.matchAll(IDENT_PATH)) {
    const path = m[0];
    const before = noStrings.slice(0, m.index).trimEnd();
    if (before.endsWith('|') || before.endsWith('.')) continue; // a filter name or attribute
    if (/\bis\s*(not\s*)?$/.test(before)) continue; // a test name
    const after = noStrings.slice(m.index! + path.length).trimStart();
    if (after.startsWith('(')) continue; // a function call
    if (after.startsWith('=') && !after.startsWith('==')) continue; // keyword argument
    const segs = path.split(/\.|\[['"]|['"]\]/).filter(Boolean);
    if (KEYWORDS.has(segs[0]!)) continue;
    let cur: unknown = ctx;
    for (let i = 0; i < segs.length; i++) {
      if (cur === null || cur === undefined || typeof cur !== 'object' || !(segs[i]! in (cur as object))) {
        if (i === 0 || typeof cur === 'object') return segs.slice(0, i + 1).join('.');
        break;
      }
      cur = (cur as Record<string, unknown>)[segs[i]!];
    }
  }
  return undefined;
}

function toTemplateError(err: Error, source: string, ctx: Record<string, unknown>, file: string): TemplateError {
  const msg = err.message ?? String(err);
  const pos = /\[Line (\d+), Column (\d+)\]/.exec(msg);
  const line = pos ? Number(pos[1]) : undefined;
  const col = pos ? Number(pos[2]) : undefined;
  const detail = msg
    .replace(/^\([^)]*\)\s*/, '')
    .replace(/\[Line \d+, Column \d+\]\s*/, '')
    .replace(/^\s*Template render error:\s*/i, '')
    .trim();
  if (/undefined value|is undefined|not defined/.test(detail)) {
    let name: string | undefined;
    if (line !== undefined) {
      const srcLine = source.split('\n')[line - 1] ?? '';
      // Take the {{ ... }} expression that starts at or around the column.
      const from = Math.max(0, srcLine.lastIndexOf('{{', (col ?? 1) + 1));
      const end = srcLine.indexOf('}}', from);
      const expr = srcLine.slice(from + 2, end === -1 ? undefined : end);
      name = findUndefined(expr, ctx);
    }
    name ??= findUndefined(source.replace(/\{\{|\}\}|\{%|%\}/g, ' '), ctx);
    return new TemplateError(name ? `undefined variable '${name}'` : detail, file, line, col, name);
  }
  return new TemplateError(detail.split('\n')[0] ?? detail, file, line, col);
}
