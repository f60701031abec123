/**
 * A test-only commit-confirm module, shared by the engine and transport unit tests: apply leaves
 * `DIR/applied`, confirm (run by the engine on a fresh connection) leaves `DIR/confirmed`; a host
 * where `applied` exists is converged. Register it under `name` for the test's duration.
 */
import { defineModule } from '../../../src/modules/contract.ts';
import { q } from '../../../src/sh/quote.ts';

export function confirmMarks(name: string) {
  return defineModule<{ dir: string }, { done: boolean }, { kind: 'mark' }>({
    name,
    description: 'test-only: apply then confirm, each leaving a file',
    schema: { type: 'object', additionalProperties: false, required: ['dir'], properties: { dir: { type: 'string' } } },
    probe: (p) => `[ -f ${q(`${p.dir}/applied`)} ] && echo done=1 || echo done=0`,
    parse: (out) => ({ done: out.stdout.includes('done=1') }),
    plan: (_p, _prep, s) => (s.done ? [] : [{ summary: 'apply once', op: { kind: 'mark' } }]),
    apply: (p) => `touch ${q(`${p.dir}/applied`)}`,
    confirm: (p) => `touch ${q(`${p.dir}/confirmed`)}`,
  });
}
