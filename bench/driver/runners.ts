/**
 * One run of each tool on bench1..benchN: Kiln (`kiln apply bench/kiln/site.yml`, counts from its
 * JSON report) and Ansible (`ansible-playbook site.yml` in bench/ansible, counts from its PLAY
 * RECAP), both timed; and making sure ansible-playbook is installed (Debian's ansible-core).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { hostName, range } from './addresses.ts';
import { hostCpuSnapshot, hostCpuUsed } from './hostcpu.ts';
import { netnsName } from '../../src/lab/network.ts';
import { timed, type Timed } from './exec.ts';
import { ansibleInventory, kilnInventory } from './inventories.ts';
import { log } from './log.ts';
import { ANSIBLE_DIR, KILN, REPO, WORK } from './paths.ts';

/** Per host in a run: task results changed, failed (an unreachable host counts one). */
export interface Counts {
  hosts: number;
  changed: number;
  failed: number;
}

/** A timed run of any tool, with its counts. */
export interface ToolRun extends Timed, Counts {
  /** CPU seconds the bench hosts' processes used during the run, by process name, summed over the hosts (hostcpu.ts; `withHostCpu`). */
  hostCpu?: Map<string, number>;
}

export interface KilnRun extends ToolRun {
  /** SSH round trips after connecting, one entry per host. */
  roundTrips: number[];
}

export type AnsibleRun = ToolRun;

/** Runs `run` between two CPU snapshots of bench1..benchN's processes; adds what they used as `hostCpu`. */
export async function withHostCpu<R extends ToolRun>(n: number, run: () => Promise<R>): Promise<R> {
  const namespaces = range(n).map((i) => netnsName(hostName(i)));
  const before = hostCpuSnapshot(namespaces);
  const r = await run();
  return { ...r, hostCpu: hostCpuUsed(before, hostCpuSnapshot(namespaces)) };
}

/** What the driver reads of Kiln's `--json` report. */
export interface KilnReport {
  hosts: Record<string, { changed: number; failed: number; unreachable?: boolean; round_trips: number }>;
}

export interface RunOptions {
  check?: boolean;
  label: string;
}

export interface AnsibleOptions extends RunOptions {
  /** Ansible + Mitogen: bench/ansible/ansible-mitogen.cfg (strategy mitogen_linear), bench_tool=mitogen. */
  mitogen?: boolean;
}

export function kilnCounts(rep: KilnReport): Counts & { roundTrips: number[] } {
  const hosts = Object.values(rep.hosts);
  return {
    hosts: hosts.length,
    changed: hosts.reduce((s, h) => s + h.changed, 0),
    failed: hosts.reduce((s, h) => s + h.failed + (h.unreachable ? 1 : 0), 0),
    roundTrips: hosts.map((h) => h.round_trips),
  };
}

/** Counts from ansible-playbook's PLAY RECAP; `failed` adds unreachable and the hosts missing from the recap of `n`. */
export function ansibleCounts(text: string, n: number): Counts {
  const recap = [...text.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
  return {
    hosts: recap.length,
    changed: recap.reduce((s, m) => s + Number(m[3]), 0),
    failed: recap.reduce((s, m) => s + Number(m[4]) + Number(m[5]), 0) + (recap.length === n ? 0 : n - recap.length),
  };
}

export async function runKiln(n: number, { check = false, label }: RunOptions): Promise<KilnRun> {
  const inv = kilnInventory(range(n), `n${n}`);
  const json = path.join(WORK, `kiln-${label}.json`);
  rmSync(json, { force: true });
  const args = [KILN, 'apply', path.join(REPO, 'bench/kiln/site.yml'), '-i', inv, '-f', String(n), '--progress', 'plain', '--json', json];
  if (check) args.push('--check');
  const r = await timed(process.execPath, args, { logFile: path.join(WORK, `kiln-${label}.log`) });
  const rep: KilnReport = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as KilnReport) : { hosts: {} };
  return { ...r, ...kilnCounts(rep) };
}

export async function runAnsible(n: number, { check = false, label, mitogen = false }: AnsibleOptions): Promise<AnsibleRun> {
  const inv = ansibleInventory(range(n), `n${n}`);
  const args = ['-i', inv, '-f', String(n), 'site.yml'];
  // Mitogen's copy of the work lives on its own paths and units, beside Ansible's.
  if (mitogen) args.push('-e', 'bench_tool=mitogen');
  if (check) args.push('--check');
  const cfg = mitogen ? 'ansible-mitogen.cfg' : 'ansible.cfg';
  const env = { ...process.env, ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, cfg), ANSIBLE_NOCOLOR: '1' };
  const tag = mitogen ? 'mitogen' : 'ansible';
  const r = await timed('ansible-playbook', args, { cwd: ANSIBLE_DIR, env, logFile: path.join(WORK, `${tag}-${label}.log`) });
  return { ...r, ...ansibleCounts(r.text, n) };
}

/**
 * Whether Debian's ansible-mitogen is installed and supports the installed ansible-core (its
 * loaders.py ANSIBLE_VERSION_MAX): undefined when it does, else why not and what to do.
 */
export function mitogenMissing(): string | undefined {
  try {
    execFileSync(ANSIBLE_PYTHON, ['-c', MITOGEN_CHECK], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `Ansible + Mitogen cannot run: ${(e.stderr || e.message).trim().split('\n').pop()} (install Debian's ansible-mitogen: \`apt-get install ansible-mitogen\`)`;
  }
}

/** The Python Debian's ansible-playbook runs on (its shebang), not whatever python3 is first on PATH. */
const ANSIBLE_PYTHON = '/usr/bin/python3';

const MITOGEN_CHECK = [
  'import ansible.release as r, ansible_mitogen.loaders as l',
  'v = tuple(int(x) for x in r.__version__.split(".")[:2])',
  'assert l.ANSIBLE_VERSION_MIN <= v <= l.ANSIBLE_VERSION_MAX, "ansible-mitogen supports ansible-core %s to %s, not %s" % (l.ANSIBLE_VERSION_MIN, l.ANSIBLE_VERSION_MAX, r.__version__)',
].join('\n');

/** The first line of `ansible-playbook --version`, after installing ansible-core with apt-get when it is missing. */
export function ensureAnsible(): string {
  try {
    return execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    log('installing ansible-core from Debian (apt-get install -y ansible-core)');
    execFileSync('apt-get', ['install', '-y', 'ansible-core'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  }
}
