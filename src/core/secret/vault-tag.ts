/** The `!vault` YAML tag: an inline encrypted string that loads as a Secret. */
import type { ScalarTag } from 'yaml';
import { Secret } from './secret.ts';
import { decryptVault } from './vault.ts';

const vaultTag: ScalarTag = {
  tag: '!vault',
  resolve(str: string, onError: (msg: string) => void) {
    try {
      return new Secret(decryptVault(str), 'vault');
    } catch (err) {
      onError((err as Error).message);
      return null;
    }
  },
};

/** A plain `!secret` tag marks an unencrypted value as secret (for tests and ad-hoc use). */
const secretTag: ScalarTag = {
  tag: '!secret',
  resolve(str: string) {
    return new Secret(str, 'secret');
  },
};

export const yamlTags = [vaultTag, secretTag];
