/**
 * Test helper: a playbook written with Ansible's `block`/`rescue`/`always` as a flat task list
 * (the sections in the order block, rescue, always) plus each flat task's enclosing frames — what
 * the loader's block support gives the engine (TaskDef.blocks). Lets the engine's block semantics
 * be tested on the very playbooks given to ansible-playbook, independently of the loader. Blocks
 * here may have only `name`, `block`, `rescue` and `always`.
 */
import { parse, stringify } from 'yaml';
import type { BlockFrame, PlayDef } from '../../src/input/playbook/types.ts';

type Raw = Record<string, unknown>;

export interface Flattened {
  /** The playbook text with flat task lists. */
  text: string;
  /** Per play: per flat task, its frames (outermost first). */
  frames: BlockFrame[][][];
}

export function flattenBlocks(text: string): Flattened {
  const plays = parse(text) as Raw[];
  const frames: BlockFrame[][][] = [];
  for (const play of plays) {
    let id = 0;
    const out: Raw[] = [];
    const perTask: BlockFrame[][] = [];
    const walk = (tasks: Raw[], outer: BlockFrame[]): void => {
      for (const t of tasks) {
        if (!('block' in t)) {
          out.push(t);
          perTask.push(outer);
          continue;
        }
        const extra = Object.keys(t).filter((k) => !['name', 'block', 'rescue', 'always'].includes(k));
        if (extra.length) throw new Error(`flattenBlocks: block keywords not supported here: ${extra.join(', ')}`);
        const blockId = ++id;
        const hasRescue = Array.isArray(t.rescue) && t.rescue.length > 0;
        const loc = { file: '<test>', line: 1, col: 1 };
        for (const section of ['block', 'rescue', 'always'] as const) {
          const list = t[section];
          if (!Array.isArray(list)) continue;
          const name = typeof t.name === 'string' ? { name: t.name } : {};
          walk(list as Raw[], [...outer, { id: blockId, section, hasRescue, loc, ...name }]);
        }
      }
    };
    walk((play.tasks as Raw[]) ?? [], []);
    play.tasks = out;
    frames.push(perTask);
  }
  return { text: stringify(plays), frames };
}

/** Puts the frames on the loaded plays' tasks (in place). */
export function annotateBlocks(plays: PlayDef[], frames: BlockFrame[][][]): void {
  plays.forEach((p, i) => {
    p.tasks.forEach((t, j) => {
      const f = frames[i]![j]!;
      if (f.length) t.blocks = f;
    });
  });
}
