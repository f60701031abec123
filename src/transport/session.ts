/**
 * A script sent in parts over ONE remote shell (`Transport.session`): the shell (`sh -s`) runs
 * each part as it arrives on stdin and then waits, reading, for the next. The engine uses it for
 * a batch of applies under the linear strategy (docs/batching.md): each part after the first is
 * sent at its tasks' turn, once every host has finished the tasks before them, so the order across
 * hosts stays the linear strategy's while the host runs one script (one channel, one shell, one
 * prelude) instead of one per task.
 *
 * A part ends by printing a marker line; `send` resolves with all the stdout received so far once
 * that marker is there (or once the script ended: then `done` is its whole result). `end` closes
 * stdin (the shell ends after what it has) and resolves with the result.
 *
 * `SessionStream` is the bookkeeping both transports share (SSH channel, local child process):
 * the stdout so far, the one waiter, the end, a loss, and the command timeout of each part.
 */
import { StringDecoder } from 'node:string_decoder';
import type { ExecResult } from '../core/exec.ts';

export interface SessionReply {
  /** Everything the script printed on stdout so far. */
  stdout: string;
  /** The script ended (before or at this part): its whole result. */
  done?: ExecResult;
}

export interface ScriptSession {
  /** Sends the next part; resolves once `marker` is on stdout, or the script ended. */
  send(part: string, marker: string): Promise<SessionReply>;
  /** Sends `last` (if any), closes stdin; resolves with the script's whole result. */
  end(last?: string): Promise<ExecResult>;
}

interface Waiter {
  marker: string;
  /** end(): wait for the script's end, not a marker. */
  toEnd: boolean;
  resolve: (r: SessionReply) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/** The state of one session's stream (see the file comment). */
export class SessionStream {
  private text = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly errs: Buffer[] = [];
  private waiter?: Waiter;
  private result?: ExecResult;
  private failure?: Error;

  constructor(
    /** Seconds a part may run (0: no limit), and what to do when one runs past it. */
    private readonly timeout: number,
    private readonly onTimeout: () => Error,
  ) {}

  stdout(b: Buffer): void {
    this.text += this.decoder.write(b);
    const w = this.waiter;
    if (w && !w.toEnd && this.text.includes(w.marker)) this.settle((x) => x.resolve({ stdout: this.text }));
  }

  stderr(b: Buffer): void {
    this.errs.push(b);
  }

  /** The script ended: its exit code (undefined: none was reported, with `note` saying so in stderr). */
  ended(code: number, note?: string): void {
    if (this.result || this.failure) return;
    this.text += this.decoder.end();
    let stderr = Buffer.concat(this.errs).toString('utf8');
    if (note) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}${note}\n`;
    this.result = { stdout: this.text, stderr, code };
    const r = this.result;
    this.settle((w) => w.resolve({ stdout: r.stdout, done: r }));
  }

  /** The session failed (connection lost, timeout, channel error): the waiter and every later call reject with it. */
  failed(err: Error): void {
    if (this.result || this.failure) return;
    this.failure = err;
    this.settle((w) => w.reject(err));
  }

  get over(): boolean {
    return this.result !== undefined || this.failure !== undefined;
  }

  /** Waits for `marker` on stdout (or for the end, when `marker` is undefined). */
  wait(marker: string | undefined): Promise<SessionReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.result) return Promise.resolve({ stdout: this.result.stdout, done: this.result });
    if (this.waiter) return Promise.reject(new Error('a session part is already in flight'));
    if (marker !== undefined && this.text.includes(marker)) return Promise.resolve({ stdout: this.text });
    return new Promise((resolve, reject) => {
      const w: Waiter = { marker: marker ?? '', toEnd: marker === undefined, resolve, reject };
      if (this.timeout > 0)
        w.timer = setTimeout(() => {
          const err = this.onTimeout();
          this.failed(err);
        }, this.timeout * 1000);
      this.waiter = w;
    });
  }

  private settle(f: (w: Waiter) => void): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    clearTimeout(w.timer);
    f(w);
  }
}
