/**
 * Kiln's resource limits on input (issue 15, item 7): validation must answer in well under a
 * second, even for hostile input, so every unbounded thing an input can ask for is capped and a
 * request past a cap is a located error (exit 2), never a hang or an out-of-memory crash.
 * Ansible has none of these limits; each is far above what a real project uses
 * (docs/cli.md, "Input limits").
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from './diagnostic.ts';
import { decodeUtf8 } from './text.ts';

export const LIMITS = {
  /** Largest YAML / INI / vars file read (bytes); KILN_MAX_INPUT_BYTES overrides it. */
  inputBytes: 1024 * 1024,
  /** Hosts one inventory host pattern (`web[1:100]`, `h[0:9]-[a:z]`) may expand to. */
  hostsPerPattern: 10_000,
  /** Hosts in the whole inventory. */
  hostsTotal: 20_000,
  /** Nodes that the YAML aliases of one file may expand to (a "billion laughs" bomb is refused). */
  aliasNodes: 100_000,
  /** Nesting depth of import_tasks (a file importing a file importing …). */
  importDepth: 20,
  /** import_tasks files loaded for one playbook, counting repeats (a tree of imports can grow exponentially). */
  imports: 1_000,
  /** Nesting depth of YAML collections within one file. */
  yamlDepth: 500,
} as const;

/** The byte limit on an input file: LIMITS.inputBytes, or KILN_MAX_INPUT_BYTES when set (a positive integer). */
export function maxInputBytes(): number {
  const env = process.env.KILN_MAX_INPUT_BYTES;
  if (env === undefined || env === '') return LIMITS.inputBytes;
  if (!/^\d+$/.test(env) || Number(env) < 1)
    throw new InputError({ file: 'KILN_MAX_INPUT_BYTES', message: `must be a positive number of bytes, got '${env}'` });
  return Number(env);
}

const size = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;

/**
 * Reads an input text file (YAML, INI inventory, vars): refused past the size limit before a byte
 * is read; a UTF-16/UTF-32 file (byte-order mark) is refused (Ansible reads UTF-8 only); a UTF-8
 * byte-order mark is dropped, as PyYAML does, so positions count from the first real character.
 * Throws InputError (located at the file's 1:1) or, when the file cannot be read, an InputError
 * whose message starts with "cannot read file".
 */
export function readInputText(file: string, what = 'file'): string {
  const bytes = readInputBytes(file);
  const bom = bomOf(bytes);
  if (bom)
    throw new InputError({
      file,
      line: 1,
      col: 1,
      message: `file is encoded as ${bom} (it starts with a ${bom} byte-order mark): Kiln, like Ansible, reads UTF-8 only`,
    });
  const text = decodeUtf8(bytes, file, what);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The bytes of an input file, refused past the size limit before a byte is read (as readInputText,
 * without decoding: for a reader with its own rules, such as a template whose byte-order mark is content).
 */
export function readInputBytes(file: string): Buffer {
  const limit = maxInputBytes();
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (st.isFile() && st.size > limit) {
      throw new InputError({
        file,
        line: 1,
        col: 1,
        message: `file is ${size(st.size)} (${st.size} bytes): larger than Kiln's input limit of ${size(limit)} (set KILN_MAX_INPUT_BYTES to raise it)`,
      });
    }
    bytes = readCapped(file, limit + 1);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError({ file, message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
  }
  if (bytes.length > limit) {
    // Not a regular file (a device, a pipe): read up to the limit only.
    throw new InputError({ file, line: 1, col: 1, message: `input is larger than Kiln's input limit of ${size(limit)}` });
  }
  return bytes;
}

function bomOf(b: Buffer): string | undefined {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'UTF-32';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'UTF-16';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'UTF-16';
  return undefined;
}

/** At most `max` bytes of `file` (a device such as /dev/zero never ends). */
function readCapped(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(64 * 1024, max - total));
      if (!buf.length) break;
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}
