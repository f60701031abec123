/**
 * Test helper: proves a module's apply depends only on the planned ops. It plans, rewrites every
 * summary to 'x', passes the ops through JSON (plain data, nothing hidden in them), applies, and
 * expects the same script as from the original plan. Returns that script.
 */
import { expect } from 'vitest';
import type { ModuleContext, ModuleDef } from '../../../../src/modules/contract.ts';
import { ctx as defaultCtx } from '../helpers.ts';

export function expectApplyFromOpsOnly<P, S, Op extends { kind: string }, Prep>(
  m: ModuleDef<P, S, Op, Prep>,
  p: P,
  prep: Prep,
  s: S,
  ctx: ModuleContext = defaultCtx(),
): string {
  const planned = m.plan(p, prep, s, ctx);
  expect(planned.length).toBeGreaterThan(0);
  const script = m.apply(
    p,
    prep,
    s,
    planned.map((c) => c.op),
    ctx,
  );
  const reworded = planned.map((c) => ({ ...c, summary: 'x' }));
  const ops = JSON.parse(JSON.stringify(reworded.map((c) => c.op))) as Op[];
  expect(m.apply(p, prep, s, ops, ctx)).toBe(script);
  return script;
}
