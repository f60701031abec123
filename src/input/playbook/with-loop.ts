/**
 * The loop keywords of a task as ansible-core 2.14 reads them (Task._preprocess_with_loop):
 *
 * - `with_<lookup>: terms` is a loop whose items are the lookup's result on the rendered terms
 *   (`lookup('<lookup>', terms, wantlist=True)`); the task keeps the terms in `loop` and the lookup
 *   name in `loopWith` (rendered in plan/instance.ts). A lookup Kiln does not run is refused here,
 *   located at the key and naming the lookup; `loop` with a `with_*` (or two `with_*`) is Ansible's
 *   "duplicate loop in task" (Ansible lets a `loop` written after `with_*` silently replace the
 *   terms: Kiln refuses both orders);
 * - `until` with `retries` (default 3: 4 attempts) and `delay` (default 5 seconds); `retries` or
 *   `delay` without `until` have no effect in 2.14, so Kiln refuses them;
 * - number keywords (`retries`, `delay`, `loop_control.pause`): a literal converted as Ansible's
 *   int/float field attributes convert, or a template rendered per host and item.
 */
import type { DiagnosticBag } from '../../core/diagnostic.ts';
import { LOOKUP_NAMES, lookupRefusal } from '../../template/lookups/globals.ts';
import { PyFloat } from '../../template/jinja/value.ts';
import type { YamlCursor } from '../yaml/document.ts';
import { conditions, isTemplate, pyScalar } from './fields.ts';
import type { KeywordValue, Retry } from './types.ts';

/** The task's loop: `loop`'s value, or a `with_<lookup>`'s terms and lookup. `bad`: refused. */
export interface LoopKeywords {
  loop?: unknown;
  loopWith?: string;
  bad: boolean;
}

export function loopKeywords(c: YamlCursor, bag: DiagnosticBag): LoopKeywords {
  const raw = c.value as Record<string, unknown>;
  const out: LoopKeywords = { bad: false };
  let seen: string | undefined;
  for (const k of Object.keys(raw)) {
    if (k === 'loop_with') {
      bag.add(c.child(k).diag("task 'loop_with': write the loop as with_<lookup>: <terms> (or loop:)", true));
      out.bad = true;
      continue;
    }
    if (k !== 'loop' && !k.startsWith('with_')) continue;
    const name = k === 'loop' ? undefined : k.slice('with_'.length);
    if (seen !== undefined) {
      // Ansible names the with_ lookup of the pair.
      const lookup = name ?? seen.slice('with_'.length);
      bag.add(c.child(k).diag(`duplicate loop in task: ${lookup}`, true));
      out.bad = true;
      continue;
    }
    seen = k;
    if (name === undefined) {
      out.loop = raw.loop;
      continue;
    }
    if (!LOOKUP_NAMES.has(name)) {
      const why = lookupRefusal(name);
      bag.add(
        c.child(k).diag(
          why
            ? `task '${k}': lookup plugin '${name}' is not supported by Kiln: ${why}`
            : `task '${k}': no lookup plugin named '${name}' (Kiln's with_ loops: ${[...LOOKUP_NAMES]
                .sort()
                .map((n) => `with_${n}`)
                .join(', ')})`,
          true,
        ),
      );
      out.bad = true;
      continue;
    }
    if (raw[k] === null || raw[k] === undefined) {
      bag.add(c.child(k).diag(`you must specify a value when using ${k}`, true));
      out.bad = true;
      continue;
    }
    out.loop = raw[k];
    out.loopWith = name;
  }
  return out;
}

/** `until`/`retries`/`delay` (Ansible's defaults 3 and 5); undefined without `until`. */
export function retryKeywords(c: YamlCursor, bag: DiagnosticBag): Retry | undefined {
  const raw = c.value as Record<string, unknown>;
  const until = conditions(c.child('until'), bag);
  const given = (k: string) => raw[k] !== undefined && raw[k] !== null;
  if (!until?.length) {
    for (const k of ['retries', 'delay'])
      if (given(k)) bag.add(c.child(k).diag(`task '${k}': has no effect without 'until' in Ansible 2.14: add until, or remove it`, true));
    return undefined;
  }
  return {
    until,
    retries: numberKeyword(c.child('retries'), 'int', bag) ?? { value: 3 },
    delay: numberKeyword(c.child('delay'), 'int', bag) ?? { value: 5 },
  };
}

/** A number keyword: a literal converted like Ansible's int/float attributes, or a template. */
export function numberKeyword(c: YamlCursor, kind: 'int' | 'float', bag: DiagnosticBag): KeywordValue<number> | undefined {
  const v = c.value;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && isTemplate(v)) return { template: v, yaml: c.y, path: c.path };
  const n = ansibleNumber(v, kind);
  if (n === undefined) {
    bag.add(
      c.diag(
        `the field '${String(c.path.at(-1))}' has an invalid value (${pyScalar(v)}), and could not be converted to ${kind === 'int' ? 'an int' : 'a float'}.`,
      ),
    );
    return undefined;
  }
  return { value: n };
}

/** Python's int()/float() of a field value (a float's int is truncated), or undefined when Python would raise. */
export function ansibleNumber(v: unknown, kind: 'int' | 'float'): number | undefined {
  let n: number | undefined;
  if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'number') n = v;
  else if (v instanceof PyFloat) n = v.value;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (kind === 'int' ? /^[+-]?\d+$/.test(s) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) n = Number(s);
  }
  if (n === undefined || !Number.isFinite(n)) return undefined;
  return kind === 'int' ? Math.trunc(n) : n;
}

/**
 * The directory with_first_found searches for a task's action, as 2.14's TaskExecutor picks it:
 * the first of template, var, file contained in the action's name, else files.
 */
export function firstFoundSubdir(action: string): 'templates' | 'vars' | 'files' {
  if (action.includes('template')) return 'templates';
  if (action.includes('var')) return 'vars';
  return 'files';
}
