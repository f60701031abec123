/**
 * The host sequence (src/engine/host-sequence.ts and its phases), driven by the real Runner over the
 * LOCAL transport: every probe, apply, verify and confirm is a real shell script run on this
 * machine against files in a temp dir, by small test-only modules defined here with
 * `defineModule`. A recording wrapper around the local transport keeps each script sent, so the
 * tests assert which probes shared a round trip, not just how many round trips there were.
 *
 * Promises checked: consecutive probes go in one round trip; after an apply, the verify probe and
 * the following tasks' probes ride in the apply's script; a registered value reaches the tasks
 * that reference it (their probes are not taken before it); across plays a probe result is reused
 * only while nothing was applied and the script is byte-identical; check mode applies nothing and
 * predicts exactly the real run's changes; a verify that still finds work reports "did not
 * converge"; failed_when / changed_when; a probe script that dies mid-way reports its stderr on
 * the probes it never reached; a change of become mode starts a new script; commit-confirm runs on
 * a fresh connection.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskResult } from '../../../src/engine/report.ts';
import { type BoundModule, defineModule } from '../../../src/modules/contract.ts';
import { modules } from '../../../src/modules/registry.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { q } from '../../../src/sh/quote.ts';
import { LocalTransport } from '../../../src/transport/local.ts';
import type { RunOptions, Transport, TransportFactory } from '../../../src/transport/transport.ts';
import { confirmMarks } from '../transport/confirm-marks.ts';

// ---- test-only modules ---------------------------------------------------------------------

const failIfProbeDied = (out: { code: number; stderr: string }, name: string) => {
  if (out.code !== 0) throw new Error(`${name}: probe failed (exit ${out.code})`);
};

/** A file with exact content; `stuck: true` makes apply do nothing (it never converges). */
const tFile = defineModule<{ path: string; content: string; stuck?: boolean }, { content?: string }, { kind: 'write' }>({
  name: 't_file',
  description: 'test-only: a file with exact content',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'content'],
    properties: { path: { type: 'string' }, content: { type: 'string' }, stuck: { type: 'boolean' } },
  },
  probe: (p) => `if [ -f ${q(p.path)} ]; then printf 'content_b64='; base64 -w0 ${q(p.path)}; echo; else echo absent=1; fi`,
  parse: (out) => {
    failIfProbeDied(out, 't_file');
    const m = /^content_b64=(.*)$/m.exec(out.stdout);
    return { content: m ? Buffer.from(m[1]!, 'base64').toString('utf8') : undefined };
  },
  plan: (p, _prep, s) =>
    s.content === p.content ? [] : [{ summary: `write ${p.path}`, diff: `-${s.content ?? ''}\n+${p.content}\n`, op: { kind: 'write' } }],
  apply: (p) => (p.stuck ? ':' : `printf '%s' ${q(p.content)} > ${q(p.path)}`),
});

/** A command (a one-shot action, like `command`): registers rc and stdout; fails on a non-zero exit. */
const tCmd = defineModule<{ cmd: string }, Record<string, never>, { kind: 'run' }>({
  name: 't_cmd',
  description: 'test-only: runs a command',
  schema: { type: 'object', additionalProperties: false, required: ['cmd'], properties: { cmd: { type: 'string' } } },
  probe: () => '',
  parse: () => ({}),
  plan: (p) => [{ summary: `run: ${p.cmd}`, action: true, op: { kind: 'run' } }],
  apply: (p) => p.cmd,
  interpret: (_p, _prep, out) => ({
    result: { rc: out.code, stdout: out.stdout.trim() },
    failed: out.code !== 0 ? `rc=${out.code}: ${out.stderr.trim()}` : undefined,
  }),
});

/**
 * A probe that ends the whole probe script: `syntax` (the shell stops at a syntax error, printing
 * it on the script's stderr) or `kill` (the script's shell is killed; $$ is the script's shell even
 * inside the probe's subshell).
 */
const tDie = defineModule<{ how: 'syntax' | 'kill' }, Record<string, never>, { kind: 'none' }>({
  name: 't_die',
  description: 'test-only: a probe that ends its script',
  schema: { type: 'object', additionalProperties: false, required: ['how'], properties: { how: { enum: ['syntax', 'kill'] } } },
  probe: (p) => (p.how === 'syntax' ? 'echo partial; fi' : 'echo partial; kill -9 $$'),
  parse: (out) => {
    failIfProbeDied(out, 't_die');
    return {};
  },
  plan: () => [],
  apply: () => ':',
});

/** Converged always, but its probe script is new at every instantiation (prepare counts). */
let nonce = 0;
const tNonce = defineModule<{ name: string }, Record<string, never>, { kind: 'none' }, { n: number }>({
  name: 't_nonce',
  description: 'test-only: a probe script that differs each time it is rendered',
  schema: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' } } },
  prepare: () => ({ n: ++nonce }),
  probe: (_p, prep) => `echo n=${prep.n}`,
  parse: () => ({}),
  plan: () => [],
  apply: () => ':',
});

/** Writes a marker on apply and another on confirm (the commit-confirm hook). */
const tConfirm = confirmMarks('t_confirm');

const TEST_MODULES: BoundModule[] = [tFile, tCmd, tDie, tNonce, tConfirm];

// ---- harness -------------------------------------------------------------------------------

interface Sent {
  conn: string;
  script: string;
  opts: RunOptions;
}

/** The local transport, recording every script it runs (in order, with the connection's name). */
function recording(sent: Sent[]): TransportFactory {
  const wrap = (t: LocalTransport): Transport => ({
    name: t.name,
    get roundTrips() {
      return t.roundTrips;
    },
    run: (script, opts = {}) => {
      sent.push({ conn: t.name, script, opts });
      return t.run(script, opts);
    },
    close: () => t.close(),
  });
  return { open: async (h) => wrap(new LocalTransport(h)), openFresh: async (h) => wrap(new LocalTransport(`${h} (confirm)`)) };
}

/** How many framed snippets a script carries (probes, or an apply and the probes after it). */
const frames = (script: string) => script.match(/^printf '\\n@@KILN:[0-9a-f]+:BEGIN:\d+\\n'$/gm)?.length ?? 0;

let work: string;
let runs = 0;

interface Ran {
  tasks: TaskResult[];
  roundTrips: number;
  sent: Sent[];
  status: (task: string) => string | undefined;
  result: (task: string) => TaskResult;
}

/** Runs a playbook (YAML text) on host h1 over the recording local transport. */
async function run(playbook: string, opts: { check?: boolean } = {}): Promise<Ran> {
  const pb = join(work, `pb-${++runs}.yml`);
  writeFileSync(pb, playbook);
  const check = opts.check ?? false;
  const sent: Sent[] = [];
  const report = await runPlaybook(pb, join(work, 'hosts.yml'), { check, diff: true, transport: recording(sent) });
  const result = (task: string) => {
    const r = report.tasks.find((t) => t.task === task);
    if (!r) throw new Error(`no result for task '${task}': ${report.tasks.map((t) => t.task).join(', ')}`);
    return r;
  };
  return {
    tasks: report.tasks,
    roundTrips: report.hosts.h1!.round_trips,
    sent,
    status: (t) => report.tasks.find((x) => x.task === t)?.status,
    result,
  };
}

/** A fresh directory for one test's files. */
function fresh(name: string): string {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

const fileTask = (name: string, path: string, content: string, extra = '') =>
  `    - name: ${name}\n      t_file: { path: ${JSON.stringify(path)}, content: ${JSON.stringify(content)} }\n${extra}`;

beforeAll(() => {
  for (const m of TEST_MODULES) (modules as Map<string, BoundModule>).set(m.name, m);
  work = mkdtempSync(join(tmpdir(), 'kiln-hostseq-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
});

afterAll(() => {
  for (const m of TEST_MODULES) (modules as Map<string, BoundModule>).delete(m.name);
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---- tests ---------------------------------------------------------------------------------

describe('host sequence: probes batched in round trips', () => {
  it('a converged host: the probes of consecutive tasks travel in ONE script', async () => {
    const d = fresh('converged');
    for (const n of ['a', 'b', 'c']) writeFileSync(join(d, n), n);
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n${['a', 'b', 'c'].map((n) => fileTask(n, join(d, n), n)).join('')}`,
    );
    expect(r.tasks.map((t) => [t.task, t.status])).toEqual([
      ['a', 'ok'],
      ['b', 'ok'],
      ['c', 'ok'],
    ]);
    expect(r.roundTrips).toBe(1);
    expect(r.sent.map((s) => frames(s.script))).toEqual([3]);
  });

  it('after an apply, the verify probe and the following probes ride in the apply script', async () => {
    const d = fresh('applies');
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n${['a', 'b', 'c'].map((n) => fileTask(n, join(d, n), `${n}!`)).join('')}`,
    );
    expect(r.tasks.map((t) => [t.task, t.status])).toEqual([
      ['a', 'changed'],
      ['b', 'changed'],
      ['c', 'changed'],
    ]);
    for (const n of ['a', 'b', 'c']) expect(readFileSync(join(d, n), 'utf8')).toBe(`${n}!`);
    // 1: probe a b c; 2: apply a + verify a + probe b c; 3: apply b + verify b + probe c; 4: apply c + verify c.
    expect(r.roundTrips).toBe(4);
    expect(r.sent.map((s) => frames(s.script))).toEqual([3, 4, 3, 2]);
    expect(r.sent[1]!.script).toContain(`printf '%s' 'a!' > `);
    expect(r.sent[1]!.script.indexOf(`'a!' >`)).toBeLessThan(r.sent[1]!.script.indexOf(`base64 -w0 '${join(d, 'b')}'`));
  });

  it('an action (no verify probe): the apply script carries only the following probes', async () => {
    const d = fresh('action');
    writeFileSync(join(d, 'b'), 'b');
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: cmd\n      t_cmd: { cmd: "true" }\n${fileTask('b', join(d, 'b'), 'b')}`,
    );
    expect(r.tasks.map((t) => [t.task, t.status])).toEqual([
      ['cmd', 'changed'],
      ['b', 'ok'],
    ]);
    // 1: probe cmd b; 2: apply cmd + probe b (b was probed before the apply: stale, probed again).
    expect(r.sent.map((s) => frames(s.script))).toEqual([2, 2]);
    expect(r.roundTrips).toBe(2);
  });

  it('a change of become mode starts a new script', async () => {
    const d = fresh('become');
    for (const n of ['a', 'b', 'c', 'e']) writeFileSync(join(d, n), n);
    const me = userInfo().username;
    const become = `      become: true\n      become_user: ${me}\n`;
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n${fileTask('a', join(d, 'a'), 'a')}${fileTask('b', join(d, 'b'), 'b', become)}${fileTask('c', join(d, 'c'), 'c', become)}${fileTask('e', join(d, 'e'), 'e')}`,
    );
    expect(r.tasks.map((t) => t.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(r.sent.map((s) => [frames(s.script), s.opts.become ?? false, s.opts.becomeUser])).toEqual([
      [1, false, 'root'],
      [2, true, me],
      [1, false, 'root'],
    ]);
  });

  it.each([
    { how: 'syntax', stderr: /^\S+: \d+: Syntax error: "fi" unexpected/ },
    { how: 'kill', stderr: /^probe script exited with \d+$/ },
  ])('a probe script that dies mid-way ($how): the probes it never reached get its stderr', async ({ how, stderr }) => {
    const d = fresh('dies');
    writeFileSync(join(d, 'a'), 'a');
    writeFileSync(join(d, 'c'), 'c');
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n${fileTask('a', join(d, 'a'), 'a')}    - name: dies\n      t_die: { how: ${how} }\n      ignore_errors: true\n${fileTask('c', join(d, 'c'), 'c')}`,
    );
    expect(r.sent.map((s) => frames(s.script))).toEqual([3]);
    expect(r.status('a')).toBe('ok'); // its probe ran before the script died
    const [dies, c] = [r.result('dies'), r.result('c')];
    expect([dies.status, dies.ignored, c.status]).toEqual(['failed', true, 'failed']);
    expect(dies.message!.split('\n')).toEqual(['t_die: probe failed (exit -1)', expect.stringMatching(stderr)]);
    expect(c.message!.split('\n')).toEqual(['t_file: probe failed (exit -1)', expect.stringMatching(stderr)]);
  });
});

describe('host sequence: registered values', () => {
  it('a task that references a registered name is probed only after it is set, with its value', async () => {
    const d = fresh('register');
    const r = await run(`- hosts: all
  gather_facts: false
  tasks:
    - name: first
      t_cmd: { cmd: "echo one" }
      register: out
${fileTask('uses first', join(d, 'x'), '{{ out.stdout }}')}    - name: second
      t_cmd: { cmd: "echo two" }
      register: out
${fileTask('uses second', join(d, 'y'), '{{ out.stdout }}')}`);
    expect(r.tasks.map((t) => [t.task, t.status])).toEqual([
      ['first', 'changed'],
      ['uses first', 'changed'],
      ['second', 'changed'],
      ['uses second', 'changed'],
    ]);
    expect(readFileSync(join(d, 'x'), 'utf8')).toBe('one');
    expect(readFileSync(join(d, 'y'), 'utf8')).toBe('two');
    // 1: probe first (the window stops at the task that needs `out`); 2: apply first;
    // 3: probe 'uses first' + second; 4: apply 'uses first' + verify + probe second; 5: apply second;
    // 6: probe 'uses second'; 7: apply + verify.
    expect(r.sent.map((s) => frames(s.script))).toEqual([1, 1, 2, 3, 1, 1, 2]);
  });
});

describe('host sequence: across plays (ProbeCache)', () => {
  const twoPlays = (d: string, second: string) =>
    `- hosts: all\n  gather_facts: false\n  tasks:\n${fileTask('first play', join(d, 'f'), 'hello')}- hosts: all\n  gather_facts: false\n  tasks:\n${second}`;

  it.each([
    {
      name: 'converged: the second play reuses the first script’s results (one round trip for both)',
      before: 'hello',
      second: (d: string) => fileTask('second play', join(d, 'f'), 'hello'),
      statuses: ['ok', 'ok'],
      frames: [2],
    },
    {
      name: 'an apply in between: the second play probes again and sees the new state',
      before: undefined,
      second: (d: string) => fileTask('second play', join(d, 'f'), 'hello'),
      statuses: ['changed', 'ok'],
      frames: [2, 2, 1],
    },
    {
      name: 'a probe script that is not byte-identical (rendered anew): probed again',
      before: 'hello',
      second: () => '    - name: second play\n      t_nonce: { name: n }\n',
      statuses: ['ok', 'ok'],
      frames: [2, 1],
    },
  ])('$name', async ({ before, second, statuses, frames: want }) => {
    const d = fresh('plays');
    if (before !== undefined) writeFileSync(join(d, 'f'), before);
    const r = await run(twoPlays(d, second(d)));
    expect(r.tasks.map((t) => t.status)).toEqual(statuses);
    expect(r.sent.map((s) => frames(s.script))).toEqual(want);
    expect(r.roundTrips).toBe(want.length);
  });
});

describe('host sequence: check mode', () => {
  it('applies nothing, and predicts exactly the changes the real run makes', async () => {
    const d = fresh('check');
    writeFileSync(join(d, 'b'), 'b');
    const pb = `- hosts: all
  gather_facts: false
  tasks:
${fileTask('a', join(d, 'a'), 'a')}${fileTask('b', join(d, 'b'), 'b')}${fileTask('c', join(d, 'c'), 'c')}    - name: cmd
      t_cmd: { cmd: "echo hi" }
    - name: cmd not changed
      t_cmd: { cmd: "echo hi" }
      changed_when: false
`;
    const changeSet = (tasks: TaskResult[]) =>
      tasks.filter((t) => t.status === 'changed').map((t) => `${t.task}: ${t.changes.map((c) => c.summary).join(' | ')}`);
    const check = await run(pb, { check: true });
    expect(existsSync(join(d, 'a'))).toBe(false);
    expect(existsSync(join(d, 'c'))).toBe(false);
    expect(check.roundTrips).toBe(1);
    expect(check.tasks.every((t) => t.check)).toBe(true);
    const real = await run(pb);
    expect(changeSet(check.tasks)).toEqual([`a: write ${join(d, 'a')}`, `c: write ${join(d, 'c')}`, 'cmd: run: echo hi']);
    expect(changeSet(real.tasks)).toEqual(changeSet(check.tasks));
    expect(real.status('cmd not changed')).toBe('ok');
    expect(readFileSync(join(d, 'c'), 'utf8')).toBe('c');
  });
});

describe('host sequence: verify, failed_when, changed_when', () => {
  it('a verify probe that still finds work: "did not converge"', async () => {
    const d = fresh('stuck');
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: stuck\n      t_file: { path: ${JSON.stringify(join(d, 's'))}, content: x, stuck: true }\n`,
    );
    const t = r.result('stuck');
    expect(t.status).toBe('failed');
    expect(t.message).toBe(`did not converge after apply; still pending:\n  - write ${join(d, 's')}`);
    expect(t.changes.map((c) => c.summary)).toEqual([`write ${join(d, 's')}`]);
  });

  const cases: { name: string; cmd: string; extra: string; check?: boolean; status: string; message?: string }[] = [
    {
      name: 'a failing command fails with the module’s reason',
      cmd: 'echo bad >&2; exit 3',
      extra: '',
      status: 'failed',
      message: 'rc=3: bad',
    },
    {
      name: 'failed_when true fails a successful command',
      cmd: 'echo hi',
      extra: `      register: result\n      failed_when: "'hi' in result.stdout"`,
      status: 'failed',
      message: 'failed_when condition is true',
    },
    {
      name: 'failed_when true keeps the module’s reason',
      cmd: 'echo bad >&2; exit 3',
      extra: '      register: result\n      failed_when: "result.rc == 3"',
      status: 'failed',
      message: 'rc=3: bad',
    },
    { name: 'failed_when false accepts a failing command', cmd: 'exit 3', extra: '      failed_when: false', status: 'changed' },
    { name: 'changed_when false: ok', cmd: 'echo hi', extra: '      changed_when: false', status: 'ok' },
    {
      name: 'changed_when on the result, true',
      cmd: 'echo hi',
      extra: `      register: result\n      changed_when: "result.stdout == 'hi'"`,
      status: 'changed',
    },
    {
      name: 'changed_when on the result, false',
      cmd: 'echo same',
      extra: `      register: result\n      changed_when: "result.stdout == 'hi'"`,
      status: 'ok',
    },
    {
      name: 'changed_when via the register name',
      cmd: 'echo hi',
      extra: `      register: r\n      changed_when: "r.rc != 0"`,
      status: 'ok',
    },
    { name: 'check mode: changed_when false predicts ok', cmd: 'echo hi', extra: '      changed_when: false', check: true, status: 'ok' },
    {
      name: 'check mode: changed_when that cannot be evaluated before the run predicts changed',
      cmd: 'echo same',
      extra: `      register: result\n      changed_when: "'hi' in result.stdout"`,
      check: true,
      status: 'changed',
    },
    {
      // Before the run the result is empty: `result.stdout == 'hi'` cannot be evaluated (an
      // undefined attribute, as in Ansible), `result.stdout is defined` can.
      name: 'check mode: changed_when is evaluated against an empty result',
      cmd: 'echo hi',
      extra: `      register: result\n      changed_when: "result.stdout is defined"`,
      check: true,
      status: 'ok',
    },
  ];
  it.each(cases)('$name', async ({ cmd, extra, check, status, message }) => {
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: t\n      t_cmd: { cmd: ${JSON.stringify(cmd)} }\n${extra}\n`,
      { check },
    );
    const t = r.result('t');
    expect(t.status).toBe(status);
    expect(t.message).toBe(message);
  });
});

describe('host sequence: conditions over undefined variables', () => {
  it('a when over an undefined value fails the task (not a skip), located at the condition', async () => {
    // The condition uses a registered result, so only the run can tell the key is missing.
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      t_cmd: { cmd: "echo hi" }\n      register: first\n    - name: second\n      t_cmd: { cmd: "echo never" }\n      when: first.rc == 0 and first.no_such_key == 'x'\n    - name: third\n      t_cmd: { cmd: "echo after" }\n`,
    );
    const t = r.result('second');
    expect(t.status).toBe('failed');
    expect(t.message).toMatch(
      /pb-\d+\.yml:9:13: when: 'dict object' has no attribute 'no_such_key' \(first\.no_such_key\) in the condition "first\.rc == 0 and first\.no_such_key == 'x'" \(task 'second'\)$/,
    );
    // The host failed: nothing after it ran.
    expect(r.tasks.map((x) => x.task)).toEqual(['first', 'second']);
  });

  it('ignore_errors applies to it, as in Ansible', async () => {
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      t_cmd: { cmd: "echo hi" }\n      register: first\n    - name: second\n      t_cmd: { cmd: "echo never" }\n      when: first.rc == 0 and first.no_such_key == 'x'\n      ignore_errors: true\n    - name: third\n      t_cmd: { cmd: "echo after" }\n`,
    );
    expect(r.tasks.map((x) => [x.task, x.status, x.ignored ?? false])).toEqual([
      ['first', 'changed', false],
      ['second', 'failed', true],
      ['third', 'changed', false],
    ]);
  });
});

describe('host sequence: commit-confirm', () => {
  it('confirm runs after apply on a fresh connection, not the run’s cached one', async () => {
    const d = fresh('confirm');
    const r = await run(
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hooked\n      t_confirm: { dir: ${JSON.stringify(d)} }\n`,
    );
    expect(r.status('hooked')).toBe('changed');
    expect(existsSync(join(d, 'confirmed'))).toBe(true);
    expect(r.sent.map((s) => s.conn)).toEqual(['h1', 'h1', 'h1 (confirm)']);
    expect(r.sent[2]!.script).toBe(`touch '${d}/confirmed'`);
    // The fresh connection is not the run's: its round trip is not counted for the host.
    expect(r.roundTrips).toBe(2);
  });
});
