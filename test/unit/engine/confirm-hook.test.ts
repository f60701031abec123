/**
 * The engine's commit-confirm hook (ModuleDef.confirm), on a real OpenSSH server on loopback:
 * the confirm script runs after apply over a NEW connection; a new connection that cannot be
 * opened (here: apply revokes the key, as a bad firewall would block it) or a failing confirm
 * fails the task; --check never confirms. A throwaway module is registered for the test only.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules } from '../../../src/modules/registry.ts';
import { q } from '../../../src/sh/quote.ts';
import { type BoundModule, defineModule } from '../../../src/modules/contract.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { sshdAvailable, startSshd, type TestSshd } from '../../helpers/sshd.ts';

interface P {
  dir: string;
  fail_confirm?: boolean;
  revoke?: string;
}

const probeModule = defineModule<P, { done: boolean }, { kind: 'apply-once' }>({
  name: 'test_confirm_hook',
  description: 'test-only: records the SSH connection of apply and of confirm',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['dir'],
    properties: { dir: { type: 'string' }, fail_confirm: { type: 'boolean' }, revoke: { type: 'string' } },
  },
  probe: (p) => `[ -f ${q(`${p.dir}/applied`)} ] && echo done=1 || echo done=0`,
  parse: (out) => ({ done: out.stdout.includes('done=1') }),
  plan: (_p, _prep, s) => (s.done ? [] : [{ summary: 'apply once', op: { kind: 'apply-once' } }]),
  apply: (p) => `echo "$SSH_CONNECTION" > ${q(`${p.dir}/applied`)}${p.revoke ? `\nmv ${q(p.revoke)} ${q(`${p.revoke}.off`)}` : ''}`,
  confirm: (p) =>
    `echo "$SSH_CONNECTION" > ${q(`${p.dir}/confirmed`)}${p.fail_confirm ? '\necho "the rollback already fired" >&2; exit 3' : ''}`,
});

let sshd: TestSshd;
let work: string;

async function run(dir: string, extra: Partial<P>, check = false) {
  rmSync(dir, { recursive: true, force: true });
  writeFileSync(
    join(work, 'pb.yml'),
    `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hooked\n      test_confirm_hook: ${JSON.stringify({ dir, ...extra })}\n`,
  );
  mkdirSync(dir, { recursive: true });
  const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), { check, timeouts: { connect: 5 } });
  return report.tasks.find((t) => t.task === 'hooked')!;
}

const clientPort = (file: string) => readFileSync(file, 'utf8').trim().split(' ')[1];

describe.skipIf(!sshdAvailable())('engine: a module confirm hook runs on a NEW connection after apply', () => {
  beforeAll(async () => {
    (modules as Map<string, BoundModule>).set(probeModule.name, probeModule);
    sshd = await startSshd();
    work = mkdtempSync(join(tmpdir(), 'kiln-confirm-'));
    writeFileSync(
      join(work, 'hosts.yml'),
      `all:\n  hosts:\n    loop1: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${join(sshd.dir, 'known_hosts')} }\n`,
    );
  }, 30000);
  afterAll(async () => {
    (modules as Map<string, BoundModule>).delete(probeModule.name);
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('confirm runs after apply, over a different TCP connection (another client port)', async () => {
    const dir = join(work, 'ok');
    const t = await run(dir, {});
    expect(t.status).toBe('changed');
    expect(existsSync(join(dir, 'confirmed'))).toBe(true);
    expect(clientPort(join(dir, 'confirmed'))).not.toBe(clientPort(join(dir, 'applied')));
  });

  it('a failing confirm fails the task with its reason', async () => {
    const t = await run(join(work, 'fail'), { fail_confirm: true });
    expect(t.status).toBe('failed');
    expect(t.message).toBe('commit-confirm failed: the rollback already fired');
  });

  it('no new connection possible after apply (the key was revoked by apply): the task fails, saying why', async () => {
    const keys = join(sshd.dir, 'authorized_keys');
    try {
      const t = await run(join(work, 'locked'), { revoke: keys });
      expect(t.status).toBe('failed');
      expect(t.message).toMatch(
        /^commit-confirm failed: a NEW SSH connection to the host could not be opened after apply \(.+\); the change was not confirmed, so the host rolls itself back$/s,
      );
      expect(existsSync(join(work, 'locked', 'confirmed'))).toBe(false);
    } finally {
      if (existsSync(`${keys}.off`)) renameSync(`${keys}.off`, keys);
    }
  });

  it('--check plans only: no apply, no confirm', async () => {
    const dir = join(work, 'check');
    const t = await run(dir, {}, true);
    expect(t.status).toBe('changed');
    expect(existsSync(join(dir, 'applied'))).toBe(false);
    expect(existsSync(join(dir, 'confirmed'))).toBe(false);
  });
});
