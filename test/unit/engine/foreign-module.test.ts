/**
 * A task of a module for another operating system (src/modules/system/foreign.ts) whose `when:`
 * only the run can decide: on the host where it holds, the task fails with the located message,
 * on the controller (it never reaches the host: no round trip for it), and the host stops as after
 * any failure; where it does not hold, it is skipped and the play goes on. Check mode answers the
 * same. Real Runner over the local transport.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTransport } from '../../../src/transport/local.ts';
import type { Transport } from '../../../src/transport/transport.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-foreign-'));
  writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    deb: { family: Debian }\n    rh: { family: RedHat }\n');
  writeFileSync(
    join(work, 'pb.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - name: which family
      command: echo {{ family }}
      register: release
      changed_when: false
      check_mode: false
    - name: Install httpd (RedHat)
      yum: name=httpd
      when: release.stdout == 'RedHat'
    - name: after
      command: echo after-marker
      changed_when: false
`,
  );
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a task of another operating system’s module at run time', () => {
  it.each([false, true])('fails where it would run, located, without contacting the host for it (check: %s)', async (check) => {
    const scripts: Record<string, string[]> = { deb: [], rh: [] };
    const local = localTransport();
    const report = await runPlaybook(join(work, 'pb.yml'), join(work, 'hosts.yml'), {
      check,
      transport: {
        open: async (h) => {
          const t = await local.open(h);
          return {
            ...t,
            name: t.name,
            roundTrips: 0,
            run: (s, o) => {
              scripts[h]!.push(s);
              return t.run(s, o);
            },
            close: () => t.close(),
          } as Transport;
        },
        openFresh: (h) => local.openFresh(h),
      },
    });
    const byHost = (h: string) => report.tasks.filter((t) => t.host === h).map((t) => `${t.task}: ${t.status}`);
    expect(byHost('deb')).toEqual(['which family: ok', 'Install httpd (RedHat): skipped', 'after: ok']);
    expect(byHost('rh')).toEqual(['which family: ok', 'Install httpd (RedHat): failed']);
    const failed = report.tasks.find((t) => t.host === 'rh' && t.status === 'failed')!;
    expect(failed.message).toBe(
      `${join(work, 'pb.yml')}:9:7: foreign: module 'yum' manages another operating system (Kiln targets Debian)`,
    );
    // Nothing of the task reached a host, and the failing host had no exchange the other did not.
    expect(scripts.rh!.length).toBeLessThanOrEqual(scripts.deb!.length);
    expect([...scripts.deb!, ...scripts.rh!].some((s) => s.includes('httpd'))).toBe(false);
    expect(report.hosts.rh!.failed).toBe(1);
  });
});
