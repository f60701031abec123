/**
 * From task definitions to task instances: the per-host, per-loop-item unit the engine probes,
 * plans and applies. Instantiation renders `when`, `loop` and the params with the host's
 * variables, validates params against the module schema, and runs the module's controller-side
 * `prepare` (reading files, rendering templates). It is pure with respect to the hosts: the
 * validator runs it for every host before any connection is opened.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Diagnostic, Loc } from '../core/diagnostic.ts';
import { getModule } from '../modules/registry.ts';
import { type BoundTask, type ModuleContext, type PrepareContext, type RunMemory, VarPathError } from '../modules/contract.ts';
import type { PlayDef, TaskDef } from '../input/playbook/types.ts';
import { hasSecret, isSecret, Secret } from '../core/secret/secret.ts';
import { evaluateCondition, renderTemplate, renderValue, TemplateError } from '../template/engine.ts';
import { locate } from '../input/yaml/document.ts';
import { schemaErrors } from './schema.ts';
import { secretProperties } from '../modules/schema-types.ts';

export interface TaskInstance {
  task: TaskDef;
  /** The module bound to this instance's rendered, validated and prepared params. */
  bound: BoundTask;
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
  ctx: ModuleContext;
  /** Variables the instance was rendered with (for changed_when / failed_when). */
  vars: Record<string, unknown>;
}

export type Instantiation =
  | { kind: 'skip'; reason: string; task: TaskDef }
  | { kind: 'run'; instances: TaskInstance[]; task: TaskDef }
  | { kind: 'error'; diagnostics: Diagnostic[]; task: TaskDef };

export interface InstantiateOptions {
  host: string;
  play: PlayDef;
  check: boolean;
  diff: boolean;
  playbookDir: string;
  /** The run's memory (one per `kiln apply` or validation). */
  run: RunMemory;
  /** -e vars: highest precedence, above task vars. */
  extraVars?: Record<string, unknown>;
  /** Where a place inside a variable's value is defined (validation); undefined = unknown. */
  locateVar?: (name: string, path: (string | number)[], value: unknown) => Loc | undefined;
}

/** Finds a file for copy/template: role dir first, then playbook dir. Absolute paths as-is. */
export function findRoleFile(task: TaskDef, kind: 'files' | 'templates', path: string, playbookDir: string): string | undefined {
  if (isAbsolute(path)) return existsSync(path) ? path : undefined;
  const candidates = [
    ...(task.role ? [join(task.role.dir, kind, path), join(task.role.dir, path)] : []),
    join(playbookDir, kind, path),
    join(playbookDir, path),
  ];
  return candidates.find((c) => existsSync(c));
}

function taskDiag(task: TaskDef, message: string, sub: (string | number)[] = [], key = false): Diagnostic {
  return { ...locate(task.yaml, [...task.path, ...sub], key), message };
}

function templateDiag(task: TaskDef, err: TemplateError, where: (string | number)[]): Diagnostic {
  if (err.file && err.file !== '<inline>' && existsSync(err.file)) {
    return { file: err.file, line: err.line ?? 1, col: err.col ?? 1, message: `${err.message} (task '${task.name}')` };
  }
  return taskDiag(task, err.message, where);
}

/** Names referenced as variables anywhere in a task's templated fields. */
export function taskReferences(task: TaskDef, names: Iterable<string>): string[] {
  const text = JSON.stringify([task.when, task.loop, task.params, task.changedWhen, task.failedWhen, task.vars]);
  return [...names].filter((n) => new RegExp(`\\b${n}\\b`).test(text));
}

function labelOf(item: unknown, label?: string): string {
  if (label !== undefined) return label;
  if (isSecret(item)) return String(item);
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const k = ['name', 'path', 'dest', 'key'].find((x) => typeof o[x] === 'string');
    return k ? String(o[k]) : JSON.stringify(item);
  }
  return String(item);
}

export function instantiate(task: TaskDef, vars: Record<string, unknown>, opts: InstantiateOptions): Instantiation {
  const module = getModule(task.module)!;
  const diags: Diagnostic[] = [];
  const fail = (d: Diagnostic): Instantiation => ({ kind: 'error', diagnostics: [d], task });
  let baseVars = vars;
  if (Object.keys(task.vars).length) {
    try {
      baseVars = { ...vars, ...(renderValue(task.vars, vars, task.yaml.file) as object), ...(opts.extraVars ?? {}) };
    } catch (err) {
      if (err instanceof TemplateError) return fail(taskDiag(task, `vars: ${err.message}`, ['vars']));
      throw err;
    }
  }

  let items: unknown[] | undefined;
  if (task.loop !== undefined) {
    try {
      const l = renderValue(task.loop, baseVars, task.yaml.file);
      if (!Array.isArray(l)) return fail(taskDiag(task, `loop must be a list, got ${typeof l}`, ['loop']));
      items = l;
    } catch (err) {
      if (err instanceof TemplateError) return fail(taskDiag(task, `loop: ${err.message}`, ['loop']));
      throw err;
    }
  }

  const instances: TaskInstance[] = [];
  const itemList = items ?? [undefined];
  for (const [i, item] of itemList.entries()) {
    const v = items ? { ...baseVars, [task.loopVar]: item, loop_index: i } : baseVars;
    if (task.when !== undefined) {
      try {
        if (!evaluateCondition(task.when, v, task.yaml.file)) continue;
      } catch (err) {
        if (err instanceof TemplateError) return fail(taskDiag(task, `when: ${err.message}`, ['when']));
        throw err;
      }
    }
    let params: Record<string, unknown>;
    try {
      params = renderValue(task.params, v, task.yaml.file) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof TemplateError)
        return fail(taskDiag(task, `${task.module}: ${err.message}`, task.paramsPath.slice(task.path.length)));
      throw err;
    }
    // Secrets declared by the module stay Secrets even when written in plain text.
    for (const k of secretProperties(module.schema)) {
      if (typeof params[k] === 'string') params[k] = new Secret(params[k] as string, k);
    }
    const errors = schemaErrors(module, params);
    if (errors.length) {
      for (const e of errors)
        diags.push({ ...locate(task.yaml, [...task.paramsPath, ...e.path], e.key), message: `${task.module}: ${e.message}` });
      return { kind: 'error', diagnostics: diags, task };
    }
    const become = task.become ?? opts.play.become ?? Boolean(vars.become);
    const becomeUser = task.becomeUser ?? opts.play.becomeUser ?? (typeof vars.become_user === 'string' ? vars.become_user : 'root');
    const check = task.checkMode ?? opts.check;
    const diff = task.diff ?? opts.diff;
    const ctx: ModuleContext = { run: opts.run, host: opts.host, check, diff: diff && !task.noLog, become, taskFile: task.yaml.file };
    const sensitive = task.noLog || hasSecret(params);
    const prepCtx: PrepareContext = {
      ...ctx,
      sensitive,
      readFile: (p) => {
        const f = findRoleFile(task, 'files', p, opts.playbookDir);
        if (!f) throw new PrepareError(`file not found: ${p}`, 'src');
        return readFileSync(f);
      },
      renderTemplate: (p) => {
        const f = findRoleFile(task, 'templates', p, opts.playbookDir);
        if (!f) throw new PrepareError(`template not found: ${p}`, 'src');
        return renderTemplate(readFileSync(f, 'utf8'), v, resolve(f));
      },
    };
    let bound: BoundTask;
    try {
      bound = module.bind(params, prepCtx);
    } catch (err) {
      if (err instanceof TemplateError) return fail(templateDiag(task, err, task.paramsPath.slice(task.path.length)));
      if (err instanceof PrepareError)
        return fail(taskDiag(task, `${task.module}: ${err.message}`, [...task.paramsPath.slice(task.path.length), err.param]));
      if (err instanceof VarPathError) {
        const at = taskDiag(task, '');
        const used = `(used by task '${task.name}', ${relative(process.cwd(), at.file) || at.file}:${at.line}:${at.col})`;
        const diagnostics = err.problems.map((pr) => {
          const loc = opts.locateVar?.(err.varName, pr.path, err.value);
          return loc ? { ...loc, message: `${task.module}: ${pr.text} ${used}` } : taskDiag(task, `${task.module}: ${pr.text}`);
        });
        return { kind: 'error', diagnostics, task };
      }
      return fail(taskDiag(task, `${task.module}: ${(err as Error).message}`));
    }
    const label = items
      ? `${task.name} (${labelOf(item, task.loopLabel ? (renderValue(task.loopLabel, v) as string) : undefined)})`
      : task.name;
    instances.push({
      task,
      bound,
      label,
      item,
      itemIndex: items ? i : undefined,
      become,
      becomeUser,
      check,
      diff: ctx.diff,
      sensitive,
      ctx,
      vars: v,
    });
  }
  if (!instances.length) return { kind: 'skip', reason: items?.length === 0 ? 'empty loop' : 'condition false', task };
  return { kind: 'run', instances, task };
}

export class PrepareError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}
