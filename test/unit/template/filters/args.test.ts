/** bindArgs: Python's binding of positional and keyword arguments to a signature, and its TypeErrors. */
import { describe, expect, it } from 'vitest';
import { PyError } from '../../../../src/template/jinja/value.ts';
import { bindArgs, type Signature } from '../../../../src/template/filters/args.ts';

const sig: Signature = { name: 'f', params: ['a', ['b', 2], ['c', null]], piped: true };

describe('bindArgs', () => {
  it('binds positionals, keywords and defaults', () => {
    expect(bindArgs(sig, [1]).a).toEqual({ a: 1, b: 2, c: null });
    expect(bindArgs(sig, [1, 5], new Map([['c', 'x']])).a).toEqual({ a: 1, b: 5, c: 'x' });
    expect(
      bindArgs(
        sig,
        [],
        new Map<string, unknown>([
          ['a', 0],
          ['c', 1],
        ]),
      ).a,
    ).toEqual({ a: 0, b: 2, c: 1 });
  });

  it('collects *args and **kwargs when the signature has them', () => {
    const b = bindArgs({ ...sig, varargs: true, varkw: true }, [1, 2, 3, 4], new Map([['z', 9]]));
    expect(b.rest).toEqual([4]);
    expect([...b.kw]).toEqual([['z', 9]]);
  });

  it("raises Python's TypeErrors (the piped value counts as the first argument)", () => {
    expect(() => bindArgs(sig, [1, 2, 3, 4])).toThrow(
      new PyError('TypeError', 'f() takes from 2 to 4 positional arguments but 5 were given'),
    );
    expect(() => bindArgs({ name: 'g', params: [], piped: true }, [1])).toThrow('g() takes 1 positional argument but 2 were given');
    expect(() => bindArgs(sig, [1], new Map([['d', 1]]))).toThrow("f() got an unexpected keyword argument 'd'");
    expect(() => bindArgs(sig, [1], new Map([['a', 1]]))).toThrow("f() got multiple values for argument 'a'");
    expect(() => bindArgs(sig, [])).toThrow("f() missing 1 required positional argument: 'a'");
    expect(() => bindArgs({ name: 'h', params: ['x', 'y', 'z'] }, [])).toThrow(
      "h() missing 3 required positional arguments: 'x', 'y', and 'z'",
    );
  });
});
