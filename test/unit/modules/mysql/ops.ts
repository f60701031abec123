/**
 * Helper for the mysql_* module tests: the proof that `apply` depends on the typed ops only.
 * The module plans; every summary is reworded to 'x'; apply must build the very same script,
 * and no op may carry a summary's text (which would let apply decode prose again).
 */
import { expect } from 'vitest';
import { Secret } from '../../../../src/core/secret/secret.ts';
import type { ModuleDef } from '../../../../src/modules/contract.ts';
import { ctx } from '../helpers.ts';

export function expectApplyIgnoresSummaries<P, S, Op extends { kind: string }, Prep>(
  m: ModuleDef<P, S, Op, Prep>,
  p: P,
  prep: Prep,
  s: S,
): string {
  const c = ctx();
  const planned = m.plan(p, prep, s, c);
  expect(planned.length).toBeGreaterThan(0);
  const reworded = planned.map((x) => ({ ...x, summary: 'x' }));
  const script = m.apply(
    p,
    prep,
    s,
    planned.map((x) => x.op),
    c,
  );
  expect(
    m.apply(
      p,
      prep,
      s,
      reworded.map((x) => x.op),
      c,
    ),
  ).toBe(script);
  for (const x of planned) expect(JSON.stringify(x.op)).not.toContain(x.summary);
  return script;
}

/**
 * A secret param as the engine hands it to a module: a Secret (plan/instance.ts wraps every
 * `secretParams` value), where `FromSchema` types the param as a string.
 */
export function secretParam(value: string): string {
  return new Secret(value) as unknown as string;
}
