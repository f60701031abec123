/**
 * Reading keyword values as Ansible reads them: booleans with Ansible's conversion (or a template
 * evaluated per host), strings, tag lists (`tags: a,b`), conditions (a string, a boolean or a
 * list), name lists (`notify`). Problems are located diagnostics in `bag`.
 */
import type { DiagnosticBag } from '../../core/diagnostic.ts';
import { isSecret } from '../../core/secret/secret.ts';
import type { YamlCursor } from '../yaml/document.ts';
import { PyFloat, pyStr } from '../../template/jinja/value.ts';
import { ansibleBoolean, BooleanError } from './boolean.ts';
import { userNameProblem } from '../../core/user-name.ts';
import type { Condition, EnvironmentLevel, HostOrder, PlayStrategy, KeywordValue, TaskKeywords } from './types.ts';
import { reservedVarNameProblem } from '../../core/var-name.ts';

export const isTemplate = (s: string): boolean => s.includes('{{') || s.includes('{%');

/** A scalar as Python's str() shows it (what Ansible's error messages print). */
export function pyScalar(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (v instanceof PyFloat || typeof v === 'number') return pyStr(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A boolean keyword: a literal converted as Ansible does, or a template evaluated later. */
export function boolKeyword(c: YamlCursor, bag: DiagnosticBag): KeywordValue<boolean> | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && isTemplate(v)) return { template: v, yaml: c.y, path: c.path };
  try {
    return { value: ansibleBoolean(v) };
  } catch (err) {
    if (!(err instanceof BooleanError)) throw err;
    const name = String(c.path.at(-1));
    bag.add(c.diag(`the field '${name}' has an invalid value (${pyScalar(v)}), and could not be converted to a bool. ${err.message}`));
    return undefined;
  }
}

/** A string keyword (`become_user`): a literal (numbers as text, like Ansible), or a template. */
export function stringKeyword(c: YamlCursor, bag: DiagnosticBag): KeywordValue<string> | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return isTemplate(v) ? { template: v, yaml: c.y, path: c.path } : { value: v };
  if (typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat) return { value: pyScalar(v) };
  bag.add(c.diag(`${String(c.path.at(-1))} must be a string`));
  return undefined;
}

/** `become_user`: a string keyword that must also be a user name (it goes into `sudo -u`). */
function becomeUserKeyword(c: YamlCursor, bag: DiagnosticBag): KeywordValue<string> | undefined {
  const kv = stringKeyword(c, bag);
  const problem = kv && 'value' in kv ? userNameProblem(kv.value) : undefined;
  if (problem) {
    bag.add(c.diag(`become_user: ${problem}`));
    return undefined;
  }
  return kv;
}

/** The keywords every level (play, role entry, import, task) may set. */
export function taskKeywords(c: YamlCursor, bag: DiagnosticBag): TaskKeywords {
  return {
    become: boolKeyword(c.child('become'), bag),
    becomeUser: becomeUserKeyword(c.child('become_user'), bag),
    checkMode: boolKeyword(c.child('check_mode'), bag),
    diff: boolKeyword(c.child('diff'), bag),
    ignoreErrors: boolKeyword(c.child('ignore_errors'), bag),
    noLog: boolKeyword(c.child('no_log'), bag),
    ...whereAndWhen(c, bag),
  };
}

/** The where-and-when keywords (part G) of a level; absent ones are left out (so `...` keeps inherited values). */
function whereAndWhen(c: YamlCursor, bag: DiagnosticBag): TaskKeywords {
  const out: TaskKeywords = {
    environment: environmentLevels(c.child('environment'), bag),
    runOnce: boolKeyword(c.child('run_once'), bag),
    ignoreUnreachable: boolKeyword(c.child('ignore_unreachable'), bag),
    anyErrorsFatal: boolKeyword(c.child('any_errors_fatal'), bag),
    throttle: throttleKeyword(c.child('throttle'), bag),
    delegateTo: stringKeyword(c.child('delegate_to'), bag),
  };
  for (const k of Object.keys(out) as (keyof TaskKeywords)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * `environment`: a mapping, a template giving one, or a list of those (Ansible's field is a list,
 * merged in order). Values are checked when rendered (plan/instance.ts).
 */
export function environmentLevels(c: YamlCursor, bag: DiagnosticBag): EnvironmentLevel[] | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  const one = (x: unknown, at: YamlCursor): EnvironmentLevel | undefined => {
    if (x === null || x === undefined) return undefined;
    if ((typeof x === 'string' && isTemplate(x)) || (typeof x === 'object' && !Array.isArray(x) && !isSecret(x)))
      return { value: x, yaml: at.y, path: at.path };
    bag.add(at.diag(`environment must be a mapping of variable names to values (or a template giving one), got ${pyScalar(x)}`));
    return undefined;
  };
  const list = Array.isArray(v) ? v.map((x, i) => one(x, c.child(i))) : [one(v, c)];
  return list.filter((x): x is EnvironmentLevel => x !== undefined);
}

/** `throttle`: a whole number (0: no limit, Ansible's default), or a template checked when rendered. */
function throttleKeyword(c: YamlCursor, bag: DiagnosticBag): KeywordValue<number> | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && isTemplate(v)) return { template: v, yaml: c.y, path: c.path };
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < 0) {
    bag.add(c.diag(`throttle must be a positive integer (0: no limit), got ${pyScalar(v)}`));
    return undefined;
  }
  return { value: n };
}

/** Ansible's tags: a list of names, or one string split on commas; numbers as text. */
export function tagList(c: YamlCursor, bag: DiagnosticBag): string[] {
  const v = c.value;
  if (v === undefined || v === null) return [];
  const one = (x: unknown): string[] | undefined => {
    if (typeof x === 'string') {
      if (isTemplate(x)) return undefined;
      return x
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    }
    if (typeof x === 'number' || x instanceof PyFloat) return [pyScalar(x)];
    return undefined;
  };
  const items = Array.isArray(v) ? v.map(one) : [one(v)];
  if (items.some((x) => x === undefined)) {
    bag.add(c.diag('tags must be a name, a comma-separated string or a list of names (templated tags are not supported)'));
    return [];
  }
  return [...new Set(items.flat() as string[])];
}

/** A list of names (`notify`, `listen`): one string or a list of strings. */
export function nameList(c: YamlCursor, bag: DiagnosticBag): string[] | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  bag.add(c.diag(`${String(c.path.at(-1))} must be a name or a list of names`));
  return undefined;
}

/** A condition keyword (`when`, `changed_when`, `failed_when`): one expression or a list, each located. */
export function conditions(c: YamlCursor, bag: DiagnosticBag): Condition[] | undefined {
  const v = c.value;
  if (v === undefined) return undefined;
  if (v === null) return [];
  const one = (x: unknown, at: YamlCursor): Condition | undefined => {
    if (typeof x === 'string' || typeof x === 'boolean' || typeof x === 'number' || x instanceof PyFloat)
      return { expr: x, yaml: at.y, path: at.path };
    if (isSecret(x)) return { expr: x, yaml: at.y, path: at.path };
    bag.add(
      at.diag(
        `${String(c.path.at(-1))}: a condition is an expression (a string) or a boolean, got ${Array.isArray(x) ? 'a list' : 'a mapping'}`,
      ),
    );
    return undefined;
  };
  const list = Array.isArray(v) ? v.map((x, i) => one(x, c.child(i))) : [one(v, c)];
  return list.filter((x): x is Condition => x !== undefined);
}

/** A mapping (vars), or {} with an error. */
/** A mapping of variables (vars:, a vars file, role vars/defaults): a name Kiln cannot hold is refused at its key. */
export function varsMapping(c: YamlCursor, what: string, bag: DiagnosticBag): Record<string, unknown> {
  const m = mapping(c, what, bag);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(m)) {
    const problem = reservedVarNameProblem(k);
    if (problem) bag.add(c.child(k).diag(problem, true));
    else out[k] = m[k];
  }
  return out;
}

export function mapping(c: YamlCursor, what: string, bag: DiagnosticBag): Record<string, unknown> {
  const v = c.value;
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v) && !isSecret(v)) return v as Record<string, unknown>;
  bag.add(c.diag(`${what} must be a mapping`));
  return {};
}

/**
 * A play's `strategy` (issue 16): linear (the default), free, host_pinned (free, each host keeping
 * its fork until it is done), also under their `ansible.builtin.` names; `debug` is refused (no
 * interactive debugger); any other is Ansible's own error.
 */
export function playStrategy(c: YamlCursor, bag: DiagnosticBag): PlayStrategy | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && isTemplate(v)) {
    bag.add(c.diag('strategy: a templated value is not supported (write linear, free or host_pinned)'));
    return undefined;
  }
  const name = typeof v === 'string' ? v.replace(/^ansible\.(builtin|legacy)\./, '') : undefined;
  if (name === 'linear' || name === 'free' || name === 'host_pinned') return name;
  if (name === 'debug') {
    bag.add(c.diag('not supported: strategy debug (Kiln has no interactive task debugger; use linear, free or host_pinned)'));
    return undefined;
  }
  // Ansible's words (Play._load_strategy / the strategy loader).
  bag.add(c.diag(`Invalid play strategy specified: ${pyScalar(v)} (Kiln has linear, free and host_pinned)`));
  return undefined;
}

const HOST_ORDERS: readonly HostOrder[] = ['inventory', 'reverse_inventory', 'sorted', 'reverse_sorted', 'shuffle'];

/** A play's `order` (part G): one of Ansible's values, written literally. */
export function hostOrder(c: YamlCursor, bag: DiagnosticBag): HostOrder | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && isTemplate(v)) {
    bag.add(
      c.diag('order: a templated value is not supported (write one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle)'),
    );
    return undefined;
  }
  if (typeof v === 'string' && (HOST_ORDERS as readonly string[]).includes(v)) return v as HostOrder;
  // Ansible's words (InventoryManager.get_hosts), with its choices.
  bag.add(c.diag(`Invalid 'order' specified for inventory hosts: ${pyScalar(v)} (one of ${HOST_ORDERS.join(', ')})`));
  return undefined;
}
