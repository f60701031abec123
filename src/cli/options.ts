/** Options shared by several commands, each declared once here, and the vault wiring they feed. */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { InputError } from '../core/diagnostic.ts';
import { loadVaultPasswordFile, type VaultOptions } from '../core/secret/vault.ts';

export const collect = (v: string, prev: string[]) => [...prev, v];
export const csv = (v: string, prev: string[]) => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function inventoryOption(): Option {
  return new Option('-i, --inventory <path>', 'inventory file or directory (YAML or Ansible INI); repeatable')
    .argParser(collect)
    .default([]);
}

/** `--vault-password-file <file>`; each command keeps its own help text. */
export function vaultPasswordOption(description = 'file holding the vault password'): Option {
  return new Option('--vault-password-file <file>', description);
}

/**
 * The vault password of this command: `--vault-password-file`, else KILN_VAULT_PASSWORD_FILE, else
 * none. A file that cannot be read is an input error naming the flag (or variable) and the path.
 */
export function vaultOptions(opts: { vaultPasswordFile?: string }): VaultOptions {
  const file = opts.vaultPasswordFile ?? process.env.KILN_VAULT_PASSWORD_FILE;
  if (!file) return {};
  const from = opts.vaultPasswordFile !== undefined ? '--vault-password-file' : 'KILN_VAULT_PASSWORD_FILE';
  try {
    return { vaultPassword: loadVaultPasswordFile(file) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'it is a directory'
          : e.code === 'EACCES'
            ? 'permission denied'
            : (e.code ?? e.message);
    throw new InputError({ file: from, message: `cannot read the vault password file ${JSON.stringify(file)}: ${why}` });
  }
}

/** `-f, --forks <n>`: a whole number of hosts from 1 (Ansible's --forks); anything else is an input error naming the flag. */
export function parseForks(value: string): number {
  const t = value.trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InputError({ file: '--forks', message: `must be a whole number of hosts from 1, got ${JSON.stringify(value)}` });
  return n;
}

export function defaultInventory(given: string[]): string[] {
  if (given.length) return given;
  for (const c of ['inventory/hosts.yml', 'inventory']) if (existsSync(c)) return [c];
  throw new InputError({ file: '-i', message: 'no inventory given (use -i FILE) and no inventory/hosts.yml here' });
}

/** `-v, --verbose`, counted as Ansible counts it (`-vv` is 2): 1 also prints ok and skipped results; debug's `verbosity: N` shows from N. */
export function verboseOption(): Option {
  return new Option('-v, --verbose', 'also print skipped tasks and ok results; repeat (-vv) for debug tasks of a higher verbosity')
    .argParser((_v: string | undefined, prev: number) => prev + 1)
    .default(0);
}
