/**
 * `command`: run a program (argv, no shell). The shared machinery of `command` and `shell`
 * (shell.ts) lives here.
 *
 * Without a guard the command runs every time: the plan is an unpredictable action. With a
 * guard (creates / removes / unless) the guard is the task's post-condition: satisfied → ok;
 * otherwise the command runs and, like any state change, must leave the guard satisfied, or the
 * task reports that it did not converge.
 *
 * Secrets: `stdin` (a secret param) reaches the command through a heredoc (base64) inside the
 * script, which travels on ssh's stdin; `environment` values are `export`ed inside the script, so
 * they are in no process's argv (only in the command's own environment, /proc/PID/environ,
 * readable by its user and root). A secret inside `cmd`/`argv` is refused: it would show in `ps`.
 */
import { containsSecret, isSecret, type Secret } from '../../core/secret/secret.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { sha256 } from '../../sh/bytes.ts';
import { type ApplyResult, type Change, defineLegacyModule, type ExecResult, type FromSchema, type ModuleContext } from '../contract.ts';

export const commonProps = {
  chdir: { type: 'string', pattern: '^/', description: 'absolute directory to run in; the task fails if it does not exist (never falls back to $HOME)' },
  creates: { type: 'string', minLength: 1, description: 'path (relative to chdir when relative): when it exists, the command is not run' },
  removes: { type: 'string', minLength: 1, description: 'path (relative to chdir when relative): when it does not exist, the command is not run' },
  unless: {
    type: 'string',
    minLength: 1,
    description:
      'read-only shell command run during the probe (in chdir, with environment); exit 0 means "already done" and the command is not run. It must succeed after the command ran, or the task did not converge',
  },
  stdin: { type: 'string', description: 'text fed to the command on stdin (a newline is appended when missing); may be a secret' },
  environment: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: { type: ['string', 'number', 'boolean'] },
    description: 'environment variables for the command (and for unless); exported inside the script, never passed in argv; values may be secrets',
  },
} as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  oneOf: [{ required: ['cmd'] }, { required: ['argv'] }],
  properties: {
    cmd: {
      type: 'string',
      minLength: 1,
      description: 'the command line, split into arguments like a shell would (quotes and backslashes) but with no expansion, pipes or redirections; use shell for those',
    },
    argv: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'the command as a list of arguments (instead of cmd)' },
    ...commonProps,
  },
} as const;

type EnvValue = string | number | boolean | Secret;
export type CommandParams = Omit<FromSchema<typeof schema>, 'stdin' | 'environment'> & {
  stdin?: string | Secret;
  environment?: Record<string, EnvValue>;
};

export interface CommandState {
  chdirExists?: boolean;
  creates?: boolean;
  removes?: boolean;
  unlessRc?: number;
}

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

function reveal(v: EnvValue | undefined): string {
  if (v === undefined) return '';
  return isSecret(v) ? v.reveal() : typeof v === 'string' ? v : String(v);
}

function guardPath(p: { chdir?: string }, path: string): string {
  return path.startsWith('/') || !p.chdir ? path : `${p.chdir.replace(/\/$/, '')}/${path}`;
}

function envLines(env: Record<string, EnvValue> | undefined): string[] {
  return Object.entries(env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return `export ${k}=${q(reveal(v))}`;
  });
}

/** What a command/shell module needs to know about its command line. */
export interface Runner<P> {
  /** Text shown in summaries. */
  display(p: P): string;
  /** Shell words that run the command (already quoted). */
  words(p: P): string;
}

type Common = CommandParams | (Omit<CommandParams, 'cmd' | 'argv'> & { cmd: string });

export function guardProbe(p: Common): string {
  const lines: string[] = [];
  if (p.chdir) lines.push(`[ -d ${q(p.chdir)} ] && echo chdir=1 || echo chdir=0`);
  if (p.creates) lines.push(`[ -e ${q(guardPath(p, p.creates))} ] && echo creates=1 || echo creates=0`);
  if (p.removes) lines.push(`[ -e ${q(guardPath(p, p.removes))} ] && echo removes=1 || echo removes=0`);
  if (p.unless) {
    // Own subshell, no stdin (the probe script itself is on stdin), output discarded.
    const cd = p.chdir ? `cd ${q(p.chdir)} 2>/dev/null || exit 125; ` : '';
    const env = envLines(p.environment).join('; ');
    lines.push(`( ${cd}${env ? `${env}; ` : ''}sh -c ${q(p.unless)} ) </dev/null >/dev/null 2>&1; echo "unless_rc=$?"`);
  }
  lines.push('true');
  return lines.join('\n');
}

export function guardParse(out: ExecResult): CommandState {
  const kv = parseKv(out.stdout);
  const b = (v: string | undefined) => (v === undefined ? undefined : v === '1');
  return {
    chdirExists: b(kv.chdir),
    creates: b(kv.creates),
    removes: b(kv.removes),
    unlessRc: kv.unless_rc === undefined ? undefined : Number(kv.unless_rc),
  };
}

export function guardPlan<P extends Common>(p: P, s: CommandState, runner: Runner<P>, ctx?: ModuleContext): Change[] {
  const shown = runner.display(p);
  if (containsSecret(shown)) {
    throw new Error('a secret value appears in the command line, where `ps` would show it: pass it through stdin or environment instead');
  }
  if (p.creates && s.creates) return [];
  if (p.removes && s.removes === false) return [];
  if (p.unless && s.unlessRc === 0) return [];
  const notes: string[] = [];
  if (p.chdir && s.chdirExists === false) notes.push(`in ${p.chdir}, which does not exist${ctx?.check ? ' yet' : ''}`);
  if (p.creates) notes.push(`${p.creates} does not exist`);
  if (p.removes) notes.push(`${p.removes} exists`);
  if (p.unless) notes.push(`unless exited ${s.unlessRc}`);
  const summary = `run: ${shown}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  const guarded = !!(p.creates || p.removes || p.unless);
  return [guarded ? { summary } : { summary, action: true, unpredictable: true }];
}

export function guardApply<P extends Common>(p: P, runner: Runner<P>): string {
  const lines: string[] = [];
  if (p.chdir) lines.push(`cd -- ${q(p.chdir)} || { echo ${q(`chdir: directory ${p.chdir} does not exist`)} >&2; exit 127; }`);
  lines.push(...envLines(p.environment));
  const words = runner.words(p);
  if (p.stdin !== undefined) {
    let text = reveal(p.stdin);
    if (!text.endsWith('\n')) text += '\n';
    const b64 = Buffer.from(text).toString('base64').replace(/.{1,76}/g, '$&\n');
    const tag = `KILN_STDIN_${sha256(text).slice(0, 12)}`;
    lines.push(`base64 -d <<'${tag}' | ${words}\n${b64}${tag}`);
  } else {
    lines.push(`${words} </dev/null`);
  }
  return lines.join('\n');
}

export function commandInterpret(cmd: string): (p: unknown, out: ExecResult) => ApplyResult {
  return (_p, out) => {
    const stdout = out.stdout.replace(/[\r\n]+$/, '');
    const stderr = out.stderr.replace(/[\r\n]+$/, '');
    const result = {
      cmd,
      rc: out.code,
      stdout,
      stderr,
      stdout_lines: stdout ? stdout.split(/\r?\n/) : [],
      stderr_lines: stderr ? stderr.split(/\r?\n/) : [],
    };
    return out.code === 0 ? { result } : { result, failed: `${cmd}: exit code ${out.code}${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}` };
  };
}

function argvOf(p: CommandParams): string[] {
  if (p.argv) return p.argv as string[];
  const a = splitArgs(p.cmd ?? '');
  if (!a.length) throw new Error('cmd is empty');
  return a;
}

export const commandRunner: Runner<CommandParams> = {
  display: (p) => (p.argv ? (p.argv as string[]).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : q(a))).join(' ') : (p.cmd ?? '')),
  words: (p) => argvOf(p).map(q).join(' '),
};

export default defineLegacyModule<CommandParams, CommandState>({
  name: 'command',
  description: 'Run a program with arguments (no shell). Runs every time unless guarded by creates, removes or unless.',
  schema,
  secretParams: ['stdin'],
  probe: (p) => guardProbe(p),
  parse: (out) => guardParse(out),
  plan(p, s, ctx) {
    argvOf(p); // fails early on unbalanced quotes
    return guardPlan(p, s, commandRunner, ctx);
  },
  apply: (p) => guardApply(p, commandRunner),
  interpret: (p, out) => commandInterpret(commandRunner.display(p))(p, out),
  describe: (_p, s) => ({ rc: null, skipped_reason: s.creates ? 'creates exists' : s.removes === false ? 'removes missing' : s.unlessRc === 0 ? 'unless succeeded' : null }),
});
