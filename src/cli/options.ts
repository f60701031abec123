/** Options shared by several commands. */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { InputError } from '../core/diagnostic.ts';
import { loadVaultPasswordFile, setVaultPassword } from '../core/secret/vault.ts';

export const collect = (v: string, prev: string[]) => [...prev, v];
export const csv = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function inventoryOption(): Option {
  return new Option('-i, --inventory <path>', 'inventory file or directory (YAML or Ansible INI); repeatable').argParser(collect).default([]);
}

export function vaultSetup(opts: { vaultPasswordFile?: string }): void {
  const file = opts.vaultPasswordFile ?? process.env.KILN_VAULT_PASSWORD_FILE;
  if (file) setVaultPassword(loadVaultPasswordFile(file));
}

export function defaultInventory(given: string[]): string[] {
  if (given.length) return given;
  for (const c of ['inventory/hosts.yml', 'inventory']) if (existsSync(c)) return [c];
  throw new InputError({ file: '-i', message: 'no inventory given (use -i FILE) and no inventory/hosts.yml here' });
}

