/**
 * The real CLI under faults, against a real OpenSSH server on loopback (issue 14, items 1 and 2):
 * - the controller SIGKILLed right after a config write (KILN_FAULT_KILL_AFTER, through the test
 *   transport): the notification is already in the pending-handlers file (write-ahead); the next
 *   run runs the handler although the config task is ok; the run after runs none; a converged run
 *   and --check never write the file;
 * - SIGKILLed right before the write: the notification is recorded anyway, the next run makes the
 *   change and runs the handler once;
 * - a host lost mid-run (a blackholing relay): recap, --json report, exit 4, the other host done;
 * - an uncaught exception in the middle of a run: recap, --json report with the error, exit 1;
 * - bad timeout values (option, inventory, -e): located errors, exit 2, no host contacted.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, kilnAsync } from '../helpers/kiln.ts';
import { sshdAvailable, startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';
import { startRelay } from '../helpers/tcp-relay.ts';

interface Report {
  hosts: Record<string, { ok: number; changed: number; failed: number; unreachable: boolean }>;
  tasks: { host: string; task: string; status: string; handler?: boolean; message?: string }[];
  error?: string;
}

let sshd: TestSshd;
let work: string;
let n = 0;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-ctl-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const PLAYBOOK = `- name: site
  hosts: all
  gather_facts: false
  tasks:
    - name: app config
      copy: { dest: "{{ work_dir }}/{{ inventory_hostname }}.conf", content: "setting={{ setting }}\\n" }
      notify: restart app
    - name: later
      command: "true"
  handlers:
    - name: restart app
      shell: "echo restarted >> {{ work_dir }}/{{ inventory_hostname }}.restarts"
`;

/** A fresh directory with the playbook and an inventory of `hosts` (name → vars). */
function scene(hosts: Record<string, Record<string, unknown>> = { h1: {} }) {
  const dir = join(work, `scene-${++n}`);
  mkdirSync(dir);
  const inventory = writeSshdInventory(sshd, dir, hosts, { work_dir: dir });
  writeFileSync(join(dir, 'site.yml'), PLAYBOOK);
  const pending = join(dir, '.kiln', 'pending-handlers.json');
  const args = (setting: string, extra: string[] = []) => [
    'apply',
    join(dir, 'site.yml'),
    '-i',
    inventory,
    '-e',
    `setting=${setting}`,
    ...extra,
  ];
  return { dir, inventory, pending, args, json: (name: string) => join(dir, name) };
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;
const fileState = (f: string) => {
  const s = statSync(f);
  return { ino: s.ino, mtimeMs: s.mtimeMs, text: readFileSync(f, 'utf8') };
};
const handlerRuns = (r: Report) => r.tasks.filter((t) => t.handler).map((t) => `${t.host} ${t.task}: ${t.status}`);

describe.skipIf(!sshdAvailable())('kiln apply: a dying controller never loses a handler', () => {
  it('SIGKILL right after the config write: the next run runs the handler, the one after none; converged and --check runs write nothing', () => {
    const s = scene();
    const conf = join(s.dir, 'h1.conf');
    const restarts = join(s.dir, 'h1.restarts');
    // The copy's atomic write (its apply script) is the only script holding dest='<path>'.
    const killed = kiln(s.args('1'), { faults: { KILN_FAULT_KILL_AFTER: `h1:dest='${conf.replace(/[.]/g, '\\.')}'` } });
    expect(killed.signal, killed.output).toBe('SIGKILL');
    expect(readFileSync(conf, 'utf8')).toBe('setting=1\n');
    expect(existsSync(restarts)).toBe(false);
    const site = join(s.dir, 'site.yml').split('/').pop()!;
    expect(JSON.parse(readFileSync(s.pending, 'utf8'))).toEqual({ [site]: { h1: [{ play: 'site', handler: 'restart app' }] } });

    // A dry run predicts the handler and leaves the file alone.
    const before = fileState(s.pending);
    const check = kiln([...s.args('1', ['--check']), '--json', s.json('check.json')]);
    expect(check.code, check.output).toBe(0);
    expect(handlerRuns(readReport(s.json('check.json')))).toEqual(['h1 restart app: changed']);
    expect(fileState(s.pending)).toEqual(before);

    const next = kiln([...s.args('1'), '--json', s.json('next.json')]);
    expect(next.code, next.output).toBe(0);
    expect(next.output).toContain('h1: handlers pending from an earlier failed run will run: restart app');
    const r = readReport(s.json('next.json'));
    expect(r.tasks.find((t) => t.task === 'app config')!.status).toBe('ok');
    expect(handlerRuns(r)).toEqual(['h1 restart app: changed']);
    expect(readFileSync(restarts, 'utf8')).toBe('restarted\n');
    expect(JSON.parse(readFileSync(s.pending, 'utf8'))).toEqual({});

    const third = kiln([...s.args('1'), '--json', s.json('third.json')]);
    expect(third.code, third.output).toBe(0);
    expect(handlerRuns(readReport(s.json('third.json')))).toEqual([]);
    expect(readFileSync(restarts, 'utf8')).toBe('restarted\n');

    // Converged: not one durable write of the pending file.
    const settled = fileState(s.pending);
    const converged = kiln([...s.args('1'), '--stats']);
    expect(converged.code, converged.output).toBe(0);
    expect(converged.stdout).toContain('pending handlers file: 0 durable write(s)');
    expect(fileState(s.pending)).toEqual(settled);
  }, 60000);

  it('SIGKILL right before the config write: the notification is recorded; the next run changes the file and runs the handler once', () => {
    const s = scene();
    const conf = join(s.dir, 'h1.conf');
    const killed = kiln(s.args('1'), { faults: { KILN_FAULT_KILL_BEFORE: `h1:dest='${conf.replace(/[.]/g, '\\.')}'` } });
    expect(killed.signal, killed.output).toBe('SIGKILL');
    expect(existsSync(conf)).toBe(false);
    expect(readFileSync(s.pending, 'utf8')).toContain('restart app');
    const next = kiln([...s.args('1'), '--stats', '--json', s.json('next.json')]);
    expect(next.code, next.output).toBe(0);
    const r = readReport(s.json('next.json'));
    expect(r.tasks.find((t) => t.task === 'app config')!.status).toBe('changed');
    expect(handlerRuns(r)).toEqual(['h1 restart app: changed']);
    expect(readFileSync(join(s.dir, 'h1.restarts'), 'utf8')).toBe('restarted\n');
    // Recorded already (restored), so only the clearing after the handler is written.
    expect(next.stdout).toContain('pending handlers file: 1 durable write(s)');
  }, 60000);

  it('a normal changing run writes the notification ahead and clears it after the handler: two durable writes', () => {
    const s = scene();
    const r = kiln([...s.args('2'), '--stats']);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('pending handlers file: 2 durable write(s)');
    expect(JSON.parse(readFileSync(s.pending, 'utf8'))).toEqual({});
    expect(readFileSync(join(s.dir, 'h1.restarts'), 'utf8')).toBe('restarted\n');
  }, 30000);
});

describe.skipIf(!sshdAvailable())('kiln apply: the recap and the JSON report are always written', () => {
  it('a host lost mid-run: reported unreachable, the other host finishes, recap, --json report, exit 4', async () => {
    const relay = await startRelay({ port: sshd.port });
    try {
      const s = scene({ lost: { port: relay.port }, steady: {} });
      writeFileSync(
        join(s.dir, 'site.yml'),
        `- hosts: all
  gather_facts: false
  tasks:
    - name: long command
      shell: "touch {{ work_dir }}/{{ inventory_hostname }}.started; sleep {{ 60 if inventory_hostname == 'lost' else 0 }}"
- hosts: all
  gather_facts: false
  tasks:
    - name: second play
      copy: { dest: "{{ work_dir }}/{{ inventory_hostname }}.second", content: "x\\n" }
`,
      );
      const running = kilnAsync([...s.args('1'), '--keepalive-interval', '1', '--keepalive-count', '2', '--json', s.json('lost.json')]);
      const deadline = Date.now() + 30000;
      while (!existsSync(join(s.dir, 'lost.started')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      relay.blackhole();
      const r = await running;
      expect(r.code, r.output).toBe(4);
      expect(r.stdout).toMatch(/RECAP[\s\S]*lost\s+: ok=0 {2}changed=0 {2}failed=0 {2}skipped=0 {2}unreachable=1/);
      expect(r.stdout).toMatch(/steady\s+: ok=2 {2}changed=2 {2}failed=0 {2}skipped=0 {2}unreachable=0/);
      const rep = readReport(s.json('lost.json'));
      expect(rep.error).toBeUndefined();
      expect(rep.hosts.lost!.unreachable).toBe(true);
      expect(rep.tasks.find((t) => t.host === 'lost')!.message).toMatch(/no answer to SSH keepalives for 2 s/);
      expect(rep.tasks.filter((t) => t.host === 'steady').map((t) => t.status)).toEqual(['changed', 'changed']);
    } finally {
      await relay.close();
    }
  }, 60000);

  it('an uncaught exception mid-run: the recap and the --json report hold the results until then and the error, exit 1', () => {
    const s = scene({ h1: {}, h2: {} });
    const r = kiln([...s.args('1', ['--json', s.json('crash.json')])], {
      faults: { KILN_FAULT_UNCAUGHT_AFTER: `h1:dest='${join(s.dir, 'h1.conf').replace(/[.]/g, '\\.')}'` },
    });
    expect(r.code, r.output).toBe(1);
    expect(r.stdout).toContain('RECAP');
    expect(r.stderr).toContain('kiln: internal error; the run stopped here');
    expect(r.stderr).toContain('injected fault: an uncaught exception after a script on h1');
    const rep = readReport(s.json('crash.json'));
    expect(rep.error).toMatch(/^uncaught: Error: injected fault: an uncaught exception after a script on h1/);
    expect(rep.tasks.length).toBeGreaterThanOrEqual(1);
    // The config write reached the host before the crash: its notification is pending.
    expect(readFileSync(s.pending, 'utf8')).toContain('restart app');
  }, 30000);
});

describe.skipIf(!sshdAvailable())('kiln apply: timeout settings are checked before any host is contacted', () => {
  let server: Server;
  let connections = 0;
  let port: number;
  beforeAll(async () => {
    server = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server?.close());

  it.each([
    {
      what: 'a CLI option',
      vars: {},
      extra: ['--command-timeout', '-5', '--keepalive-count', '1'],
      errors: [
        '--command-timeout: must be a whole number of seconds from 0 (no limit) to 604800, got "-5"',
        '--keepalive-count: must be a whole number from 2 to 100, got "1"',
      ],
    },
    {
      what: 'an inventory variable (Ansible alias)',
      vars: { ansible_timeout: 'slow' },
      extra: [],
      errors: [
        "'ansible_timeout' (alias of 'kiln_connect_timeout') must be a whole number of seconds from 1 to 604800, got string \"slow\"",
      ],
    },
    {
      what: 'an extra var',
      vars: {},
      extra: ['-e', 'kiln_keepalive_interval=0'],
      errors: ["-e: 'kiln_keepalive_interval' must be a whole number of seconds from 1 to 604800, got number 0"],
    },
  ])('$what: exit 2, located', ({ vars, extra, errors }) => {
    const s = scene({ h1: { port, ...vars } });
    const r = kiln([...s.args('1'), ...extra]);
    expect(r.code, r.output).toBe(2);
    for (const e of errors) expect(r.stderr).toContain(e);
    expect(connections).toBe(0);
  });
});
