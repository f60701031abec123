/** `kiln vault encrypt-string|encrypt|decrypt|view` — ansible-vault compatible. */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decryptVault, encryptVault } from '../core/secret/vault.ts';
import { vaultOptions, vaultPasswordOption } from './options.ts';
import { InputError } from '../core/diagnostic.ts';

/** The password every vault command needs (the same lookup as every other command's). */
function password(opts: { vaultPasswordFile?: string }): string {
  const pw = vaultOptions(opts).vaultPassword;
  if (pw === undefined)
    throw new InputError({
      file: '--vault-password-file',
      message: 'a vault password is needed: --vault-password-file FILE or KILN_VAULT_PASSWORD_FILE',
    });
  return pw;
}

/** The file a vault command works on; one that cannot be read is an input error naming it. */
function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError({ file, message: `cannot read it: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}` });
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.kiln-tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function registerVaultCommands(program: Command): void {
  const v = program.command('vault').description('encrypt secrets (ansible-vault 1.1 AES256 format)');
  v.command('encrypt-string')
    .description('encrypt a value read from stdin; prints a `NAME: !vault |` YAML entry')
    .argument('<name>', 'variable name')
    .addOption(vaultPasswordOption('vault password file'))
    .action((name: string, opts) => {
      const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      const enc = encryptVault(value, password(opts));
      console.log(
        `${name}: !vault |\n${enc
          .trimEnd()
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')}`,
      );
    });
  v.command('encrypt')
    .description('encrypt a whole vars file in place')
    .argument('<file>')
    .addOption(vaultPasswordOption('vault password file'))
    .action((file: string, opts) => writeAtomic(file, encryptVault(readInput(file), password(opts))));
  v.command('decrypt')
    .description('decrypt a whole vars file in place')
    .argument('<file>')
    .addOption(vaultPasswordOption('vault password file'))
    .action((file: string, opts) => writeAtomic(file, decryptVault(readInput(file), password(opts))));
  v.command('view')
    .description('print a decrypted vars file')
    .argument('<file>')
    .addOption(vaultPasswordOption('vault password file'))
    .action((file: string, opts) => {
      process.stdout.write(decryptVault(readInput(file), password(opts)));
    });
}
