/**
 * The bad-input corpus (issue 15): every case under test/fixtures/bad-input/<case>/ is a small
 * project plus case.json (format: docs in test/fixtures/bad-input/README.md). Each case must exit
 * with its expected code (2), print its located message, answer in under a second, and contact no
 * host: one real loopback sshd (LogLevel VERBOSE) serves the whole corpus and its log must get no
 * connection during a case. Cases run Kiln's own `main()` in this process (starting `node
 * bin/kiln.js` costs seconds on a loaded box, which is not Kiln's answer time); the cases marked
 * `"subprocess": true` also run through the real bin/kiln.js and must give the same answer.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { kilnAsync, ROOT } from '../helpers/kiln.ts';
import { startSshd, sshdAvailable, type TestSshd } from '../helpers/sshd.ts';

const CORPUS = join(ROOT, 'test', 'fixtures', 'bad-input');
const LIMIT_MS = 1000;

interface Case {
  why: string;
  args: string[];
  inventory?: 'sshd';
  env?: Record<string, string>;
  subprocess?: boolean;
  pending?: string;
  expect: { exit: number; location: string; message: string };
}

const only = process.env.KILN_CORPUS ? new RegExp(process.env.KILN_CORPUS) : undefined;
const names = readdirSync(CORPUS)
  .filter((n) => statSync(join(CORPUS, n)).isDirectory() && (!only || only.test(n)))
  .sort();
const cases = names.map((name) => ({ name, spec: JSON.parse(readFileSync(join(CORPUS, name, 'case.json'), 'utf8')) as Case }));

/** Lines of the sshd log that mean someone reached it: a TCP connection or a login. */
const CONTACT = /Connection from|Accepted |Connection closed|Disconnected from|authenticating user|Invalid user/;

let sshd: TestSshd;
let work: string;
let sharedInventory: string;

function tokens(dir: string): Record<string, string> {
  return {
    '@@SSHD_PORT@@': String(sshd.port),
    '@@SSHD_USER@@': sshd.user,
    '@@SSHD_IDENTITY@@': sshd.identityFile,
    '@@SSHD_KNOWN_HOSTS@@': join(sshd.dir, 'known_hosts'),
    '@@CASE_DIR@@': dir,
  };
}

const substitute = (s: string, t: Record<string, string>) => Object.entries(t).reduce((acc, [k, v]) => acc.split(k).join(v), s);

/** Copies the case to a temp dir, filling in the placeholders (byte-exact for files without any). */
function materialise(name: string): string {
  const dir = join(work, name);
  cpSync(join(CORPUS, name), dir, { recursive: true });
  const t = tokens(dir);
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const buf = readFileSync(p);
        if (buf.includes('@@SSHD_') || buf.includes('@@CASE_DIR@@'))
          writeFileSync(p, Buffer.from(substitute(buf.toString('latin1'), t), 'latin1'));
      }
    }
  };
  walk(dir);
  return dir;
}

function argv(spec: Case, dir: string): string[] {
  const t = tokens(dir);
  const args = spec.args.map((a) => substitute(a, t));
  return spec.inventory === 'sshd' ? [...args, '-i', sharedInventory] : args;
}

interface Answer {
  code: number;
  output: string;
  ms: number;
}

/** Runs `kiln <args>` through main() in this process, in `cwd`, capturing its output and exit code. */
async function runInProcess(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Answer> {
  const chunks: string[] = [];
  const put = (...a: unknown[]) => void chunks.push(`${a.map(String).join(' ')}\n`);
  const saved = {
    log: console.log,
    error: console.error,
    warn: console.warn,
    info: console.info,
    out: process.stdout.write,
    err: process.stderr.write,
    exit: process.exit,
    cwd: process.cwd(),
  };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const write = ((s: string | Uint8Array) => {
    chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString());
    return true;
  }) as typeof process.stdout.write;
  console.log = console.error = console.warn = console.info = put;
  process.stdout.write = process.stderr.write = write;
  process.exit = ((code?: number) => {
    throw new Error(`process.exit(${code}) called`);
  }) as typeof process.exit;
  Object.assign(process.env, env);
  process.exitCode = undefined;
  process.chdir(cwd);
  const t0 = performance.now();
  let ms = 0;
  let code = 0;
  try {
    await main(['node', 'kiln', ...args]);
  } finally {
    ms = performance.now() - t0;
    code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    process.chdir(saved.cwd);
    console.log = saved.log;
    console.error = saved.error;
    console.warn = saved.warn;
    console.info = saved.info;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exit = saved.exit;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, ms, output: chunks.join('').split(`${cwd}/`).join('') };
}

/** Asserts one output line is `<location>: …message…`. */
function expectLocated(output: string, want: Case['expect']): void {
  const lines = output.split('\n').filter((l) => l.startsWith(`${want.location}: `));
  const m = /^\/(.*)\/([a-z]*)$/s.exec(want.message);
  const matches = (l: string) => (m ? new RegExp(m[1], m[2]).test(l) : l.includes(want.message));
  expect(lines.some(matches), `no line "${want.location}: …${want.message}…" in:\n${output}`).toBe(true);
}

describe.skipIf(!sshdAvailable())('bad-input corpus', () => {
  beforeAll(async () => {
    sshd = await startSshd({ logLevel: 'VERBOSE' });
    // startSshd's readiness probe (ssh-keyscan) connected: wait until its log lines are all in.
    const count = (re: RegExp) =>
      sshd
        .log()
        .split('\n')
        .filter((l) => re.test(l)).length;
    for (let i = 0; i < 100 && (count(/Connection from/) === 0 || count(/Connection from/) > count(/Connection closed|Disconnected/)); i++)
      await new Promise((res) => setTimeout(res, 50));
    work = mkdtempSync(join(tmpdir(), 'kiln-corpus-'));
    const host = { address: '127.0.0.1', port: sshd.port };
    sharedInventory = join(work, 'sshd-inventory.yml');
    writeFileSync(
      sharedInventory,
      [
        'all:',
        `  vars: ${JSON.stringify({ user: sshd.user, identity_file: sshd.identityFile, known_hosts: join(sshd.dir, 'known_hosts') })}`,
        '  children:',
        '    web:',
        '      hosts:',
        `        web1: ${JSON.stringify(host)}`,
        `        web2: ${JSON.stringify(host)}`,
        '    db:',
        '      hosts:',
        `        db1: ${JSON.stringify(host)}`,
        '',
      ].join('\n'),
    );
    // Warm-up: a valid playbook against the shared inventory validates (loads every module once,
    // and proves the shared inventory itself is good).
    writeFileSync(join(work, 'ok.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n');
    const ok = await runInProcess(['validate', 'ok.yml', '-i', sharedInventory], work);
    expect(ok.output).toMatch(/ok: 1 play\(s\), 1 task\(s\), 3 host\(s\)/);
    expect(ok.code).toBe(0);
  });

  afterAll(async () => {
    await sshd?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it('sees a real contact (the no-contact check is not blind)', async () => {
    const before = sshd.log().length;
    const r = await runInProcess(['apply', 'ok.yml', '-i', sharedInventory, '--limit', 'web1', '--progress', 'plain'], work);
    expect(r.code, r.output).toBe(0);
    await new Promise((res) => setTimeout(res, 100));
    expect(sshd.log().slice(before)).toMatch(/Connection from 127\.0\.0\.1/);
  });

  for (const { name, spec } of cases) {
    const test = spec.pending ? it.skip : it;
    test(`${name}: ${spec.why}`, async () => {
      const dir = materialise(name);
      const before = sshd.log().length;
      const env = Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, substitute(v, tokens(dir))]));
      const r = await runInProcess(argv(spec, dir), dir, env);
      await new Promise((res) => setTimeout(res, 20)); // let sshd's log lines of a connection, if any, arrive
      expect(r.code, r.output).toBe(spec.expect.exit);
      expectLocated(r.output, spec.expect);
      expect(r.ms, `answered in ${Math.round(r.ms)} ms`).toBeLessThan(LIMIT_MS);
      const contact = sshd
        .log()
        .slice(before)
        .split('\n')
        .filter((l) => CONTACT.test(l));
      expect(contact, 'the sshd was contacted').toEqual([]);
      if (spec.subprocess) {
        const before2 = sshd.log().length;
        const c = await kilnAsync(argv(spec, dir), { cwd: dir, env });
        const out = c.output.split(`${dir}/`).join('');
        expect(c.code, out).toBe(spec.expect.exit);
        expectLocated(out, spec.expect);
        await new Promise((res) => setTimeout(res, 20));
        expect(
          sshd
            .log()
            .slice(before2)
            .split('\n')
            .filter((l) => CONTACT.test(l)),
        ).toEqual([]);
      }
    });
  }
});
