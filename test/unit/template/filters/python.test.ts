/**
 * The Python building blocks of the library, against CPython 3.11's answers (recorded from
 * python3 on the generated cases they were developed with): re (translated to JS RegExp),
 * int()/float()/round(), MT19937 seeding, crypt(3) hashes, PyYAML+libyaml dumping/loading.
 */
import { describe, expect, it } from 'vitest';
import { parseFloatStr, parseIntStr, roundFloat } from '../../../../src/template/jinja/convert.ts';
import { floatRepr } from '../../../../src/template/jinja/value.ts';
import { CRYPT_ALGOS, cryptHash } from '../../../../src/template/filters/crypt.ts';
import { compile, findall, fullmatch, match, search, splitRe, sub } from '../../../../src/template/filters/pyre.ts';
import { PyRandom, randrange, shuffle } from '../../../../src/template/filters/pyrandom.ts';
import { dumpYaml } from '../../../../src/template/filters/yaml-dump.ts';
import { loadYaml } from '../../../../src/template/filters/yaml-load.ts';

describe('Python regular expressions', () => {
  const subs: [string, string, string, string][] = [
    // pattern, replacement, input, Python's re.sub result
    ['x*', '-', 'abxd', '-a-b--d-'],
    ['|a', '-', 'a', '---'],
    ['$', '!', 'a\n', 'a!\n!'],
    ['(?m)^', '# ', 'a\nb', '# a\n# b'],
    ['(?P<k>\\w+)=(?P<v>\\w*)', '\\g<v>:\\1', 'key=val k2=', 'val:key :k2'],
    ['\\w+', 'w', 'Zoë 😀 x', 'w 😀 w'],
    ['(?i)HÉ', 'x', 'hé', 'x'],
    ['\\bfoo\\b', 'X', 'foo food foo', 'X food X'],
    ['[]a]+', '_', 'a]b', '_b'],
    ['a{,2}', 'x', 'aaa', 'xxx'],
    ['\\.', '\\n', 'a.b', 'a\nb'],
    ['(a)(x)?', '[\\2]', 'a', '[]'],
    ['(?x) a b # comment', 'X', 'ab', 'X'],
    ['(?s)a.c', '-', 'a\nc', '-'],
    ['a.c', '-', 'a\nc', 'a\nc'],
  ];
  for (const [p, r, s, want] of subs) {
    it(`re.sub(${JSON.stringify(p)}, ${JSON.stringify(r)}, ${JSON.stringify(s)})`, () => {
      expect(sub(compile(p), r, s)[0]).toBe(want);
    });
  }

  it('search, match, fullmatch, findall and split like Python', () => {
    expect(match(compile('b'), 'abc')).toBeNull();
    expect(search(compile('b'), 'abc')?.start).toBe(1);
    expect(fullmatch(compile('a|ab'), 'ab')).not.toBeNull();
    expect(findall(compile('(\\w)=(\\w)'), 'a=1 b=2')).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(splitRe(compile('(,)'), 'a,b')).toEqual(['a', ',', 'b']);
    expect(search(compile('\\Z'), 'a\n')?.start).toBe(2);
  });

  it('raises re.error where Python does, and refuses what JS cannot express', () => {
    for (const bad of ['(', 'a**', '\\q', '[a', '*a', '\\1(a)', 'a(?i)b'])
      expect(() => compile(bad), bad).toThrow(expect.objectContaining({ pyType: 're.error' }));
    for (const unsupported of ['(?i:a)', 'a++', '(?(1)a|b)', '(?>a)']) {
      expect(() => compile(unsupported), unsupported).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
    }
    expect(() => sub(compile('a'), '\\2', 'a')).toThrow(/invalid group reference 2/);
  });

  // pattern → CPython 3.11's re.compile error message (null: compiles), recorded from python3
  // (`python3 -c 'import re; re.compile(p)'`): look-behind widths, group references inside a
  // look-behind, and the position of an unterminated group.
  const compileErrors: [string, string | null][] = [
    ['(?<=a+)b', 'look-behind requires fixed-width pattern'],
    ['(?<=a*)b', 'look-behind requires fixed-width pattern'],
    ['(?<=a|bc)d', 'look-behind requires fixed-width pattern'],
    ['(?<=ab|cd)e', null],
    ['(?<!a{1,2})b', 'look-behind requires fixed-width pattern'],
    ['(?<=a{2})b', null],
    ['(?<=(a|bb))c', 'look-behind requires fixed-width pattern'],
    ['(?<=\\d\\w.)x', null],
    ['(?<=a?)b', 'look-behind requires fixed-width pattern'],
    ['(a)(?<=\\1)b', null],
    ['(a+)(?<=\\1)b', 'look-behind requires fixed-width pattern'],
    ['(?<=(a)\\1)b', 'cannot refer to group defined in the same lookbehind subpattern at position 9'],
    ['(?<=(?P<n>a)(?P=n))b', 'cannot refer to group defined in the same lookbehind subpattern at position 18'],
    ['a(b', 'missing ), unterminated subpattern at position 1'],
    ['(a(b', 'missing ), unterminated subpattern at position 2'],
    ['(a(b)', 'missing ), unterminated subpattern at position 0'],
    ['(?:a', 'missing ), unterminated subpattern at position 0'],
    ['(?=a', 'missing ), unterminated subpattern at position 0'],
    ['(?<=a', 'missing ), unterminated subpattern at position 0'],
    ['(?P<n>a', 'missing ), unterminated subpattern at position 0'],
    ['x(?!a', 'missing ), unterminated subpattern at position 1'],
    ['((a)', 'missing ), unterminated subpattern at position 0'],
    ['(a)(?P=n)', "unknown group name 'n' at position 7"],
    ['(?P<n>a(?P=n))', 'cannot refer to an open group at position 11'],
    ['(?<=a(?=b+))c', null],
    ['(?<=\\bx$)y', null],
    ['(?<=[abc]{3})d', null],
    ['(?<=a{1,})b', 'look-behind requires fixed-width pattern'],
    ['(?<=(?#c)ab)c', null],
    ['(?<=a)(?<=b+)c', 'look-behind requires fixed-width pattern'],
    ['(?<=a(b)', 'missing ), unterminated subpattern at position 0'],
    ['(?<=x{0})y', null],
    ['(?<=(a+){0})y', null],
    ['(?<=a)b+', null],
    ['(a)(?<=(b)\\2)c', 'cannot refer to group defined in the same lookbehind subpattern at position 12'],
    ['(?<=a(?<=b+))c', 'look-behind requires fixed-width pattern'],
    ['(?<=(?:ab){2}|abcd)e', null],
    ['(?<=a+b', 'missing ), unterminated subpattern at position 0'],
    ['(', 'missing ), unterminated subpattern at position 0'],
    ['a**', 'multiple repeat at position 2'],
    ['\\q', 'bad escape \\q at position 0'],
    ['[a', 'unterminated character set at position 0'],
    ['*a', 'nothing to repeat at position 0'],
    ['\\1(a)', 'invalid group reference 1 at position 1'],
    ['a(?i)b', 'global flags not at the start of the expression at position 1'],
    ['a)', 'unbalanced parenthesis at position 1'],
    ['x{2,1}', 'min repeat greater than max repeat at position 2'],
    ['(?<=\u00e9\\u00e9)z', null],
    ['(?<=a{,3})b', 'look-behind requires fixed-width pattern'],
    ['(?<=a{3,3})b', null],
  ];
  for (const [p, want] of compileErrors) {
    it(`re.compile(${JSON.stringify(p)}) ${want === null ? 'compiles' : `raises ${JSON.stringify(want)}`}`, () => {
      let got: string | null = null;
      try {
        compile(p);
      } catch (err) {
        expect((err as { pyType?: string }).pyType).toBe('re.error');
        got = (err as Error).message;
      }
      expect(got).toBe(want);
    });
  }
});

describe('Python number conversions', () => {
  it('int() and float() of strings', () => {
    expect(parseIntStr(' 1_000 ')).toBe(1000);
    expect(parseIntStr('0x1F', 16)).toBe(31);
    expect(parseIntStr('0o17', 0)).toBe(15);
    expect(parseIntStr('١٢')).toBe(12);
    expect(parseIntStr('99999999999999999999')).toBe(99999999999999999999n);
    expect(() => parseIntStr('010', 0)).toThrow("invalid literal for int() with base 0: '010'");
    expect(() => parseIntStr('3.9')).toThrow("invalid literal for int() with base 10: '3.9'");
    expect(parseFloatStr(' 1_000.5 ')).toBe(1000.5);
    expect(parseFloatStr('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(() => parseFloatStr('1e')).toThrow("could not convert string to float: '1e'");
  });

  it('round() on the exact binary value, half to even', () => {
    expect(floatRepr(roundFloat(2.675, 2))).toBe('2.67');
    expect(floatRepr(roundFloat(2.5, 0))).toBe('2.0');
    expect(floatRepr(roundFloat(3.5, 0))).toBe('4.0');
    expect(floatRepr(roundFloat(1.005, 2))).toBe('1.0');
    expect(floatRepr(roundFloat(1234.5678, -2))).toBe('1200.0');
  });
});

describe('Python random (MT19937)', () => {
  it('gives CPython’s numbers for int and str seeds', () => {
    const r = new PyRandom('web01');
    expect([randrange(r, 0n, 60n, 1n), randrange(r, 5n, 100n, 7n), r.getrandbits(40)]).toEqual([22n, 47n, 201906741006n]);
    expect(shuffle(new PyRandom(42), [...Array(10).keys()])).toEqual([7, 3, 2, 8, 5, 6, 9, 4, 0, 1]);
    expect(randrange(new PyRandom(-5), 0n, 60n, 1n)).toBe(39n);
  });
});

describe('crypt(3) hashes as passlib makes them', () => {
  it('md5_crypt, sha256_crypt and sha512_crypt with a salt', () => {
    expect(cryptHash(CRYPT_ALGOS.md5_crypt!, 'secret', 'mysalt', null)).toBe('$1$mysalt$n/EfEiV74OYgBdqhKQzSW/');
    expect(cryptHash(CRYPT_ALGOS.sha512_crypt!, 'secret', 'mysalt', 5000)).toBe(
      '$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1',
    );
    expect(cryptHash(CRYPT_ALGOS.sha512_crypt!, 'secret', 'mysalt', 1000)).toBe(
      '$6$rounds=1000$mysalt$GWqo/Lq3SURYGcNVPiffI5Ic1x2WLu.e2sf9owxedsXuZK/w2K89mrRPOcDayUvRWxd/x1F1WhRLB4W89a23d.',
    );
    expect(() => cryptHash(CRYPT_ALGOS.sha512_crypt!, 'secret', 'x'.repeat(17), 5000)).toThrow(
      'salt too large (sha512_crypt requires <= 16 chars)',
    );
  });
});

describe('YAML as CSafeDumper writes it and CSafeLoader reads it', () => {
  it('dumps like yaml.dump(allow_unicode=True)', () => {
    const shared = [1, 2];
    const data = new Map<unknown, unknown>([
      ['b', shared],
      [
        'a',
        new Map<unknown, unknown>([
          ['x', shared],
          ['s', 'yes'],
          ['m', 'line one\nline two'],
          ['e', 'ok 😀'],
        ]),
      ],
    ]);
    expect(dumpYaml(data)).toBe(
      "a:\n  e: \"ok \\U0001F600\"\n  m: 'line one\n\n    line two'\n  s: 'yes'\n  x: &id001 [1, 2]\nb: *id001\n",
    );
    expect(dumpYaml(data, { defaultFlowStyle: false, indent: 4 })).toBe(
      "a:\n    e: \"ok \\U0001F600\"\n    m: 'line one\n\n        line two'\n    s: 'yes'\n    x: &id001\n    - 1\n    - 2\nb: *id001\n",
    );
    expect(dumpYaml('plain')).toBe('plain\n');
  });

  it('loads YAML 1.1 types, merge keys and aliases', () => {
    expect(loadYaml('a: yes\nb: 0755\nc: 1:30\nd: ~\ne: "yes"\nf: 1e3\nbase: &b {x: 1}\ng:\n  <<: *b\n  y: 2')).toEqual(
      new Map<unknown, unknown>([
        ['a', true],
        ['b', 493],
        ['c', 90],
        ['d', null],
        ['e', 'yes'],
        ['f', '1e3'],
        ['base', new Map([['x', 1]])],
        [
          'g',
          new Map([
            ['x', 1],
            ['y', 2],
          ]),
        ],
      ]),
    );
    expect(() => loadYaml('- a\n---\n- b')).toThrow('expected a single document in the stream');
    expect(() => loadYaml('d: 2001-12-14')).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
  });
});
