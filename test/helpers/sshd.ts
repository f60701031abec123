/**
 * A real OpenSSH server on loopback for integration tests: its own config, host key and
 * authorized_keys in a temp dir, on a free port; stopped by its PID afterwards.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
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
  stop(): Promise<void>;
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

export async function startSshd(): Promise<TestSshd> {
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
      'LogLevel ERROR',
      'Subsystem sftp internal-sftp',
    ].join('\n') + '\n',
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
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.pid) {
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
