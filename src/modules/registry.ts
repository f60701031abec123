/** All modules by name. A module is one file; add it here to make it available to playbooks. */
import copy from './copy.ts';
import file from './file.ts';
import template from './template.ts';
import type { ModuleDef } from './types.ts';

const all: ModuleDef[] = [file, copy, template];

export const modules: ReadonlyMap<string, ModuleDef> = new Map(all.map((m) => [m.name, m]));

export function getModule(name: string): ModuleDef | undefined {
  return modules.get(name);
}
