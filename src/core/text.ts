/**
 * Text files are UTF-8. A file Kiln reads as text (playbook, vars file, inventory, template) that
 * holds bytes that are not UTF-8 is refused with the location of the first bad byte, never decoded
 * with U+FFFD replacements (which would silently change the bytes that reach a host).
 */
import { InputError, type Loc } from './diagnostic.ts';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000];
    else return i;
    if (i + len > n) return i;
    let cp = b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

/** Line and column (1-based, in characters) of byte `offset` of UTF-8 `bytes` that are valid before it. */
export function utf8Position(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let lineStart = 0;
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const before = strict.decode(bytes.subarray(lineStart, offset));
  return { line, col: [...before].length + 1 };
}

/** The message and location of the first non-UTF-8 byte of `bytes`, or undefined when they are UTF-8. */
export function invalidUtf8(bytes: Uint8Array, file: string, what = 'file'): (Loc & { message: string }) | undefined {
  const at = firstInvalidUtf8(bytes);
  if (at < 0) return undefined;
  const hex = bytes[at]!.toString(16).padStart(2, '0');
  return {
    file,
    ...utf8Position(bytes, at),
    message: `this ${what} is not valid UTF-8: byte 0x${hex} (at byte offset ${at}) is not UTF-8 text; save the file as UTF-8`,
  };
}

/** Decodes UTF-8 text strictly; throws a located InputError at the first byte that is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, file: string, what = 'file'): string {
  const bad = invalidUtf8(bytes, file, what);
  if (bad) throw new InputError(bad);
  return strict.decode(bytes);
}
