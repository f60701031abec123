/**
 * An `environment` value that reaches a fact through a variable (geerlingguy.postgresql's
 * PGOPTIONS uses postgresql_auth_method, a role default made from ansible_fips) is checked at run
 * time once facts are gathered, as a parameter using a fact is; without facts it stays an error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/diagnostic.ts';
import { validateRun } from '../../../src/plan/validate.ts';

let dir: string;
const w = (rel: string, text: string) => {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-validate-envfacts-'));
  w('hosts.yml', 'all:\n  hosts:\n    db1: { address: 10.77.0.31 }\n');
  w('roles/pg/defaults/main.yml', "auth_method: \"{{ ansible_fips | ternary('scram-sha-256', 'md5') }}\"\n");
  w(
    'roles/pg/tasks/main.yml',
    "- command: 'true'\n  environment:\n    PGOPTIONS: \"{{ (auth_method == 'scram-sha-256') | ternary('-c password_encryption=scram-sha-256', '') }}\"\n",
  );
  for (const facts of [true, false]) w(`site-${facts}.yml`, `- hosts: all\n  gather_facts: ${facts}\n  roles: [pg]\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const validate = (facts: boolean) =>
  validateRun({ playbook: join(dir, `site-${facts}.yml`), inventory: [join(dir, 'hosts.yml')], extraVars: {}, tags: [], skipTags: [] });

describe('environment using a fact through a variable', () => {
  it('is checked at run time when the play gathers facts', () => {
    expect(() => validate(true)).not.toThrow();
  });
  it('is an error when nothing gathers facts', () => {
    expect(() => validate(false)).toThrow(InputError);
    try {
      validate(false);
    } catch (e) {
      expect(String((e as Error).message)).toContain("environment: 'ansible_fips' is undefined");
    }
  });
});
