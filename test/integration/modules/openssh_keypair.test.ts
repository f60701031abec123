/**
 * openssh_keypair against the loopback OpenSSH server, under its own temp directory: the converge
 * cycle (generate, 0 changed, a .pub rewritten with another comment and a .pub made
 * readable by all are found by --check --diff and fixed), then the registered result compared with
 * what Ansible's community.crypto.openssh_keypair returned for the same task (keys and types).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

const FIXTURE = join(import.meta.dirname, '../../fixtures/modules/openssh_keypair/ansible-result.json');
const typeOf = (v: unknown) => (Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v);

describe('openssh_keypair over ssh: the converge cycle and the registered result', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-keypair-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates, changes nothing again, finds a rewritten .pub and a loose mode, and fixes them', async () => {
    const key = join(dir, 'id_test');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - openssh_keypair:\n        path: ${key}\n        type: ed25519\n        comment: kiln@test\n        mode: '0600'\n`,
    );
    let fingerprint = '';
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => {
        expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^ssh-ed25519 \S+ kiln@test\n$/);
        expect(statSync(key).mode & 0o777).toBe(0o600);
        expect(statSync(`${key}.pub`).mode & 0o777, 'mode applies to both files, as in Ansible').toBe(0o600);
        const fp = execFileSync('ssh-keygen', ['-l', '-f', key], { encoding: 'utf8' }).split(' ')[1];
        if (fingerprint) expect(fp, 'the key was kept, not regenerated').toBe(fingerprint);
        fingerprint = fp;
      },
      tamper: () => {
        const [t, data] = readFileSync(`${key}.pub`, 'utf8').split(' ');
        writeFileSync(`${key}.pub`, `${t} ${data} someone@else\n`);
        // (A loose private key mode is not a drift to fix: ssh-keygen, and so Ansible, refuse to read such a key.)
        chmodSync(`${key}.pub`, 0o644);
      },
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes.map((c) => c.summary)).toEqual([
      `rewrite ${key}.pub from the private key (comment "kiln@test")`,
      `mode of ${key}.pub: 0644 → 0600`,
    ]);

    // The registered result has Ansible's keys and types, and describes the key on the host.
    const dump = join(dir, 'kp.json');
    writeFileSync(
      join(dir, 'reg.yml'),
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - openssh_keypair: { path: ${key}, type: ed25519, comment: kiln@test }\n      register: kp\n    - copy: { content: "{{ kp | to_json }}", dest: ${dump} }\n`,
    );
    const reg = await runPlaybook(join(dir, 'reg.yml'), inventory);
    expect(reg.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    const got = JSON.parse(readFileSync(dump, 'utf8')) as Record<string, unknown>;
    const ansible = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { again: Record<string, unknown> }).again;
    expect(
      Object.fromEntries(
        Object.keys(got)
          .sort()
          .map((k) => [k, typeOf(got[k])]),
      ),
    ).toEqual(
      Object.fromEntries(
        Object.keys(ansible)
          .sort()
          .map((k) => [k, typeOf(ansible[k])]),
      ),
    );
    expect(got).toMatchObject({ changed: false, size: 256, type: 'ed25519', filename: key, comment: 'kiln@test', fingerprint });
    expect(`${got.public_key} kiln@test\n`).toBe(readFileSync(`${key}.pub`, 'utf8'));
  });

  it('a key of another type is regenerated; regenerate: fail refuses; state: absent removes both files', async () => {
    const key = join(dir, 'id_other');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    execFileSync('ssh-keygen', ['-q', '-N', '', '-t', 'ecdsa', '-f', key, '-C', 'old']);
    const pb = (extra: string) => {
      const f = join(dir, `pb-${extra.replace(/\W/g, '')}.yml`);
      writeFileSync(f, `- hosts: all\n  gather_facts: false\n  tasks:\n    - openssh_keypair: { path: ${key}, type: ed25519${extra} }\n`);
      return f;
    };
    const fail = await runPlaybook(pb(', regenerate: fail'), inventory);
    expect(fail.tasks[0].status).toBe('failed');
    expect(fail.tasks[0].message).toContain('has wrong type and/or size (ecdsa 256, want ed25519 256)');
    const regen = await runPlaybook(pb(''), inventory);
    expect(regen.tasks[0].changes.map((c) => c.summary)).toEqual([`generate ed25519 256-bit key pair ${key} (was ecdsa 256)`]);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/^ssh-ed25519 /);
    const absent = await runPlaybook(pb(', state: absent'), inventory);
    expect(absent.tasks[0].status).toBe('changed');
    expect(() => statSync(key)).toThrow();
    expect(() => statSync(`${key}.pub`)).toThrow();
  });
});
