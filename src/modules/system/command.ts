/**
 * `command`: run a program (argv, no shell). The guards, stdin and environment handling it
 * shares with `shell` live in guards.ts; this file is the module and its argument splitting.
 *
 * The command line is split here like sh would split it, with no expansion, and every word is
 * quoted again in the script: nothing in `cmd` is interpreted by a shell on the host.
 */
import { isTainted, refuseSecretInArgv } from '../../core/secret/secret.ts';
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
} from './guards.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  oneOf: [{ required: ['cmd'] }, { required: ['argv'] }],
  properties: {
    cmd: {
      type: 'string',
      minLength: 1,
      description:
        'the command line, split into arguments like a shell would (quotes and backslashes) but with no expansion, pipes or redirections; use shell for those',
    },
    argv: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'the command as a list of arguments (instead of cmd)' },
    ...commonProps,
  },
} as const;

export type CommandParams = FromSchema<typeof schema>;
export type { CommandState };

/** Splits a command line like a POSIX shell does, without any expansion. */
export function splitArgs(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let i = 0;
  while (i < cmd.length) {
    const c = cmd[i];
    if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in command: ${cmd}`);
      cur += cmd.slice(i + 1, end);
      has = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      has = true;
      while (i < cmd.length && cmd[i] !== '"') {
        if (cmd[i] === '\\' && i + 1 < cmd.length && '"\\$`\n'.includes(cmd[i + 1])) {
          cur += cmd[i + 1];
          i += 2;
        } else cur += cmd[i++];
      }
      if (i >= cmd.length) throw new Error(`unterminated double quote in command: ${cmd}`);
      i++;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[i + 1];
      has = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      i++;
    } else {
      cur += c;
      has = true;
      i++;
    }
  }
  if (has) out.push(cur);
  return out;
}

function argvOf(p: CommandParams): string[] {
  if (p.argv) return p.argv;
  const a = splitArgs(p.cmd ?? '');
  if (!a.length) throw new Error('cmd is empty');
  return a;
}

export const commandRunner: Runner<CommandParams> = {
  display: (p) => (p.argv ? p.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : q(a))).join(' ') : (p.cmd ?? '')),
  words: (p) => argvOf(p).map(q).join(' '),
};

export default defineModule<CommandParams, CommandState, RunOp>({
  name: 'command',
  description: 'Run a program with arguments (no shell). Runs every time unless guarded by creates, removes or unless.',
  schema,
  probe: (p) => guardProbe(p),
  parse: (out) => guardParse(out),
  prepare(p) {
    // argv is the program's command line: nothing can carry a secret there but the command line itself.
    const why = 'command runs a program with these arguments; pass the secret through `environment` or `stdin` (with shell, "$VAR")';
    refuseSecretInArgv(p.argv ? 'argv' : 'cmd', p.argv ?? p.cmd, why);
  },
  plan(p, _prep, s, ctx) {
    argvOf(p); // fails early on unbalanced quotes
    return guardPlan(p, s, commandRunner, ctx);
  },
  apply: (p, _prep, _s, ops) => runOps(p, ops, commandRunner),
  interpret: (p, _prep, out) => commandResult(commandRunner.display(p), out, isTainted(p)),
  registerData: (_p, _prep, s) => guardRegisterData(s),
  footprint: (p) => guardFootprint(p),
});
