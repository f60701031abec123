/**
 * THE secrets test: a playbook (test/fixtures/secrets/site.yml) puts a vault value, a `password`
 * lookup and a no_log value in every place a value can go — module params, `when`, `unless` and
 * `creates` guards, `environment`, `stdin`, templates, filters (b64encode, hash, to_json, upper,
 * lower, trim, regex_replace, join, methods, slicing, `~`), loops, `register`, a failing task —
 * and runs it with `-vvv --diff --json` against a real loopback sshd, while a poller (a child
 * process) reads every process's /proc/PID/cmdline every ~5 ms (the host is this machine). Then
 * every output (stdout, stderr, the JSON report, everything under `.kiln/`) and every command line
 * seen is searched for each secret in its raw, base64, hex, JSON-escaped and URL-encoded forms:
 * zero hits. The files on the host must hold the real values.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/core/secret/vault.ts';
import { kilnAsync, ROOT } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

/** Holds `"`, `\` and `'`, so every escaping on the way is exercised. */
const VAULT_PW = `Sx"q\\b'zQ-8841`;
const NOLOG = 'nolog-7Hq2-value';
const VAULT_PASSWORD = 'secrets-test-vault-pw';

let sshd: TestSshd;
let work: string;
let project: string;
let out: string;
let inv: string;
let pwFile: string;
let lookupFile: string;

/** The forms of a secret the output is searched for. */
function forms(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  const json = JSON.stringify(s).slice(1, -1);
  return [
    s,
    b.toString('base64'),
    b.toString('base64').replace(/=+$/, ''),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
    json,
    JSON.stringify(json).slice(1, -1),
    encodeURIComponent(s),
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  ];
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** A child process reading every /proc/PID/cmdline every ~5 ms; each distinct line it saw, on stop. */
function startPoller(): { child: ChildProcess; stop(): Promise<string[]> } {
  const code = `
    const fs = require('fs');
    const seen = new Set();
    const poll = () => {
      for (const d of fs.readdirSync('/proc')) {
        if (!/^[0-9]+$/.test(d)) continue;
        try { seen.add(fs.readFileSync('/proc/' + d + '/cmdline', 'latin1').split('\\0').join(' ')); } catch {}
      }
    };
    const t = setInterval(poll, 5);
    process.on('SIGTERM', () => { clearInterval(t); poll(); process.stdout.write(JSON.stringify([...seen]), () => process.exit(0)); });
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString('latin1')));
  return {
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('close', () => resolve(JSON.parse(text.replace(/^ready\n/, '')) as string[]));
        child.kill('SIGTERM');
      }),
  };
}

async function waitReady(p: { child: ChildProcess }): Promise<void> {
  await new Promise<void>((r) => p.child.stdout!.once('data', () => r()));
}

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-secrets-'));
  project = join(work, 'project');
  cpSync(join(ROOT, 'test/fixtures/secrets'), project, { recursive: true });
  // The vault value, written as YAML single-quoted ('' is one quote).
  writeFileSync(join(project, 'vault.yml'), encryptVault(`vault_pw: '${VAULT_PW.replace(/'/g, "''")}'\n`, VAULT_PASSWORD));
  out = join(work, 'out');
  mkdirSync(out);
  pwFile = join(work, 'vault-pw');
  writeFileSync(pwFile, `${VAULT_PASSWORD}\n`, { mode: 0o600 });
  lookupFile = join(work, 'lookup-pw');
  mkdirSync(join(work, 'inv'));
  inv = writeSshdInventory(sshd, join(work, 'inv'), { loop1: {} }, { out, pw_file: lookupFile });
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('secrets never leak, and reach the host intact', () => {
  const runs: { name: string; code: number; text: string }[] = [];
  let cmdlines: string[] = [];

  it('applies the playbook with -vvv --diff --json while a poller reads every argv', async () => {
    const poller = startPoller();
    await waitReady(poller);
    const args = (json: string, extra: string[] = []) => [
      'apply',
      join(project, 'site.yml'),
      '-i',
      inv,
      '--vault-password-file',
      pwFile,
      '--diff',
      '--json',
      json,
      ...extra,
    ];
    try {
      for (const [name, extra] of [
        ['first', ['-vvv']],
        ['again', ['-v']],
        ['check', ['--check', '-vvv']],
      ] as const) {
        const json = join(work, `report-${name}.json`);
        const r = await kilnAsync(args(json, [...extra]), { cwd: project, timeoutMs: 120000 });
        runs.push({ name, code: r.code, text: `${r.output}\n${existsSync(json) ? readFileSync(json, 'utf8') : ''}` });
        expect(r.code, `${name}:\n${r.output}`).toBe(0); // the failing task's failure is ignored
      }
    } finally {
      cmdlines = await poller.stop();
    }
    // The poller did see the run's remote processes (so zero hits below means something).
    expect(cmdlines).toContain('sleep 0.2 ');
    expect(cmdlines).toContain('/bin/sh -c . /dev/fd/3 ');
  }, 240000);

  it('wrote the real values on the host', () => {
    const lookupPw = readFileSync(lookupFile, 'utf8').split(' ')[0]!.trim();
    expect(lookupPw).toMatch(/^[A-Za-z0-9]{24}$/);
    const sha = createHash('sha256').update(VAULT_PW).digest('hex');
    const b64 = Buffer.from(VAULT_PW).toString('base64');
    const upper = VAULT_PW.toUpperCase();
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    expect(read('params')).toBe(`${VAULT_PW}|${upper}|${VAULT_PW.toLowerCase()}|${VAULT_PW}|${upper}|Sx"q|${VAULT_PW}+${lookupPw}\n`);
    expect(JSON.parse(read('json'))).toEqual({ pw: VAULT_PW, nested: { inner: VAULT_PW } });
    expect(read('encoded')).toBe(`${b64}\n${sha}\n${VAULT_PW.replace('zQ', 'ZZ')}\n`);
    const conf = read('app.conf');
    expect(conf).toContain(`password=${VAULT_PW}\n`);
    expect(conf).toContain(`upper=${upper}\n`);
    expect(conf).toContain(`sha256=${sha}\n`);
    expect(conf).toContain(`json=${JSON.stringify({ pw: VAULT_PW }).replace('":', '": ')}\n`);
    expect(conf).toContain(`item2=${lookupPw}\n`);
    expect(conf).toContain(`joined=${VAULT_PW}:tail\n`);
    expect(read('when')).toBe('when held\n');
    expect([read('loop0'), read('loop1'), read('loop2')]).toEqual([`${VAULT_PW}\n`, `${b64}\n`, `${lookupPw}\n`]);
    expect(read('env')).toBe(VAULT_PW);
    expect(read('shelltext')).toBe(`${VAULT_PW}\n`);
    expect(read('registered')).toBe(`${Buffer.from(VAULT_PW).toString('hex')}\n`);
    expect(read('stdin')).toBe(`${lookupPw}\n`);
    expect(read('nolog')).toBe(NOLOG);
    expect(existsSync(join(out, `created-${createHash('sha1').update(VAULT_PW).digest('hex')}`))).toBe(true);
    // A new file whose content holds a secret, with no mode given, is 0600 (one without: 0644).
    expect(statSync(join(out, 'params')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'app.conf')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'when')).mode & 0o777).toBe(0o644);
  });

  it('the second run converged: the unless guard (with a secret) held', () => {
    const report = JSON.parse(readFileSync(join(work, 'report-again.json'), 'utf8')) as { tasks: { task: string; status: string }[] };
    const status = (name: string) => report.tasks.find((t) => t.task === name)?.status;
    expect(status('unless guard and environment')).toBe('ok');
    expect(status('creates guard')).toBe('ok');
    expect(status('template')).toBe('ok');
    expect(status('to_json of a dict writes the real value')).toBe('ok');
  });

  it('no secret, in any form, in stdout/stderr, the JSON reports, .kiln/ or any process argv', () => {
    const lookupPw = readFileSync(lookupFile, 'utf8').split(' ')[0]!.trim();
    const sha = createHash('sha256').update(VAULT_PW).digest('hex');
    const sha1 = createHash('sha1').update(VAULT_PW).digest('hex');
    const secrets = [VAULT_PW, VAULT_PW.toUpperCase(), lookupPw, NOLOG, sha, sha1, Buffer.from(VAULT_PW).toString('base64')];
    const haystacks: { where: string; text: string }[] = [
      ...runs.map((r) => ({ where: `run ${r.name}`, text: r.text })),
      ...filesUnder(join(project, '.kiln')).map((f) => ({ where: f, text: readFileSync(f, 'latin1') })),
      { where: 'argv of the processes', text: cmdlines.join('\n') },
    ];
    // Fragments too: a secret inside shell quoting ('"'"') or any other escaping is not contiguous.
    const fragments = ['Q-8841', 'ZZ-8841', 'Hq2-val', lookupPw.slice(0, 12), lookupPw.slice(12)];
    const hits: string[] = [];
    for (const f of [...secrets.flatMap(forms), ...fragments]) {
      for (const h of haystacks) if (h.text.includes(f)) hits.push(`${JSON.stringify(f)} in ${h.where}`);
    }
    expect(hits).toEqual([]);
    // The outputs are there, redacted; no_log tasks say that their output is hidden.
    expect(runs[0]!.text).toContain('********');
    expect(runs[0]!.text).toContain("the output has been hidden due to the fact that 'no_log: true' was specified for this result");
  });
});
