/** The `!vault` YAML tag (an inline encrypted string that loads as a Secret) and `!secret`. */
import type { ScalarTag } from 'yaml';
import { Secret } from './secret.ts';
import { decryptVault, type VaultOptions } from './vault.ts';

/** `!vault`, decrypting with the password of the load that meets it. */
function vaultTag(vault: VaultOptions): ScalarTag {
  return {
    tag: '!vault',
    resolve(str: string, onError: (msg: string) => void) {
      try {
        return new Secret(decryptVault(str, vault.vaultPassword), 'vault');
      } catch (err) {
        onError((err as Error).message);
        return null;
      }
    },
  };
}

/** A plain `!secret` tag marks an unencrypted value as secret (for tests and ad-hoc use). */
const secretTag: ScalarTag = {
  tag: '!secret',
  resolve(str: string) {
    return new Secret(str, 'secret');
  },
};

/** The custom tags of one YAML load. */
export function yamlTags(vault: VaultOptions): ScalarTag[] {
  return [vaultTag(vault), secretTag];
}
