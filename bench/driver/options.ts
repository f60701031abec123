/**
 * The benchmark's command line: its usage text and the parsing of its flags into options, with
 * their defaults (all figures, 3 runs, 2 first runs, 2 scale runs, sizes 5,20,50, Ansible up to 20 hosts).
 */
import path from 'node:path';
import { MAX_HOSTS } from './addresses.ts';

/** The tools compared with Kiln (Kiln itself always runs). */
export type OtherTool = 'ansible' | 'mitogen' | 'pyinfra';
export const OTHER_TOOLS: readonly OtherTool[] = ['ansible', 'mitogen', 'pyinfra'];
export const DEFAULT_PYINFRA_VENV = '/var/cache/kiln/bench/pyinfra-venv';

export interface Options {
  figures: number[];
  runs: number;
  firstRuns: number;
  scaleRuns: number;
  sizes: number[];
  ansibleMax: number;
  site: boolean;
  keepHosts: boolean;
  /** Hosts of figures 1–3. */
  hosts: number;
  /** Tools run beside Kiln. */
  tools: OtherTool[];
  pyinfraVenv: string;
  /** Absolute path of the results file; undefined: bench/results/<date>.md */
  out: string | undefined;
}

export const USAGE = `npm run bench -- [options]      (or: node --import tsx/esm bench/driver/main.ts [options]; as root, with the lab up)

  --figures LIST        which figures (default 1,2,3,4,5,6):
                          1 first apply on fresh hosts (--hosts)   2 converged re-run (--hosts, headline)
                          3 --check on converged hosts (--hosts)   4 converged re-run on --sizes
                          5 Kiln round trips per converged host   6 Kiln CPU time and peak RSS at the largest size
                          7 (not by default) processes per host of converged runs (bench/driver/processes.ts)
                          8 (not by default) controller scaling: 100/300/1000 aliases of one loopback sshd, Kiln and
                            pyinfra when its venv exists; its own file bench/results/<date>-scale.md (bench/driver/scale.ts)
  --hosts N             hosts of figures 1, 2 and 3 (default 7)
  --tools LIST          tools run beside Kiln (default ansible,mitogen,pyinfra): ansible = ansible-playbook
                        (bench/ansible/ansible.cfg), mitogen = ansible-playbook with Debian's ansible-mitogen
                        (bench/ansible/ansible-mitogen.cfg), pyinfra = pyinfra from --pyinfra-venv
  --pyinfra-venv DIR    the venv pyinfra runs from (default ${DEFAULT_PYINFRA_VENV}; made by
                        bench/pyinfra/setup-venv.sh DIR); when missing, pyinfra is left out and the
                        results say how to make it
  --runs N              timed runs per figure and tool (default 3); the median, min and max are reported
  --first-runs N        runs of figure 1 (each on freshly re-created hosts; default 2)
  --scale-runs N        runs per size in figure 4 (default 2)
  --sizes LIST          host counts for figure 4 (default 5,20,50; at most ${MAX_HOSTS})
  --ansible-max-hosts N Ansible (with or without Mitogen) is skipped above N hosts in figure 4 (default 20: a converged Ansible
                        run at 50 hosts takes minutes on a 2-core machine)
  --site                also time converged re-runs of playbooks/site.yml on the lab's own 7 hosts
                        (off by default: those hosts are shared)
  --keep-hosts          leave the bench hosts running at the end
  --out FILE            results file (default bench/results/<date>.md)
  -h, --help`;

/** A comma-separated list of positive integers; other entries are dropped. */
const list = (v: string): number[] =>
  v
    .split(',')
    .map((x) => Number(x.trim()))
    .filter((x) => Number.isInteger(x) && x > 0);

/** A comma-separated list of tools beside Kiln (`kiln` itself is accepted and ignored); throws on another name. */
function tools(v: string): OtherTool[] {
  const out: OtherTool[] = [];
  for (const t of v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '' && x !== 'kiln')) {
    if (!(OTHER_TOOLS as readonly string[]).includes(t)) throw new Error(`--tools: unknown tool ${t} (${OTHER_TOOLS.join(', ')})`);
    if (!out.includes(t as OtherTool)) out.push(t as OtherTool);
  }
  return out;
}

/**
 * The options of `argv` (the arguments after the script), or 'help' when -h/--help comes before
 * any error. Throws on an unknown option, a missing value, a negative or fractional count, or a
 * size above MAX_HOSTS.
 */
export function parseArgs(argv: readonly string[]): Options | 'help' {
  const o: Options = {
    figures: [1, 2, 3, 4, 5, 6],
    runs: 3,
    firstRuns: 2,
    scaleRuns: 2,
    sizes: [5, 20, 50],
    ansibleMax: 20,
    site: false,
    keepHosts: false,
    hosts: 7,
    tools: [...OTHER_TOOLS],
    pyinfraVenv: DEFAULT_PYINFRA_VENV,
    out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--figures') o.figures = list(next());
    else if (a === '--runs') o.runs = Number(next());
    else if (a === '--first-runs') o.firstRuns = Number(next());
    else if (a === '--scale-runs') o.scaleRuns = Number(next());
    else if (a === '--sizes') o.sizes = list(next());
    else if (a === '--ansible-max-hosts') o.ansibleMax = Number(next());
    else if (a === '--hosts') o.hosts = Number(next());
    else if (a === '--tools') o.tools = tools(next());
    else if (a === '--pyinfra-venv') o.pyinfraVenv = path.resolve(next());
    else if (a === '--site') o.site = true;
    else if (a === '--keep-hosts') o.keepHosts = true;
    else if (a === '--out') o.out = path.resolve(next());
    else if (a === '-h' || a === '--help') return 'help';
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const counts: [string, number][] = [
    ['--runs', o.runs],
    ['--first-runs', o.firstRuns],
    ['--scale-runs', o.scaleRuns],
    ['--ansible-max-hosts', o.ansibleMax],
  ];
  for (const [k, v] of counts) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${k} must be a non-negative integer`);
  }
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > MAX_HOSTS)
    throw new Error(`--hosts must be an integer from 1 to ${MAX_HOSTS}`);
  if (o.sizes.some((s) => s > MAX_HOSTS)) throw new Error(`--sizes: at most ${MAX_HOSTS} hosts`);
  return o;
}
