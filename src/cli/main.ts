/**
 * The `kiln` command line. Exit codes: 0 success, 1 internal error, 2 invalid input (nothing
 * was contacted), 4 at least one host failed or was unreachable.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT, formatDiagnostic, InputError } from '../core/diagnostic.ts';
import type { ApplyDeps } from './apply.ts';
import { registerInventoryCommands } from './inventory.ts';
import { registerModulesCommand } from './modules-command.ts';
import { registerVaultCommands } from './vault.ts';
import { registerLabCommands } from './lab.ts';
import { redact } from '../core/secret/secret.ts';

import {
  collect,
  csv,
  defaultInventory,
  inventoryOption,
  parseForks,
  vaultOptions,
  vaultPasswordOption,
  verboseOption,
} from './options.ts';
import { timeoutOptions } from './timeouts.ts';
import { registerReportCommands } from './report.ts';

// A command's implementation is imported when that command runs, so that `kiln --version` or
// `kiln lab status` does not load the engine, the modules and the template engine (README, Performance).

function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(inventoryOption())
    .option('-l, --limit <pattern>', 'only hosts matching this pattern (group, host, a:b, a:&b, a:!b, globs)')
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated, repeatable)', csv, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', csv, [])
    .option(
      '-e, --extra-vars <vars>',
      'extra vars: key=value, a YAML/JSON mapping, or @file.yml (repeatable; highest precedence)',
      collect,
      [],
    )
    .addOption(vaultPasswordOption('file holding the vault password (or set KILN_VAULT_PASSWORD_FILE)'));
}

/** The kiln command line; `deps` lets a test entry point inject a transport wrapper (fault injection). */
function buildProgram(deps: ApplyDeps): Command {
  const program = new Command('kiln')
    .description('Typed, check-before-act provisioning for bare-metal Debian servers over SSH.')
    .version(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version)
    // Usage errors are thrown to main() (inherited by every subcommand declared below), which
    // reports them as invalid input: exit 2, as ansible-playbook does for a bad option.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText(
      'after',
      `
Exit codes:
  0  success (every host ok or changed)
  1  internal error (the recap and the --json report are still written)
  2  invalid input: YAML, schema, pattern or template errors (no host was contacted)
  4  at least one host failed or was unreachable`,
    );

  const apply = addRunOptions(
    program
      .command('apply')
      .description('validate, then probe → plan → apply → verify every task on the selected hosts')
      .argument('<playbook>', 'playbook YAML file'),
  )
    .option('-C, --check', 'dry run: probe and plan only; print what would change', false)
    .option('-D, --diff', 'show unified diffs of file changes', false)
    .option('--json <file>', 'write a JSON report (hosts and every task result)')
    .option(
      '--shard <i/n>',
      'run shard i of n (0-based, 0 ≤ i < n) of the selected hosts: a stable split by host name for n controllers; merge their --json reports with `kiln report merge`',
    )
    .option('-f, --forks <n>', 'hosts worked on in parallel (a whole number from 1)', parseForks, 20)
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts (a changed key is still refused)', false)
    .option('--stats', 'print SSH round trips per host after the recap', false)
    .option('--no-batch', 'one apply per round trip: do not apply consecutive independent tasks in one remote script (docs/batching.md)')
    .addOption(verboseOption())
    .option('--no-color', 'no ANSI colours')
    .option('--progress <mode>', 'progress display: auto (listr2 on a TTY), plain', 'auto');
  for (const o of timeoutOptions()) apply.addOption(o);
  apply.action(async (playbook: string, opts) => {
    const [{ runApply }, { parseExtraVars }, { parseShard }] = await Promise.all([
      import('./apply.ts'),
      import('./extra-vars.ts'),
      import('../plan/shard.ts'),
    ]);
    // `--shard i/n` is checked before anything else is read: a bad one is exit 2, no host contacted.
    const shard = opts.shard === undefined ? undefined : parseShard(String(opts.shard));
    const vault = vaultOptions(opts);
    process.exitCode = await runApply(
      playbook,
      { ...opts, ...vault, shard, inventory: defaultInventory(opts.inventory), extraVars: parseExtraVars(opts.extraVars, vault) },
      deps,
    );
  });

  addRunOptions(
    program
      .command('validate')
      .description('check a playbook and inventory without contacting any host')
      .argument('<playbook>', 'playbook YAML file'),
  ).action(async (playbook: string, opts) => {
    const [{ validateRun }, { parseExtraVars }, { loadSshConfig }] = await Promise.all([
      import('../plan/validate.ts'),
      import('./extra-vars.ts'),
      import('../transport/ssh/sshconfig.ts'),
    ]);
    const vault = vaultOptions(opts);
    const v = validateRun({
      playbook,
      inventory: defaultInventory(opts.inventory),
      extraVars: parseExtraVars(opts.extraVars, vault),
      limit: opts.limit,
      tags: opts.tags,
      skipTags: opts.skipTags,
      ...vault,
      connection: { sshConfig: loadSshConfig() },
    });
    for (const w of v.warnings) console.error(`warning: ${formatDiagnostic(w)}`);
    for (const n of v.notes) console.log(`note: ${formatDiagnostic(n)}`);
    const hosts = new Set(v.plan.plays.flatMap((p) => p.hosts));
    const tasks = v.playbook.plays.reduce((n, p) => n + p.tasks.length, 0);
    console.log(`ok: ${v.playbook.plays.length} play(s), ${tasks} task(s), ${hosts.size} host(s)`);
  });

  program
    .command('facts')
    .description("gather and print a host's facts as JSON (one round trip)")
    .argument('<host>', 'inventory host name')
    .addOption(inventoryOption())
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts', false)
    .option('--ansible', "print Ansible's facts instead, as the setup module returns them ({ ansible_facts: … })", false)
    .option('--gather-subset <subsets>', "with --ansible: Ansible's gather_subset (comma-separated)")
    .addOption(vaultPasswordOption())
    .action(async (host: string, opts) => {
      const { runFacts } = await import('./facts.ts');
      const vault = vaultOptions(opts);
      process.exitCode = await runFacts(host, { ...opts, ...vault, inventory: defaultInventory(opts.inventory) });
    });

  registerInventoryCommands(program);
  registerModulesCommand(program);
  registerVaultCommands(program);
  registerLabCommands(program);
  registerReportCommands(program);
  return program;
}

export async function main(argv: string[], deps: ApplyDeps = {}): Promise<void> {
  try {
    await buildProgram(deps).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = usageExit(err);
      return;
    }
    if (err instanceof InputError) {
      for (const d of err.diagnostics) console.error(redact(formatDiagnostic(d)));
      console.error(`${err.diagnostics.length} error${err.diagnostics.length === 1 ? '' : 's'}; nothing was run.`);
      process.exitCode = EXIT.invalid;
    } else {
      console.error(`kiln: ${redact((err as Error).stack ?? String(err))}`);
      process.exitCode = EXIT.error;
    }
  }
}

/**
 * The exit code of a command-line usage error (commander's): 0 after --help or --version, else 2
 * (invalid input, nothing was run), with the error printed as a diagnostic of the command line.
 */
function usageExit(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
  if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.invalid; // a command group given no subcommand: its help was printed
  const message = err.message.replace(/^error: /, '').replace(/\n/g, ' ');
  console.error(formatDiagnostic({ file: 'command line', message }));
  console.error("1 error; nothing was run (see 'kiln --help' or 'kiln <command> --help').");
  return EXIT.invalid;
}
