/**
 * `shell`: run a command line through the shell (pipes, redirections, variables). Same guards,
 * stdin and environment handling as `command` (guards.ts); `cmd` reaches the shell as a
 * here-document on fd 3 that `executable -c '. /dev/fd/3'` sources, so it is in no process's
 * argv (a secret in it shows in no `ps`; what it runs gets its own arguments, as always).
 */
import { isTainted } from '../../core/secret/secret.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema } from '../contract.ts';
import {
  type CommandState,
  commandResult,
  commonProps,
  guardFootprint,
  guardParse,
  guardPlan,
  guardProbe,
  guardRegisterData,
  type RunOp,
  type Runner,
  runOps,
  viaFd3,
} from './guards.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['cmd'],
  properties: {
    cmd: {
      type: 'string',
      minLength: 1,
      description:
        'shell command line, run by `executable` (read from a here-document, not from argv: a secret in it is not in the shell\'s command line; pass one to an external program through environment, "$VAR")',
    },
    executable: { type: 'string', pattern: '^/', description: 'shell to run cmd with (default /bin/sh; e.g. /bin/bash for pipefail)' },
    ...commonProps,
  },
} as const;

export type ShellParams = FromSchema<typeof schema>;

export const shellRunner: Runner<ShellParams> = {
  display: (p) => p.cmd,
  // The command line reaches the shell on fd 3, not in its argv (guards.ts: viaFd3).
  words: (p) => `${q(p.executable ?? '/bin/sh')} ${viaFd3(p.cmd).words}`,
  heredocs: (p) => viaFd3(p.cmd).heredoc,
};

export default defineModule<ShellParams, CommandState, RunOp>({
  name: 'shell',
  description: 'Run a command line through the shell. Runs every time unless guarded by creates, removes or unless.',
  schema,
  probe: (p) => guardProbe(p),
  footprint: (p) => guardFootprint(p),
  parse: (out) => guardParse(out),
  plan: (p, _prep, s, ctx) => guardPlan(p, s, shellRunner, ctx),
  apply: (p, _prep, _s, ops) => runOps(p, ops, shellRunner),
  interpret: (p, _prep, out) => commandResult(p.cmd, out, isTainted(p)),
  registerData: (_p, _prep, s) => guardRegisterData(s),
});
