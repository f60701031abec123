/**
 * Fault injection through the transport (test/helpers/fault-transport.ts), which replaced the
 * firewall module's KILN_TEST_FIREWALL_* switches:
 * - a host that misreports its $SSH_CONNECTION makes the real firewall module's lockout preflight
 *   pass, so the plan proceeds (the e2e test then proves the commit-confirm rollback saves the
 *   host); without the lie the same plan is refused;
 * - killBeforeFresh strikes after the apply and before the confirm, when the confirm's new
 *   connection is about to open;
 * - killAfter / killBefore strike once, on the first matching script of their host, after its
 *   reply or before it is sent; uncaughtAfter throws outside any promise after the reply;
 * - rewrites apply to the run's connections only, and faults come from KILN_FAULT_* variables.
 * Everything runs over the local transport, in check mode where the firewall is involved (its
 * probe is read-only; nothing is ever loaded on this machine).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskResult } from '../../../src/engine/report.ts';
import type { BoundModule } from '../../../src/modules/contract.ts';
import { modules } from '../../../src/modules/registry.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { localTransport } from '../../../src/transport/local.ts';
import { type Faults, faultsFromEnv, sshConnectionClaim, withFaults } from '../../helpers/fault-transport.ts';
import { confirmMarks } from './confirm-marks.ts';

/** Marks apply and confirm in a directory (a commit-confirm module in miniature). */
const marks = confirmMarks('t_fault_marks');

let work: string;
let n = 0;

beforeAll(() => {
  (modules as Map<string, BoundModule>).set(marks.name, marks);
  work = mkdtempSync(join(tmpdir(), 'kiln-faults-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
});

afterAll(() => {
  (modules as Map<string, BoundModule>).delete(marks.name);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs a one-play playbook on h1 over the local transport with `faults`; returns the task results. */
async function run(tasks: string, faults: Faults, check: boolean): Promise<TaskResult[]> {
  const pb = join(work, `pb-${++n}.yml`);
  writeFileSync(pb, `- hosts: all\n  tasks:\n${tasks}`);
  const report = await runPlaybook(pb, join(work, 'hosts.yml'), {
    check,
    transport: localTransport(),
    wrapTransport: (inner) => withFaults(inner, faults),
  });
  return report.tasks;
}

describe('fault transport: a host that misreports $SSH_CONNECTION', () => {
  // h1's firewall accepts only 9100 from the monitoring host (10.77.0.54): not the controller's SSH.
  const firewallTask = `    - name: fw
      firewall:
        policy: { all: { allow: [ { port: 9100, from: monitoring } ] } }
        groups: { all: [h1, mon1], monitoring: [mon1] }
        hosts: [h1, mon1]
        addresses: [10.77.0.52, 10.77.0.54]
`;

  it.each([
    { name: 'told the truth, the lockout preflight refuses the plan', faults: {}, status: 'failed', text: /lock Kiln out/ },
    {
      name: 'lied to (SSH from the monitoring host on 9100), the preflight passes and the plan proceeds',
      faults: { rewriteProbe: sshConnectionClaim({ client: '10.77.0.54', server: '10.77.0.52', port: 9100 }) },
      status: 'changed',
      text: /^load nftables ruleset \(table inet kiln, 1 policy rules\)/,
    },
  ])('$name', async ({ faults, status, text }) => {
    const [t] = await run(firewallTask, faults, true);
    expect(t!.status, t!.message).toBe(status);
    if (status === 'failed') expect(t!.message).toMatch(text);
    else expect(t!.changes.map((c) => c.summary)).toEqual([expect.stringMatching(text)]);
  });

  it('the rewrite touches the run’s connections only, not a fresh (confirm) one', async () => {
    const f = withFaults(localTransport(), { rewriteProbe: sshConnectionClaim({ client: '192.0.2.7', server: '192.0.2.1', port: 2222 }) });
    const script = 'echo before; echo ssh_connection=10.0.0.1 40000 10.0.0.2 22; echo after';
    const cached = await f.open('h1');
    expect((await cached.run(script)).stdout).toBe('before\nssh_connection=192.0.2.7 50000 192.0.2.1 2222\nafter\n');
    expect(cached.roundTrips).toBe(1);
    expect((await (await f.openFresh('h1')).run(script)).stdout).toBe('before\nssh_connection=10.0.0.1 40000 10.0.0.2 22\nafter\n');
  });
});

describe('fault transport: killBeforeFresh', () => {
  it('strikes after the apply, before the confirm (when its new connection is about to open)', async () => {
    const dir = join(work, 'killed');
    mkdirSync(dir);
    const struck: string[] = [];
    const kill = () => {
      struck.push(existsSync(join(dir, 'applied')) ? 'after apply' : 'before apply');
      throw new Error('killed here');
    };
    const [t] = await run(
      `    - name: marks\n      t_fault_marks: { dir: ${JSON.stringify(dir)} }\n`,
      { killBeforeFresh: true, kill },
      false,
    );
    expect(struck).toEqual(['after apply']);
    expect(existsSync(join(dir, 'confirmed'))).toBe(false);
    expect(t!.status).toBe('failed');
    expect(t!.message).toBe(
      'commit-confirm failed: a NEW SSH connection to the host could not be opened after apply (killed here); the change was not confirmed, so the host rolls itself back',
    );
  });

  it('by default it really SIGKILLs the process (nothing after it runs)', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const script = join(work, 'die.mts'); // .mts: ESM outside the package
    writeFileSync(
      script,
      `import { withFaults } from ${JSON.stringify(join(root, 'test/helpers/fault-transport.ts'))};\n` +
        `import { localTransport } from ${JSON.stringify(join(root, 'src/transport/local.ts'))};\n` +
        `const f = withFaults(localTransport(), { killBeforeFresh: true });\n` +
        `console.log('opened', (await f.open('h1')).name);\n` +
        `await f.openFresh('h1');\n` +
        `console.log('still alive');\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx/esm', script], { cwd: root, encoding: 'utf8' });
    expect([r.signal, r.stdout]).toEqual(['SIGKILL', 'opened h1\n']);
  });

  it('never strikes without a confirm (plain open), and not without the fault', async () => {
    const kill = () => {
      throw new Error('must not be called');
    };
    const f = withFaults(localTransport(), { killBeforeFresh: true, kill });
    expect((await (await f.open('h1')).run('echo hi')).stdout).toBe('hi\n');
    const dir = join(work, 'not-killed');
    mkdirSync(dir);
    const [t] = await run(`    - name: marks\n      t_fault_marks: { dir: ${JSON.stringify(dir)} }\n`, { kill }, false);
    expect(t!.status).toBe('changed');
    expect(existsSync(join(dir, 'confirmed'))).toBe(true);
  });
});

describe('fault transport: killAfter, killBefore, uncaughtAfter', () => {
  /** The local transport with `faults` whose kill records whether DIR/mark existed at that moment. */
  function marked(faults: (dir: string) => Faults) {
    const dir = join(work, `marked-${++n}`);
    mkdirSync(dir);
    const struck: string[] = [];
    const f = withFaults(localTransport(), {
      ...faults(dir),
      kill: () => struck.push(existsSync(join(dir, 'mark')) ? 'after the script ran' : 'before the script ran'),
    });
    return { dir, struck, f };
  }

  it('killAfter strikes after the reply of the first matching script of its host, once', async () => {
    const { dir, struck, f } = marked(() => ({ killAfter: { host: 'h1', pattern: /touch .*mark/ } }));
    const h1 = await f.open('h1');
    const h2 = await f.open('h2');
    await h1.run('echo probe');
    await h2.run(`touch ${dir}/other-mark`);
    expect(struck).toEqual([]);
    expect((await h1.run(`touch ${dir}/mark; echo done`)).stdout).toBe('done\n');
    expect(struck).toEqual(['after the script ran']);
    await h1.run(`touch ${dir}/mark`);
    expect(struck).toHaveLength(1);
  });

  it('killBefore strikes before the matching script is sent', async () => {
    const { dir, struck, f } = marked(() => ({ killBefore: { host: 'h1', pattern: /touch .*mark/ } }));
    await (await f.open('h1')).run(`touch ${dir}/mark`);
    expect(struck).toEqual(['before the script ran']);
  });

  it('uncaughtAfter throws outside any promise, after the reply reached the caller', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const script = join(work, 'uncaught.mts');
    writeFileSync(
      script,
      `import { withFaults } from ${JSON.stringify(join(root, 'test/helpers/fault-transport.ts'))};\n` +
        `import { localTransport } from ${JSON.stringify(join(root, 'src/transport/local.ts'))};\n` +
        `process.on('uncaughtException', (e) => console.log('uncaught:', e.message));\n` +
        `const f = withFaults(localTransport(), { uncaughtAfter: { host: 'h1', pattern: /hello/ } });\n` +
        `const r = await (await f.open('h1')).run('echo hello');\n` +
        `console.log('reply:', r.stdout.trim());\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx/esm', script], { cwd: root, encoding: 'utf8' });
    expect(r.stdout).toBe('reply: hello\nuncaught: injected fault: an uncaught exception after a script on h1\n');
  });
});

describe('faultsFromEnv', () => {
  it('reads KILN_FAULT_* variables', async () => {
    expect(faultsFromEnv({ PATH: '/bin' })).toEqual({});
    expect(faultsFromEnv({ KILN_FAULT_KILL_BEFORE_CONFIRM: '1' })).toEqual({ killBeforeFresh: true });
    const f = faultsFromEnv({ KILN_FAULT_SSH_CONNECTION: '10.77.0.54 40000 10.77.0.52 9100' });
    expect(
      f.rewriteProbe!({ stdout: 'x=1\nssh_connection=10.77.0.1 1 10.77.0.52 22\n', stderr: '', code: 0 }, { host: 'h', script: '' }).stdout,
    ).toBe('x=1\nssh_connection=10.77.0.54 40000 10.77.0.52 9100\n');
  });

  it('reads HOST:REGEX faults (the regex is everything after the first colon)', () => {
    const f = faultsFromEnv({ KILN_FAULT_KILL_AFTER: "lb1:dest='/etc/haproxy/haproxy\\.cfg'", KILN_FAULT_KILL_BEFORE: 'db2:a:b' });
    expect(f.killAfter!.host).toBe('lb1');
    expect(f.killAfter!.pattern.test("dest='/etc/haproxy/haproxy.cfg'")).toBe(true);
    expect(f.killAfter!.pattern.test("dest='/etc/haproxy/haproxyXcfg'")).toBe(false);
    expect(f.killBefore).toEqual({ host: 'db2', pattern: /a:b/ });
  });

  it.each([
    { env: { KILN_FAULT_KILL_AFTER: 'lb1' }, error: /KILN_FAULT_KILL_AFTER: want "HOST:REGEX"/ },
    { env: { KILN_FAULT_UNCAUGHT_AFTER: ':x' }, error: /KILN_FAULT_UNCAUGHT_AFTER: want "HOST:REGEX"/ },
    { env: { KILN_FAULT_KILL_BEFORE: 'h:(' }, error: /KILN_FAULT_KILL_BEFORE: Invalid regular expression/ },
    { env: { KILN_FAULT_KILL_BEFORE_CONFRIM: '1' }, error: /unknown fault variable\(s\): KILN_FAULT_KILL_BEFORE_CONFRIM/ },
    { env: { KILN_FAULT_SSH_CONNECTION: '10.77.0.54 9100' }, error: /want "CLIENT CPORT SERVER SPORT"/ },
  ])('refuses $env', ({ env, error }) => {
    expect(() => faultsFromEnv(env)).toThrow(error);
  });
});
