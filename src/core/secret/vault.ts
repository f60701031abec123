/**
 * Vault: encrypted variables, compatible with ansible-vault's format 1.1/1.2 (AES256), so
 * operators can keep their existing vault files and `!vault` strings.
 *
 * Format: header line `$ANSIBLE_VAULT;1.1;AES256`, then hex lines encoding
 * hex(salt) "\n" hex(hmac) "\n" hex(ciphertext). Keys: PBKDF2-SHA256(password, salt, 10000, 80)
 * split into AES-256 key, HMAC-SHA256 key and CTR IV. Plaintext is PKCS#7 padded.
 *
 * The password is never process state: the CLI reads it (`--vault-password-file`,
 * KILN_VAULT_PASSWORD_FILE) and passes it as `VaultOptions` to whatever loads YAML.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { firstInvalidUtf8 } from '../text.ts';

export const VAULT_HEADER = '$ANSIBLE_VAULT';

export class VaultError extends Error {
  override name = 'VaultError';
}

/** The vault password a load may decrypt with; none given: meeting vault data is an error. */
export interface VaultOptions {
  vaultPassword?: string;
}

/** Loads the vault password from a file (trailing newline stripped) or the KILN_VAULT_PASSWORD_FILE env. */
export function loadVaultPasswordFile(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function deriveKeys(password: string, salt: Buffer) {
  const k = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256');
  return { key: k.subarray(0, 32), hmacKey: k.subarray(32, 64), iv: k.subarray(64, 80) };
}

export function isVaultText(s: string): boolean {
  return s.trimStart().startsWith(VAULT_HEADER + ';');
}

export function encryptVault(plaintext: string | Uint8Array, password: string, vaultId?: string): string {
  const salt = randomBytes(32);
  const { key, hmacKey, iv } = deriveKeys(password, salt);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
  const pad = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.alloc(pad, pad)]);
  const c = createCipheriv('aes-256-ctr', key, iv);
  const ct = Buffer.concat([c.update(padded), c.final()]);
  const mac = createHmac('sha256', hmacKey).update(ct).digest();
  const body = Buffer.from(`${salt.toString('hex')}\n${mac.toString('hex')}\n${ct.toString('hex')}`, 'utf8').toString('hex');
  const header = vaultId ? `${VAULT_HEADER};1.2;AES256;${vaultId}` : `${VAULT_HEADER};1.1;AES256`;
  return [header, ...(body.match(/.{1,80}/g) ?? [])].join('\n') + '\n';
}

export function decryptVault(text: string, password: string | undefined): string {
  if (password === undefined) {
    throw new VaultError('vault-encrypted data found but no vault password given (use --vault-password-file or KILN_VAULT_PASSWORD_FILE)');
  }
  const lines = text
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim());
  const header = lines.shift() ?? '';
  const parts = header.split(';');
  if (parts[0] !== VAULT_HEADER || !['1.1', '1.2'].includes(parts[1] ?? '') || parts[2] !== 'AES256') {
    throw new VaultError(`unsupported vault header: ${header}`);
  }
  const inner = Buffer.from(lines.join(''), 'hex').toString('utf8').split('\n');
  if (inner.length !== 3) throw new VaultError('malformed vault payload');
  const [saltHex, macHex, ctHex] = inner as [string, string, string];
  const salt = Buffer.from(saltHex, 'hex');
  const ct = Buffer.from(ctHex, 'hex');
  const { key, hmacKey, iv } = deriveKeys(password, salt);
  const mac = createHmac('sha256', hmacKey).update(ct).digest();
  const expected = Buffer.from(macHex, 'hex');
  if (expected.length !== mac.length || !timingSafeEqual(mac, expected)) {
    throw new VaultError('vault decryption failed: wrong password or corrupted data');
  }
  const d = createDecipheriv('aes-256-ctr', key, iv);
  const padded = Buffer.concat([d.update(ct), d.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16) throw new VaultError('vault decryption failed: bad padding');
  const plain = padded.subarray(0, padded.length - pad);
  // Never decode loosely (U+FFFD would silently change the secret): refuse, naming only the offset
  // (not the byte: it is part of the secret).
  const bad = firstInvalidUtf8(plain);
  if (bad >= 0) {
    throw new VaultError(
      `the decrypted vault data is not valid UTF-8 (first bad byte at offset ${bad} of the plaintext); re-encrypt it as UTF-8 text`,
    );
  }
  return plain.toString('utf8');
}
