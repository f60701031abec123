/**
 * Controller-side actions against a real loopback sshd (test/fixtures/controller-actions/site.yml):
 * pause, include_vars (a plain file and a vault file), set_fact, debug (msg, var, verbosity), assert
 * (passing and failing), fail — with a template and a copy that use what they set. The actions cost
 * no round trip: a converged run of the whole playbook is ONE round trip (round_trips in the JSON
 * report), as it would be without them. A secret read by include_vars and carried through set_fact
 * reaches the host intact and is never printed (debug shows it redacted).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/core/secret/vault.ts';
import { kilnAsync, ROOT } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

const DB_PW = 'db-Pw-93xk-secret';
let sshd: TestSshd;
let work: string;
let project: string;
let out: string;
let inv: string;
let pwFile: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-actions-'));
  project = join(work, 'project');
  cpSync(join(ROOT, 'test/fixtures/controller-actions'), project, { recursive: true });
  writeFileSync(join(project, 'vars', 'secret.yml'), encryptVault(`db_pw: ${DB_PW}\n`, 'vault-pw-actions'));
  pwFile = join(work, 'vault-pw');
  writeFileSync(pwFile, 'vault-pw-actions\n', { mode: 0o600 });
  out = join(work, 'out');
  mkdirSync(out);
  mkdirSync(join(work, 'inv'));
  inv = writeSshdInventory(sshd, join(work, 'inv'), { web1: {} }, { out });
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Report {
  hosts: Record<string, { round_trips: number; changed: number; ok: number; skipped: number; ignored: number; failed: number }>;
  tasks: { task: string; status: string; message?: string; ignored?: boolean }[];
}

async function apply(name: string, extra: string[] = []): Promise<{ code: number; output: string; report: Report }> {
  const json = join(work, `${name}.json`);
  const r = await kilnAsync(['apply', join(project, 'site.yml'), '-i', inv, '--vault-password-file', pwFile, '--json', json, ...extra], {
    cwd: project,
    timeoutMs: 120000,
  });
  if (!existsSync(json)) throw new Error(`no report (exit ${r.code}):\n${r.output}`);
  return { code: r.code, output: r.output, report: JSON.parse(readFileSync(json, 'utf8')) as Report };
}

describe('controller-side actions over SSH', () => {
  const runs: { output: string; json: string }[] = [];

  it('first run: what the actions set reaches the host; each action reports as Ansible does', async () => {
    const r = await apply('first', ['-v']);
    runs.push({ output: r.output, json: JSON.stringify(r.report) });
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(out, 'motd'), 'utf8')).toBe('hello demo on port 8080\n');
    expect(readFileSync(join(out, 'dsn'), 'utf8')).toBe(`app:${DB_PW}@db\n`);
    const by = (t: string) => r.report.tasks.find((x) => x.task === t)!;
    expect(by('say it')).toMatchObject({ status: 'ok', message: 'hello demo' });
    expect(by('show the DSN')).toMatchObject({ status: 'ok', message: 'dsn: "********"' });
    expect(by('only with -v')).toMatchObject({ status: 'ok', message: 'verbose' });
    expect(by('only with -vv')).toMatchObject({ status: 'skipped', message: 'Verbosity threshold not met.' });
    expect(by('the greeting names the app')).toMatchObject({ status: 'ok', message: 'greeting ok' });
    expect(by('a failing assertion')).toMatchObject({
      status: 'failed',
      ignored: true,
      message: "not the other app: demo\nassertion: app_name == 'other'",
    });
    expect(by('told to fail')).toMatchObject({ status: 'skipped' });
    expect(by('wait a moment')).toMatchObject({ status: 'ok' });
    // A fact rendered from a secret stays one; its neighbour rendered from plain values does not.
    expect(by('show the plain fact')).toMatchObject({ message: 'plain_fact: "visible-demo"' });
    // (the whole message is derived from the secret, so all of it is hidden)
    expect(by('show the secret fact')).toMatchObject({ message: '********' });
    // add_host's variables: the secret one stays secret (the whole registered result of a task
    // that handled a secret is tainted, as for any module).
    expect(by('show the added host')!.message).toContain('"db_password": "********"');
    // Probe (template, copy), then one apply each (each carries the next probes): 3 round trips.
    expect(r.report.hosts.web1).toMatchObject({ changed: 3, failed: 0, ignored: 1, round_trips: 3 });
  }, 120000);

  it('a converged run is one round trip, actions included', async () => {
    const r = await apply('again');
    runs.push({ output: r.output, json: JSON.stringify(r.report) });
    expect(r.code, r.output).toBe(0);
    // add_host is changed on every run, as in Ansible (the in-memory inventory starts afresh).
    expect(r.report.tasks.filter((t) => t.status === 'changed').map((t) => t.task)).toEqual(['a host with a secret variable']);
    expect(r.report.hosts.web1).toMatchObject({ changed: 1, round_trips: 1 });
  }, 120000);

  it('check mode runs the actions too (as Ansible does): nothing on the host to change', async () => {
    const r = await apply('check', ['--check', '-v']);
    runs.push({ output: r.output, json: JSON.stringify(r.report) });
    expect(r.code, r.output).toBe(0);
    expect(r.report.tasks.find((x) => x.task === 'say it')).toMatchObject({ status: 'ok', message: 'hello demo' });
    expect(r.report.hosts.web1).toMatchObject({ changed: 1, round_trips: 1 });
  }, 120000);

  it('never prints the secret (stdout, stderr, JSON report)', () => {
    expect(runs).toHaveLength(3);
    for (const r of runs) {
      expect(r.output).not.toContain(DB_PW);
      expect(r.json).not.toContain(DB_PW);
      expect(r.output).not.toContain(DB_PW.toUpperCase());
      expect(r.json).not.toContain(DB_PW.toUpperCase());
    }
    expect(runs[0]!.output).toContain('hello demo');
  });
});
