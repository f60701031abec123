/**
 * The variables a task sees on a host, in Ansible's precedence (VariableManager.get_vars,
 * ansible-core 2.14), lowest first:
 *
 *   1. role defaults of every role of the play (each after its dependencies')
 *   2. the task's own role defaults (with the roles that pulled it in)
 *   3. inventory: group `all`, parent groups, child groups, the host (see layers.ts)
 *  3b. host facts (gathered, or a module's `ansible_facts`; see host-facts.ts): `ansible_facts`
 *      and the `ansible_*` names, data (never rendered as templates)
 *   4. play `vars`, then `vars_files`
 *   5. role vars of every role of the play (the entry's `vars:`, then vars/main.yml; after dependencies')
 *   6. the task's own role vars (with the roles that pulled it in)
 *   7. task vars (an import's `vars:`, then the task's own)
 *   7b. include_vars results (kept on the host's registered record under INCLUDED_VARS)
 *   8. registered results and set_fact facts (and Kiln's gathered `facts`)
 *   9. role parameters (keys of the role entry that are not keywords)
 *  10. extra vars (-e)
 *  11. magic vars: inventory_hostname, inventory_hostname_short, group_names, groups, hostvars,
 *      play_hosts, ansible_play_batch, ansible_play_name, ansible_check_mode, ansible_diff_mode,
 *      playbook_dir, role_name, role_path, omit, kiln_check_mode (and `vars`: all of the above)
 *
 * Values that are templates over other variables (`backend_port: "{{ app_port }}"`) are rendered
 * with the others, in dependency order, as Ansible renders them lazily; one over an undefined
 * variable is itself undefined, one that cannot be rendered otherwise becomes an UnresolvedVar
 * (an error when it is used, not before).
 */
import { dirname } from 'node:path';
import { hostVarsOf, type Inventory, inventoryVarLayers, magicVars, type VarLayer } from './index.ts';
import { inventoryChanged } from './layers.ts';
import type { PlayDef, RoleRef, TaskDef } from '../playbook/types.ts';
import { roleDefaults, roleParams, roleVars } from '../playbook/role-vars.ts';
import { type RenderOptions, renderValue, TemplateError } from '../../template/engine.ts';
import { lookupContext } from '../playbook/search-path.ts';
import { Undefined } from '../../template/jinja/value.ts';
import { OMIT } from './omit.ts';
import { HostFacts } from './host-facts.ts';

/**
 * Where a host's include_vars results live: on its record of registered results (which lives for
 * the run and travels with it), under this key, out of the way of names. Their level is Ansible's:
 * above task vars, below set_fact and registered results. Unlike registered results they may hold
 * templates, rendered when used (as Ansible renders variables lazily).
 */
export const INCLUDED_VARS: unique symbol = Symbol('include_vars');

/** The include_vars layer of a host's registered record (created on first use). */
export function includedVars(registered: Record<string, unknown>): Record<string, unknown> {
  const r = registered as Record<string | symbol, unknown>;
  if (!r[INCLUDED_VARS]) Object.defineProperty(r, INCLUDED_VARS, { value: {}, enumerable: true, writable: true, configurable: true });
  return r[INCLUDED_VARS] as Record<string, unknown>;
}

export interface VarsOptions {
  extraVars: Record<string, unknown>;
  check: boolean;
  diff?: boolean;
  /** The playbook's path (playbook_dir). */
  playbook?: string;
  /** A host's record of what its tasks set during the run (registered results, set_fact, include_vars), for hostvars. */
  registered?: (host: string) => Record<string, unknown> | undefined;
  /** The hosts' facts (a run's runner and its validation each have their own; default: none gathered yet). */
  facts?: HostFacts;
  /**
   * The run is one shard of several (`--shard i/n`, n ≥ 2): this controller has only part of each
   * play's hosts, so `play_hosts` and `ansible_play_batch` are left undefined (a template using
   * them is an error) rather than silently naming this shard's hosts only.
   */
  sharded?: boolean;
}

/** The source name of the facts layer in `layers()`. */
const FACTS_LAYER = 'host facts';

/** The role context of a task: which role instance and chain, or none (a play's own task). */
function scopeKey(task: TaskDef | undefined): string {
  return task?.scope ? task.scope.chain.map((r) => r.id).join('/') : '';
}

export class VarsBuilder {
  private readonly hostvarsCache = new Map<string, Record<string, unknown>>();
  private readonly magicCache = new Map<string, ReturnType<typeof magicVars>>();
  readonly hostvars: Record<string, Record<string, unknown>>;
  /** The hosts' facts: merge a module's `ansible_facts` here (gather_facts, setup, set_fact cacheable). */
  readonly facts: HostFacts;

  constructor(
    readonly inv: Inventory,
    readonly opts: VarsOptions,
  ) {
    this.facts = opts.facts ?? new HostFacts();
    const facts = this.facts;
    // hostvars['db1'].address — computed on first use; its facts over its inventory variables.
    const cache = this.hostvarsCache;
    this.hostvars = new Proxy({} as Record<string, Record<string, unknown>>, {
      get: (_t, name) => {
        if (typeof name !== 'string' || !inv.hosts.has(name)) return undefined;
        if (!cache.has(name)) cache.set(name, { ...hostVarsOf(inv, name), inventory_hostname: name });
        // Its facts over its inventory variables, then what its tasks set during the run
        // (include_vars, set_fact, register), as Ansible's hostvars show them.
        const f = facts.vars(name);
        const reg = this.opts.registered?.(name);
        if (!reg && !Object.keys(f).length) return cache.get(name);
        const included = reg
          ? ((reg as Record<string | symbol, unknown>)[INCLUDED_VARS] as Record<string, unknown> | undefined)
          : undefined;
        return { ...cache.get(name), ...f, ...(included ?? {}), ...(reg ?? {}), inventory_hostname: name };
      },
      has: (_t, name) => typeof name === 'string' && inv.hosts.has(name),
      ownKeys: () => [...inv.hosts.keys()],
      getOwnPropertyDescriptor: (_t, name) =>
        typeof name === 'string' && inv.hosts.has(name) ? { enumerable: true, configurable: true } : undefined,
    });
  }

  /**
   * The var layers of a host in a play (and for a task), low → high, with their sources (for
   * `inventory --vars` and for locating a value): 1–6 and 10 of the list above; with a task, 7 and 9.
   */
  layers(host: string, play?: PlayDef, task?: TaskDef): VarLayer[] {
    const out: VarLayer[] = [];
    // The play's roles, then the roles this host included with `public: true` (at the same levels).
    const roles = [...(play?.roles ?? []), ...((play && this.publicRoles.get(play)?.get(host)) ?? [])];
    for (const r of roles) out.push({ source: `role ${r.role.name} defaults`, vars: roleDefaults(r) });
    const scope = task?.scope;
    if (scope) out.push({ source: `role ${scope.ref.role.name} defaults`, vars: roleDefaults(scope.ref, scope.chain) });
    out.push(...inventoryVarLayers(this.inv, host));
    out.push({ source: FACTS_LAYER, vars: this.facts.vars(host) });
    if (play) out.push({ source: `play '${play.name}' vars`, vars: play.vars });
    for (const r of roles) out.push({ source: `role ${r.role.name} vars`, vars: roleVars(r) });
    if (scope) out.push({ source: `role ${scope.ref.role.name} vars`, vars: roleVars(scope.ref, scope.chain) });
    if (task && Object.keys(task.vars).length) out.push({ source: `task '${task.name}' vars`, vars: task.vars });
    if (scope) out.push({ source: `role ${scope.ref.role.name} parameters`, vars: roleParams(scope.ref, scope.chain) });
    out.push({ source: 'extra vars (-e)', vars: this.opts.extraVars });
    return out.filter((l) => Object.keys(l.vars).length > 0 || l.source === 'extra vars (-e)');
  }

  /**
   * The inventory changed at run time (add_host, group_by: engine/inventory-effects.ts): what was
   * computed from it (hostvars, magic vars, rendered play vars) is computed again.
   */
  inventoryChanged(): void {
    this.hostvarsCache.clear();
    this.magicCache.clear();
    inventoryChanged(this.inv);
    this.rendered = new WeakMap();
  }

  /** Per play, per host: roles included with `include_role: … public: true` (their vars and defaults are the play's from then on). */
  private readonly publicRoles = new WeakMap<PlayDef, Map<string, RoleRef[]>>();

  /**
   * include_role with `public: true` ran on `host` (engine): the role's defaults and vars are
   * visible to the host's later tasks of the play, at the role-defaults and role-vars levels.
   * Returns the names they define (what the host's cached instantiations must be redone for).
   */
  addPublicRole(host: string, play: PlayDef, ref: RoleRef): string[] {
    let perPlay = this.publicRoles.get(play);
    if (!perPlay) this.publicRoles.set(play, (perPlay = new Map()));
    perPlay.set(host, [...(perPlay.get(host) ?? []), ref]);
    const rendered = this.rendered.get(play);
    if (rendered) for (const k of [...rendered.keys()]) if (k.startsWith(`${host}\0`)) rendered.delete(k);
    return [...Object.keys(roleDefaults(ref)), ...Object.keys(roleVars(ref))];
  }

  private rendered = new WeakMap<PlayDef, Map<string, { raw: Record<string, unknown>; resolved: Record<string, unknown> }>>();

  /** Magic vars of a host in a play (11.), for a task (role_name, role_path). */
  private magic(host: string, play: PlayDef, playHosts: string[], task?: TaskDef): Record<string, unknown> {
    let magic = this.magicCache.get(host);
    if (!magic) {
      magic = magicVars(this.inv, host);
      this.magicCache.set(host, magic);
    }
    const role = task?.scope?.ref.role ?? task?.role;
    return {
      ...magic,
      hostvars: this.hostvars,
      ...(this.opts.sharded ? {} : { play_hosts: playHosts, ansible_play_batch: playHosts }),
      ansible_play_name: play.name,
      ansible_check_mode: this.opts.check,
      ansible_diff_mode: this.opts.diff ?? false,
      kiln_check_mode: this.opts.check,
      omit: OMIT,
      ...(this.opts.playbook ? { playbook_dir: dirname(this.opts.playbook) } : {}),
      ...(role ? { role_name: role.name, role_path: role.dir } : {}),
    };
  }

  /** Lookups in variables run in the context of the task using them (its role's files, the playbook's). */
  private renderOptions(task: TaskDef | undefined): RenderOptions {
    return this.opts.playbook ? { lookup: lookupContext(task, dirname(this.opts.playbook)) } : {};
  }

  /** Variables for a host in a play, outside any task (play-level: 1, 3–5, 8, 10, 11). */
  forHost(host: string, play: PlayDef, playHosts: string[], registered: Record<string, unknown> = {}): Record<string, unknown> {
    return this.forTask(host, play, playHosts, undefined, registered);
  }

  /** Variables for a task on a host (every level of the list above; loop variables are the instance's). */
  forTask(
    host: string,
    play: PlayDef,
    playHosts: string[],
    task: TaskDef | undefined,
    registered: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const special = this.magic(host, play, playHosts, task);
    let perPlay = this.rendered.get(play);
    if (!perPlay) this.rendered.set(play, (perPlay = new Map()));
    const key = `${host}\0${scopeKey(task)}\0${this.facts.version(host)}`;
    let base = perPlay.get(key);
    if (!base) {
      // 1–6, rendered once per host and role context (and again when the host's facts change).
      const raw: Record<string, unknown> = {};
      const fromFacts = new Set<string>();
      for (const l of this.layers(host, play, task && { ...task, vars: {} })) {
        if (l.source === 'extra vars (-e)' || l.source.endsWith(' parameters')) continue;
        const facts = l.source === FACTS_LAYER;
        for (const [k, v] of Object.entries(l.vars)) {
          if (v === undefined) continue;
          raw[k] = v;
          if (facts) fromFacts.add(k);
          else fromFacts.delete(k);
        }
      }
      // Facts are data, never templates (Ansible marks them unsafe): they take no part in rendering.
      const literal: Record<string, unknown> = {};
      for (const k of fromFacts) {
        if (k in this.opts.extraVars) continue;
        literal[k] = raw[k];
        delete raw[k];
      }
      const resolved = resolveVars({ ...raw, ...this.opts.extraVars }, { ...special, ...literal }, this.renderOptions(task));
      base = { raw, resolved: { ...literal, ...resolved } };
      perPlay.set(key, base);
    }
    const params = task?.scope ? roleParams(task.scope.ref, task.scope.chain) : {};
    // Extra vars win over all of these and are already in `base`.
    const included = (registered as Record<string | symbol, unknown>)[INCLUDED_VARS] as Record<string, unknown> | undefined;
    const upper: Record<string, unknown> = { ...(task?.vars ?? {}), ...(included ?? {}), ...registered, ...params };
    for (const k of Object.keys(this.opts.extraVars)) delete upper[k];
    // Registered results are data, never templates (Ansible marks them unsafe).
    const literal = new Set(Object.keys(registered).filter((k) => !(k in params)));
    const all = resolveOver(base.raw, base.resolved, upper, literal, special, this.renderOptions(task));
    // `ansible_facts` is always defined, as in Ansible: empty until facts are gathered.
    const out = { ansible_facts: {}, ...all, ...special };
    return { ...out, vars: out };
  }
}

/** A variable whose template could not be rendered; using it in a template fails with the reason. */
export class UnresolvedVar {
  constructor(
    readonly name: string,
    readonly reason: string,
  ) {}
  toString(): string {
    throw new Error(`variable '${this.name}' cannot be rendered: ${this.reason}`);
  }
  toJSON(): string {
    return this.toString();
  }
}

/**
 * Renders variables whose values are templates over other variables
 * (`backend_port: "{{ app_port }}"`), in dependency order, until nothing changes.
 * A variable over an undefined one becomes Undefined; one that still cannot be rendered (a
 * cycle, a template error) an UnresolvedVar.
 */
export function resolveVars(
  vars: Record<string, unknown>,
  base: Record<string, unknown> = {},
  render: RenderOptions = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...vars };
  let pending = Object.keys(out).filter((k) => hasTemplate(out[k]));
  const errors = new Map<string, Error>();
  for (let round = 0; pending.length && round < 20; round++) {
    const next: string[] = [];
    for (const k of pending) {
      const ctx = { ...base, ...out };
      for (const p of pending) if (p !== k) delete ctx[p]; // only rendered vars may be used
      delete ctx[k];
      try {
        out[k] = renderValue(out[k], ctx, `variable ${k}`, render);
        errors.delete(k);
      } catch (err) {
        errors.set(k, err as Error);
        next.push(k);
      }
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  // A template over an undefined variable is itself undefined, as Ansible's lazy templating makes
  // it: `is defined` is false, `default()` applies, and using it names the missing variable. Those
  // over a variable that is only missing because it is still pending are tried again with it.
  let left = new Set(pending);
  for (let round = 0; left.size && round < 20; round++) {
    const undefinedNow = [...left].filter((k) => {
      const err = errors.get(k);
      return err instanceof TemplateError && err.variable && !left.has(err.variable);
    });
    if (!undefinedNow.length) break;
    for (const k of undefinedNow) {
      const err = errors.get(k) as TemplateError;
      out[k] = new Undefined(err.message, err.variable!);
      left.delete(k);
    }
    const again = new Set<string>();
    for (const k of left) {
      const ctx = { ...base, ...out };
      for (const p of left) delete ctx[p];
      try {
        out[k] = renderValue(vars[k], ctx, `variable ${k}`, render);
      } catch (err) {
        errors.set(k, err as Error);
        again.add(k);
      }
    }
    left = again;
  }
  for (const k of left) {
    const err = errors.get(k);
    const cycle = err instanceof TemplateError && err.variable && left.has(err.variable);
    out[k] = new UnresolvedVar(k, cycle ? `recursive loop detected (through '${err.variable}')` : (err?.message ?? 'unresolvable'));
  }
  return out;
}

/**
 * `upper` (raw) over variables already rendered from `raw`: the upper values are rendered, and so
 * is every lower variable whose template mentions a name `upper` changes (or that could not be
 * rendered before), so that templates see the values of the task's level (Ansible renders them
 * lazily, at use).
 */
function resolveOver(
  raw: Record<string, unknown>,
  resolved: Record<string, unknown>,
  upper: Record<string, unknown>,
  literal: ReadonlySet<string>,
  special: Record<string, unknown>,
  render: RenderOptions,
): Record<string, unknown> {
  const names = Object.keys(upper).filter((k) => upper[k] !== undefined);
  if (!names.length) return resolved;
  const again = new Set<string>();
  let changed = new Set(names);
  const text = new Map<string, string>();
  const templated = Object.keys(raw).filter((k) => !(k in upper) && hasTemplate(raw[k]));
  for (const k of templated) {
    text.set(k, JSON.stringify(raw[k]));
    if (resolved[k] instanceof UnresolvedVar || resolved[k] instanceof Undefined) again.add(k);
  }
  // Lower templates that mention a changed name, transitively.
  while (changed.size) {
    const re = new RegExp(`\\b(?:${[...changed].map(escapeRe).join('|')})\\b`);
    const next = new Set<string>();
    for (const k of templated) if (!again.has(k) && re.test(text.get(k)!)) next.add(k);
    for (const k of next) again.add(k);
    changed = next;
  }
  const pending: Record<string, unknown> = {};
  for (const k of again) pending[k] = raw[k];
  for (const k of names) if (!literal.has(k)) pending[k] = upper[k];
  const ctx: Record<string, unknown> = { ...resolved };
  for (const k of Object.keys(pending)) delete ctx[k];
  for (const k of literal) ctx[k] = upper[k];
  return { ...ctx, ...resolveVars(pending, { ...special, ...ctx }, render) };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%');
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).some(hasTemplate);
  return false;
}
