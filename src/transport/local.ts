/**
 * The local implementation of `Transport`: runs the same scripts the SSH transport sends, with
 * `/bin/sh -s` on this machine. For unit tests of the engine (real shell, no SSH); not wired to the
 * CLI.
 *
 * Same contract as SSH: the script travels on stdin, each `run` is one counted round trip. `become`
 * goes through `sudo -n -u USER` only when the user to become differs from the current one;
 * otherwise the script runs as the current user with plain sh. A script that cannot be started
 * (no /bin/sh, no sudo) is reported as `UnreachableError`, like an SSH host that cannot be reached.
 */
import { spawn } from 'node:child_process';
import { currentUser } from './ssh/sshconfig.ts';
import {
  becomeUserProblem,
  type ExecResult,
  type RunOptions,
  type Transport,
  type TransportFactory,
  UnreachableError,
} from './transport.ts';
import { type ScriptSession, SessionStream } from './session.ts';

export interface LocalOptions {
  /** Working directory of the scripts (default: this process's). */
  cwd?: string;
  /** Environment of the scripts (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export class LocalTransport implements Transport {
  roundTrips = 0;
  syncs = 0;

  constructor(
    readonly name: string,
    private readonly opts: LocalOptions = {},
  ) {}

  /** The command line: plain sh, or sh through sudo when becoming another user. */
  argv(opts: RunOptions = {}): string[] {
    const user = opts.becomeUser ?? 'root';
    if (opts.become && user !== currentUser()) return ['sudo', '-n', '-u', user, '--', '/bin/sh', '-s'];
    return ['/bin/sh', '-s'];
  }

  async run(script: string, opts: RunOptions = {}): Promise<ExecResult> {
    const refused = opts.become ? becomeUserProblem(opts.becomeUser ?? 'root') : undefined;
    if (refused) return { stdout: '', stderr: `${refused}\n`, code: 1 };
    const [cmd, ...args] = this.argv(opts);
    this.roundTrips++;
    return new Promise((resolve, reject) => {
      const child = spawn(cmd!, args, { cwd: this.opts.cwd, env: this.opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new UnreachableError(`cannot run ${cmd} on ${this.name}: ${e.message}`)));
      child.on('close', (code, signal) =>
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          code: code ?? (signal ? 128 : 255),
        }),
      );
      // A script that exits before reading all of stdin closes the pipe early: not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(script);
    });
  }

  /** A script sent in parts on one `sh -s` (../session.ts). No command timeout here. */
  async session(opts: RunOptions = {}): Promise<ScriptSession> {
    const refused = opts.become ? becomeUserProblem(opts.becomeUser ?? 'root') : undefined;
    if (refused) {
      const done = { stdout: '', stderr: `${refused}\n`, code: 1 };
      return { send: async () => ({ stdout: '', done }), end: async () => done };
    }
    const [cmd, ...args] = this.argv(opts);
    this.roundTrips++;
    const stream = new SessionStream(0, () => new Error('no timeout'));
    const child = spawn(cmd!, args, { cwd: this.opts.cwd, env: this.opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => stream.stdout(b));
    child.stderr.on('data', (b: Buffer) => stream.stderr(b));
    child.on('error', (e) => stream.failed(new UnreachableError(`cannot run ${cmd} on ${this.name}: ${e.message}`)));
    child.on('close', (code, signal) => stream.ended(code ?? (signal ? 128 : 255)));
    child.stdin.on('error', () => undefined);
    let first = true;
    return {
      send: (part, marker) => {
        if (!first) this.syncs++;
        first = false;
        if (!stream.over) child.stdin.write(part);
        return stream.wait(marker);
      },
      end: async (last) => {
        if (!stream.over) child.stdin.end(last ?? '');
        return (await stream.wait(undefined)).done!;
      },
    };
  }

  close(): void {}
}

/** A factory of local transports: every host is this machine. */
export function localTransport(opts: LocalOptions = {}): TransportFactory {
  return {
    open: async (host) => new LocalTransport(host, opts),
    openFresh: async (host) => new LocalTransport(`${host} (confirm)`, opts),
  };
}
