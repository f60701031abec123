/**
 * Timed pairs: per run, Kiln and Ansible one after the other on the same hosts, the order
 * alternating between runs so neither tool always runs second; each run checked (failures, and
 * changes where hosts should be converged) and logged with its Ansible ÷ Kiln ratio.
 */
import { log } from './log.ts';
import { checkRun, type PairResult } from './results.ts';
import { runAnsible, runKiln, type AnsibleRun, type KilnRun } from './runners.ts';
import { sec } from './stats.ts';

export interface PairOptions {
  check?: boolean;
  /** false: Kiln only (figure 4 above --ansible-max-hosts). */
  ansible?: boolean;
  /** Before each run (figure 1: fresh hosts; there also before the second tool of the run). */
  before?: (run: number) => Promise<void>;
}

/** `runs` timed pairs; the order alternates so neither tool always runs second. */
export async function pairs(
  notes: string[],
  figure: number,
  n: number,
  runs: number,
  { check = false, ansible = true, before }: PairOptions = {},
): Promise<PairResult> {
  const k: KilnRun[] = [];
  const a: AnsibleRun[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (before) await before(i);
    const label = `f${figure}-n${n}-r${i + 1}`;
    const order = i % 2 === 0 ? (['kiln', 'ansible'] as const) : (['ansible', 'kiln'] as const);
    let kr: KilnRun | undefined;
    let ar: AnsibleRun | undefined;
    for (const tool of order) {
      if (tool === 'kiln') {
        kr = await runKiln(n, { check, label });
        checkRun(notes, 'Kiln', label, kr, figure !== 1);
        k.push(kr);
      } else if (ansible) {
        ar = await runAnsible(n, { check, label });
        checkRun(notes, 'Ansible', label, ar, figure !== 1);
        a.push(ar);
      }
      if (figure === 1 && tool === order[0] && ansible) await before?.(i); // the second tool gets fresh hosts too
    }
    // Kiln runs in every pair, so kr is set here.
    const kw = kr!.wall;
    log(
      `figure ${figure}, ${n} hosts, run ${i + 1}/${runs}: Kiln ${sec(kw)} s${ar ? `, Ansible ${sec(ar.wall)} s (×${(ar.wall / kw).toFixed(1)})` : ''}`,
    );
    if (ar) ratios.push(ar.wall / kw);
  }
  return { k, a, ratios };
}
