/** All modules by name. A module is one file; add it here to make it available to playbooks. */
import copy from './copy.ts';
import file from './file.ts';
import pkg from './package.ts';
import template from './template.ts';
import type { ModuleDef } from './types.ts';

const all: ModuleDef[] = [file, copy, template, pkg];

export const modules: ReadonlyMap<string, ModuleDef> = new Map(all.map((m) => [m.name, m]));

export function getModule(name: string): ModuleDef | undefined {
  return modules.get(name);
}

/** Ansible names that map onto Kiln modules, so existing habits keep working. */
export const moduleAliases: Record<string, string> = {
  apt: 'package',
  systemd: 'service',
  systemd_service: 'service',
};
