import type { Command } from 'commander';
export function registerLabCommands(program: Command): void {
  program.command('lab').description('disposable bare-metal-like hosts (not yet built)');
}
