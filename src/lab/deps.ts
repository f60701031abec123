/**
 * The Debian packages `kiln lab` needs on the machine, and how a fresh machine gets them.
 *
 * `kiln lab up` runs as root, so on a Debian machine that lacks a tool it installs the package
 * itself: it prints what it installs and for which missing commands, then runs `apt-get update`
 * and `apt-get install -y --no-install-recommends PKGS` (non-interactive), and checks again.
 * Without root, or where apt-get itself is missing, nothing is installed: the error names the
 * exact command to run. `planTools` and `installCommands` are pure (unit-tested); `ensureTools`
 * runs them against the real PATH.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';
import { run } from './exec.ts';

/** Every command the lab runs on the machine → the Debian package that provides it. */
export const REQUIRED_COMMANDS: Readonly<Record<string, string>> = {
  mmdebstrap: 'mmdebstrap',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'apt-ftparchive': 'apt-utils',
  ip: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  pivot_root: 'util-linux',
  mount: 'mount',
  'ssh-keygen': 'openssh-client',
  ssh: 'openssh-client',
  chroot: 'coreutils',
};

/** What has to be installed: packages in a stable order, each with the commands it provides. */
export interface ToolPlan {
  /** Missing commands, in REQUIRED_COMMANDS order. */
  missing: string[];
  /** Packages to install (sorted), each with the missing commands it brings. */
  packages: { name: string; commands: string[] }[];
}

/** The install plan for the commands `isPresent` does not find. */
export function planTools(isPresent: (cmd: string) => boolean, required: Readonly<Record<string, string>> = REQUIRED_COMMANDS): ToolPlan {
  const missing = Object.keys(required).filter((cmd) => !isPresent(cmd));
  const byPackage = new Map<string, string[]>();
  for (const cmd of missing) {
    const pkg = required[cmd]!;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), cmd]);
  }
  const packages = [...byPackage.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, commands]) => ({ name, commands }));
  return { missing, packages };
}

/** The commands that install a plan's packages (argument arrays, run with DEBIAN_FRONTEND=noninteractive). */
export function installCommands(plan: ToolPlan): string[][] {
  if (!plan.packages.length) return [];
  // Another apt run (unattended-upgrades, a second `kiln lab` command) holds dpkg's lock: wait for it.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  return [
    ['apt-get', ...lock, 'update', '-q'],
    ['apt-get', ...lock, 'install', '-y', '-q', '--no-install-recommends', ...plan.packages.map((p) => p.name)],
  ];
}

/** What `kiln lab up` prints before installing: each package and why, then the exact commands. */
export function describePlan(plan: ToolPlan): string {
  const lines = plan.packages.map((p) => `  ${p.name.padEnd(15)} for ${p.commands.join(', ')}`);
  const cmds = installCommands(plan).map((c) => `  DEBIAN_FRONTEND=noninteractive ${c.join(' ')}`);
  return `installing the Debian packages kiln lab needs (${plan.packages.length}), missing commands: ${plan.missing.join(', ')}\n${lines.join('\n')}\nby running:\n${cmds.join('\n')}`;
}

/** The one-line command a non-root user (or a machine without apt-get) is told to run. */
export function manualCommand(plan: ToolPlan): string {
  return `sudo apt-get install -y --no-install-recommends ${plan.packages.map((p) => p.name).join(' ')}`;
}

/** Whether `cmd` is an executable file on PATH or in the sbin directories root uses. */
export function onPath(cmd: string, path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): boolean {
  return path
    .split(':')
    .concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin'])
    .some((d) => d && existsSync(join(d, cmd)));
}

export interface EnsureToolsOptions {
  log: (msg: string) => void;
  /** Install what is missing (root on Debian); otherwise only report it. */
  install: boolean;
  /** For tests: where commands are looked up. */
  isPresent?: (cmd: string) => boolean;
  /** For tests: command → package (default REQUIRED_COMMANDS). */
  required?: Readonly<Record<string, string>>;
}

/**
 * Makes sure every command in REQUIRED_COMMANDS is present: installs the missing packages (root,
 * apt-get present) after saying what and why, or throws a LabError naming the command to run.
 * Returns the plan that was carried out (empty when everything was already installed).
 */
export async function ensureTools(opts: EnsureToolsOptions): Promise<ToolPlan> {
  const isPresent = opts.isPresent ?? ((cmd: string) => onPath(cmd));
  const plan = planTools(isPresent, opts.required);
  if (!plan.packages.length) return plan;
  const needs = `kiln lab needs these commands: ${plan.packages.map((p) => `${p.commands.join(', ')} (apt package ${p.name})`).join(', ')}`;
  if (!opts.install)
    throw new LabError(`${needs}; install them with:\n  ${manualCommand(plan)}\n(or run \`sudo kiln lab up\`, which installs them itself)`);
  if (!isPresent('apt-get')) {
    throw new LabError(
      `${needs}, and this machine has no apt-get to install them (kiln lab builds Debian hosts: run it on Debian or Ubuntu)`,
    );
  }
  opts.log(describePlan(plan));
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const [cmd, ...args] of installCommands(plan)) await run(cmd!, args, { env, inherit: true });
  const after = planTools(isPresent, opts.required);
  if (after.packages.length) {
    throw new LabError(
      `after installing ${plan.packages.map((p) => p.name).join(', ')} these commands are still missing: ${after.missing.join(', ')}`,
    );
  }
  opts.log(`installed ${plan.packages.map((p) => p.name).join(', ')}`);
  return plan;
}
