/**
 * `kiln lab …` (up, status, ssh, reset, add, remove, down) and `kiln inventory from-vagrant`: the
 * command-line face of src/lab. Most lab commands need root; they print what they did and where the
 * inventory, key and ssh_config are, and map LabError to a one-line message with exit code 1.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { LabError } from '../lab/errors.ts';
import type { HostStatus } from '../lab/lab.ts';

// The lab's implementation is imported when a lab command runs, not when `kiln` starts.
const labApi = () => import('../lab/lab.ts');
const paths = () => import('../lab/paths.ts');
const topologyApi = () => import('../lab/topology.ts');

const log = (msg: string): void => {
  process.stderr.write(`kiln lab: ${msg}\n`);
};

/** Runs an action; user errors (LabError) are printed without a stack and exit non-zero. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof LabError) {
        process.stderr.write(`kiln lab: error: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  };
}

function formatUptime(s: number | null): string {
  if (s === null) return '-';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function table(rows: HostStatus[]): string {
  const anyAdded = rows.some((r) => r.added);
  const extra = (r: HostStatus): string[] =>
    anyAdded ? [r.added ? `added: ${relative(process.cwd(), r.added.inventory) || r.added.inventory}` : ''] : [];
  const data = [
    ['HOST', 'ADDRESS', 'STATE', 'UPTIME', 'MEMORY', ...(anyAdded ? ['INVENTORY'] : [])],
    ...rows.map((r) => [
      r.host,
      r.address,
      r.state,
      formatUptime(r.uptimeSeconds),
      r.memoryBytes === null ? '-' : `${(r.memoryBytes / 1048576).toFixed(0)}M`,
      ...extra(r),
    ]),
  ];
  const widths = data[0].map((_, i) => Math.max(...data.map((row) => row[i].length)));
  return data
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Registers `kiln lab up|down|status|ssh|add|remove|reset|stop|start`. */
export function registerLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('disposable bare-metal-like Debian 12 hosts on this Linux machine (systemd, sshd, own IP and disk; needs root)')
    .enablePositionalOptions();

  lab
    .command('up')
    .description(
      'build or reuse the cached root filesystem and apt mirror, start the hosts, write .lab/ (inventory, ssh_config, known_hosts, key)',
    )
    .option('-t, --topology <file>', 'topology YAML (default: the built-in 7-host lab)')
    .action(
      action(async (opts: { topology?: string }) => {
        const [{ up }, { labFiles }] = await Promise.all([labApi(), paths()]);
        const r = await up({ cwd: process.cwd(), topologyFile: opts.topology, log });
        const f = labFiles(r.labDir);
        const parts = [
          r.started.length ? `started ${r.started.join(', ')}` : '',
          r.kept.length ? `already running ${r.kept.join(', ')}` : '',
        ].filter(Boolean);
        process.stdout.write(
          `lab up in ${r.seconds.toFixed(1)} s: ${parts.join('; ')}\n` +
            `  inventory:  ${relative(process.cwd(), f.inventory) || f.inventory}\n` +
            `  ssh:        kiln lab ssh HOST   (or ssh -F ${relative(process.cwd(), f.sshConfig)} HOST)\n`,
        );
      }),
    );

  lab
    .command('down')
    .description('stop every host and remove namespaces, bridge, cgroups, mounts and state (caches stay)')
    .option('--keep-disks', "keep the hosts' disks (.lab/disks) for the next up")
    .action(
      action(async (opts: { keepDisks?: boolean }) => {
        const { down } = await labApi();
        const r = await down({ keepDisks: Boolean(opts.keepDisks), log });
        r.notes.forEach((n) => log(n));
        if (r.leftovers.length) throw new LabError(`down finished but these remain:\n  - ${r.leftovers.join('\n  - ')}`);
        process.stdout.write(
          r.stopped.length ? `lab down: stopped ${r.stopped.join(', ')}\n` : 'lab down: nothing was running; cleaned up\n',
        );
      }),
    );

  lab
    .command('status')
    .description('host, address, state (running/degraded/stopped), uptime')
    .option('--json', 'machine-readable output')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { status } = await labApi();
        const s = await status();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
          return;
        }
        if (s.labDir === null) {
          process.stdout.write('no lab is up\n');
          return;
        }
        process.stdout.write(`lab: ${s.labDir}\n${table(s.hosts)}\n`);
      }),
    );

  lab
    .command('ssh <host> [command...]')
    .description('ssh into a host with the system ssh and .lab/ssh_config (as deploy)')
    .passThroughOptions()
    .allowUnknownOption()
    .action(
      action(async (host: string, command: string[]) => {
        const [{ activeLabDir, preflight }, { labFiles }] = await Promise.all([labApi(), paths()]);
        preflight(false);
        const dir = await activeLabDir(process.cwd());
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn('ssh', ['-F', labFiles(dir).sshConfig, host, ...command], { stdio: 'inherit' });
          child.on('error', (e) => reject(new LabError(`cannot run ssh: ${e.message}`)));
          child.on('close', (c, sig) => resolve(c ?? (sig ? 128 + 15 : 1)));
        });
        process.exitCode = code;
      }),
    );

  lab
    .command('add [name]')
    .description(
      'boot more hosts on the running lab (same caches, own disks) without touching the running ones; they join known_hosts, ssh_config and .lab/inventory.yml (or --inventory FILE)',
    )
    .option('-a, --address <ip>', 'address in 10.77.0.0/24, not taken (with --count: the first of consecutive addresses)')
    .option('-g, --groups <list>', 'comma-separated groups (e.g. db_replica: nesting like db → db_replica applies)')
    .option('-n, --count <n>', 'add N hosts NAME1..NAMEN at consecutive addresses', (v) => Number(v))
    .option('-t, --topology <file>', 'add every host of a topology file (hosts: and groups:) instead of NAME')
    .option('-i, --inventory <file>', 'write/update this separate inventory for them instead of joining .lab/inventory.yml')
    .action(
      action(
        async (
          name: string | undefined,
          opts: { address?: string; groups?: string; count?: number; topology?: string; inventory?: string },
        ) => {
          const [{ add, additionFromArgs }, { loadTopology }] = await Promise.all([labApi(), topologyApi()]);
          let hosts;
          if (opts.topology !== undefined) {
            if (name !== undefined || opts.address !== undefined || opts.groups !== undefined || opts.count !== undefined) {
              throw new LabError('--topology FILE replaces NAME, --address, --groups and --count');
            }
            hosts = await loadTopology(opts.topology);
            if (hosts.mirrorPackages !== undefined) {
              throw new LabError(
                `${opts.topology}: mirror_packages cannot change the running lab's mirror (added hosts use the one it was started with); put them in the topology given to \`kiln lab up\``,
              );
            }
          } else {
            if (name === undefined || opts.address === undefined)
              throw new LabError(
                'usage: kiln lab add NAME --address 10.77.0.X [--groups g1,g2] [--count N] [--inventory FILE], or kiln lab add --topology FILE',
              );
            const groups = (opts.groups ?? '')
              .split(',')
              .map((g) => g.trim())
              .filter(Boolean);
            hosts = additionFromArgs(name, opts.address, groups, opts.count ?? 1);
          }
          const r = await add({ cwd: process.cwd(), hosts, inventory: opts.inventory, log });
          process.stdout.write(
            `added ${r.added.map((h) => `${h.name} (${h.address})`).join(', ')} in ${r.seconds.toFixed(1)} s\n` +
              `  inventory:  ${relative(process.cwd(), r.inventory) || r.inventory}\n`,
          );
        },
      ),
    );

  lab
    .command('remove [names...]')
    .description(
      'stop hosts added with `kiln lab add` and remove them from the lab state, known_hosts, ssh_config and their inventory (their disks too)',
    )
    .option('-i, --inventory <file>', 'remove every host listed in this separate inventory (the file goes when it lists none)')
    .option('--keep-disks', 'keep their disks (a host added again under the same name reuses it)')
    .action(
      action(async (names: string[], opts: { inventory?: string; keepDisks?: boolean }) => {
        const { remove } = await labApi();
        const r = await remove({ cwd: process.cwd(), names, inventory: opts.inventory, keepDisks: Boolean(opts.keepDisks), log });
        r.notes.forEach((n) => log(n));
        process.stdout.write(`removed ${r.removed.join(', ')} in ${r.seconds.toFixed(1)} s\n`);
      }),
    );

  lab
    .command('reset <host>')
    .description("discard the host's disk and boot it fresh")
    .action(
      action(async (host: string) => {
        const { reset } = await labApi();
        await reset(host, log);
        process.stdout.write(`${host} reset: fresh disk, new host key (known_hosts updated)\n`);
      }),
    );

  lab
    .command('stop <host>')
    .description('power a host off: a clean halt (its services stop), or --kill: a pulled power cord; its disk stays (`kiln lab start`)')
    .option('--kill', 'SIGKILL at once instead of a clean halt: nothing on the host stops cleanly')
    .action(
      action(async (host: string, opts: { kill?: boolean }) => {
        const { stop } = await labApi();
        await stop(host, Boolean(opts.kill), log);
        process.stdout.write(`${host} powered off${opts.kill ? ' (killed)' : ''}\n`);
      }),
    );

  lab
    .command('start <host>')
    .description('power a stopped host on again, on its own disk, and wait for its sshd')
    .action(
      action(async (host: string) => {
        const { start } = await labApi();
        await start(host, log);
        process.stdout.write(`${host} powered on (sshd answers)\n`);
      }),
    );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Adds `kiln inventory from-vagrant` to the engine's `inventory` command. */
export function registerFromVagrant(inventoryCommand: Command): void {
  inventoryCommand
    .command('from-vagrant')
    .description('write a Kiln inventory for the Vagrantfile machines from `vagrant ssh-config` (read from stdin, or --run)')
    .option('--run', 'run `vagrant ssh-config` instead of reading stdin')
    .option('-o, --output <dir>', 'directory for inventory.yml and known_hosts', '.kiln/vagrant')
    .option('-t, --topology <file>', 'topology YAML for groups/addresses (default: the built-in lab topology)')
    .option(
      '--keyscan <file>',
      'ssh-keyscan output with the machines\' host keys ("-" = stdin is not allowed together with piped ssh-config)',
    )
    .option('--private-network', "connect over the 10.77.0.x private network as deploy instead of vagrant's forwarded port")
    .option('--identity <file>', 'private key for --private-network (whose public half the Vagrantfile provisioned)')
    .action(
      action(
        async (opts: {
          run?: boolean;
          output: string;
          topology?: string;
          keyscan?: string;
          privateNetwork?: boolean;
          identity?: string;
        }) => {
          const [{ run }, { DEFAULT_TOPOLOGY, loadTopology }, { parseVagrantSshConfig, vagrantToInventory }] = await Promise.all([
            import('../lab/exec.ts'),
            topologyApi(),
            import('../lab/vagrant.ts'),
          ]);
          let text: string;
          if (opts.run) {
            text = (await run('vagrant', ['ssh-config'])).stdout;
          } else {
            if (process.stdin.isTTY) throw new LabError('pipe `vagrant ssh-config` into this command, or pass --run');
            text = await readStdin();
          }
          const topology = opts.topology ? await loadTopology(opts.topology) : DEFAULT_TOPOLOGY;
          const keyscan = opts.keyscan ? await readFile(opts.keyscan, 'utf8') : undefined;
          const identityFile = opts.identity ? resolvePath(opts.identity) : undefined;
          const r = vagrantToInventory(parseVagrantSshConfig(text), {
            topology,
            via: opts.privateNetwork ? 'private-network' : 'ssh-config',
            identityFile,
            keyscan,
          });
          await mkdir(opts.output, { recursive: true });
          const inv = join(opts.output, 'inventory.yml');
          const kh = join(opts.output, 'known_hosts');
          await writeFile(inv, r.inventory);
          await writeFile(kh, r.knownHosts);
          process.stdout.write(`wrote ${inv} and ${kh}\n`);
          if (r.notInTopology.length) log(`not in the topology (written without groups): ${r.notInTopology.join(', ')}`);
          if (r.notRunning.length) log(`in the topology but not reported by vagrant (not in the inventory): ${r.notRunning.join(', ')}`);
          if (r.missingKeys.length) {
            log(
              `no host key for ${r.missingKeys.join(', ')}: Vagrant boxes run with StrictHostKeyChecking no, so known_hosts is ` +
                `${r.knownHosts ? 'incomplete' : 'empty'}. Either pass --keyscan with \`ssh-keyscan -t ed25519 ...\` output, ` +
                'or run Kiln once with --accept-new-host-keys to record them on first connect.',
            );
          }
          if (!existsSync(inv)) throw new LabError(`could not write ${inv}`);
        },
      ),
    );
}
