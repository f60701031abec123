/**
 * The variables a task sees on a host, in documented precedence (lowest first):
 *   role defaults < inventory (all < parent group < child group < host) < play vars
 *   < role params / task vars < registered results < extra vars (-e)
 * plus magic vars: inventory_hostname, group_names, groups, hostvars, play_hosts, kiln_check_mode.
 */
import { hostVarsOf, type Inventory, inventoryVarLayers, magicVars, mergeVarLayers, type VarLayer } from './index.ts';
import type { PlayDef } from '../playbook/types.ts';
import { renderValue } from '../../template/engine.ts';

export interface VarsOptions {
  extraVars: Record<string, unknown>;
  check: boolean;
}

export class VarsBuilder {
  private readonly hostvarsCache = new Map<string, Record<string, unknown>>();
  private readonly magicCache = new Map<string, ReturnType<typeof magicVars>>();
  readonly hostvars: Record<string, Record<string, unknown>>;

  constructor(
    readonly inv: Inventory,
    readonly opts: VarsOptions,
  ) {
    // hostvars['db1'].address — computed on first use.
    const cache = this.hostvarsCache;
    this.hostvars = new Proxy({} as Record<string, Record<string, unknown>>, {
      get: (_t, name) => {
        if (typeof name !== 'string' || !inv.hosts.has(name)) return undefined;
        if (!cache.has(name)) cache.set(name, { ...hostVarsOf(inv, name), inventory_hostname: name });
        return cache.get(name);
      },
      has: (_t, name) => typeof name === 'string' && inv.hosts.has(name),
      ownKeys: () => [...inv.hosts.keys()],
      getOwnPropertyDescriptor: (_t, name) =>
        typeof name === 'string' && inv.hosts.has(name) ? { enumerable: true, configurable: true } : undefined,
    });
  }

  /** The var layers of a host in a play, low → high, with their sources (for `inventory --vars`). */
  layers(host: string, play?: PlayDef): VarLayer[] {
    const defaults: VarLayer[] = (play?.roles ?? []).map((r) => ({ source: `role ${r.role.name} defaults`, vars: r.role.defaults }));
    return [
      ...defaults,
      ...inventoryVarLayers(this.inv, host),
      ...(play ? [{ source: `play '${play.name}' vars`, vars: play.vars }] : []),
      { source: 'extra vars (-e)', vars: this.opts.extraVars },
    ];
  }

  private readonly rendered = new WeakMap<PlayDef, Map<string, Record<string, unknown>>>();

  /** Variables for a host in a play, before task vars and registered results. */
  forHost(host: string, play: PlayDef, playHosts: string[], registered: Record<string, unknown> = {}): Record<string, unknown> {
    let magic = this.magicCache.get(host);
    if (!magic) {
      magic = magicVars(this.inv, host);
      this.magicCache.set(host, magic);
    }
    const special = { ...magic, hostvars: this.hostvars, play_hosts: playHosts, kiln_check_mode: this.opts.check };
    let perPlay = this.rendered.get(play);
    if (!perPlay) this.rendered.set(play, (perPlay = new Map()));
    let merged = perPlay.get(host);
    if (!merged) {
      merged = resolveVars({ ...mergeVarLayers(this.layers(host, play).slice(0, -1)).vars, ...this.opts.extraVars }, special);
      perPlay.set(host, merged);
    }
    return { ...merged, ...special, ...registered, ...this.opts.extraVars };
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
 * A variable that still cannot be rendered (undefined reference, cycle) becomes an UnresolvedVar.
 */
export function resolveVars(vars: Record<string, unknown>, base: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...vars };
  let pending = Object.keys(out).filter((k) => hasTemplate(out[k]));
  const errors = new Map<string, string>();
  for (let round = 0; pending.length && round < 20; round++) {
    const next: string[] = [];
    for (const k of pending) {
      const ctx = { ...base, ...out };
      for (const p of pending) if (p !== k) delete ctx[p]; // only rendered vars may be used
      delete ctx[k];
      try {
        out[k] = renderValue(out[k], ctx, `variable ${k}`);
        errors.delete(k);
      } catch (err) {
        errors.set(k, (err as Error).message);
        next.push(k);
      }
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  for (const k of pending) out[k] = new UnresolvedVar(k, errors.get(k) ?? 'unresolvable');
  return out;
}

function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%');
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).some(hasTemplate);
  return false;
}
