/** YAML loading: limits, located alias and quote errors, encodings (issue 15, items 7 and 8). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../src/core/diagnostic.ts';
import { LIMITS } from '../../../../src/core/limits.ts';
import { loadYamlFile, parseYaml } from '../../../../src/input/yaml/document.ts';

const errorsOf = (source: string) => parseYaml('f.yml', source).errors.map((d) => `${d.line}:${d.col} ${d.message}`);

function fileErrors(content: string | Buffer, env: Record<string, string> = {}): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-yaml-')), 'f.yml');
  writeFileSync(file, content);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    loadYamlFile(file);
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map((d) => `${d.line ?? '-'}:${d.col ?? '-'} ${d.message}`);
    throw err;
  } finally {
    process.env = saved;
  }
  return [];
}

describe('YAML errors are located where they are', () => {
  it('an undefined alias: at the alias (was 1:1)', () => {
    expect(errorsOf('a: 1\nb:\n  - *nope\n')).toEqual(["3:5 YAML error: undefined alias '*nope' (no anchor &nope before it)"]);
    // An anchor defined after its alias does not count (PyYAML: "found undefined alias").
    expect(errorsOf('a: *x\nb: &x 1\n')).toEqual(["1:4 YAML error: undefined alias '*x' (no anchor &x before it)"]);
  });

  it('a recursive alias: at the alias', () => {
    expect(errorsOf('a: &a\n  - 1\n  - *a\n')).toEqual([
      "3:5 YAML error: alias '*a' is inside the node it refers to (a recursive structure)",
    ]);
  });

  it('an alias bomb: at the alias where the expansion crosses the limit, in well under a second', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
      ['g', 'h'],
      ['h', 'i'],
    ])
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    const t0 = performance.now();
    const errs = errorsOf(`${levels.join('\n')}\n`);
    expect(performance.now() - t0).toBeLessThan(500);
    // Aliases so far: b 110, c 1,110, d 11,110, e 8 × 11,111 crosses 100,000 at the 8th alias of line 5.
    expect(errs).toEqual([
      `5:${'e: &e ['.length + 1 + 7 * '*d, '.length} YAML error: aliases expand to more than ${LIMITS.aliasNodes} nodes here (an alias bomb?): Kiln's limit per file`,
    ]);
  });

  it('aliases that stay under the limit load, sharing their value', () => {
    const r = parseYaml('f.yml', 'base: &b {port: 80, tls: true}\nweb: *b\napi: *b\n');
    expect(r.errors).toEqual([]);
    expect(r.result!.value).toEqual({ base: { port: 80, tls: true }, web: { port: 80, tls: true }, api: { port: 80, tls: true } });
  });

  it('an unclosed quote at the end of the file: where the quote opens (was the end of the file)', () => {
    expect(errorsOf('- hosts: all\n  tasks:\n    - command: "/bin/true\n')).toEqual(['3:16 YAML syntax error: Missing closing "quote']);
    expect(errorsOf("a: 'x'\nb: 'never closed\n\n")).toEqual(["2:4 YAML syntax error: Missing closing 'quote"]);
  });

  it('a tab in the indentation of the line in error: one error, at the tab (was three, at the tokens after it)', () => {
    expect(errorsOf('- hosts: all\n  tasks:\n    - name: x\n\t  command: /bin/true\n')).toEqual([
      '4:1 YAML syntax error: Tabs are not allowed as indentation',
    ]);
    expect(errorsOf('a:\n  b: 1\n \tc: 2\n')[0]).toBe('3:2 YAML syntax error: Tabs are not allowed as indentation');
    // A tab after the indentation is content, not indentation.
    expect(errorsOf('a: "x\ty"\n')).toEqual([]);
  });

  it('a flow collection never closed: where its bracket opens (was the end of the file)', () => {
    expect(errorsOf('a: 1\nb: [1, 2\n\n')).toEqual([
      '2:4 YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(errorsOf('a:\n  - {x: 1\n')).toEqual([
      '2:5 YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('a control character or NUL anywhere: at the character, as PyYAML refuses it (the yaml library accepted it)', () => {
    expect(errorsOf('a: 1\nb: echo \x07 x\n')).toEqual([
      '2:9 YAML error: unacceptable character #x0007: control characters are not allowed',
    ]);
    expect(errorsOf('a: /bin\x00/true\n')).toEqual(['1:8 YAML error: unacceptable character #x0000: control characters are not allowed']);
    expect(errorsOf('# \x7f in a comment\n')).toEqual([
      '1:3 YAML error: unacceptable character #x007F: control characters are not allowed',
    ]);
    // Tabs, CR LF, NEL, non-ASCII text and emoji are printable.
    expect(errorsOf('a: "x\ty"\r\nb: héllo \u2603 \u{1F600}\x85\n')).toEqual([]);
  });

  it('an unknown tag: at the tag (the yaml library only warned and read a string; PyYAML refuses it)', () => {
    expect(errorsOf('a: 1\nb: !foo x\n')).toEqual(['2:4 YAML error: unknown tag: !foo (no constructor for it)']);
    expect(errorsOf('b: !!python/object 1\n')).toEqual([
      '1:4 YAML error: unknown tag: tag:yaml.org,2002:python/object (no constructor for it)',
    ]);
  });

  it('a duplicate key: at the second key, also in a flow mapping, and not quadratic in the keys', () => {
    expect(errorsOf('a: 1\nb: 2\na: 3\n')).toEqual(['3:1 YAML syntax error: Map keys must be unique']);
    expect(errorsOf('m: {x: 1, y: 2, x: 3}\n')).toEqual(['1:17 YAML syntax error: Map keys must be unique']);
    // 1 and '1' are different keys, as in PyYAML.
    expect(errorsOf("1: a\n'1': b\n")).toEqual([]);
    const keys = Array.from({ length: 30_000 }, (_, i) => `k${i}: ${i}`).join('\n');
    const t0 = performance.now();
    expect(errorsOf(`${keys}\nk7: dup\n`)).toEqual(['30001:1 YAML syntax error: Map keys must be unique']);
    // The yaml library's own check compared every key with every other: 30,000 keys took ~35 s on this box.
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('collections nested too deeply: located, not a crash', () => {
    expect(errorsOf(`x: ${'['.repeat(LIMITS.yamlDepth + 10)}${']'.repeat(LIMITS.yamlDepth + 10)}\n`)).toEqual([
      `1:${4 + LIMITS.yamlDepth} YAML error: collections nested more than ${LIMITS.yamlDepth} deep`,
    ]);
    // So deep the parser's own recursion gives out: still one error, at the bracket past the limit
    // (not wherever the stack happened to end).
    expect(errorsOf(`x: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`)).toEqual([
      `1:${4 + LIMITS.yamlDepth} YAML error: collections nested more than ${LIMITS.yamlDepth} deep`,
    ]);
  });
});

describe('YAML file limits and encodings', () => {
  it('a UTF-8 byte-order mark is dropped: a valid file loads and columns count from the first character', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(fileErrors(Buffer.concat([bom, Buffer.from('- hosts: all\n  tasks: []\n')]))).toEqual([]);
    expect(fileErrors(Buffer.concat([bom, Buffer.from('a: *x\n')]))[0]).toMatch(/^1:4 YAML error: undefined alias/);
    expect(parseYaml('f.yml', '\uFEFFa: 1\n').result!.value).toEqual({ a: 1 });
  });

  it('UTF-16 and UTF-32 files are refused at 1:1', () => {
    const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a: 1\n', 'utf16le')]);
    expect(fileErrors(u16)).toEqual([
      '1:1 file is encoded as UTF-16 (it starts with a UTF-16 byte-order mark): Kiln, like Ansible, reads UTF-8 only',
    ]);
    const u32 = Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]);
    expect(fileErrors(u32)[0]).toMatch(/^1:1 file is encoded as UTF-32/);
  });

  it('a file past the size limit is refused before it is read, in well under a second', () => {
    const big = `x: "${'a'.repeat(LIMITS.inputBytes)}"\n`;
    const t0 = performance.now();
    const errs = fileErrors(big);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(errs).toEqual([
      `1:1 file is 1.0 MiB (${big.length} bytes): larger than Kiln's input limit of 1.0 MiB (set KILN_MAX_INPUT_BYTES to raise it)`,
    ]);
    // KILN_MAX_INPUT_BYTES raises (or lowers) it; a bad value is itself an error.
    expect(fileErrors(big, { KILN_MAX_INPUT_BYTES: String(2 * LIMITS.inputBytes) })).toEqual([]);
    expect(fileErrors('a: 1234567890\n', { KILN_MAX_INPUT_BYTES: '8' })[0]).toMatch(
      /^1:1 file is 14 bytes \(14 bytes\): larger than Kiln's input limit of 8 bytes/,
    );
    expect(fileErrors('a: 1\n', { KILN_MAX_INPUT_BYTES: 'lots' })).toEqual(["-:- must be a positive number of bytes, got 'lots'"]);
  });

  it('a missing file is a "cannot read file" error naming the code', () => {
    expect(() => loadYamlFile('/nonexistent/kiln/f.yml')).toThrow('cannot read file: ENOENT');
  });
});
