/** Strict UTF-8 text (src/core/text.ts): the first byte that is not UTF-8 is found and located, never replaced. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/diagnostic.ts';
import { decodeUtf8, firstInvalidUtf8, invalidUtf8 } from '../../../src/core/text.ts';

const b = (...x: number[]) => Uint8Array.from(x);

describe('strict UTF-8', () => {
  it('accepts UTF-8 of every length, and a BOM (kept for the YAML reader)', () => {
    const s = 'a é ✓ 𝄞\n\uFEFF';
    expect(firstInvalidUtf8(Buffer.from(s))).toBe(-1);
    expect(decodeUtf8(Buffer.from(`\uFEFF${s}`), 'f')).toBe(`\uFEFF${s}`);
  });

  it('finds the first bad byte: Latin-1, a lone continuation, truncated, overlong, a surrogate, above U+10FFFF', () => {
    expect(firstInvalidUtf8(b(0x61, 0xe9, 0x62))).toBe(1);
    expect(firstInvalidUtf8(b(0x80))).toBe(0);
    expect(firstInvalidUtf8(b(0x61, 0xc3))).toBe(1);
    expect(firstInvalidUtf8(b(0xe2, 0x9c))).toBe(0);
    expect(firstInvalidUtf8(b(0xc0, 0xaf))).toBe(0);
    expect(firstInvalidUtf8(b(0xe0, 0x80, 0xaf))).toBe(0);
    expect(firstInvalidUtf8(b(0xed, 0xa0, 0x80))).toBe(0);
    expect(firstInvalidUtf8(b(0xf4, 0x90, 0x80, 0x80))).toBe(0);
    expect(firstInvalidUtf8(b(0xff, 0xfe))).toBe(0);
  });

  it('locates it by line and character column (multi-byte characters before it count once)', () => {
    const bytes = Buffer.concat([Buffer.from('line one\n✓é x: "'), b(0xe9), Buffer.from('"\n')]);
    expect(invalidUtf8(bytes, 'p.yml')).toMatchObject({ file: 'p.yml', line: 2, col: 8 });
    expect(invalidUtf8(bytes, 'p.yml')!.message).toContain('byte 0xe9 (at byte offset 19)');
    expect(() => decodeUtf8(bytes, 'p.yml')).toThrow(InputError);
    expect(() => decodeUtf8(bytes, 'p.yml')).toThrow(/^p\.yml:2:8: this file is not valid UTF-8/);
  });
});
