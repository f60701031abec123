/**
 * Integration: a handler of a role included at run time (include_role) survives a controller
 * killed right after the role's config write (SIGKILL, through the fault-injecting CLI, against
 * the loopback sshd): the notification is on disk marked `included`; the next run includes the
 * role again, its task is ok, and the restored notification runs the handler once.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { sshdAvailable, startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-pending-incl-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!sshdAvailable())('kiln apply: a dying controller never loses a handler of an included role', () => {
  it('SIGKILL right after the included role wrote its config: the next run runs its handler, the one after none', () => {
    const dir = join(work, 'p');
    mkdirSync(join(dir, 'roles/app/tasks'), { recursive: true });
    mkdirSync(join(dir, 'roles/app/handlers'), { recursive: true });
    const conf = join(dir, 'h1.conf');
    const restarts = join(dir, 'h1.restarts');
    writeFileSync(
      join(dir, 'roles/app/tasks/main.yml'),
      `- name: app config\n  copy: { dest: "${conf}", content: "setting=1\\n" }\n  notify: restart app\n`,
    );
    writeFileSync(join(dir, 'roles/app/handlers/main.yml'), `- name: restart app\n  shell: "echo restarted >> ${restarts}"\n`);
    writeFileSync(
      join(dir, 'site.yml'),
      '- name: site\n  hosts: all\n  gather_facts: false\n  tasks:\n    - include_role: { name: app }\n    - command: "true"\n',
    );
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const args = ['apply', join(dir, 'site.yml'), '-i', inventory];
    const pending = join(dir, '.kiln', 'pending-handlers.json');

    const killed = kiln(args, { faults: { KILN_FAULT_KILL_AFTER: `h1:dest='${conf.replace(/[.]/g, '\\.')}'` } });
    expect(killed.signal, killed.output).toBe('SIGKILL');
    expect(readFileSync(conf, 'utf8')).toBe('setting=1\n');
    expect(existsSync(restarts)).toBe(false);
    expect(JSON.parse(readFileSync(pending, 'utf8'))).toEqual({
      'site.yml': { h1: [{ play: 'site', handler: 'restart app', included: true }] },
    });

    const next = kiln([...args, '--json', join(dir, 'next.json')]);
    expect(next.code, next.output).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'next.json'), 'utf8')) as { tasks: { task: string; status: string; handler?: boolean }[] };
    expect(r.tasks.find((t) => t.task === 'app config')!.status).toBe('ok');
    expect(r.tasks.filter((t) => t.handler).map((t) => `${t.task}: ${t.status}`)).toEqual(['restart app: changed']);
    expect(readFileSync(restarts, 'utf8')).toBe('restarted\n');
    expect(JSON.parse(readFileSync(pending, 'utf8'))).toEqual({});

    const third = kiln(args);
    expect(third.code, third.output).toBe(0);
    expect(readFileSync(restarts, 'utf8')).toBe('restarted\n');
  }, 60000);
});
