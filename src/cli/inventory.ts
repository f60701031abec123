/** `kiln inventory list|graph [--vars HOST]` and `from-vagrant`. */
import type { Command } from 'commander';
import { InputError } from '../core/diagnostic.ts';
import { registerFromVagrant } from './lab.ts';
import { collect, defaultInventory, inventoryOption, vaultOptions, vaultPasswordOption } from './options.ts';

export function registerInventoryCommands(program: Command): void {
  const inv = program.command('inventory').description('inspect inventories');
  for (const mode of ['list', 'graph'] as const) {
    inv
      .command(mode)
      .description(mode === 'list' ? 'hosts with their address and groups' : 'the group tree, like ansible-inventory --graph')
      .addOption(inventoryOption())
      .option('--vars <host>', "show the host's merged variables and where each came from")
      .option('--playbook <file>', 'with --vars: include role defaults and play vars of the first play that targets the host')
      .addOption(vaultPasswordOption())
      .option('-e, --extra-vars <vars>', 'extra vars (shown at the highest precedence)', collect, [])
      .action(async (opts) => {
        // Imported when the command runs, not when `kiln` starts.
        const { loadInventory, mergeVarLayers, renderHostVars, renderInventoryGraph, renderInventoryList } = await import(
          '../input/inventory/index.ts'
        );
        const vault = vaultOptions(opts);
        const { inventory, warnings } = loadInventory(defaultInventory(opts.inventory), vault);
        for (const w of warnings) console.error(`warning: ${w.file}${w.line ? `:${w.line}:${w.col}` : ''}: ${w.message}`);
        if (opts.vars) {
          if (!inventory.hosts.has(opts.vars)) throw new InputError({ file: inventory.file, message: `no host named '${opts.vars}'` });
          const [{ VarsBuilder }, { parseExtraVars }] = await Promise.all([
            import('../input/inventory/vars-builder.ts'),
            import('./extra-vars.ts'),
          ]);
          const vb = new VarsBuilder(inventory, { extraVars: parseExtraVars(opts.extraVars, vault), check: false });
          let play;
          if (opts.playbook) {
            const [{ loadPlaybook }, { moduleCatalog }] = await Promise.all([
              import('../input/playbook/load.ts'),
              import('../modules/registry.ts'),
            ]);
            const { playbook, diagnostics } = loadPlaybook(opts.playbook, { modules: moduleCatalog, ...vault });
            if (diagnostics.length) throw new InputError(diagnostics);
            play = playbook.plays[0];
          }
          console.log(renderHostVars(mergeVarLayers(vb.layers(opts.vars, play))));
          return;
        }
        console.log(mode === 'list' ? renderInventoryList(inventory) : renderInventoryGraph(inventory));
      });
  }
  registerFromVagrant(inv);
}
