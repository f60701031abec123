/**
 * Plain scalars load as Ansible loads them: every case of test/fixtures/ansible/yaml-scalars.json
 * (PyYAML through Ansible's loader, see generate-yaml-scalars.py) gives the same value here.
 * (Integral floats are plain numbers in Kiln's data until the Python value model carries them.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../../../../src/input/yaml/document.ts';
import { PyFloat } from '../../../../src/template/jinja/value.ts';
import { renderValue } from '../../../../src/template/engine.ts';

interface ScalarCase {
  yaml: string;
  type: 'bool' | 'int' | 'float' | 'null' | 'str';
  value: unknown;
}

const cases = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/ansible/yaml-scalars.json'), 'utf8')) as ScalarCase[];

function load(text: string): unknown {
  const { result, errors } = parseYaml('t.yml', `v: ${text}\n`);
  expect(errors).toEqual([]);
  return (result!.value as { v: unknown }).v;
}

describe('YAML scalars as Ansible (PyYAML) resolves them', () => {
  for (const c of cases) {
    it(`${c.yaml} → ${c.type} ${String(c.value)}`, () => {
      const raw = load(c.yaml);
      // An integral float is a PyFloat (it renders "1.0"); its number is the value.
      const v = raw instanceof PyFloat ? raw.value : raw;
      if (c.type === 'float' && typeof c.value === 'number' && Number.isInteger(c.value)) expect(raw).toBeInstanceOf(PyFloat);
      const want = c.value === 'nan' ? Number.NaN : c.value === 'inf' ? Infinity : c.value === '-inf' ? -Infinity : c.value;
      if (c.type === 'str') expect(v).toBe(c.yaml);
      else expect(v).toEqual(want);
      expect(typeof v).toBe({ bool: 'boolean', int: 'number', float: 'number', null: 'object', str: 'string' }[c.type]);
    });
  }

  it('an integral float renders as Python prints it', () => {
    expect(renderValue('{{ v }} {{ w }} {{ [v] }}', { v: load('1.0'), w: load('2.50') })).toBe('1.0 2.5 [1.0]');
  });

  it('keeps quoted scalars strings and merges `<<` keys', () => {
    const { result } = parseYaml('t.yml', 'a: "yes"\nb: \'0644\'\nbase: &b { x: 1, y: 2 }\nc:\n  <<: *b\n  y: 3\n');
    expect(result!.value).toEqual({ a: 'yes', b: '0644', base: { x: 1, y: 2 }, c: { x: 1, y: 3 } });
  });
});
