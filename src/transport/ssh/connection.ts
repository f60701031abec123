/**
 * The SSH implementation of `Transport` (../transport.ts): one connection per host (node-ssh's
 * connect over ssh2; runs use ssh2's client directly), with:
 * - host key verification against known_hosts (unknown or changed keys are refused with their
 *   SHA256 fingerprint; only `acceptNewHostKeys` records a new key, never a changed one);
 * - agent and identity-file authentication, ProxyJump;
 * - `run(script)`: a POSIX sh script sent on stdin (never argv), optionally through sudo with
 *   the password on stdin; every call is one counted round trip;
 * - a cap on concurrent channels (sshd frees session slots late) with retry on open failure;
 * - the host's timeouts (spec.timeouts): connect (TCP, handshake and authentication), keepalives
 *   (unreachable after interval × count seconds without an answer), and one per command.
 *
 * A lost connection never escapes as an uncaught error: the client's 'error', 'end' and 'close'
 * events are always handled. The first of them marks the connection lost, with its reason (no
 * answer to keepalives for N s, closed or reset by the host, …); every `run` in flight then rejects
 * with UnreachableError naming it, and so does every later `run`. A lost connection is not
 * reopened: what its interrupted script did is unknown, and the engine takes the host out of the
 * run. A channel that closes without an exit status on a live connection is a failed script (it
 * says so); a script that exits 255 on a live connection is a failed script too.
 * A script past the command timeout is signalled and its channel closed; `run` rejects with
 * CommandTimeoutError (the task fails; the host answered its keepalives all along).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { type Config, NodeSSH } from 'node-ssh';
import type { AuthHandlerMiddleware, Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { type ConnectionSpec, type SshEndpoint, TIMEOUT_SETTINGS } from './spec.ts';
import {
  appendKnownHosts,
  checkHostKeyVerdict,
  entryKeyType,
  entryLocation,
  type HostKeyVerdict,
  fingerprintSha256,
  formatKnownHostsLine,
  keyTypeOfBlob as keyTypeOf,
  knownKeyTypes,
  loadKnownHosts,
} from './knownhosts.ts';
import {
  becomeUserProblem,
  CommandTimeoutError,
  type ExecResult,
  type RunOptions,
  type Transport,
  UnreachableError,
} from '../transport.ts';
import { q } from '../../sh/quote.ts';
import { type ScriptSession, SessionStream } from '../session.ts';

export type { ConnectionSpec, RunOptions };
export { UnreachableError };

export interface ConnectOptions {
  acceptNewHostKeys?: boolean;
  /** Where --accept-new-host-keys writes (default: the first known_hosts file). */
  knownHostsWriteFile?: string;
}

/** The host presented an unknown, changed or revoked key: refused, so the host is unreachable. */
export class HostKeyError extends UnreachableError {
  override name = 'HostKeyError';
}

export type RunResult = ExecResult;

const MAX_CHANNELS = 4;
/** How long a channel closed without an exit status waits for its connection's loss before it counts as a failed script. */
const NO_STATUS_GRACE_MS = 200;
const BEGIN_MARK = '__KILN_SCRIPT_BEGIN__';

export function defaultKnownHostsFiles(): string[] {
  return [`${homedir()}/.ssh/known_hosts`];
}

function defaultIdentityFiles(): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => `${homedir()}/.ssh/${f}`).filter((f) => existsSync(f));
}

const setting = (k: keyof typeof TIMEOUT_SETTINGS) => `${TIMEOUT_SETTINGS[k].variable}, ${TIMEOUT_SETTINGS[k].option}`;

export class HostConnection implements Transport {
  /** Round trips (remote commands) since connecting. */
  roundTrips = 0;
  /** Parts of sessions sent after their first (`session`). */
  syncs = 0;
  private active = 0;
  private waiters: (() => void)[] = [];
  private jump?: HostConnection;
  private lostReason?: string;
  private readonly gone: Promise<void>;
  /** Called once, with the reason, when the connection is lost (the handshake and the runs in flight). */
  private readonly onLost = new Set<(reason: string) => void>();

  private constructor(
    readonly name: string,
    readonly spec: ConnectionSpec,
    readonly client: Client,
  ) {
    client.on('error', (err: Error & { code?: string }) => this.lose(this.reasonOf(err)));
    client.on('end', () => this.lose('connection closed by the host'));
    client.on('close', () => this.lose('connection closed'));
    this.gone = new Promise((resolve) => client.once('close', () => resolve()));
  }

  /** Resolves on the client's 'close': the TCP connection is closed (the pool frees its slot then). */
  whenClosed(): Promise<void> {
    return this.gone;
  }

  /** Why the connection is gone (undefined while it is up). */
  get lost(): string | undefined {
    return this.lostReason;
  }

  static async open(name: string, spec: ConnectionSpec, opts: ConnectOptions = {}): Promise<HostConnection> {
    let jump: HostConnection | undefined;
    let sock: ConnectConfig['sock'];
    if (spec.proxyJump) {
      jump = await HostConnection.open(
        `${name} (jump ${spec.proxyJump.host})`,
        { ...spec, ...spec.proxyJump, proxyJump: spec.proxyJump.proxyJump, name: spec.proxyJump.host, become: false },
        opts,
      );
      sock = await new Promise((resolve, reject) =>
        jump!.client.forwardOut('127.0.0.1', 0, spec.host, spec.port, (err, stream) => {
          if (!err) return resolve(stream);
          jump!.close();
          reject(new UnreachableError(`proxy jump to ${spec.host}:${spec.port} failed: ${err.message}`));
        }),
      );
    }
    let keyProblem: string | undefined;
    const known = loadKnownHosts(spec.knownHostsFiles);
    const names = [...new Set([spec.host, spec.name])];
    const knownTypes = knownKeyTypes(known, names, spec.port);
    const hostVerifier = (key: Buffer): boolean => {
      const type = keyTypeOf(key);
      const b64 = key.toString('base64');
      const verdict = checkHostKeyVerdict(known, names, spec.port, b64);
      const fp = fingerprintSha256(key);
      if (verdict.status === 'match') return true;
      // Only a host with no entry at all is new (OpenSSH's StrictHostKeyChecking=accept-new).
      if (verdict.status === 'unknown' && opts.acceptNewHostKeys) {
        const file = opts.knownHostsWriteFile ?? spec.knownHostsFiles[0] ?? defaultKnownHostsFiles()[0]!;
        appendKnownHosts(file, formatKnownHostsLine(spec.host, spec.port, type, b64));
        return true;
      }
      keyProblem = hostKeyProblem(spec, type, fp, verdict);
      return false;
    };
    const t = spec.timeouts;
    const config: ConnectConfig = {
      host: sock ? undefined : spec.host,
      sock,
      port: spec.port,
      username: spec.user,
      readyTimeout: t.connect * 1000,
      // ssh2 gives up when a keepalive tick finds more than keepaliveCountMax unanswered: with
      // count - 1, that is count intervals after the last answer.
      keepaliveInterval: t.keepaliveInterval * 1000,
      keepaliveCountMax: t.keepaliveCount - 1,
      hostVerifier,
      authHandler: authMethods(spec),
      algorithms: knownTypes.length ? { serverHostKey: preferTypes(knownTypes) } : undefined,
    };
    const { client, ready } = HostConnection.handshake(new NodeSSH(), config);
    const conn = new HostConnection(name, spec, client);
    conn.jump = jump;
    try {
      await ready;
    } catch (err) {
      conn.close();
      if (keyProblem) throw new HostKeyError(keyProblem);
      // The first reason this connection saw (mapped to words and its setting) names the problem best.
      const why = conn.lostReason ?? conn.reasonOf(err as Error);
      throw new UnreachableError(`cannot connect to ${spec.user}@${spec.host}:${spec.port}: ${why}`);
    }
    const raw = conn.client as Client & { _sock?: { setNoDelay?: (b: boolean) => void } };
    raw.setMaxListeners?.(50);
    raw._sock?.setNoDelay?.(true);
    return conn;
  }

  /**
   * Connects through node-ssh (its `connect` checks the config and runs ssh2's handshake); rejects
   * with the reason the connection was lost before it was ready. node-ssh creates its ssh2 client
   * synchronously inside `connect`, so this connection's handlers are on the client before any of
   * its events can fire; node-ssh forgets the client when it closes, this class keeps it.
   */
  private static handshake(ssh: NodeSSH, config: ConnectConfig): { client: Client; ready: Promise<unknown> } {
    const ready = ssh.connect(config as Config);
    const client = ssh.connection;
    if (!client) throw new Error('node-ssh did not create its client synchronously');
    return { client, ready };
  }

  /** What an ssh2 client error means, in words (and which setting governs it). */
  private reasonOf(err: Error & { code?: string }): string {
    const t = this.spec.timeouts;
    if (err.message === 'Keepalive timeout')
      return `no answer to SSH keepalives for ${t.keepaliveInterval * t.keepaliveCount} s (every ${t.keepaliveInterval} s, ${t.keepaliveCount} times; ${setting('keepaliveInterval')}, ${setting('keepaliveCount')})`;
    if (err.message === 'Timed out while waiting for handshake') return `no SSH handshake within ${t.connect} s (${setting('connect')})`;
    if (err.code === 'ECONNRESET') return 'connection reset by the host';
    return err.message;
  }

  /** Marks the connection lost (the first reason wins) and tells whoever waits on it. */
  private lose(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    const waiting = [...this.onLost];
    this.onLost.clear();
    for (const f of waiting) f(reason);
  }

  private unreachable(): UnreachableError {
    return new UnreachableError(`lost the SSH connection to ${this.spec.user}@${this.spec.host}:${this.spec.port}: ${this.lostReason}`);
  }

  /** The remote command line: never contains a secret (the sudo password travels on stdin). */
  private command(opts: RunOptions): { cmd: string; prefix: string } {
    const become = opts.become ?? false;
    if (!become) return { cmd: '/bin/sh -s', prefix: '' };
    const user = opts.becomeUser ?? this.spec.becomeUser ?? 'root';
    if (user === this.spec.user) return { cmd: '/bin/sh -s', prefix: '' };
    const pw = this.spec.becomePassword;
    // The user name is checked and single-quoted: it can never be read as shell syntax.
    if (!pw) return { cmd: `sudo -n -H -u ${q(user)} -- /bin/sh -s`, prefix: '' };
    // sudo -S reads the password line when it needs one; whatever it does not consume is
    // skipped up to the begin marker, so the password can never run as a command.
    const cmd = `sudo -S -k -p '' -H -u ${q(user)} -- /bin/sh -c 'while IFS= read -r l; do [ "$l" = ${BEGIN_MARK} ] && exec /bin/sh -s; done; exit 97'`;
    return { cmd, prefix: `${pw.reveal()}\n${BEGIN_MARK}\n` };
  }

  /** Runs a shell script on the host (one round trip). */
  async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const refused = opts.become ? becomeUserProblem(opts.becomeUser ?? this.spec.becomeUser ?? 'root') : undefined;
    if (refused) return { stdout: '', stderr: `${refused}\n`, code: 1 };
    const { cmd, prefix } = this.command(opts);
    await this.acquire();
    try {
      this.roundTrips++;
      const ch = await this.openChannel(cmd);
      try {
        return await this.exec(ch, prefix + script);
      } catch (err) {
        if (err instanceof UnreachableError || err instanceof CommandTimeoutError) throw err;
        if (this.lostReason !== undefined) throw this.unreachable();
        throw new UnreachableError(`lost connection to ${this.name}: ${(err as Error).message}`);
      }
    } finally {
      this.release();
    }
  }

  /**
   * A script sent in parts on ONE channel (../session.ts): one round trip; each part after the
   * first counts in `syncs`. The channel keeps its slot until the script ends; the command timeout
   * holds per part (time spent waiting between parts is not the host's).
   */
  async session(opts: RunOptions = {}): Promise<ScriptSession> {
    const refused = opts.become ? becomeUserProblem(opts.becomeUser ?? this.spec.becomeUser ?? 'root') : undefined;
    if (refused) {
      const done = { stdout: '', stderr: `${refused}\n`, code: 1 };
      return { send: async () => ({ stdout: '', done }), end: async () => done };
    }
    const { cmd, prefix } = this.command(opts);
    await this.acquire();
    let ch: ClientChannel;
    try {
      this.roundTrips++;
      ch = await this.openChannel(cmd);
    } catch (err) {
      this.release();
      throw err;
    }
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.onLost.delete(onLost);
      this.release();
    };
    const limit = this.spec.timeouts.command;
    const stream = new SessionStream(limit, () => {
      try {
        ch.signal('KILL');
        ch.close();
      } catch {
        // The channel is already gone.
      }
      free();
      return new CommandTimeoutError(
        `no reply within the command timeout of ${limit} s; the script may still be running on the host (raise it with ${setting('command')})`,
      );
    });
    const onLost = () => {
      stream.failed(this.unreachable());
      free();
    };
    this.onLost.add(onLost);
    let code: number | undefined;
    ch.on('data', (b: Buffer) => stream.stdout(b));
    ch.stderr.on('data', (b: Buffer) => stream.stderr(b));
    ch.on('exit', (c: number | null, signal?: string) => {
      code = c ?? (signal ? 128 : 255);
    });
    const closed = (grace: boolean) => {
      if (code === undefined && this.lostReason !== undefined) return onLost();
      if (code === undefined && grace) return void setTimeout(() => closed(false), NO_STATUS_GRACE_MS);
      stream.ended(code ?? 255, code === undefined ? 'the remote command ended without an exit status' : undefined);
      free();
    };
    ch.on('close', () => closed(true));
    ch.on('error', (e: Error) => {
      stream.failed(new UnreachableError(`lost connection to ${this.name}: ${e.message}`));
      free();
    });
    let first = true;
    const write = (part: string) => {
      const data = first ? prefix + part : part;
      first = false;
      try {
        ch.write(data);
      } catch {
        // The channel is gone: its close settles the stream.
      }
    };
    return {
      send: (part, marker) => {
        if (!first) this.syncs++;
        if (!stream.over) write(part);
        return stream.wait(marker);
      },
      end: async (last) => {
        if (!stream.over) {
          if (last !== undefined) write(last);
          try {
            ch.end();
          } catch {
            // Already gone.
          }
        }
        return (await stream.wait(undefined)).done!;
      },
    };
  }

  /** Opens an exec channel for `cmd`, retrying a refused open (sshd frees session slots late). */
  private async openChannel(cmd: string): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      if (this.lostReason !== undefined) throw this.unreachable();
      try {
        return await new Promise<ClientChannel>((resolve, reject) => {
          const onLost = () => reject(this.unreachable());
          this.onLost.add(onLost);
          this.client.exec(cmd, (err: Error | undefined, ch: ClientChannel) => {
            this.onLost.delete(onLost);
            if (err) reject(err);
            else resolve(ch);
          });
        });
      } catch (err) {
        if (err instanceof UnreachableError) throw err;
        if (this.lostReason !== undefined) throw this.unreachable();
        const msg = (err as Error).message;
        if (attempt < 5 && /Channel open failure|open failed/i.test(msg)) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        throw new UnreachableError(`lost connection to ${this.name}: ${msg}`);
      }
    }
  }

  /** One exec channel: settles once, on its close, the connection's loss, an error, or the command timeout. */
  private exec(ch: ClientChannel, stdin: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.onLost.delete(onLost);
        f();
      };
      const onLost = () => settle(() => reject(this.unreachable()));
      this.onLost.add(onLost);
      const limit = this.spec.timeouts.command;
      if (limit > 0) {
        timer = setTimeout(() => {
          settle(() =>
            reject(
              new CommandTimeoutError(
                `no reply within the command timeout of ${limit} s; the script may still be running on the host (raise it with ${setting('command')})`,
              ),
            ),
          );
          try {
            ch.signal('KILL');
            ch.close();
          } catch {
            // The channel is already gone.
          }
        }, limit * 1000);
      }
      const out: Buffer[] = [];
      const errb: Buffer[] = [];
      let code: number | undefined;
      ch.on('data', (b: Buffer) => out.push(b));
      ch.stderr.on('data', (b: Buffer) => errb.push(b));
      ch.on('exit', (c: number | null, signal?: string) => {
        code = c ?? (signal ? 128 : 255);
      });
      const closed = (grace: boolean) => {
        if (code === undefined && this.lostReason !== undefined) return settle(() => reject(this.unreachable()));
        // No exit status: the connection may be dying (its close can trail the channel's by a moment).
        if (code === undefined && grace) return void setTimeout(() => closed(false), NO_STATUS_GRACE_MS);
        const stdout = Buffer.concat(out).toString('utf8');
        let stderr = Buffer.concat(errb).toString('utf8');
        if (code === undefined)
          stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}the remote command ended without an exit status\n`;
        settle(() => resolve({ stdout, stderr, code: code ?? 255 }));
      };
      ch.on('close', () => closed(true));
      ch.on('error', (e: Error) => settle(() => reject(e)));
      ch.end(stdin);
    });
  }

  private async acquire(): Promise<void> {
    if (this.active < MAX_CHANNELS) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiters.shift()?.();
  }

  close(): void {
    this.lose('the connection was closed by Kiln');
    this.client.end();
    this.jump?.close();
  }
}

/** Why a presented host key is refused, in OpenSSH's words, naming the known_hosts line that decided it. */
function hostKeyProblem(spec: ConnectionSpec, type: string, fp: string, verdict: HostKeyVerdict): string {
  const where = `${spec.host}:${spec.port}`;
  const e = verdict.entry;
  if (verdict.status === 'mismatch' && e) {
    const knownType = entryKeyType(e);
    return (
      `REMOTE HOST IDENTIFICATION HAS CHANGED (HOST KEY CHANGED) for ${where}: the host presented ${type} ${fp}, but ${entryLocation(e)} holds a ` +
      `${knownType === type ? 'different ' : ''}${knownType} key for it. Refusing to connect (possible man-in-the-middle; ` +
      `--accept-new-host-keys never replaces a known key). If the host was reinstalled, remove its old key(s) from ${entryLocation(e)}.`
    );
  }
  if (verdict.status === 'revoked' && e) return `REVOKED HOST KEY for ${where}: ${type} ${fp} is marked @revoked at ${entryLocation(e)}`;
  return `unknown host key for ${where}: ${type} ${fp} (no entry for the host in ${spec.knownHostsFiles.join(', ')}). Verify it and add it to known_hosts, or rerun with --accept-new-host-keys.`;
}

/** The host key algorithms offered by default, strongest first (ssh2's SUPPORTED_SERVER_HOST_KEY without ssh-dss). */
const DEFAULT_HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
/** What ssh2 can negotiate: the defaults, and ssh-dss when known_hosts holds a DSA key for the host. */
const SSH2_HOST_KEY_ALGORITHMS = new Set<string>([...DEFAULT_HOST_KEY_ALGORITHMS, 'ssh-dss']);

/**
 * Host key algorithms, the types known_hosts holds for the host first. A known type ssh2 cannot
 * negotiate (a security-key or certificate type) is left out: ssh2 refuses to start with it, and a
 * host that presents another key is then refused as changed.
 */
function preferTypes(known: string[]): ServerHostKeyAlgorithm[] {
  const expand = (t: string): string[] => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]);
  const first = [...new Set(known.flatMap(expand))].filter((t) => SSH2_HOST_KEY_ALGORITHMS.has(t)) as ServerHostKeyAlgorithm[];
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((t) => !first.includes(t))];
}

function authMethods(spec: SshEndpoint): AuthHandlerMiddleware {
  const steps: Record<string, unknown>[] = [];
  if (process.env.SSH_AUTH_SOCK) steps.push({ type: 'agent', username: spec.user, agent: process.env.SSH_AUTH_SOCK });
  const files = spec.identityFiles.length ? spec.identityFiles : defaultIdentityFiles();
  for (const f of files) {
    let key: Buffer;
    try {
      key = readFileSync(f);
    } catch {
      continue;
    }
    steps.push({ type: 'publickey', username: spec.user, key });
  }
  let i = 0;
  return (_left, _partial, cb) => {
    const next = steps[i++];
    (cb as (n: unknown) => void)(next ?? false);
  };
}
