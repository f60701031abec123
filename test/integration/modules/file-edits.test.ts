/**
 * blockinfile, replace, ini_file and pam_limits against the loopback OpenSSH server, each through
 * the converge cycle (test/helpers/converge-cycle.ts): converge, 0 changed, a hand-made drift,
 * --check --diff shows it, the fix, 0 changed. Every file is under the test's own temp directory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

describe('file edits over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  let inventory: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-file-edits-'));
    inventory = writeSshdInventory(sshd, dir, { h1: {} });
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const playbook = (name: string, task: string) => {
    const p = join(dir, `${name}.yml`);
    writeFileSync(p, `- hosts: all\n  gather_facts: false\n  tasks:\n${task.replace(/^/gm, '    ')}\n`);
    return p;
  };
  const driftDiff = (r: Awaited<ReturnType<typeof convergeCycle>>) => r.check.tasks.find((t) => t.status === 'changed')!.diff ?? '';

  it('blockinfile: inserts the block after a line, then repairs an edited block', async () => {
    const target = join(dir, 'sshd_config');
    writeFileSync(target, 'Port 22\nUsePAM yes\n');
    const r = await convergeCycle({
      playbook: playbook(
        'blockinfile',
        `- blockinfile:\n    path: ${target}\n    insertafter: '^Port'\n    marker: '# {mark} kiln test'\n    block: |\n      Match User deploy\n        X11Forwarding no\n    mode: '0600'\n    backup: true`,
      ),
      inventory,
      verify: () =>
        expect(readFileSync(target, 'utf8')).toBe(
          'Port 22\n# BEGIN kiln test\nMatch User deploy\n  X11Forwarding no\n# END kiln test\nUsePAM yes\n',
        ),
      tamper: () => writeFileSync(target, readFileSync(target, 'utf8').replace('X11Forwarding no', 'X11Forwarding yes')),
    });
    expect(driftDiff(r)).toContain('-  X11Forwarding yes');
    expect(driftDiff(r)).toContain('+  X11Forwarding no');
  });

  it('replace: every match, between after and before', async () => {
    const target = join(dir, 'hosts.conf');
    writeFileSync(target, 'a old\n[main]\nx old\ny old\n[other]\nz old\n');
    const r = await convergeCycle({
      playbook: playbook(
        'replace',
        `- replace:\n    path: ${target}\n    regexp: '^(\\w) old$'\n    replace: '\\1 new'\n    after: '\\[main\\]'\n    before: '\\[other\\]'`,
      ),
      inventory,
      verify: () => expect(readFileSync(target, 'utf8')).toBe('a old\n[main]\nx new\ny new\n[other]\nz old\n'),
      tamper: () => writeFileSync(target, 'a old\n[main]\nx new\ny old\n[other]\nz old\n'),
    });
    expect(driftDiff(r)).toContain('-y old');
    expect(driftDiff(r)).toContain('+y new');
  });

  it('ini_file: an option in a section, with Ansible formatting', async () => {
    const target = join(dir, 'app.ini');
    writeFileSync(target, '[server]\nport=80\n\n[log]\nlevel = info\n');
    const r = await convergeCycle({
      playbook: playbook('ini_file', `- ini_file:\n    path: ${target}\n    section: server\n    option: port\n    value: 8080`),
      inventory,
      verify: () => expect(readFileSync(target, 'utf8')).toBe('[server]\nport = 8080\n\n[log]\nlevel = info\n'),
      tamper: () => writeFileSync(target, '[server]\n# port = 8080\nport = 81\n\n[log]\nlevel = info\n'),
    });
    expect(driftDiff(r)).toContain('-port = 81');
  });

  it('pam_limits: a limit in a limits.d file', async () => {
    const target = join(dir, 'limits.conf');
    writeFileSync(target, '# limits\n*\tsoft\tcore\t0\n');
    const r = await convergeCycle({
      playbook: playbook(
        'pam_limits',
        `- pam_limits:\n    dest: ${target}\n    domain: app\n    limit_type: '-'\n    limit_item: nofile\n    value: 65536\n    comment: app sockets`,
      ),
      inventory,
      verify: () => expect(readFileSync(target, 'utf8')).toBe('# limits\n*\tsoft\tcore\t0\napp\t-\tnofile\t65536\t#app sockets\n'),
      tamper: () => writeFileSync(target, '# limits\n*\tsoft\tcore\t0\napp - nofile 1024\n'),
    });
    expect(driftDiff(r)).toContain('-app - nofile 1024');
    expect(driftDiff(r)).toContain('+app\t-\tnofile\t65536\t#app sockets');
  });

  it("register: Ansible's msg (and backup_file) for each module", async () => {
    const f = (n: string, text: string) => {
      writeFileSync(join(dir, n), text);
      return join(dir, n);
    };
    const pb = playbook(
      'register',
      [
        `- blockinfile: { path: ${f('r-block', 'a\n')}, block: x, backup: true }\n  register: b`,
        `- replace: { path: ${f('r-replace', 'a a\n')}, regexp: a, replace: b }\n  register: r`,
        `- ini_file: { path: ${join(dir, 'r-new.ini')}, section: s, option: o, value: v }\n  register: i`,
        `- pam_limits: { dest: ${f('r-limits', '')}, domain: app, limit_type: hard, limit_item: nproc, value: 10 }\n  register: l`,
        `- copy: { dest: ${join(dir, 'r-out.json')}, content: "{{ {'b': b, 'r': r, 'i': i, 'l': l} | to_json }}" }`,
      ].join('\n'),
    );
    const report = await runPlaybook(pb, inventory, { diff: true });
    expect(report.tasks.map((t) => t.status)).toEqual(['changed', 'changed', 'changed', 'changed', 'changed']);
    const out = JSON.parse(readFileSync(join(dir, 'r-out.json'), 'utf8'));
    expect(out.b).toMatchObject({ changed: true, failed: false, msg: 'Block inserted' });
    expect(out.b.backup_file).toMatch(new RegExp(`^${join(dir, 'r-block')}\\.\\d+\\.\\d{4}-\\d\\d-\\d\\d@\\d\\d:\\d\\d:\\d\\d~$`));
    expect(readFileSync(out.b.backup_file, 'utf8')).toBe('a\n');
    expect(out.r).toMatchObject({ changed: true, msg: '2 replacements made', rc: 0 });
    expect(out.i).toMatchObject({ changed: true, msg: 'section and option added', path: join(dir, 'r-new.ini') });
    expect(out.l).toMatchObject({ changed: true, msg: 'app\thard\tnproc\t10\n' });
  });
});
