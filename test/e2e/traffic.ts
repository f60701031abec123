/**
 * What the fault suite (faults.test.ts) measures while it breaks things on the lab:
 * - `RequestLoop`: HTTPS requests from the controller through BOTH load balancers, alternately,
 *   every `intervalMs`, counted by answer (200, other status, error), with the time of each failure;
 * - `Writer`: autocommitted inserts on the primary, one client connection each, from the primary
 *   host itself; every insert the server acknowledged is remembered, so lost rows can be counted;
 * - lab host control from the machine: a host's link down/up (its veth), its sshd stopped with the
 *   running sessions killed (PIDs found in the host's namespace: processes the lab started);
 * - `kilnStream`: the real CLI (optionally with test-only faults), its output line by line, so a
 *   fault can be injected at a chosen moment of a run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { KILN_BIN, REPO_ROOT, type KilnResult } from './lab-setup.ts';
import { KILN_WITH_FAULTS } from '../helpers/kiln-with-faults.ts';
import { netnsName, vethName } from '../../src/lab/network.ts';

export interface LoopFigures {
  total: number;
  ok: number;
  /** Non-200 answers by status. */
  statuses: Record<string, number>;
  errors: number;
  /** Per load balancer: [requests, failed]. */
  byTarget: Record<string, [number, number]>;
  /** Milliseconds since the loop started of each failed request, with what it got. */
  failures: { t: number; target: string; what: string }[];
}

/** Requests through the load balancers (GET path, the site CA trusted) until `stop()`. */
export class RequestLoop {
  private readonly figures: LoopFigures = { total: 0, ok: 0, statuses: {}, errors: 0, byTarget: {}, failures: [] };
  private running = true;
  private readonly done: Promise<void>;
  private readonly started = Date.now();

  constructor(targets: string[], opts: { ca: string; path?: string; intervalMs?: number }) {
    const ca = readFileSync(opts.ca);
    const path = opts.path ?? '/health';
    const interval = opts.intervalMs ?? 50;
    const one = (target: string) =>
      new Promise<string>((resolve) => {
        const req = https.get({ host: target, port: 443, path, ca, agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
          res.on('error', (e) => resolve(`error ${e.message}`));
        });
        req.on('timeout', () => req.destroy(new Error('timeout after 5 s')));
        req.on('error', (e) => resolve(`error ${e.message}`));
      });
    this.done = (async () => {
      let i = 0;
      const inflight = new Set<Promise<void>>();
      while (this.running) {
        const target = targets[i++ % targets.length]!;
        const t = Date.now() - this.started;
        const p = one(target).then((what) => {
          const f = this.figures;
          f.total++;
          const bt = (f.byTarget[target] ??= [0, 0]);
          bt[0]++;
          if (what === '200') f.ok++;
          else {
            bt[1]++;
            if (what.startsWith('error')) f.errors++;
            else f.statuses[what] = (f.statuses[what] ?? 0) + 1;
            f.failures.push({ t, target, what });
          }
        });
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        await new Promise((r) => setTimeout(r, interval));
      }
      await Promise.all(inflight);
    })();
  }

  async stop(): Promise<LoopFigures> {
    this.running = false;
    await this.done;
    return this.figures;
  }
}

/** ssh to a lab host with the lab's ssh_config (the host's sudo user; `sudo` where root is needed). */
export function labSsh(labDir: string, host: string, cmd: string, input?: string, timeoutMs = 120_000): string {
  return execFileSync('ssh', ['-F', join(labDir, 'ssh_config'), host, cmd], { encoding: 'utf8', input, timeout: timeoutMs });
}

/** SQL as root on a db host (stdin), tab-separated rows without headers. */
export function labSql(labDir: string, host: string, statements: string): string {
  return labSsh(labDir, host, 'sudo mariadb --batch --skip-column-names', statements).trim();
}

export interface WriterFigures {
  attempted: number;
  acked: number;
  refused: number;
  /** Values the primary acknowledged. */
  ackedValues: string[];
}

/**
 * Autocommitted inserts into `table` on `host` (the primary), one `mariadb` client each (a restart
 * refuses some; none that was acknowledged may be lost), every `intervalMs`, until `stop()`.
 */
export class Writer {
  private readonly proc;
  private out = '';
  private readonly exited: Promise<number>;
  readonly tag = `w${Date.now()}`;

  constructor(
    private readonly labDir: string,
    private readonly host: string,
    private readonly table: string,
    intervalMs = 100,
  ) {
    labSql(labDir, host, `CREATE TABLE IF NOT EXISTS ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL);`);
    const stop = `/run/kiln-writer-${this.tag}`;
    const sleep = (intervalMs / 1000).toFixed(3);
    // Bounded (at most 30 min) so a writer can never outlive the suite.
    const script = [
      `i=0; end=$(( $(date +%s) + 1800 ))`,
      `while [ ! -e ${stop} ] && [ "$(date +%s)" -lt "$end" ]; do`,
      '  i=$((i+1))',
      `  if sudo mariadb --connect-timeout=2 -e "INSERT INTO ${table} (v) VALUES ('${this.tag}-$i')" 2>/dev/null; then echo "ack $i"; else echo "fail $i"; fi`,
      `  sleep ${sleep}`,
      'done',
      `sudo rm -f ${stop}; echo done`,
    ].join('\n');
    this.proc = spawn('ssh', ['-F', join(labDir, 'ssh_config'), host, script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (b: Buffer) => (this.out += b.toString()));
    this.exited = new Promise((r) => this.proc.on('exit', (c) => r(c ?? 1)));
  }

  async stop(): Promise<WriterFigures> {
    labSsh(this.labDir, this.host, `sudo touch /run/kiln-writer-${this.tag}`);
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (this.proc.exitCode === null) this.proc.kill();
    const lines = this.out.split('\n');
    const acked = lines.filter((l) => l.startsWith('ack ')).map((l) => `${this.tag}-${l.slice(4)}`);
    const refused = lines.filter((l) => l.startsWith('fail ')).length;
    return { attempted: acked.length + refused, acked: acked.length, refused, ackedValues: acked };
  }

  /** Acknowledged values missing on `host` (the primary, or a replica once it caught up). */
  missingOn(host: string, figures: WriterFigures): string[] {
    const have = new Set(labSql(this.labDir, host, `SELECT v FROM ${this.table} WHERE v LIKE '${this.tag}-%';`).split('\n'));
    return figures.ackedValues.filter((v) => !have.has(v));
  }
}

export function linkDown(address: string): void {
  execFileSync('ip', ['link', 'set', 'dev', vethName(address), 'down']);
}

export function linkUp(address: string): void {
  execFileSync('ip', ['link', 'set', 'dev', vethName(address), 'up']);
}

/** PIDs (machine view) of the processes in a lab host's network namespace, with their command names. */
function hostProcesses(host: string): { pid: number; comm: string; nspid: number }[] {
  const pids = execFileSync('ip', ['netns', 'pids', netnsName(host)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  const out: { pid: number; comm: string; nspid: number }[] = [];
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const comm = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '';
      const nspid = Number(/^NSpid:.*\s(\d+)\s*$/m.exec(status)?.[1] ?? 0);
      out.push({ pid, comm, nspid });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Runs a command inside a lab host (all its namespaces, as its root) from the machine. */
export function inHost(host: string, argv: string[]): string {
  const init = hostProcesses(host).find((p) => p.nspid === 1);
  if (!init) throw new Error(`no init process found in ${host}'s namespace`);
  return execFileSync('nsenter', ['-t', String(init.pid), '-m', '-u', '-i', '-n', '-p', '--', ...argv], { encoding: 'utf8' });
}

/**
 * Kills a host's sshd for good (until `startSshd`): the listener is stopped through its systemd
 * (so it is not restarted), then every remaining sshd process (the sessions, ours included) is
 * SIGKILLed by PID.
 */
export function killSshd(host: string): number[] {
  inHost(host, ['systemctl', 'stop', 'ssh.service', 'ssh.socket']);
  const killed: number[] = [];
  for (const p of hostProcesses(host).filter((x) => x.comm === 'sshd')) {
    try {
      process.kill(p.pid, 'SIGKILL');
      killed.push(p.pid);
    } catch {
      // gone already
    }
  }
  return killed;
}

export function startSshd(host: string): void {
  inHost(host, ['systemctl', 'start', 'ssh.service']);
}

export interface StreamOptions {
  /** Extra environment (KILN_FAULT_* with `faults`). */
  env?: Record<string, string>;
  /** Run through test/helpers/kiln-with-faults.ts (test-only transport faults). */
  faults?: boolean;
  /** Called for each line of stdout as it arrives. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/** The real CLI, streamed: resolves with its exit code (a SIGKILLed run: 137) and output. */
export function kilnStream(args: string[], opts: StreamOptions = {}): Promise<KilnResult & { signal: string | null }> {
  const argv = opts.faults ? [...KILN_WITH_FAULTS, ...args] : [KILN_BIN, ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (b: Buffer) => {
      const s = b.toString();
      stdout += s;
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onLine?.(l);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 1_800_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 1), signal, stdout, stderr });
    });
  });
}
