/**
 * Pending handlers of roles included at run time (include_role): a run that fails after such a
 * handler was notified leaves the notification in `.kiln/pending-handlers.json` marked `included`;
 * the next run restores it and runs the handler once the host includes the role again (even
 * though the role's task no longer changes); a run that does not include the role keeps it
 * pending and says so (rule: no silent loss). Real runs over the local transport.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Reporter } from '../../../src/engine/events.ts';
import { localTransport } from '../../../src/transport/local.ts';
import { quietReporter, runPlaybook } from '../../helpers/run-playbook.ts';

const work = mkdtempSync(join(tmpdir(), 'kiln-pending-included-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project() {
  const dir = join(work, 'p');
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'roles/web/tasks'), { recursive: true });
  mkdirSync(join(dir, 'roles/web/handlers'), { recursive: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(dir, 'roles/web/tasks/main.yml'), `- copy:\n    dest: ${out}/web.conf\n    content: "v1\\n"\n  notify: restart web\n`);
  writeFileSync(join(dir, 'roles/web/handlers/main.yml'), `- name: restart web\n  shell: echo restarted >> ${out}/handler\n`);
  writeFileSync(join(dir, 'hosts.ini'), '[web]\nh1\n');
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: web
  gather_facts: false
  vars_files: [run.yml]
  tasks:
    - include_role:
        name: web
      when: include_web
    - fail:
        msg: the run fails after the notify
      when: fail_now
`,
  );
  const run = async (vars: { include_web: boolean; fail_now: boolean }) => {
    writeFileSync(join(dir, 'run.yml'), JSON.stringify(vars));
    const warnings: string[] = [];
    const reporter: Reporter = { ...quietReporter, warn: (m) => warnings.push(m) };
    const report = await runPlaybook(join(dir, 'site.yml'), join(dir, 'hosts.ini'), { transport: localTransport(), reporter });
    return { report, warnings };
  };
  const pending = () => {
    const f = join(dir, '.kiln/pending-handlers.json');
    return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
  };
  const handlerRuns = () => (existsSync(join(out, 'handler')) ? readFileSync(join(out, 'handler'), 'utf8') : '');
  return { run, pending, handlerRuns };
}

describe('pending handlers of an included role', () => {
  it('are saved when the run fails after the notify, kept while the role is not included, and run once it is', async () => {
    const p = project();
    // 1. The role's task changes and notifies its handler; the run then fails: the handler did not run.
    const first = await p.run({ include_web: true, fail_now: true });
    expect(first.report.hosts.h1!.failed).toBe(1);
    expect(p.handlerRuns()).toBe('');
    const saved = { 'site.yml': { h1: [{ play: 'play 1 (web)', handler: 'restart web', included: true }] } };
    expect(p.pending()).toEqual(saved);

    // 2. A run that does not include the role cannot run the handler: it stays pending, loudly.
    const second = await p.run({ include_web: false, fail_now: false });
    expect(second.report.hosts.h1!.failed).toBe(0);
    expect(p.handlerRuns()).toBe('');
    expect(p.pending()).toEqual(saved);
    expect(second.warnings.join('\n')).toMatch(
      /h1: handlers pending from an earlier run, of a role included at run time .* stay pending: restart web/,
    );

    // 3. The role is included again: its task is now ok, yet the restored notification runs the handler.
    const third = await p.run({ include_web: true, fail_now: false });
    expect(third.report.tasks.filter((t) => t.status === 'changed').map((t) => t.task)).toEqual(['restart web']);
    expect(p.handlerRuns()).toBe('restarted\n');
    expect(p.pending()).toEqual({});

    // 4. Converged: nothing pending, nothing runs again.
    const fourth = await p.run({ include_web: true, fail_now: false });
    expect(fourth.report.tasks.filter((t) => t.status === 'changed')).toEqual([]);
    expect(p.handlerRuns()).toBe('restarted\n');
  });

  it('an include_tasks handler stays pending until its included tasks ran: a failure in them keeps it for the next run', async () => {
    const dir = join(work, 'inc');
    const out = join(dir, 'out');
    mkdirSync(join(dir, 'tasks'), { recursive: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(dir, 'hosts.ini'), '[web]\nh1\n');
    writeFileSync(
      join(dir, 'tasks/restart.yml'),
      `- shell: echo step1 >> ${out}/handler\n- shell: test -e ${out}/ready\n- shell: echo step2 >> ${out}/handler\n`,
    );
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: web\n  gather_facts: false\n  tasks:\n    - copy: { dest: ${out}/app.conf, content: "v1\\n" }\n      notify: restart\n  handlers:\n    - name: restart\n      include_tasks: tasks/restart.yml\n`,
    );
    const run = () => runPlaybook(join(dir, 'site.yml'), join(dir, 'hosts.ini'), { transport: localTransport() });
    const pendingFile = join(dir, '.kiln/pending-handlers.json');

    const first = await run();
    expect(first.hosts.h1!.failed).toBe(1);
    expect(readFileSync(join(out, 'handler'), 'utf8')).toBe('step1\n');
    expect(JSON.parse(readFileSync(pendingFile, 'utf8'))).toEqual({ 'site.yml': { h1: [{ play: 'play 1 (web)', handler: 'restart' }] } });

    writeFileSync(join(out, 'ready'), '');
    const second = await run();
    expect(second.hosts.h1!.failed).toBe(0);
    expect(readFileSync(join(out, 'handler'), 'utf8')).toBe('step1\nstep1\nstep2\n');
    expect(JSON.parse(readFileSync(pendingFile, 'utf8'))).toEqual({});
  });
});
