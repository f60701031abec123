/**
 * Bytes into and out of remote scripts. Content travels base64-encoded inside heredocs on the
 * script's stdin, never in argv, so file contents and secrets stay out of `ps`.
 */
import { createHash } from 'node:crypto';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A heredoc that writes `data` (any bytes) to `target` through base64, keeping content out of argv. */
export function writeBytes(target: string, data: string | Buffer): string {
  const b64 = Buffer.from(data)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  const tag = `KILN_EOF_${sha256(data).slice(0, 12)}`;
  return `base64 -d > ${target} <<'${tag}'\n${b64}${b64.endsWith('\n') ? '' : '\n'}${tag}\n`;
}

/** Decodes a base64 value from a probe (UTF-8); '' when absent. */
export function fromB64(s: string | undefined): string {
  return s ? Buffer.from(s, 'base64').toString('utf8') : '';
}

/** Decodes a base64 value from a probe into its bytes; empty when absent. */
export function fromB64Bytes(s: string | undefined): Buffer {
  return s ? Buffer.from(s, 'base64') : Buffer.alloc(0);
}
