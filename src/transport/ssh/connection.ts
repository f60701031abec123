/**
 * The SSH implementation of `Transport` (../transport.ts): one connection per host (node-ssh over
 * ssh2), with:
 * - host key verification against known_hosts (unknown or changed keys are refused with their
 *   SHA256 fingerprint; only `acceptNewHostKeys` records a new key, never a changed one);
 * - agent and identity-file authentication, ProxyJump;
 * - `run(script)`: a POSIX sh script sent on stdin (never argv), optionally through sudo with
 *   the password on stdin; every call is one counted round trip;
 * - a cap on concurrent channels (sshd frees session slots late) with retry on open failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { NodeSSH, type Config } from 'node-ssh';
import type { AuthHandlerMiddleware, Client, ClientChannel, ServerHostKeyAlgorithm } from 'ssh2';
import type { ConnectionSpec, SshEndpoint } from './spec.ts';
import {
  appendKnownHosts,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  keyTypeOfBlob as keyTypeOf,
  knownKeyTypes,
  loadKnownHosts,
} from './knownhosts.ts';
import { type ExecResult, type RunOptions, type Transport, UnreachableError } from '../transport.ts';

export type { ConnectionSpec, RunOptions };
export { UnreachableError };

export interface ConnectOptions {
  acceptNewHostKeys?: boolean;
  /** Where --accept-new-host-keys writes (default: the first known_hosts file). */
  knownHostsWriteFile?: string;
  timeoutMs?: number;
}

/** The host presented an unknown, changed or revoked key: refused, so the host is unreachable. */
export class HostKeyError extends UnreachableError {
  override name = 'HostKeyError';
}

export type RunResult = ExecResult;

const MAX_CHANNELS = 4;
const BEGIN_MARK = '__KILN_SCRIPT_BEGIN__';

export function defaultKnownHostsFiles(): string[] {
  return [`${homedir()}/.ssh/known_hosts`];
}

function defaultIdentityFiles(): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => `${homedir()}/.ssh/${f}`).filter((f) => existsSync(f));
}

export class HostConnection implements Transport {
  /** Round trips (remote commands) since connecting. */
  roundTrips = 0;
  private active = 0;
  private waiters: (() => void)[] = [];
  private jump?: HostConnection;

  private constructor(
    readonly name: string,
    readonly spec: ConnectionSpec,
    private readonly ssh: NodeSSH,
  ) {}

  get client(): Client {
    return this.ssh.connection!;
  }

  static async open(name: string, spec: ConnectionSpec, opts: ConnectOptions = {}): Promise<HostConnection> {
    let jump: HostConnection | undefined;
    let sock: NodeJS.ReadableStream | undefined;
    if (spec.proxyJump) {
      jump = await HostConnection.open(
        `${name} (jump ${spec.proxyJump.host})`,
        { ...spec, ...spec.proxyJump, proxyJump: spec.proxyJump.proxyJump, name: spec.proxyJump.host, become: false },
        opts,
      );
      sock = await new Promise((resolve, reject) =>
        jump!.client.forwardOut('127.0.0.1', 0, spec.host, spec.port, (err, stream) =>
          err ? reject(new UnreachableError(`proxy jump to ${spec.host}:${spec.port} failed: ${err.message}`)) : resolve(stream),
        ),
      );
    }
    const ssh = new NodeSSH();
    let keyProblem: string | undefined;
    const known = loadKnownHosts(spec.knownHostsFiles);
    const names = [...new Set([spec.host, spec.name])];
    const knownTypes = knownKeyTypes(known, names, spec.port);
    const hostVerifier = (key: Buffer): boolean => {
      const type = keyTypeOf(key);
      const b64 = key.toString('base64');
      const verdict = checkHostKey(known, names, spec.port, type, b64);
      const fp = fingerprintSha256(key);
      if (verdict === 'match') return true;
      if (verdict === 'unknown' && opts.acceptNewHostKeys) {
        const file = opts.knownHostsWriteFile ?? spec.knownHostsFiles[0] ?? defaultKnownHostsFiles()[0]!;
        appendKnownHosts(file, formatKnownHostsLine(spec.host, spec.port, type, b64));
        return true;
      }
      keyProblem =
        verdict === 'mismatch'
          ? `HOST KEY CHANGED for ${spec.host}:${spec.port}: the host presented ${type} ${fp}, which differs from known_hosts. Refusing to connect (possible man-in-the-middle). If the host was reinstalled, remove its old key from ${spec.knownHostsFiles.join(', ')}.`
          : verdict === 'revoked'
            ? `host key ${type} ${fp} for ${spec.host}:${spec.port} is marked @revoked in known_hosts`
            : `unknown host key for ${spec.host}:${spec.port}: ${type} ${fp}. Verify it and add it to known_hosts, or rerun with --accept-new-host-keys.`;
      return false;
    };
    const auth = authMethods(spec);
    const config: Config = {
      host: sock ? undefined : spec.host,
      sock: sock as Config['sock'],
      port: spec.port,
      username: spec.user,
      readyTimeout: opts.timeoutMs ?? 15000,
      keepaliveInterval: 15000,
      hostVerifier,
      authHandler: auth,
      algorithms: knownTypes.length ? { serverHostKey: preferTypes(knownTypes) } : undefined,
    };
    try {
      await ssh.connect(config);
    } catch (err) {
      jump?.close();
      if (keyProblem) throw new HostKeyError(keyProblem);
      throw new UnreachableError(`cannot connect to ${spec.user}@${spec.host}:${spec.port}: ${(err as Error).message}`);
    }
    const conn = new HostConnection(name, spec, ssh);
    conn.jump = jump;
    const raw = ssh.connection as Client & { _sock?: { setNoDelay?: (b: boolean) => void } };
    raw.setMaxListeners?.(50);
    raw._sock?.setNoDelay?.(true);
    return conn;
  }

  /** The remote command line: never contains a secret (the sudo password travels on stdin). */
  private command(opts: RunOptions): { cmd: string; prefix: string } {
    const become = opts.become ?? false;
    if (!become) return { cmd: '/bin/sh -s', prefix: '' };
    const user = opts.becomeUser ?? this.spec.becomeUser ?? 'root';
    if (user === this.spec.user) return { cmd: '/bin/sh -s', prefix: '' };
    const pw = this.spec.becomePassword;
    if (!pw) return { cmd: `sudo -n -H -u ${user} -- /bin/sh -s`, prefix: '' };
    // sudo -S reads the password line when it needs one; whatever it does not consume is
    // skipped up to the begin marker, so the password can never run as a command.
    const cmd = `sudo -S -k -p '' -H -u ${user} -- /bin/sh -c 'while IFS= read -r l; do [ "$l" = ${BEGIN_MARK} ] && exec /bin/sh -s; done; exit 97'`;
    return { cmd, prefix: `${pw.reveal()}\n${BEGIN_MARK}\n` };
  }

  /** Runs a shell script on the host (one round trip). */
  async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const { cmd, prefix } = this.command(opts);
    await this.acquire();
    try {
      this.roundTrips++;
      return await this.execWithRetry(cmd, prefix + script);
    } finally {
      this.release();
    }
  }

  private async execWithRetry(cmd: string, stdin: string): Promise<RunResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.exec(cmd, stdin);
      } catch (err) {
        const msg = (err as Error).message;
        if (attempt < 5 && /Channel open failure|open failed/i.test(msg)) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        throw new UnreachableError(`lost connection to ${this.name}: ${msg}`);
      }
    }
  }

  private exec(cmd: string, stdin: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(cmd, (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        let code: number | null = null;
        ch.on('data', (b: Buffer) => out.push(b));
        ch.stderr.on('data', (b: Buffer) => errb.push(b));
        ch.on('exit', (c: number | null, signal?: string) => {
          code = c ?? (signal ? 128 : 255);
        });
        ch.on('close', () =>
          resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errb).toString('utf8'), code: code ?? 255 }),
        );
        ch.on('error', reject);
        ch.end(stdin);
      });
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
    this.ssh.dispose();
    this.jump?.close();
  }
}

/**
 * Host key algorithms, the types known_hosts holds for the host first. A type from known_hosts is
 * passed on as it is written there, even one ssh2 does not name (the list ssh2's type allows).
 */
function preferTypes(known: string[]): ServerHostKeyAlgorithm[] {
  const all: ServerHostKeyAlgorithm[] = [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
  ];
  const expand = (t: string): string[] => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]);
  const first = [...new Set(known.flatMap(expand))] as ServerHostKeyAlgorithm[];
  return [...first, ...all.filter((t) => !first.includes(t))];
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
