/**
 * Ansible's mysql_replication without mode is getreplica (read the status, change nothing);
 * Kiln's declarative replica is the mysql_replica module. Checked through the loader and the
 * validation a task goes through (`kiln validate`'s path), no host contacted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustAnsibleArgs } from '../../../../src/modules/ansible/mapping.ts';
import { getModule } from '../../../../src/modules/registry.ts';
import { validateRun } from '../../../../src/plan/validate.ts';
import { InputError } from '../../../../src/core/diagnostic.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-mysql-replica-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(task: string): string[] {
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, `- hosts: db2\n  gather_facts: false\n  tasks:\n    - ${task}\n`);
  writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    db2: { address: 127.0.0.1 }\n');
  try {
    validateRun({ playbook: pb, inventory: [join(dir, 'hosts.yml')], extraVars: {}, tags: [], skipTags: [], check: false, diff: false });
    return [];
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics.map((d) => d.message);
    throw err;
  }
}

describe('mysql_replication without mode, and mysql_replica', () => {
  it("Ansible's name without mode is getreplica", () => {
    const p: Record<string, unknown> = { login_user: 'adm' };
    adjustAnsibleArgs('community.mysql.mysql_replication', p);
    expect(p.mode).toBe('getreplica');
    const given: Record<string, unknown> = { mode: 'stopreplica' };
    adjustAnsibleArgs('community.mysql.mysql_replication', given);
    expect(given.mode).toBe('stopreplica');
    expect(validate('mysql_replication: {}')).toEqual([]);
    expect(validate('community.mysql.mysql_replication: {}')).toEqual([]);
  });

  it('primary_* without mode are refused, pointing at mysql_replica', () => {
    expect(validate('mysql_replication: { primary_host: 10.0.0.1, primary_user: r, primary_password: p }')).toEqual([
      expect.stringContaining("use Kiln's mysql_replica module"),
    ]);
  });

  it('mysql_replica converges a replica: primary_* required, no mode', () => {
    expect(validate('mysql_replica: { primary_host: 10.0.0.1, primary_user: r, primary_password: p }')).toEqual([]);
    expect(validate('mysql_replica: { primary_host: 10.0.0.1 }')).toEqual([
      "mysql_replica: missing required parameter 'primary_user'",
      "mysql_replica: missing required parameter 'primary_password'",
    ]);
    expect(validate('mysql_replica: { mode: getreplica, primary_host: h, primary_user: r, primary_password: p }')).toEqual([
      expect.stringMatching(/unknown parameter 'mode'/),
    ]);
    expect(getModule('mysql_replica')?.schema.properties?.primary_password).toBeDefined();
  });
});
