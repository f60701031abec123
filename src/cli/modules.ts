/** `kiln modules [NAME]`: module reference generated from the modules' own schemas. */
import { InputError } from '../core/diagnostic.ts';
import { modules, moduleAliases } from '../modules/registry.ts';
import { ANSIBLE_MODULE_NAMES } from '../modules/ansible/mapping.ts';
import { ANSIBLE_ONLY_MODULES, OTHER_OS_MODULES, REPLACED_MODULES } from '../input/playbook/keywords.ts';
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

/**
 * The Ansible module names a task may use and what Kiln does with each: the names that run as a
 * Kiln module (short, FQCN and ansible.legacy.*), then the refused ones with the reason.
 */
export function ansibleNames(markdown = false): string {
  const byFqcn = new Map<string, string[]>();
  for (const [name, fqcn] of Object.entries(ANSIBLE_MODULE_NAMES)) byFqcn.set(fqcn, [...(byFqcn.get(fqcn) ?? []), name]);
  const accepted = [...byFqcn.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([fqcn, names]) => ({
      names: names.sort((a, b) => a.length - b.length || a.localeCompare(b)),
      kiln: moduleAliases[fqcn] ?? fqcn,
    }));
  const byCollection = new Map<string, string[]>();
  for (const [name, collection] of OTHER_OS_MODULES) byCollection.set(collection, [...(byCollection.get(collection) ?? []), name]);
  const otherOs = [...byCollection.entries()].map(([c, names]) => `${c}: ${names.sort().join(', ')}`);
  const notYet = [...ANSIBLE_ONLY_MODULES].sort();
  const replaced = Object.entries(REPLACED_MODULES);
  if (markdown) {
    return [
      '## Ansible module names',
      '',
      'Generated from the loader (`kiln modules`): the Ansible module names a task may use, and the ones refused.',
      '',
      '| Ansible names | runs as Kiln module |',
      '|---|---|',
      ...accepted.map((a) => `| ${a.names.map((n) => `\`${n}\``).join(', ')} | \`${a.kiln}\` |`),
      '',
      '**Refused with a replacement:**',
      '',
      ...replaced.map(([n, why]) => `- \`${n}\`: ${why}`),
      '',
      `**Ansible builtin modules Kiln has no module for** (refused by name, located): ${notYet.map((n) => `\`${n}\``).join(', ')}.`,
      '',
      `**Modules of other operating systems** (${OTHER_OS_MODULES.size}: a task using one loads, and fails wherever it would run on a targeted host, so a role that branches on the OS runs on Debian):`,
      '',
      ...otherOs.map((l) => `- ${l}`),
      '',
      'Any other module name is refused when the playbook is loaded (a collection module is named as such).',
      '',
    ].join('\n');
  }
  const w = Math.max(...accepted.map((a) => a.names.join(', ').length));
  return [
    'Ansible module names Kiln accepts (→ the Kiln module that runs them):',
    ...accepted.map((a) => `  ${a.names.join(', ').padEnd(w)}  → ${a.kiln}`),
    '',
    'Refused with a replacement:',
    ...replaced.map(([n, why]) => `  ${n}: ${why}`),
    '',
    `Ansible builtin modules Kiln has no module for (refused): ${notYet.join(', ')}`,
    '',
    `Modules of other operating systems (${OTHER_OS_MODULES.size}; a task using one fails wherever it would run on a targeted host):`,
    ...otherOs.map((l) => `  ${l}`),
    '',
    'Any other module name is refused when the playbook is loaded.',
  ].join('\n');
}

/** What `kiln modules [NAME] [--markdown] [--ansible-names]` prints (registered in ./modules-command.ts). */
export function printModules(name: string | undefined, opts: { markdown: boolean; ansibleNames: boolean }): void {
  if (opts.ansibleNames) {
    console.log(ansibleNames(opts.markdown));
    return;
  }
  if (name) {
    // An Ansible name (`apt`, `ansible.posix.mount`) shows the Kiln module that runs it.
    const viaAnsible = modules.has(name) ? undefined : moduleAliases[name];
    const m = modules.get(viaAnsible ?? name);
    if (viaAnsible && m) console.log(`Ansible's ${name} runs as Kiln's ${m.name}:\n`);
    if (!m) throw new InputError({ file: 'kiln modules', message: `no module named '${name}' (have: ${[...modules.keys()].join(', ')})` });
    console.log(moduleDoc(m, opts.markdown));
    return;
  }
  for (const m of modules.values()) console.log(opts.markdown ? moduleDoc(m, true) : `${m.name.padEnd(12)} ${m.description}`);
  if (!opts.markdown) console.log(`\n${ansibleNames()}`);
}
