/**
 * Timed rounds: per run, every tool chosen (Kiln, Ansible, Ansible + Mitogen, pyinfra) one after
 * the other on the same hosts, the order rotating between runs so no tool always runs first or
 * last; each run checked (failures, and changes where hosts should be converged) and logged with
 * its ratio to Kiln's run of the same round. On first applies (figure 1) the tree each tool leaves
 * on bench1 is compared with Kiln's (trees.ts).
 */
import { log } from './log.ts';
import { runPyinfra } from './pyinfra.ts';
import { checkRun, type PairResult } from './results.ts';
import { runAnsible, runKiln, withHostCpu, type AnsibleRun, type KilnRun, type ToolRun } from './runners.ts';
import { sec } from './stats.ts';
import { diffTrees, readTree, type TreeEntry } from './trees.ts';

export type Tool = 'kiln' | 'ansible' | 'mitogen' | 'pyinfra';
export const TOOLS: readonly Tool[] = ['kiln', 'ansible', 'mitogen', 'pyinfra'];
export const TOOL_LABEL: Record<Tool, string> = { kiln: 'Kiln', ansible: 'Ansible', mitogen: 'Ansible + Mitogen', pyinfra: 'pyinfra' };

export interface PairOptions {
  check?: boolean;
  /** The tools besides Kiln (which runs in every round); default Ansible only. */
  tools?: readonly Tool[];
  pyinfraVenv?: string;
  /** Before each run (figure 1: fresh hosts; there also before every further tool of the run). */
  before?: (run: number) => Promise<void>;
}

/** `runs` rounds in which the order of the tools rotates. */
export function roundOrder(tools: readonly Tool[], round: number): Tool[] {
  const k = tools.length === 0 ? 0 : round % tools.length;
  return [...tools.slice(k), ...tools.slice(0, k)];
}

/** One run of `tool` on bench1..benchN, with the CPU the hosts used meanwhile (`hostCpu`). */
export function runTool(tool: Tool, n: number, o: { check: boolean; label: string; pyinfraVenv?: string }): Promise<ToolRun | KilnRun> {
  return withHostCpu(n, (): Promise<ToolRun | KilnRun> => {
    if (tool === 'kiln') return runKiln(n, o);
    if (tool === 'ansible') return runAnsible(n, o);
    if (tool === 'mitogen') return runAnsible(n, { ...o, mitogen: true });
    if (!o.pyinfraVenv) throw new Error('pyinfra needs its venv');
    return runPyinfra(n, o.pyinfraVenv, o);
  });
}

/**
 * Compares every tool's tree with Kiln's (the first tool's when Kiln's is missing); notes each
 * difference; returns the tools whose tree differs.
 */
export function compareTrees(notes: string[], what: string, trees: ReadonlyMap<Tool, TreeEntry[]>): Tool[] {
  const [refTool, ref] = trees.has('kiln') ? (['kiln', trees.get('kiln')!] as const) : ([...trees.entries()][0] ?? []);
  if (!refTool || !ref) return [];
  const differ: Tool[] = [];
  for (const [tool, tree] of trees) {
    if (tool === refTool) continue;
    const d = diffTrees(ref, tree, TOOL_LABEL[refTool], TOOL_LABEL[tool]);
    if (d.length === 0) continue;
    differ.push(tool);
    notes.push(
      `**${what}: the tree ${TOOL_LABEL[tool]} left differs from ${TOOL_LABEL[refTool]}'s**: ${d.slice(0, 6).join('; ')}${d.length > 6 ? `; … (${d.length} differences)` : ''}`,
    );
  }
  return differ;
}

export async function pairs(
  notes: string[],
  figure: number,
  n: number,
  runs: number,
  { check = false, tools = ['ansible'], pyinfraVenv, before }: PairOptions = {},
): Promise<PairResult> {
  const others: NonNullable<PairResult['others']> = {};
  const treeDiffers: string[] = [];
  const res: PairResult = { k: [], a: [], ratios: [], others, treeDiffers };
  const all: Tool[] = ['kiln', ...tools.filter((t) => t !== 'kiln')];
  for (let i = 0; i < runs; i++) {
    const label = `f${figure}-n${n}-r${i + 1}`;
    const order = roundOrder(all, i);
    const got = new Map<Tool, ToolRun>();
    const trees = new Map<Tool, TreeEntry[]>();
    for (const tool of order) {
      // every run starts with `before`; on first applies (figure 1) every tool gets fresh hosts
      if (before && (tool === order[0] || figure === 1)) await before(i);
      const r = await runTool(tool, n, { check, label, pyinfraVenv });
      checkRun(notes, TOOL_LABEL[tool], label, r, figure !== 1);
      got.set(tool, r);
      if (figure === 1) {
        try {
          trees.set(tool, await readTree(1, tool));
        } catch (err) {
          notes.push(`**${label}: ${(err as Error).message}**`);
        }
      }
    }
    if (figure === 1) for (const t of compareTrees(notes, label, trees)) if (!treeDiffers.includes(t)) treeDiffers.push(t);
    const kr = got.get('kiln') as KilnRun;
    res.k.push(kr);
    const parts: string[] = [`Kiln ${sec(kr.wall)} s`];
    for (const tool of all) {
      if (tool === 'kiln') continue;
      const r = got.get(tool)!;
      const ratio = r.wall / kr.wall;
      if (tool === 'ansible') {
        res.a.push(r as AnsibleRun);
        res.ratios.push(ratio);
      } else {
        const s = (others[tool] ??= { runs: [], ratios: [] });
        s.runs.push(r);
        s.ratios.push(ratio);
      }
      parts.push(`${TOOL_LABEL[tool]} ${sec(r.wall)} s (×${ratio.toFixed(1)})`);
    }
    log(`figure ${figure}, ${n} hosts, run ${i + 1}/${runs}: ${parts.join(', ')}`);
  }
  return res;
}
