/** Checks every role's unit test makes: documented, every variable typed and described, defaults valid. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { convertParams } from '../../src/plan/argspec.ts';
import { ajv } from '../../src/plan/schema.ts';
import { renderValue } from '../../src/template/engine.ts';

export const ROLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../roles');

/** A role's YAML file (`defaults/main.yml`, `meta/argument_schema.yml`) as plain data. */
export function loadRoleYaml(role: string, file: string): Record<string, unknown> {
  return parse(readFileSync(join(ROLES_DIR, role, file), 'utf8')) as Record<string, unknown>;
}

/** The role's argument schema compiled (its markdown `description` left out). */
export function roleValidator(role: string) {
  return ajv.compile({ ...loadRoleYaml(role, 'meta/argument_schema.yml'), description: undefined });
}

/** The role has prose docs, every variable has a type and a description and a default, and the defaults are valid. */
export function expectRoleDocumented(role: string): void {
  const schema = loadRoleYaml(role, 'meta/argument_schema.yml');
  const defaults = loadRoleYaml(role, 'defaults/main.yml');
  expect(String(schema.description).length).toBeGreaterThan(500);
  const props = schema.properties as Record<string, { description?: string; type?: unknown; enum?: unknown }>;
  expect(Object.keys(props).sort()).toEqual(Object.keys(defaults).sort());
  for (const [k, p] of Object.entries(props)) {
    expect(p.description, k).toBeTruthy();
    expect(p.type ?? p.enum, k).toBeTruthy();
  }
  // Checked as the engine checks them: a default may be a template over other variables, and its
  // rendered text is converted like Ansible's argument specs convert it ('3000' → 3000 for an integer).
  const validate = roleValidator(role);
  const rendered = convertParams(schema, renderValue(defaults, defaults) as Record<string, unknown>);
  expect(validate(rendered), JSON.stringify(validate.errors)).toBe(true);
}
