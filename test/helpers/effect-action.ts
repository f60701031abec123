/**
 * Test helper: a tiny controller-side action module, `test_effect`, whose only job is to return
 * the effects (contract.ts ActionEffect) written in its `effects` parameter — so the runner's
 * handling of effects (includes, meta, …) is tested through real task runs before the real action
 * modules exist. Registered into the module registry by `registerEffectAction()`.
 */
import { modules } from '../../src/modules/registry.ts';
import type { ActionEffect, BoundModule, BoundTask } from '../../src/modules/contract.ts';

const notRemote = (): never => {
  throw new Error('test_effect is a controller-side action: it has no probe, plan or apply');
};

export const effectAction: BoundModule = {
  name: 'test_effect',
  description: 'test: returns the effects it is given',
  schema: {
    type: 'object',
    properties: { effects: { type: 'array' }, fail: { type: 'string' } },
    additionalProperties: false,
  },
  bind(params): BoundTask {
    return {
      probe: notRemote,
      plan: notRemote,
      verifies: false,
      verify: notRemote,
      action: () => ({
        changed: false,
        result: {},
        effects: (params.effects as ActionEffect[] | undefined) ?? [],
        ...(typeof params.fail === 'string' ? { failed: params.fail } : {}),
      }),
    };
  },
};

export function registerEffectAction(): void {
  (modules as Map<string, BoundModule>).set(effectAction.name, effectAction);
}
