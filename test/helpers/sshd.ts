/**
 * A real OpenSSH server on loopback for integration tests: its own config, host key and
 * authorized_keys in a temp dir, on a free port; stopped by its PID afterwards (or crashed:
 * `crash()` SIGKILLs it and its sessions, by PID). `writeSshdInventory` writes an inventory whose
 * hosts reach it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface TestSshd {
  dir: string;
  port: number;
  user: string;
  /** Client private key accepted by the server. */
  identityFile: string;
  /** known_hosts line(s) for [127.0.0.1]:port. */
  knownHosts: string;
  hostKeyPub: string;
  /** The server's PID. */
  pid: number;
  /** Everything the server wrote to its log (stderr) so far; `startSshd({ logLevel: 'VERBOSE' })` logs each connection. */
  log(): string;
  stop(): Promise<void>;
  /**
   * SIGKILLs the server and every sshd process under it (the per-connection sessions), as a crash
   * would: clients see their connections closed with no exit status. Then the sessions' own
   * children (the users' shells) are killed too. Returns once the server is gone.
   */
  crash(): Promise<void>;
}

/** The PIDs under `pid` (children first-level first), with their command names, from /proc. */
function descendants(pid: number): { pid: number; comm: string }[] {
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const ppid = Number(stat.slice(close + 2).split(' ')[1]);
        return [{ pid: Number(d), ppid, comm: stat.slice(stat.indexOf('(') + 1, close) }];
      } catch {
        return []; // gone meanwhile
      }
    });
  const out: { pid: number; comm: string }[] = [];
  let level = [pid];
  while (level.length) {
    const next = procs.filter((p) => level.includes(p.ppid));
    out.push(...next.map(({ pid, comm }) => ({ pid, comm })));
    level = next.map((p) => p.pid);
  }
  return out;
}

const killQuietly = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
};

/**
 * Writes `dir/hosts.yml`, an inventory whose hosts reach `sshd` on 127.0.0.1 with its client key,
 * and `dir/known_hosts` with its host key for every port the hosts use (a host may go through a
 * relay: give the relay's `port` in its vars). Each host gets its own vars over `port` = the
 * sshd's; `vars` go to group `all`. Returns the inventory's path.
 */
export function writeSshdInventory(
  sshd: TestSshd,
  dir: string,
  hosts: Record<string, Record<string, unknown>>,
  vars: Record<string, unknown> = {},
): string {
  const entries = Object.entries(hosts).map(([name, v]) => [name, { address: '127.0.0.1', port: sshd.port, ...v }] as const);
  const ports = new Set([sshd.port, ...entries.map(([, v]) => v.port)]);
  const key = sshd.hostKeyPub.split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), [...ports].map((p) => `[127.0.0.1]:${p} ${key}\n`).join(''));
  const all = { user: sshd.user, identity_file: sshd.identityFile, known_hosts: join(dir, 'known_hosts'), ...vars };
  const lines = entries.map(([name, v]) => `    ${name}: ${JSON.stringify(v)}`);
  writeFileSync(join(dir, 'hosts.yml'), `all:\n  vars: ${JSON.stringify(all)}\n  hosts:\n${lines.join('\n')}\n`);
  return join(dir, 'hosts.yml');
}

export function sshdAvailable(): boolean {
  try {
    execFileSync('/usr/sbin/sshd', ['-V'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `sshd -V` exits non-zero on older versions but prints its version: it exists.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface SshdOptions {
  logLevel?: 'ERROR' | 'INFO' | 'VERBOSE';
  /** sshd_config lines that replace the defaults of the same keyword (e.g. `MaxStartups 1000`, `MaxSessions 20`). */
  config?: string[];
}

export async function startSshd(opts: SshdOptions = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sshd-'));
  chmodSync(dir, 0o755);
  const user = userInfo().username;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_ed25519')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'MaxSessions 10',
      `LogLevel ${opts.logLevel ?? 'ERROR'}`,
      'Subsystem sftp internal-sftp',
    ]
      .filter((l) => !(opts.config ?? []).some((c) => c.split(' ')[0]!.toLowerCase() === l.split(' ')[0]!.toLowerCase()))
      .concat(opts.config ?? [])
      .join('\n') + '\n',
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // If the test process dies without stop(), take our sshd (and only it) down with it.
  const onExit = () => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGTERM');
  process.once('exit', onExit);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  // Wait until it accepts connections.
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      execFileSync('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 2000,
      });
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const hostKeyPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim();
  const [type, key] = hostKeyPub.split(' ');
  const knownHosts = `[127.0.0.1]:${port} ${type} ${key}\n`;
  writeFileSync(join(dir, 'known_hosts'), knownHosts);
  return {
    dir,
    port,
    user,
    identityFile: join(dir, 'client_ed25519'),
    knownHosts,
    hostKeyPub,
    pid: child.pid!,
    log: () => stderr,
    async crash() {
      process.removeListener('exit', onExit);
      const under = descendants(child.pid!);
      const gone = new Promise<void>((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', () => r()) : r()));
      killQuietly(child.pid!);
      for (const p of under.filter((p) => p.comm.startsWith('sshd'))) killQuietly(p.pid);
      for (const p of under.filter((p) => !p.comm.startsWith('sshd'))) killQuietly(p.pid);
      await gone;
    },
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, 'SIGTERM');
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            if (child.exitCode === null) child.kill('SIGKILL');
            r();
          }, 3000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
