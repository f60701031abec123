/**
 * until / retries / delay and loop_control.pause (src/engine/retry.ts) through the real Runner
 * over the LOCAL transport, with Kiln's own command, shell and copy modules: a command that
 * succeeds on its 3rd attempt, one whose `until` never holds (Ansible's failure and its
 * `attempts`), `until` per loop item, the "FAILED - RETRYING" lines, each attempt probing again
 * (its own round trips), check mode (the prediction is the attempt's result, as Ansible's check
 * run retries on it), and the pause between items, measured. Expected values are
 * ansible-playbook 2.14's on the same tasks (see the comments).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../src/engine/report.ts';
import { LocalTransport } from '../../../src/transport/local.ts';
import { quietReporter, runPlaybook } from '../../helpers/run-playbook.ts';

let work: string;
let n = 0;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-retry-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(tasks: string, check = false): Promise<{ report: RunReport; retries: string[]; ms: number; dir: string }> {
  const dir = join(work, String(n++));
  const pb = join(work, `pb-${n}.yml`);
  writeFileSync(
    pb,
    `- hosts: all\n  gather_facts: false\n  vars: { d: ${JSON.stringify(dir)} }\n  tasks:\n${tasks.replace(/^/gm, '    ')}\n`,
  );
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const retries: string[] = [];
  const started = Date.now();
  const report = await runPlaybook(pb, join(work, 'hosts.yml'), {
    check,
    transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
    reporter: { ...quietReporter, retry: (m) => retries.push(m) },
  });
  return { report, retries, ms: Date.now() - started, dir };
}

/** A shell command counting its runs in $d/count, succeeding from the `okFrom`-th run on. */
const counter = (okFrom: number) =>
  `n=$(cat {{ d }}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {{ d }}/count; test $n -ge ${okFrom}`;

const statuses = (r: RunReport) => r.tasks.map((t) => [t.task, t.status, t.ignored ?? false]);

describe('until / retries / delay', () => {
  it('a command that succeeds on its 3rd attempt: two retry lines, attempts 3, each attempt its own round trip', async () => {
    const r = await run(
      `- name: third time\n  shell: "${counter(3)}"\n  register: r\n  until: r.rc == 0\n  retries: 5\n  delay: 0\n` +
        `- name: save\n  copy: { dest: "{{ d }}/out", content: "{{ r.attempts }} {{ r.rc }} {{ r.failed }}" }\n`,
    );
    expect(statuses(r.report)).toEqual([
      ['third time', 'changed', false],
      ['save', 'changed', false],
    ]);
    // Ansible: "FAILED - RETRYING: [t1]: third time (5 retries left)." then (4 retries left).
    expect(r.retries).toEqual([
      'FAILED - RETRYING: [h1]: third time (5 retries left).',
      'FAILED - RETRYING: [h1]: third time (4 retries left).',
    ]);
    expect(readFileSync(join(r.dir, 'count'), 'utf8').trim()).toBe('3');
    expect(readFileSync(join(r.dir, 'out'), 'utf8')).toBe('3 0 False');
    // Three attempts of the shell task (each an apply), then the copy's apply: at least 4.
    expect(r.report.hosts.h1!.round_trips).toBeGreaterThanOrEqual(4);
  });

  it("until never holds: retries + 1 attempts, then failed with Ansible's attempts (= retries) and failed", async () => {
    const r = await run(
      `- name: never\n  shell: "${counter(99)}; echo hi"\n  register: r\n  until: r.stdout == 'no'\n  retries: 2\n  delay: 0\n  ignore_errors: true\n` +
        `- name: save\n  copy: { dest: "{{ d }}/out", content: "{{ r.attempts }} {{ r.failed }} {{ r.stdout }}" }\n`,
    );
    expect(statuses(r.report)).toEqual([
      ['never', 'failed', true],
      ['save', 'changed', false],
    ]);
    expect(r.report.tasks[0]!.message).toMatch(/until: the condition did not hold after 3 attempts/);
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: never (2 retries left).', 'FAILED - RETRYING: [h1]: never (1 retries left).']);
    expect(readFileSync(join(r.dir, 'count'), 'utf8').trim()).toBe('3');
    // Ansible 2.14 registers attempts = retries (2) after the last of its 3 attempts.
    expect(readFileSync(join(r.dir, 'out'), 'utf8')).toBe('2 True hi');
  });

  it('a failing command whose until never holds keeps its own error, and stops the host without ignore_errors', async () => {
    const r = await run(
      `- name: fails\n  command: /bin/false\n  register: r\n  until: r.rc == 0\n  retries: 1\n  delay: 0\n- name: after\n  command: echo x\n`,
    );
    expect(statuses(r.report)).toEqual([['fails', 'failed', false]]);
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: fails (1 retries left).']);
  });

  it('per loop item: item a holds at once, item b is retried and fails', async () => {
    const r = await run(
      `- name: items\n  command: echo {{ item }}\n  loop: [a, b]\n  register: r\n  until: r.stdout == 'a'\n  retries: 1\n  delay: 0\n  ignore_errors: true\n` +
        `- name: save\n  copy: { dest: "{{ d }}/out", content: "{{ r.results | map(attribute='attempts') | list }} {{ r.failed }}" }\n`,
    );
    expect(statuses(r.report)).toEqual([
      ['items (a)', 'changed', false],
      ['items (b)', 'failed', true],
      ['save', 'changed', false],
    ]);
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: items (1 retries left).']);
    // Ansible: item a attempts 1; item b attempts 1 (= retries) after its 2 attempts.
    expect(readFileSync(join(r.dir, 'out'), 'utf8')).toBe('[1, 1] True');
  });

  it('delay: the wait between attempts (measured)', async () => {
    const r = await run(
      `- name: slow\n  command: echo x\n  register: r\n  until: false\n  retries: 1\n  delay: 1\n  ignore_errors: true\n`,
    );
    expect(r.retries).toHaveLength(1);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });

  it('check mode: each attempt is probe and plan, until sees the prediction (Ansible retries its check result too)', async () => {
    const r = await run(
      `- name: predicted\n  copy: { dest: "{{ d }}/never", content: x }\n  register: r\n  until: r is not changed\n  retries: 1\n  delay: 0\n  ignore_errors: true\n`,
      true,
    );
    expect(statuses(r.report)).toEqual([['predicted', 'failed', true]]);
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: predicted (1 retries left).']);
    expect(existsSync(join(r.dir, 'never'))).toBe(false);
    // Two attempts, each probing: two round trips.
    expect(r.report.hosts.h1!.round_trips).toBe(2);
  });

  it('retries: 0 runs once and does not evaluate until (Ansible 2.14)', async () => {
    const r = await run(
      `- name: once\n  shell: "${counter(99)}"\n  register: r\n  until: r.nope == 1\n  retries: 0\n  ignore_errors: true\n`,
    );
    expect(r.retries).toEqual([]);
    expect(readFileSync(join(r.dir, 'count'), 'utf8').trim()).toBe('1');
    expect(statuses(r.report)).toEqual([['once', 'failed', true]]);
  });
});

describe('loop_control.pause', () => {
  it('sleeps between items (measured), skipped items included, in check mode too', async () => {
    const tasks = `- name: paused\n  command: echo {{ item }}\n  loop: [1, 2, 3]\n  when: item != 2\n  loop_control: { pause: 0.4 }\n`;
    const real = await run(tasks);
    expect(real.report.tasks.map((t) => t.task)).toEqual(['paused (1)', 'paused (3)']);
    expect(real.ms).toBeGreaterThanOrEqual(800);
    const check = await run(tasks, true);
    expect(check.ms).toBeGreaterThanOrEqual(800);
  });
  it('a template (rendered without the item, once), and a loop whose items are all skipped pauses too', async () => {
    const r = await run(
      `- name: p\n  command: echo {{ item }}\n  loop: [1, 2, 3]\n  when: false\n  loop_control: { pause: "{{ 0.2 + 0.1 }}" }\n`,
    );
    expect(r.report.tasks.map((t) => t.status)).toEqual(['skipped']);
    expect(r.ms).toBeGreaterThanOrEqual(600);
  });
  it('a pause that is not a number fails the task, located', async () => {
    const r = await run(
      `- name: p\n  command: echo {{ item }}\n  loop: [1, 2]\n  loop_control: { pause: "{{ 'soon' }}" }\n  ignore_errors: true\n`,
    );
    expect(r.report.tasks.map((t) => [t.status, t.message])).toEqual([
      ['failed', expect.stringMatching(/:8:30: the field 'pause' has an invalid value \(soon\), and could not be converted to a float\./)],
    ]);
  });
});

describe('until in check mode on a command', () => {
  it('the command does not run, so until has no result to read: the prediction stands, no retry', async () => {
    const r = await run(`- name: cmd\n  shell: "${counter(99)}"\n  register: r\n  until: r.rc == 0\n  retries: 2\n  delay: 0\n`, true);
    expect(r.retries).toEqual([]);
    expect(statuses(r.report)).toEqual([['cmd', 'changed', false]]);
    expect(existsSync(join(r.dir, 'count'))).toBe(false);
  });
});

describe('retries and delay as templates', () => {
  it('are rendered for the host (Ansible templates the int fields)', async () => {
    const r = await run(
      `- name: t\n  shell: "${counter(99)}"\n  register: r\n  until: r.rc == 0\n  retries: "{{ 1 + 1 }}"\n  delay: "{{ 0 }}"\n  ignore_errors: true\n`,
    );
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: t (2 retries left).', 'FAILED - RETRYING: [h1]: t (1 retries left).']);
    expect(readFileSync(join(r.dir, 'count'), 'utf8').trim()).toBe('3');
  });
});

describe('attempts in failed_when', () => {
  it('failed_when sees the attempt number, as in Ansible', async () => {
    const r = await run(
      `- name: t\n  command: echo x\n  register: r\n  failed_when: r.attempts < 2\n  until: r is success\n  retries: 3\n  delay: 0\n`,
    );
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: t (3 retries left).']);
    expect(statuses(r.report)).toEqual([['t', 'changed', false]]);
  });
});

describe('until on an earlier task’s registered result', () => {
  it('is evaluated with that result (the task waits for it, not probed before it exists)', async () => {
    const r = await run(
      `- name: first\n  command: echo ready\n  register: r0\n- name: wait\n  shell: "${counter(2)}"\n  register: r\n  until: r.rc == 0 and r0.stdout == 'ready'\n  retries: 3\n  delay: 0\n`,
    );
    expect(statuses(r.report)).toEqual([
      ['first', 'changed', false],
      ['wait', 'changed', false],
    ]);
    expect(r.retries).toEqual(['FAILED - RETRYING: [h1]: wait (3 retries left).']);
  });
});
