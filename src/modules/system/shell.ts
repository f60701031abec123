/**
 * `shell`: run a command line through sh -c (pipes, redirections, variables). Same guards,
 * stdin and environment handling as `command` (command.ts).
 */
import type { Secret } from '../../core/secret/secret.ts';
import { type CommandState, commandInterpret, commonProps, guardApply, guardParse, guardPlan, guardProbe, type Runner } from './command.ts';
import { q } from '../../sh/quote.ts';
import { defineLegacyModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['cmd'],
  properties: {
    cmd: { type: 'string', minLength: 1, description: 'shell command line, run with `executable -c`' },
    executable: { type: 'string', pattern: '^/', description: 'shell to run cmd with (default /bin/sh; e.g. /bin/bash for pipefail)' },
    ...commonProps,
  },
} as const;

export type ShellParams = Omit<FromSchema<typeof schema>, 'stdin' | 'environment'> & {
  stdin?: string | Secret;
  environment?: Record<string, string | number | boolean | Secret>;
};

export const shellRunner: Runner<ShellParams> = {
  display: (p) => p.cmd,
  words: (p) => `${q(p.executable ?? '/bin/sh')} -c ${q(p.cmd)}`,
};

export default defineLegacyModule<ShellParams, CommandState>({
  name: 'shell',
  description: 'Run a command line through the shell. Runs every time unless guarded by creates, removes or unless.',
  schema,
  secretParams: ['stdin'],
  probe: (p) => guardProbe(p),
  parse: (out) => guardParse(out),
  plan: (p, s, ctx) => guardPlan(p, s, shellRunner, ctx),
  apply: (p) => guardApply(p, shellRunner),
  interpret: (p, out) => commandInterpret(p.cmd)(p, out),
  describe: (_p, s) => ({ rc: null, skipped_reason: s.creates ? 'creates exists' : s.removes === false ? 'removes missing' : s.unlessRc === 0 ? 'unless succeeded' : null }),
});
