/** Registers `kiln modules [NAME]`; the module registry (./modules.ts) is imported only when the command runs. */
import type { Command } from 'commander';

export function registerModulesCommand(program: Command): void {
  program
    .command('modules')
    .description("list modules, or show one module's parameters (* = required)")
    .argument('[name]', 'module name')
    .option('--markdown', 'print as Markdown (used for docs/modules.md)', false)
    .option('--ansible-names', 'list the Ansible module names Kiln accepts and refuses', false)
    .action(async (name: string | undefined, opts: { markdown: boolean; ansibleNames: boolean }) => {
      const { printModules } = await import('./modules.ts');
      printModules(name, opts);
    });
}
