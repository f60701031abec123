// placeholder, replaced by the engine CLI
import { Command } from 'commander';
import { registerLabCommands } from '../lab/cli.ts';
const program = new Command('kiln');
registerLabCommands(program);
await program.parseAsync(process.argv);
