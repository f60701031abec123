/** The probes' key=value format: last value wins (parseKv), or every value in order (parseKvAll). */
import { describe, expect, it } from 'vitest';
import { parseKv, parseKvAll } from '../../../src/sh/kv.ts';

describe('key=value output', () => {
  const text = 'a=1\nkiln_journal=line one\nb=x=y\nkiln_journal=line two\n=no key\nnoise\nkiln_state=up\na=2\n';

  it('parseKv: later keys win, values may hold =, lines without a key are ignored', () => {
    expect(parseKv(text)).toEqual({ a: '2', kiln_journal: 'line two', b: 'x=y', kiln_state: 'up' });
  });

  it('parseKvAll: every value of each key with the prefix, in order', () => {
    expect([...parseKvAll(text, 'kiln_')]).toEqual([
      ['kiln_journal', ['line one', 'line two']],
      ['kiln_state', ['up']],
    ]);
    expect(parseKvAll(text).get('a')).toEqual(['1', '2']);
  });
});
