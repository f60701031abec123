/**
 * The guard machinery shared by `command` (command.ts) and `shell` (shell.ts): the params both
 * take (chdir, creates, removes, unless, stdin, environment), the probe of the guards, the plan
 * they imply, the apply script around the command, and the result of a run.
 *
 * Without a guard the command runs every time: the plan is an unpredictable action. With a
 * guard (creates / removes / unless) the guard decides, as in Ansible: satisfied → ok; otherwise
 * the command runs (a predictable action: --check says it will run). As in Ansible, the guard is
 * a condition to skip, not a promise of the command: a command that does not create its `creates`
 * file (a role whose later task writes it) succeeds, and runs again on the next run while the
 * file is still missing. Kiln's own `unless` is a post-condition: the command must make it pass,
 * or the task reports that it did not converge.
 *
 * Secrets: no text the user wrote is ever in a remote command line. The whole script travels on
 * ssh's stdin. `unless` and `shell`'s `cmd` reach their shell as a here-document on file
 * descriptor 3 (`sh -c '. /dev/fd/3' 3<<'TAG'`): the shell's argv is that fixed text only.
 * `stdin` (secret only when it holds one) reaches the command through a heredoc (base64); `environment` values
 * are `export`ed inside the script (they are in the command's own environment,
 * /proc/PID/environ, readable by its user and root, not in argv). What the shell text then runs
 * is the user's: a builtin (`test`, `[`, `echo`, `printf`) starts no process, an external program
 * gets its arguments in its argv, so pass a secret to one through `environment` ("$VAR").
 * `command`'s argv IS a process's argv: a secret in `cmd`/`argv` is refused before any host is
 * contacted (SecretInArgvError). Params rendered from a secret arrive revealed; the taint check
 * is the redactor's registry (containsSecret), where every derived value is registered.
 */
import { ANYTHING, type Footprint, pathResource, type Resource } from '../resources.ts';
import { isSecret, registerSecretValue } from '../../core/secret/secret.ts';
import { MAY_WRITE } from '../../sh/batch.ts';
import { sha256 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import type { ApplyResult, ExecResult, FromSchema, ModuleContext, Planned } from '../contract.ts';

export const commonProps = {
  chdir: {
    type: 'string',
    pattern: '^/',
    description: 'absolute directory to run in; the task fails if it does not exist (never falls back to $HOME)',
  },
  creates: { type: 'string', minLength: 1, description: 'path (relative to chdir when relative): when it exists, the command is not run' },
  removes: {
    type: 'string',
    minLength: 1,
    description: 'path (relative to chdir when relative): when it does not exist, the command is not run',
  },
  unless: {
    type: 'string',
    minLength: 1,
    description:
      'read-only shell command run during the probe (in chdir, with environment); exit 0 means "already done" and the command is not run. It must succeed after the command ran, or the task did not converge',
  },
  // Not `x-secret`: stdin is sensitive only when it holds a (derived) secret or the task is
  // no_log, like every other param (plan/instance.ts records taint); a plain stdin keeps the
  // command's output visible. It always travels as a base64 here-document, never in argv.
  stdin: {
    type: 'string',
    description: 'text fed to the command on stdin (a newline is appended when missing); may be a secret',
  },
  environment: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: { type: ['string', 'number', 'boolean'] },
    description:
      'environment variables for the command (and for unless); exported inside the script, never passed in argv; values may be secrets',
  },
} as const;

const guardSchema = { type: 'object', properties: commonProps } as const;

/** The guard params, as both `command` and `shell` have them. */
export type GuardParams = FromSchema<typeof guardSchema>;

export interface CommandState {
  chdirExists?: boolean;
  creates?: boolean;
  removes?: boolean;
  unlessRc?: number;
}

/** The one thing `command` and `shell` can do: run the command. */
export type RunOp = { kind: 'run' };

/** A param value as the script needs it: a Secret revealed, anything else as text. */
function reveal(v: unknown): string {
  if (v === undefined) return '';
  return isSecret(v) ? v.reveal() : typeof v === 'string' ? v : String(v);
}

/**
 * The footprint of command and shell (batching): the probe reads chdir, creates and removes (and
 * anything when `unless` runs a command); the command may write anything. It fails exactly when
 * it exits non-zero (commandResult).
 */
export function guardFootprint(p: GuardParams): Footprint {
  const reads: Resource[] = [];
  if (p.chdir) reads.push(pathResource(p.chdir));
  if (p.creates) reads.push(pathResource(guardPath(p, p.creates)));
  if (p.removes) reads.push(pathResource(guardPath(p, p.removes)));
  if (p.unless) reads.push(ANYTHING);
  return { reads, writes: [ANYTHING], exitStatusFails: true };
}

function guardPath(p: GuardParams, path: string): string {
  return path.startsWith('/') || !p.chdir ? path : `${p.chdir.replace(/\/$/, '')}/${path}`;
}

function envLines(env: Record<string, unknown> | undefined): string[] {
  return Object.entries(env ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return `export ${k}=${q(reveal(v))}`;
  });
}

/** What a command/shell module needs to know about its command line. */
export interface Runner<P> {
  /** Text shown in summaries and in results. */
  display(p: P): string;
  /** Shell words that run the command (already quoted). */
  words(p: P): string;
  /** Here-document bodies the words' redirections read (they follow the line holding the words). */
  heredocs?(p: P): string;
}

export function guardProbe(p: GuardParams): string {
  const lines: string[] = [];
  if (p.chdir) lines.push(`[ -d ${q(p.chdir)} ] && echo chdir=1 || echo chdir=0`);
  if (p.creates) lines.push(`[ -e ${q(guardPath(p, p.creates))} ] && echo creates=1 || echo creates=0`);
  if (p.removes) lines.push(`[ -e ${q(guardPath(p, p.removes))} ] && echo removes=1 || echo removes=0`);
  if (p.unless) {
    // Own subshell, no stdin (the probe script itself is on stdin), output discarded.
    const cd = p.chdir ? `cd ${q(p.chdir)} 2>/dev/null || exit 125; ` : '';
    const env = envLines(p.environment).join('; ');
    const src = viaFd3(p.unless);
    lines.push(`( ${cd}${env ? `${env}; ` : ''}/bin/sh ${src.words}\n${src.heredoc}) </dev/null >/dev/null 2>&1; echo "unless_rc=$?"`);
    // The user's command may write: a probe script reads the host anew after it (sh/batch.ts).
    lines.push(MAY_WRITE);
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

/**
 * Shell text given to a shell without putting it in argv: `-c '. /dev/fd/3'` plus a quoted
 * here-document on fd 3 (to put after the line holding `words`). The tag holds a hash of the text,
 * so no line of the text can end the here-document early. The text's first line starts by closing
 * fd 3 (`.` reads through its own descriptor: dash moves it above 9, bash reads the whole file
 * first), so what the text runs inherits no descriptor holding it; line numbers are unchanged.
 */
export function viaFd3(text: string): { words: string; heredoc: string } {
  const body = `exec 3<&-; ${text.endsWith('\n') ? text : `${text}\n`}`;
  const tag = `KILN_SH_${sha256(body).slice(0, 16)}`;
  return { words: `-c '. /dev/fd/3' 3<<'${tag}'`, heredoc: `${body}${tag}\n` };
}

export function guardPlan<P extends GuardParams>(p: P, s: CommandState, runner: Runner<P>, ctx?: ModuleContext): Planned<RunOp>[] {
  const shown = runner.display(p);
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
  const op: RunOp = { kind: 'run' };
  if (!guarded) return [{ summary, action: true, unpredictable: true, op }];
  // Kiln's own `unless` is a post-condition (the check must pass after the run); Ansible's
  // creates/removes only decide whether to run.
  return [p.unless ? { summary, op } : { summary, action: true, op }];
}

/** The script running the command: in chdir, with its environment, stdin from a heredoc. */
export function guardApply<P extends GuardParams>(p: P, runner: Runner<P>): string {
  const lines: string[] = [];
  if (p.chdir) lines.push(`cd -- ${q(p.chdir)} || { echo ${q(`chdir: directory ${p.chdir} does not exist`)} >&2; exit 127; }`);
  lines.push(...envLines(p.environment));
  const words = runner.words(p);
  const after = runner.heredocs?.(p) ?? '';
  if (p.stdin !== undefined) {
    let text = reveal(p.stdin);
    if (!text.endsWith('\n')) text += '\n';
    const b64 = Buffer.from(text)
      .toString('base64')
      .replace(/.{1,76}/g, '$&\n');
    const tag = `KILN_STDIN_${sha256(text).slice(0, 12)}`;
    lines.push(`base64 -d <<'${tag}' | ${words}\n${b64}${tag}${after ? `\n${after.replace(/\n$/, '')}` : ''}`);
  } else {
    lines.push(`${words} </dev/null${after ? `\n${after.replace(/\n$/, '')}` : ''}`);
  }
  return lines.join('\n');
}

/** The apply of `command` and `shell`: each planned op is one run (there is at most one). */
export function runOps<P extends GuardParams>(p: P, ops: readonly RunOp[], runner: Runner<P>): string {
  return ops
    .map((op) => {
      switch (op.kind) {
        case 'run':
          return guardApply(p, runner);
      }
    })
    .join('\n');
}

/** The result of a run (register: rc, stdout, stderr and their lines); failed when rc ≠ 0. */
export function commandResult(cmd: string, out: ExecResult, tainted = false): ApplyResult {
  if (tainted) {
    // A command that was given a secret may print it, transformed: its output is a secret too
    // (registered with the redactor before the failure message below is built).
    registerSecretValue(out.stdout.trim());
    registerSecretValue(out.stderr.trim());
  }
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
  return out.code === 0
    ? { result }
    : { result, failed: `${cmd}: exit code ${out.code}${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}` };
}

/** Register data when the command did not run (or before it runs): why it was skipped. */
export function guardRegisterData(s: CommandState): Record<string, unknown> {
  return {
    rc: null,
    skipped_reason: s.creates ? 'creates exists' : s.removes === false ? 'removes missing' : s.unlessRc === 0 ? 'unless succeeded' : null,
  };
}
