/**
 * `-e key=value` means what it means in Ansible: words split like a shell's, escapes decoded,
 * every value a string. Expected values: test/fixtures/ansible/extra-vars/cases.json, written by
 * ansible-core itself (generate.sh in that directory).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExtraVars } from '../../../src/cli/extra-vars.ts';

const FIXTURE = join(import.meta.dirname, '../../fixtures/ansible/extra-vars/cases.json');
const cases = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { arg: string; vars: Record<string, [string, string]> }[];

describe('-e key=value, as ansible-core parses it', () => {
  it.each(cases)('$arg', ({ arg, vars }) => {
    const got = parseExtraVars([arg]);
    expect(got).toEqual(Object.fromEntries(Object.entries(vars).map(([k, [v]]) => [k, v])));
    for (const [k, [, type]] of Object.entries(vars)) expect(type === 'str' ? typeof got[k] : type).toBe('string');
  });

  it('a YAML mapping keeps its types; later arguments win', () => {
    expect(parseExtraVars(['{"port": 8080, "on": true}', 'port=9090'])).toEqual({ port: '9090', on: true });
  });

  it('a word without = is refused (Ansible would quietly set a variable named _raw_params)', () => {
    expect(() => parseExtraVars(['foo'])).toThrow(/expected key=value.*_raw_params/);
  });

  it('unbalanced quotes are refused with the argument named', () => {
    expect(() => parseExtraVars(["x='a"])).toThrow(/cannot parse/);
  });
});
