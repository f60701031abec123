/**
 * Integration: the real CLI against a real OpenSSH server on loopback (a second sshd with its
 * own config, keys and port, stopped by PID). Everything the playbook manages lives under a
 * temp directory.
 */
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/core/secret/vault.ts';
import { kiln, ROOT } from '../helpers/kiln.ts';
import { startSshd, type TestSshd } from '../helpers/sshd.ts';

const PLAYBOOK = join(ROOT, 'test/fixtures/integration/site.yml');
const TOKEN = 'tok-9f8e7d6c5b4a-SECRET';
const VAULT_PW = 'integration-vault-pw';

interface Report {
  hosts: Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: boolean; round_trips: number }>;
  tasks: { host: string; task: string; module: string; status: string; changes: { summary: string }[]; diff?: string; handler?: boolean }[];
}

let sshd: TestSshd;
let work: string;
let root: string;
let inv: string;
let pwFile: string;

function writeInventory(dir: string, knownHosts: string, port = sshd.port): string {
  mkdirSync(join(dir, 'group_vars'), { recursive: true });
  writeFileSync(
    join(dir, 'hosts.yml'),
    `all:
  vars:
    user: ${sshd.user}
    identity_file: ${sshd.identityFile}
    known_hosts: ${knownHosts}
  children:
    targets:
      hosts:
        loop1: { address: 127.0.0.1, port: ${port} }
`,
  );
  // The API token lives in a vault-encrypted group_vars file.
  writeFileSync(join(dir, 'group_vars', 'targets.yml'), encryptVault(`demo_api_token: ${TOKEN}\n`, VAULT_PW));
  return join(dir, 'hosts.yml');
}

function apply(extra: string[] = [], json?: string) {
  const args = ['apply', PLAYBOOK, '-i', inv, '-e', `demo_root=${root}`, '--vault-password-file', pwFile, ...extra];
  if (json) args.push('--json', json);
  return kiln(args);
}

function readReport(file: string): Report {
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

/** The set of (task, status, change summaries) — what a dry run must predict exactly. */
function changeSet(r: Report): string[] {
  return r.tasks
    .filter((t) => t.status === 'changed')
    .map((t) => `${t.handler ? 'handler ' : ''}${t.task}: ${t.changes.map((c) => c.summary).join(' | ')}`)
    .sort();
}

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-it-'));
  root = join(work, 'target');
  mkdirSync(root);
  pwFile = join(work, 'vault-pw');
  writeFileSync(pwFile, VAULT_PW + '\n', { mode: 0o600 });
  inv = writeInventory(join(work, 'inv'), join(sshd.dir, 'known_hosts'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  rmSync(join(ROOT, 'test/fixtures/integration/.kiln'), { recursive: true, force: true });
});

describe('kiln apply against a real sshd on loopback', () => {
  it('validates without contacting hosts', () => {
    const r = kiln(['validate', PLAYBOOK, '-i', inv, '-e', `demo_root=${root}`, '--vault-password-file', pwFile]);
    expect(r.output).toContain('ok: 1 play(s)');
    expect(r.code).toBe(0);
  });

  it('--check on a fresh target predicts exactly the changes the real run makes', () => {
    const check = apply(['--check', '--diff'], join(work, 'check.json'));
    expect(check.code).toBe(0);
    expect(existsSync(join(root, 'etc'))).toBe(false); // nothing was applied
    const real = apply(['--diff'], join(work, 'real.json'));
    expect(real.code, real.output).toBe(0);
    const predicted = changeSet(readReport(join(work, 'check.json')));
    const made = changeSet(readReport(join(work, 'real.json')));
    expect(predicted.length).toBeGreaterThan(8);
    expect(made).toEqual(predicted);
    // The handler ran once although two tasks notified it.
    expect(readFileSync(join(root, 'log/restarts'), 'utf8')).toBe('restarted\n');
    expect(readFileSync(join(root, 'etc/app.conf'), 'utf8')).toContain('port = 8080');
    expect(readFileSync(join(root, 'etc/secret.env'), 'utf8')).toBe(`API_TOKEN=${TOKEN}\n`);
  });

  it('a second run reports 0 changed in one round trip', () => {
    const r = apply(['--stats'], join(work, 'second.json'));
    expect(r.code, r.output).toBe(0);
    const rep = readReport(join(work, 'second.json'));
    expect(rep.hosts.loop1!.changed).toBe(0);
    expect(rep.hosts.loop1!.failed).toBe(0);
    expect(rep.hosts.loop1!.round_trips).toBe(1);
    expect(readFileSync(join(root, 'log/restarts'), 'utf8')).toBe('restarted\n');
  });

  it('--check --diff reports exactly a hand-made drift, and the real run fixes exactly it', () => {
    appendFileSync(join(root, 'etc/app.conf'), 'debug = true\n');
    chmodSync(join(root, 'etc/motd'), 0o600);
    const check = apply(['--check', '--diff'], join(work, 'drift-check.json'));
    expect(check.code).toBe(0);
    const rep = readReport(join(work, 'drift-check.json'));
    expect(changeSet(rep)).toEqual(
      [
        'app config: update content of ' + join(root, 'etc/app.conf'),
        'handler restart app: run: echo restarted >> ' + join(root, 'log/restarts'),
        'inline motd: mode of ' + join(root, 'etc/motd') + ': 0600 → 0644',
      ].sort(),
    );
    const diff = rep.tasks.find((t) => t.task === 'app config')!.diff!;
    expect(diff).toContain('-debug = true');
    expect(check.stdout).toContain('-debug = true');
    const fix = apply([], join(work, 'drift-fix.json'));
    expect(fix.code, fix.output).toBe(0);
    expect(changeSet(readReport(join(work, 'drift-fix.json')))).toEqual(changeSet(rep));
    expect(readFileSync(join(root, 'etc/app.conf'), 'utf8')).not.toContain('debug');
    const again = apply([], join(work, 'drift-again.json'));
    expect(readReport(join(work, 'drift-again.json')).hosts.loop1!.changed).toBe(0);
    expect(again.code).toBe(0);
  });

  it('keeps a notified handler pending across a failed run and runs it next time', () => {
    appendFileSync(join(root, 'etc/app.conf'), 'drift = 1\n');
    // app.conf is fixed and notifies the handler, then a later task fails: handlers never run.
    const failing = apply(['-e', 'demo_fail=true'], join(work, 'fail.json'));
    expect(failing.code).toBe(4);
    const rep = readReport(join(work, 'fail.json'));
    expect(rep.hosts.loop1!.failed).toBe(1);
    expect(rep.tasks.find((t) => t.task === 'app config')!.status).toBe('changed');
    // Two restarts so far (first apply, drift fix); this run's was not executed.
    expect(readFileSync(join(root, 'log/restarts'), 'utf8')).toBe('restarted\nrestarted\n');
    const saved = readFileSync(join(ROOT, 'test/fixtures/integration/.kiln/pending-handlers.json'), 'utf8');
    expect(saved).toContain('restart app');
    // The next run: app config is ok now, yet the saved handler runs.
    const next = apply([], join(work, 'after-fail.json'));
    expect(next.code, next.output).toBe(0);
    expect(next.output).toContain('handlers pending from an earlier failed run');
    const after = readReport(join(work, 'after-fail.json'));
    expect(after.tasks.find((t) => t.task === 'app config')!.status).toBe('ok');
    expect(after.tasks.filter((t) => t.handler && t.status === 'changed')).toHaveLength(1);
    expect(readFileSync(join(root, 'log/restarts'), 'utf8')).toBe('restarted\nrestarted\nrestarted\n');
    // ...and only once.
    apply([], join(work, 'after-fail2.json'));
    expect(readReport(join(work, 'after-fail2.json')).tasks.some((t) => t.handler)).toBe(false);
  });

  it('a rolling play stops when a handler fails on the first batch (max_fail_percentage counts handlers)', () => {
    // Two inventory names for the same loopback sshd: each writes its own file.
    const dir = join(work, 'inv-rolling');
    mkdirSync(dir, { recursive: true });
    const rollInv = join(dir, 'hosts.yml');
    writeFileSync(
      rollInv,
      `all:
  vars: { user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${join(sshd.dir, 'known_hosts')} }
  children:
    targets:
      hosts:
        roll1: { address: 127.0.0.1, port: ${sshd.port} }
        roll2: { address: 127.0.0.1, port: ${sshd.port} }
`,
    );
    const pb = join(ROOT, 'test/fixtures/integration/rolling.yml');
    const run = (setting: string, json: string) =>
      kiln(['apply', pb, '-i', rollInv, '-e', `demo_root=${root}`, '-e', `rolling_setting=${setting}`, '--json', join(work, json)]);
    const good = run('a', 'roll-good.json');
    expect(good.code, good.output).toBe(0);
    expect(readFileSync(join(root, 'rolling/restarts'), 'utf8')).toBe('roll1\nroll2\n');
    // The broken setting: roll1's handler fails, and roll2 keeps its old file and is not restarted.
    const bad = run('broken', 'roll-bad.json');
    expect(bad.code).toBe(4);
    expect(bad.output).toMatch(/max_fail_percentage 0% exceeded after handler '[^']+' \(1\/1 hosts failed\)/);
    const rep = readReport(join(work, 'roll-bad.json'));
    expect(rep.tasks.find((t) => t.host === 'roll1' && t.handler)!.status).toBe('failed');
    expect(rep.tasks.filter((t) => t.host === 'roll2')).toEqual([]);
    expect(readFileSync(join(root, 'rolling/roll2.conf'), 'utf8')).toBe('host=roll2 setting=a\n');
    expect(readFileSync(join(root, 'rolling/restarts'), 'utf8')).toBe('roll1\nroll2\nroll1\n');
    // Fixed: roll1 gets the good setting back (and its pending restart), roll2 is untouched.
    const fixed = run('a', 'roll-fixed.json');
    expect(fixed.code, fixed.output).toBe(0);
    expect(readReport(join(work, 'roll-fixed.json')).hosts.roll2!.changed).toBe(0);
    expect(readFileSync(join(root, 'rolling/restarts'), 'utf8')).toBe('roll1\nroll2\nroll1\nroll1\n');
  });

  it('several plays: a converged host costs one round trip; a play after a change sees the new state', () => {
    const pb = join(ROOT, 'test/fixtures/integration/multiplay.yml');
    const run = (json: string, extra: string[] = []) =>
      kiln(['apply', pb, '-i', inv, '-e', `demo_root=${root}`, '--vault-password-file', pwFile, '--json', join(work, json), ...extra]);
    const status = (r: Report, task: string) => r.tasks.find((t) => t.task === task)?.status;
    // Fresh: the first play creates shared.txt; the second play, which manages the same file, finds it done.
    const fresh = run('multi-fresh.json');
    expect(fresh.code, fresh.output).toBe(0);
    const f = readReport(join(work, 'multi-fresh.json'));
    expect(status(f, 'shared file (first play)')).toBe('changed');
    expect(status(f, 'shared file (second play, same content)')).toBe('ok');
    // Converged: 0 changed, and one round trip for the three plays, in a real run and a dry run.
    const again = run('multi-again.json');
    expect(again.code, again.output).toBe(0);
    const a = readReport(join(work, 'multi-again.json'));
    expect(a.hosts.loop1!.changed).toBe(0);
    const check = run('multi-check.json', ['--check']);
    expect(check.code, check.output).toBe(0);
    const c = readReport(join(work, 'multi-check.json'));
    expect(c.hosts.loop1!.changed).toBe(0);
    expect(a.hosts.loop1!.round_trips).toBe(1);
    expect(c.hosts.loop1!.round_trips).toBe(1);
    // A change in the first play: the second play probes again and sees it.
    const changed = run('multi-changed.json', ['-e', 'multi_text=bye']);
    expect(changed.code, changed.output).toBe(0);
    const ch = readReport(join(work, 'multi-changed.json'));
    expect(status(ch, 'shared file (first play)')).toBe('changed');
    expect(status(ch, 'shared file (second play, same content)')).toBe('ok');
    expect(readFileSync(join(root, 'multi/shared.txt'), 'utf8')).toBe('bye\n');
  });

  it('never shows a secret in output, diffs or the JSON report', () => {
    writeFileSync(join(root, 'etc/secret.env'), 'API_TOKEN=old\n');
    const r = apply(['--diff', '--check', '-v'], join(work, 'secret.json'));
    const json = readFileSync(join(work, 'secret.json'), 'utf8');
    expect(r.code).toBe(0);
    expect(json).toContain('secret env');
    expect(json).toContain('hidden: the content contains secrets');
    for (const text of [r.stdout, r.stderr, json]) expect(text).not.toContain(TOKEN);
    const vars = kiln(['inventory', 'list', '-i', inv, '--vars', 'loop1', '--vault-password-file', pwFile]);
    expect(vars.output).toContain('demo_api_token');
    expect(vars.output).not.toContain(TOKEN);
    apply([]);
  });

  it('refuses an unknown host key and shows its fingerprint; --accept-new-host-keys records it', () => {
    const dir = join(work, 'inv-unknown');
    const kh = join(dir, 'known_hosts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(kh, '');
    const i2 = writeInventory(dir, kh);
    const fp = kiln(['facts', 'loop1', '-i', i2, '--vault-password-file', pwFile]);
    expect(fp.code).toBe(4);
    expect(fp.output).toMatch(/unknown host key .*SHA256:[A-Za-z0-9+/]{43}/);
    const r = kiln(['apply', PLAYBOOK, '-i', i2, '-e', `demo_root=${root}`, '--vault-password-file', pwFile]);
    expect(r.code).toBe(4);
    expect(r.output).toContain('unreachable');
    const ok = kiln(['facts', 'loop1', '-i', i2, '--accept-new-host-keys', '--vault-password-file', pwFile]);
    expect(ok.code, ok.output).toBe(0);
    expect(readFileSync(kh, 'utf8')).toContain(sshd.hostKeyPub.split(' ')[1]);
    expect(JSON.parse(ok.stdout).round_trips).toBe(1);
  });

  it('reaches a host through a ProxyJump bastion from the inventory', () => {
    const dir = join(work, 'inv-jump');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'hosts.yml'),
      `all:
  vars: { user: ${sshd.user}, identity_file: ${sshd.identityFile}, known_hosts: ${join(sshd.dir, 'known_hosts')} }
  hosts:
    bastion: { address: 127.0.0.1, port: ${sshd.port} }
    inner: { address: 127.0.0.1, port: ${sshd.port}, proxy_jump: bastion }
`,
    );
    const r = kiln(['facts', 'inner', '-i', join(dir, 'hosts.yml')]);
    expect(r.code, r.output).toBe(0);
    const facts = JSON.parse(r.stdout);
    expect(facts.host).toBe('inner');
    expect(facts.round_trips).toBe(1);
    expect(typeof facts.cpus).toBe('number');
  });

  it('refuses a changed host key even with --accept-new-host-keys', () => {
    const dir = join(work, 'inv-changed');
    mkdirSync(dir, { recursive: true });
    const kh = join(dir, 'known_hosts');
    // A different, valid ed25519 key recorded for the same host and port.
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`);
    const i2 = writeInventory(dir, kh);
    const r = kiln(['facts', 'loop1', '-i', i2, '--accept-new-host-keys', '--vault-password-file', pwFile]);
    expect(r.code).toBe(4);
    expect(r.output).toContain('HOST KEY CHANGED');
  });

  it('rejects invalid input with located errors, exit 2, and no connection attempt', async () => {
    let connections = 0;
    const server: Server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const dir = join(work, 'bad');
    mkdirSync(join(dir, 'roles/demo'), { recursive: true });
    const i2 = writeInventory(join(dir, 'inv'), join(sshd.dir, 'known_hosts'), port);
    writeFileSync(
      join(dir, 'bad.yml'),
      `- hosts: targets
  tasks:
    - name: typo in a param
      copy: { dst: /tmp/x, content: hi }
    - name: unknown module
      pakage: { name: nginx }
    - name: undefined variable
      file: { path: "{{ nope }}", state: directory }
    - name: missing handler
      file: { path: /tmp/y, state: directory }
      notify: restart nothing
- hosts: no_such_group
  tasks: []
`,
    );
    const r = kiln(['apply', join(dir, 'bad.yml'), '-i', i2, '--vault-password-file', pwFile]);
    server.close();
    expect(r.code).toBe(2);
    const f = join(dir, 'bad.yml');
    expect(r.stderr).toContain(`${f}:4:15: copy: unknown parameter 'dst'`);
    expect(r.stderr).toContain(`${f}:6:7: unknown module 'pakage' (did you mean 'package'?)`);
    expect(r.stderr).toMatch(new RegExp(`${f}:8:\\d+: file: 'nope' is undefined`));
    expect(r.stderr).toContain(`${f}:11:15: notify: no handler named 'restart nothing'`);
    expect(r.stderr).toMatch(new RegExp(`${f}:12:10: hosts: .*no_such_group`));
    expect(connections).toBe(0);
  });
});
