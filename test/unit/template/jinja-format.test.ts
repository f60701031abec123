/**
 * Python's string formatting (src/template/jinja/format.ts): format(), str.format() and `%`.
 * Every expected string is what CPython 3.11 gives for the same call.
 */
import { describe, expect, it } from 'vitest';
import { formatValue, percentFormat, strFormat } from '../../../src/template/jinja/format.ts';
import { float, PyError, tuple } from '../../../src/template/jinja/value.ts';

const noAttr = (_o: unknown, name: string): never => {
  throw new PyError('AttributeError', name);
};

describe('format(value, spec)', () => {
  it.each([
    [3.14159, '.2f', '3.14'],
    [2.5, '.0f', '2'],
    [0.125, '.2f', '0.12'],
    [1234567, ',', '1,234,567'],
    [1234.5, ',.2f', '1,234.50'],
    ['ab', '>5', '   ab'],
    ['ab', '*^6', '**ab**'],
    [255, '#x', '0xff'],
    [5, '+d', '+5'],
    [0.256, '.1%', '25.6%'],
    [12345.678, 'e', '1.234568e+04'],
    [float(1e16), '', '1e+16'],
    [float(12), '.2', '1.2e+01'],
    [float(1), '.3', '1.0'],
    [0.0001234, 'g', '0.0001234'],
    [-3.5, '08.2f', '-0003.50'],
    [true, '', 'True'],
    [true, '>5', '    1'],
    [float(1e22), 'f', '10000000000000000000000.000000'],
  ])('format(%j, %j) is %j', (v, spec, want) => {
    expect(formatValue(v, spec)).toBe(want);
  });

  it('refuses what Python refuses', () => {
    expect(() => formatValue('x', '+')).toThrow('Sign not allowed in string format specifier');
    expect(() => formatValue(1.5, 'd')).toThrow("Unknown format code 'd' for object of type 'float'");
    expect(() => formatValue(null, '>3')).toThrow('unsupported format string passed to NoneType.__format__');
  });
});

describe('str.format()', () => {
  it('numbers fields automatically or by index, takes keywords, conversions, nested specs and item access', () => {
    expect(strFormat('{0}-{1}-{0}', ['a', 'b'], new Map(), noAttr)).toBe('a-b-a');
    expect(
      strFormat(
        '{a:>4}|{b!r}',
        [],
        new Map([
          ['a', 'x'],
          ['b', 'y'],
        ]),
        noAttr,
      ),
    ).toBe("   x|'y'");
    expect(
      strFormat(
        '{:{w}.{p}f}',
        [3.14159],
        new Map([
          ['w', 8],
          ['p', 2],
        ]),
        noAttr,
      ),
    ).toBe('    3.14');
    expect(strFormat('{0[k]} {1[1]}', [new Map([['k', 'v']]), [1, 2]], new Map(), noAttr)).toBe('v 2');
    expect(strFormat('{{literal}} {}', [1], new Map(), noAttr)).toBe('{literal} 1');
  });

  it('raises Python errors for bad templates', () => {
    expect(() => strFormat('{} {}', [1], new Map(), noAttr)).toThrow('Replacement index 1 out of range for positional args tuple');
    expect(() => strFormat('{0}{}', [1, 2], new Map(), noAttr)).toThrow(
      'cannot switch from manual field specification to automatic field numbering',
    );
    expect(() => strFormat('}', [], new Map(), noAttr)).toThrow("Single '}' encountered in format string");
    expect(() => strFormat('{x}', [], new Map(), noAttr)).toThrow(PyError);
  });
});

describe('printf-style str % args', () => {
  it.each([
    ['%s %d %05.2f %-6s| %r', tuple(['a', 42, 3.14159, 'x', 'q']), "a 42 03.14 x     | 'q'"],
    [
      '%(a)s-%(b)03d',
      new Map<unknown, unknown>([
        ['a', 1],
        ['b', 7],
      ]),
      '1-007',
    ],
    ['%.0f %.0f %.2f', tuple([0.5, 1.5, 0.125]), '0 2 0.12'],
    ['%x %X %o %#x', tuple([255, 255, 8, 255]), 'ff FF 10 0xff'],
    ['%e %g %G', tuple([12345.678, 0.00001234, float(1e20)]), '1.234568e+04 1.234e-05 1E+20'],
    ['%d', 3.9, '3'],
    ['%s', [1, 'a'], "[1, 'a']"],
    ['%c', 65, 'A'],
    ['%5.1f%%', 99.44, ' 99.4%'],
  ])('%j %% %j is %j', (fmt, args, want) => {
    expect(percentFormat(fmt, args)).toBe(want);
  });

  it('counts arguments as Python does', () => {
    expect(() => percentFormat('%s %s', tuple(['a']))).toThrow('not enough arguments for format string');
    expect(() => percentFormat('%s', tuple(['a', 'b']))).toThrow('not all arguments converted during string formatting');
    expect(() => percentFormat('hello', 5)).toThrow('not all arguments converted during string formatting');
    expect(percentFormat('hello', new Map([['a', 1]]))).toBe('hello');
    expect(() => percentFormat('%d', 'x')).toThrow('%d format: a real number is required, not str');
  });
});
