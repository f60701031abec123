/**
 * The per-host iterator (engine/iterator.ts) on its own: the linear strategy's choice of the next
 * step by position, per-host sequences with spliced tasks, and the block walk after a failure.
 * TaskDefs are built bare here (only what the iterator reads: index, pos, loc, blocks).
 */
import { describe, expect, it } from 'vitest';
import type { BlockFrame, TaskDef } from '../../../src/input/playbook/types.ts';
import { comparePos, PlayIterator } from '../../../src/engine/iterator.ts';
import { placeIncluded } from '../../../src/engine/includes.ts';

let line = 0;
function task(name: string, extra: Partial<TaskDef> = {}): TaskDef {
  return { name, index: line, loc: { file: 'pb.yml', line: ++line, col: 5 }, ...extra } as TaskDef;
}
const frame = (id: number, section: BlockFrame['section'], hasRescue: boolean): BlockFrame => ({
  id,
  section,
  hasRescue,
  loc: { file: 'pb.yml', line: 1, col: 1 },
});

/** Runs the iterator to the end; `fails(host, task)` says which runs fail. Returns the steps as "task: hosts". */
function drive(
  seqs: Map<string, TaskDef[]>,
  fails: (h: string, t: TaskDef) => boolean = () => false,
): { steps: string[]; failed: string[] } {
  const it = new PlayIterator(seqs);
  const steps: string[] = [];
  const failed: string[] = [];
  const hosts = [...seqs.keys()];
  for (let n = 0; n < 100; n++) {
    const step = it.next(hosts.filter((h) => !failed.includes(h)));
    if (!step) break;
    steps.push(`${step.task.name}: ${step.hosts.map((x) => x.host).join(',')}`);
    for (const { host, index } of step.hosts) {
      const t = seqs.get(host)![index]!;
      if (it.advance(host, index, fails(host, t)) === 'failed') failed.push(host);
    }
  }
  return { steps, failed };
}

describe('positions', () => {
  it('order lexicographically, a prefix first', () => {
    expect(comparePos([3], [3, 0, 0])).toBeLessThan(0);
    expect(comparePos([3, 0, 1], [3, 1, 0])).toBeLessThan(0);
    expect(comparePos([3, 1, 0], [4])).toBeLessThan(0);
    expect(comparePos([4], [4])).toBe(0);
  });
});

describe('the linear strategy by position', () => {
  it('a host whose include spliced tasks runs them while the others wait; hosts at the same place run together', () => {
    const a = task('a');
    const inc = task('include');
    const b = task('b');
    const file = [task('i1'), task('i2')];
    const t1 = [a, inc, b];
    const t2 = [a, inc, b];
    const t3 = [a, inc, b];
    // t1 and t2 include the same file at the same place (two expansions of the same tasks), t3 includes nothing.
    t1.splice(2, 0, ...placeIncluded(inc, 0, file));
    t2.splice(2, 0, ...placeIncluded(inc, 0, file));
    const { steps } = drive(
      new Map([
        ['t1', t1],
        ['t2', t2],
        ['t3', t3],
      ]),
    );
    expect(steps).toEqual(['a: t1,t2,t3', 'include: t1,t2,t3', 'i1: t1,t2', 'i2: t1,t2', 'b: t1,t2,t3']);
  });

  it('a looped include: one expansion per item, in item order; a host with fewer items goes on with the others', () => {
    const inc = task('include');
    const b = task('b');
    const file = [task('x'), task('y')];
    const t1 = [inc, ...placeIncluded(inc, 0, file), ...placeIncluded(inc, 1, file), b];
    const t2 = [inc, ...placeIncluded(inc, 0, file), b];
    const { steps } = drive(
      new Map([
        ['t1', t1],
        ['t2', t2],
      ]),
    );
    expect(steps).toEqual(['include: t1,t2', 'x: t1,t2', 'y: t1,t2', 'x: t1', 'y: t1', 'b: t1,t2']);
  });
});

describe('blocks', () => {
  const b = (s: BlockFrame['section'], name: string, rescue = true) => task(name, { blocks: [frame(1, s, rescue)] });

  it('no failure: the rescue is passed over, always runs', () => {
    const seq = [b('block', 'b1'), b('block', 'b2'), b('rescue', 'r'), b('always', 'al'), task('after')];
    expect(drive(new Map([['h', seq]])).steps).toEqual(['b1: h', 'b2: h', 'al: h', 'after: h']);
  });

  it('a failure in block: the rest of it is skipped, rescue then always run, the host goes on', () => {
    const seq = [b('block', 'b1'), b('block', 'b2'), b('rescue', 'r'), b('always', 'al'), task('after')];
    const r = drive(new Map([['h', seq]]), (_h, t) => t.name === 'b1');
    expect(r).toEqual({ steps: ['b1: h', 'r: h', 'al: h', 'after: h'], failed: [] });
  });

  it('a failure in an always section skips the rest of it and fails the host', () => {
    const seq = [b('block', 'b1', false), b('always', 'al1', false), b('always', 'al2', false), task('after')];
    const r = drive(new Map([['h', seq]]), (_h, t) => t.name === 'al1');
    expect(r).toEqual({ steps: ['b1: h', 'al1: h'], failed: ['h'] });
  });

  it('nested: an inner failure without rescue runs the inner always, then the outer rescue and always', () => {
    const inner = (s: BlockFrame['section'], name: string) => task(name, { blocks: [frame(1, 'block', true), frame(2, s, false)] });
    const outer = (s: BlockFrame['section'], name: string) => task(name, { blocks: [frame(1, s, true)] });
    const seq = [
      inner('block', 'i1'),
      inner('block', 'i2'),
      inner('always', 'ia'),
      outer('block', 'o2'),
      outer('rescue', 'or'),
      outer('always', 'oa'),
      task('after'),
    ];
    const r = drive(new Map([['h', seq]]), (_h, t) => t.name === 'i1');
    expect(r).toEqual({ steps: ['i1: h', 'ia: h', 'or: h', 'oa: h', 'after: h'], failed: [] });
  });

  it('two hosts taking different paths through the same block', () => {
    const seq = [b('block', 'b1'), b('block', 'b2'), b('rescue', 'r'), b('always', 'al'), task('after')];
    const r = drive(
      new Map([
        ['t1', [...seq]],
        ['t2', [...seq]],
      ]),
      (h, t) => h === 't1' && t.name === 'b1',
    );
    expect(r.steps).toEqual(['b1: t1,t2', 'b2: t2', 'r: t1', 'al: t1,t2', 'after: t1,t2']);
  });

  it('a block in an included file is its own, even when the same file is included twice', () => {
    const inc = task('include');
    const file = [task('f1', { blocks: [frame(1, 'block', true)] }), task('fr', { blocks: [frame(1, 'rescue', true)] })];
    const seq = [inc, ...placeIncluded(inc, 0, file), ...placeIncluded(inc, 1, file), task('after')];
    // The first expansion's f1 fails (rescued); the second's f1 does not: its rescue is passed over.
    let n = 0;
    const r = drive(new Map([['h', seq]]), (_h, t) => t.name === 'f1' && n++ === 0);
    expect(r.steps).toEqual(['include: h', 'f1: h', 'fr: h', 'f1: h', 'after: h']);
  });

  it('a failure in tasks included inside a block is rescued by that block', () => {
    const inc = task('include', { blocks: [frame(7, 'block', true)] });
    const file = [task('inc1'), task('inc2')];
    const seq = [
      inc,
      ...placeIncluded(inc, 0, file),
      task('rest', { blocks: [frame(7, 'block', true)] }),
      task('r', { blocks: [frame(7, 'rescue', true)] }),
      task('after'),
    ];
    const r = drive(new Map([['h', seq]]), (_h, t) => t.name === 'inc1');
    expect(r).toEqual({ steps: ['include: h', 'inc1: h', 'r: h', 'after: h'], failed: [] });
  });
});
