/** `kiln modules [NAME]`: module reference generated from the modules' own schemas. */
import type { Command } from 'commander';
import { InputError } from '../core/diagnostic.ts';
import { modules } from '../modules/registry.ts';
import type { BoundModule } from '../modules/contract.ts';

interface Prop {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
}

export function moduleDoc(m: BoundModule, markdown = false): string {
  const props = (m.schema.properties ?? {}) as Record<string, Prop>;
  const required = new Set((m.schema.required as string[] | undefined) ?? []);
  const typeOf = (p: Prop) =>
    p.enum ? p.enum.map((e) => JSON.stringify(e)).join(' \\| ') : Array.isArray(p.type) ? p.type.join('/') : (p.type ?? 'any');
  if (markdown) {
    const rows = Object.entries(props).map(
      ([k, p]) => `| \`${k}\`${required.has(k) ? ' *' : ''} | ${typeOf(p)} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`,
    );
    return [`### ${m.name}`, '', m.description, '', '| parameter | type | description |', '|---|---|---|', ...rows, ''].join('\n');
  }
  const w = Math.max(...Object.keys(props).map((k) => k.length + 2));
  return [
    `${m.name}: ${m.description}`,
    ...Object.entries(props).map(
      ([k, p]) => `  ${(k + (required.has(k) ? ' *' : '')).padEnd(w)}  ${typeOf(p).replace(/\\\|/g, '|')}  ${p.description ?? ''}`,
    ),
  ].join('\n');
}

export function registerModulesCommand(program: Command): void {
  program
    .command('modules')
    .description("list modules, or show one module's parameters (* = required)")
    .argument('[name]', 'module name')
    .option('--markdown', 'print as Markdown (used for docs/modules.md)', false)
    .action((name: string | undefined, opts: { markdown: boolean }) => {
      if (name) {
        const m = modules.get(name);
        if (!m)
          throw new InputError({ file: 'kiln modules', message: `no module named '${name}' (have: ${[...modules.keys()].join(', ')})` });
        console.log(moduleDoc(m, opts.markdown));
        return;
      }
      for (const m of modules.values()) console.log(opts.markdown ? moduleDoc(m, true) : `${m.name.padEnd(12)} ${m.description}`);
    });
}
