/**
 * Probe phase: which task instances share one probe script (the window), and the round trip that
 * probes them.
 *
 * - The window starts at (task i, item k) and runs on while the following instances' inputs are
 *   known now (no reference to a name registered by an earlier task of the window), all in the
 *   same become mode, up to MAX_BATCH instances; instances already probed are left out.
 * - One probe round trip: results an earlier play already brought back are taken from the
 *   ProbeCache (only while nothing was applied since and only for a byte-identical script); the
 *   rest are framed into ONE script, which also carries the host's later plays' probes the first
 *   time this play probes (lookahead), stored back into the cache.
 * - A probe the script never reached (it died mid-way) gets the whole script's stderr, or
 *   "probe script exited with N".
 */
import type { ExecResult } from '../../core/exec.ts';
import type { TaskDef } from '../../input/playbook/types.ts';
import { factNamesUsed, type Instantiation, type TaskInstance, taskReferences } from '../../plan/instance.ts';
import { frameScripts } from '../../sh/frame.ts';
import type { Transport } from '../../transport/transport.ts';

/** At most this many probes in one script. */
export const MAX_BATCH = 400;

/**
 * Instances of one become mode share a script; a change of mode starts a new one. A delegated
 * instance (delegate_to) runs over another connection: its delegate is part of its mode.
 */
export const modeOf = (x: TaskInstance): string => `${x.become}:${x.becomeUser}${x.delegate ? `@${x.delegate}` : ''}`;

/** Probe results carried from one play's probe script to the host's later plays. */
export interface ProbeCache {
  /** A result probed earlier for this play's instance `key` ("task:item"), if still valid for `script`. */
  take(key: string, script: string, mode: string): ExecResult | undefined;
  /** Probes of the host's later plays that can be rendered now, in become mode `mode`. */
  lookahead(mode: string): { key: string; script: string; generation: number }[];
  /** Keeps a result probed for a later play (from lookahead; `generation` as lookahead gave it). */
  store(key: string, script: string, mode: string, out: ExecResult, generation: number): void;
  /** Something is about to be applied (on any host): every cached result of every host is stale. */
  applied(): void;
}

/** What the window reads of a host's sequence. */
export interface WindowSource {
  readonly tasks: readonly TaskDef[];
  /** Task j instantiated for this host (cached by the sequence). */
  instantiation(j: number): Instantiation;
  /** Task index → the name it registers. */
  readonly registers: ReadonlyMap<number, string>;
  readonly probed: ReadonlyMap<TaskInstance, ExecResult>;
  /** Task index → the names a controller-side action defines (set_fact, include_vars); null: unknown before it runs. */
  readonly defines?: ReadonlyMap<number, readonly string[] | null>;
  /** Task indexes of actions whose effects change what follows (pause, meta, includes): probes do not pass them. */
  readonly barriers?: ReadonlySet<number>;
}

/** Controller-side actions that change nothing the tasks after them see, but for what they register. */
const PASSIVE_ACTIONS = new Set(['debug', 'assert', 'fail', 'pause']);

/** Instances from (task i, item k) on whose inputs are known now, in order, same become mode (that of `first`, if given). */
export function probeWindow(src: WindowSource, i: number, k: number, first?: TaskInstance): TaskInstance[] {
  const out: TaskInstance[] = [];
  const pendingRegs = new Set<string>();
  let pendingFacts = false;
  let want = first ? modeOf(first) : undefined;
  for (let j = i; j < src.tasks.length && out.length < MAX_BATCH; j++) {
    if (j > i && taskReferences(src.tasks[j]!, pendingRegs).length) break;
    if (j > i && src.barriers?.has(j)) break;
    // After a facts module (setup) not run yet, a task using facts waits for them.
    if (j > i && pendingFacts && factNamesUsed(src.tasks[j]!).length) break;
    const r = src.instantiation(j);
    if (r.kind === 'run') {
      const list = j === i ? r.instances.slice(k) : r.instances;
      // A controller-side action is not probed. One that changes what follows it (an include
      // splices tasks in, meta ends or flushes, add_host/group_by change the inventory,
      // include_vars sets unknown names) ends the window; set_fact's names are like registered ones.
      const action = list.find((x) => x.bound.action);
      if (action) {
        if (j > i && !PASSIVE_ACTIONS.has(src.tasks[j]!.module) && src.tasks[j]!.module !== 'set_fact') break;
        if (src.tasks[j]!.module === 'set_fact') for (const name of Object.keys(src.tasks[j]!.params)) pendingRegs.add(name);
        const reg = src.registers.get(j);
        if (reg) pendingRegs.add(reg);
        continue;
      }
      let stop = false;
      for (const x of list) {
        // A controller-side action has nothing to probe, and no become mode to keep.
        if (x.bound.action) continue;
        want ??= modeOf(x);
        if (modeOf(x) !== want) {
          stop = true;
          break;
        }
        if (!src.probed.has(x)) out.push(x);
      }
      if (stop) break;
    }
    const reg = src.registers.get(j);
    if (reg) pendingRegs.add(reg);
    // set_fact / include_vars: later tasks using their names wait; unknown names: nothing after is known.
    const defined = src.defines?.get(j);
    if (defined === null) break;
    for (const n of defined ?? []) pendingRegs.add(n);
    if (['setup', 'package_facts', 'service_facts', 'getent'].includes(src.tasks[j]!.module)) pendingFacts = true;
  }
  return out;
}

/** Where one probe round trip takes its inputs from and puts its results. */
export interface ProbeTarget {
  /** The host's (cached) connection. */
  transport: () => Promise<Transport>;
  /** Instance → its ProbeCache key ("task:item"). */
  keys: ReadonlyMap<TaskInstance, string>;
  /** Results land here. */
  probed: Map<TaskInstance, ExecResult>;
  /** The cross-play cache (none for handlers). */
  cache?: ProbeCache;
  /** True the first time this play sends a probe script (it then carries the lookahead); false afterwards. */
  firstScript: () => boolean;
}

/** Probes `list` (a window) in one round trip, or none when the cache has every result. */
export async function probeInstances(list: TaskInstance[], t: ProbeTarget): Promise<void> {
  const { cache } = t;
  let scripts = list.map((x) => x.bound.probe(x.ctx));
  if (cache) {
    // Results an earlier play's script already brought back (nothing applied since).
    const rest: number[] = [];
    list.forEach((x, n) => {
      const hit = cache.take(t.keys.get(x)!, scripts[n]!, modeOf(x));
      if (hit) t.probed.set(x, hit);
      else rest.push(n);
    });
    list = rest.map((n) => list[n]!);
    scripts = rest.map((n) => scripts[n]!);
  }
  if (!list.length) return;
  const mode = modeOf(list[0]!);
  const ahead = cache && t.firstScript() ? cache.lookahead(mode).slice(0, Math.max(0, MAX_BATCH - list.length)) : [];
  // Probes only read: their stats, hashes and units are read in few processes (sh/batch.ts).
  const framed = frameScripts([...scripts, ...ahead.map((a) => a.script)], { readOnly: true });
  const conn = await t.transport();
  const res = await conn.run(framed.script, { become: list[0]!.become, becomeUser: list[0]!.becomeUser });
  const parts = framed.parse(res.stdout);
  list.forEach((x, n) => {
    const p = parts[n]!;
    if (p.code === -1) {
      // The script died before this probe: report the whole script's error on it.
      p.stderr = res.stderr || `probe script exited with ${res.code}`;
    }
    t.probed.set(x, p);
  });
  ahead.forEach((a, n) => {
    const p = parts[list.length + n]!;
    if (p.code !== -1) cache!.store(a.key, a.script, mode, p, a.generation);
  });
}
