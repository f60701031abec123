/**
 * git against the loopback OpenSSH server: a bare repository under the test's temp dir served as
 * file://, cloned into the same temp dir. The converge cycle's drift is a new commit pushed to the
 * remote (check mode must predict the update from ls-remote), then local modifications with force.
 * The registered result is compared with Ansible's (test/fixtures/ansible/results/git.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8' }).trim();

/** Shape of a value for comparison with Ansible's: keys and types, not values. */
function shape(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v === null ? 'null' : typeof v;
  if (Array.isArray(v)) return v.map(shape);
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x)]));
}

describe('git over ssh: the converge cycle', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-git-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function makeRemote(): { work: string; bare: string } {
    const work = join(dir, 'work');
    const bare = join(dir, 'src.git');
    execFileSync('git', ['init', '-q', '-b', 'main', work]);
    writeFileSync(join(work, 'app.txt'), 'v1\n');
    git(work, 'add', 'app.txt');
    git(work, 'commit', '-qm', 'one');
    git(work, 'tag', '-a', 'v1', '-m', 'release 1');
    execFileSync('git', ['clone', '-q', '--bare', work, bare]);
    git(work, 'remote', 'add', 'origin', bare);
    return { work, bare };
  }

  it('clones, changes nothing again, predicts a remote update with --check --diff and fixes it', async () => {
    const { work, bare } = makeRemote();
    const dest = join(dir, 'checkout');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - git:\n        repo: file://${bare}\n        dest: ${dest}\n        version: main\n`,
    );
    let tip = '';
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => {
        expect(git(dest, 'rev-parse', 'HEAD')).toBe(git(bare, 'rev-parse', 'main'));
        expect(git(dest, 'symbolic-ref', '--short', 'HEAD')).toBe('main');
      },
      tamper: () => {
        writeFileSync(join(work, 'app.txt'), 'v2\n');
        git(work, 'commit', '-qam', 'two');
        git(work, 'push', '-q', 'origin', 'main');
        tip = git(work, 'rev-parse', 'HEAD');
      },
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes[0]!.summary).toMatch(new RegExp(`^update ${dest}: [0-9a-f]{7} → ${tip.slice(0, 7)} \\(main\\)$`));
    expect(drift.diff).toContain(`+${tip}`);
    expect(readFileSync(join(dest, 'app.txt'), 'utf8')).toBe('v2\n');
  });

  it('local modifications: refused without force, discarded with force', async () => {
    const dest = join(dir, 'checkout');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'force.yml');
    const remote = `file://${join(dir, 'src.git')}`;
    writeFileSync(join(dest, 'app.txt'), 'edited by hand\n');
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - git: {repo: '${remote}', dest: '${dest}', version: main}\n`,
    );
    const refused = await runPlaybook(playbook, inventory);
    expect(refused.tasks[0]!.status).toBe('failed');
    expect(refused.tasks[0]!.message).toContain(`Local modifications exist in the destination: ${dest} (force=no).`);
    writeFileSync(
      playbook,
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - git: {repo: '${remote}', dest: '${dest}', version: main, force: true}\n`,
    );
    const check = await runPlaybook(playbook, inventory, { check: true, diff: true });
    expect(check.tasks[0]!.changes.map((c) => c.summary)).toEqual([`discard local modifications in ${dest} (force)`]);
    const fixed = await runPlaybook(playbook, inventory);
    expect(fixed.tasks[0]!.status).toBe('changed');
    expect(readFileSync(join(dest, 'app.txt'), 'utf8')).toBe('v2\n');
    expect((await runPlaybook(playbook, inventory)).tasks[0]!.status).toBe('ok');
  });

  it("registers Ansible's result (before, after, remote_url_changed), a tag checked out as its commit", async () => {
    const bare = join(dir, 'src.git');
    const dest = join(dir, 'tagged');
    const out = join(dir, 'results.json');
    const inventory = writeSshdInventory(sshd, dir, { h1: {} });
    const playbook = join(dir, 'register.yml');
    writeFileSync(
      playbook,
      [
        '- hosts: all',
        '  gather_facts: false',
        '  tasks:',
        `    - git: {repo: 'file://${bare}', dest: '${dest}', version: v1}`,
        '      register: clone',
        `    - git: {repo: 'file://${bare}', dest: '${dest}', version: v1}`,
        '      register: again',
        `    - copy: {content: "{{ {'clone': clone, 'again': again} | to_nice_json }}", dest: '${out}'}`,
        '',
      ].join('\n'),
    );
    const rep = await runPlaybook(playbook, inventory);
    expect(rep.tasks.map((t) => t.status)).toEqual(['changed', 'ok', 'changed']);
    const got = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    const ansible = JSON.parse(readFileSync(join(__dirname, '../../fixtures/ansible/results/git.json'), 'utf8')) as Record<string, unknown>;
    expect(shape(got)).toEqual(shape(ansible));
    const v1 = git(bare, 'rev-parse', 'v1^{commit}');
    expect(got.clone).toMatchObject({ before: null, after: v1, changed: true });
    expect(got.again).toMatchObject({ before: v1, after: v1, changed: false, remote_url_changed: false });
    expect(git(dest, 'rev-parse', 'HEAD')).toBe(v1);
  });
});
