/**
 * The apt modules of issue 17 (helper D) on two hosts added to the running lab (x17d1 at
 * 10.77.0.201, x17d2 at 10.77.0.202; `kiln lab add`, removed afterwards): apt_repository,
 * deb822_repository, debconf, package_facts and apt's allow_downgrade/default_release/policy_rc_d,
 * each through the converge cycle (converge, 0 changed, drift, --check --diff, fix, 0 changed).
 * Repositories point at a copy of the lab's offline mirror index on the host, so the cache
 * update really runs (offline). Never run on this machine's apt.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { ensureLab, kiln, labSkipReason, REPO_ROOT as REPO, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED apt modules suite: ${skip}`);

const HOSTS = ['x17d1', 'x17d2'];

describe.skipIf(skip)('apt modules on lab hosts x17d1, x17d2', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (host: string, cmd: string): string =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), host, cmd], { encoding: 'utf8', timeout: 120_000 });
  const playbook = (name: string, text: string): string => {
    const p = join(work, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-x17d-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', 'x17d', '--count', '2', '--address', '10.77.0.201', '--inventory', inv], SHARED_LAB_CWD);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // A second flat repository on each host: the index of the lab's mirror (no .debs needed to update a cache).
    for (const h of HOSTS)
      ssh(h, 'sudo mkdir -p /srv/kiln-x17d-repo && sudo cp /opt/kiln-mirror/Packages /opt/kiln-mirror/Release /srv/kiln-x17d-repo/');
  }, 300_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', '--inventory', inv], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('apt_repository: writes the .list file as Ansible names it, updates the cache, converges after a drift', async () => {
    const pb = playbook(
      'repo.yml',
      `- hosts: x17d1\n  gather_facts: false\n  tasks:\n    - apt_repository:\n        repo: deb [trusted=yes] file:/srv/kiln-x17d-repo ./\n      register: r\n`,
    );
    const file = '/etc/apt/sources.list.d/file_srv_kiln_x17d_repo.list';
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        expect(ssh('x17d1', `cat ${file}; stat -c %a:%U ${file}`)).toBe('deb [trusted=yes] file:/srv/kiln-x17d-repo ./\n644:root\n');
        expect(ssh('x17d1', 'ls /var/lib/apt/lists')).toContain('_srv_kiln-x17d-repo_._Packages');
      },
      tamper: () => {
        ssh('x17d1', `sudo sed -i 's/^deb/# deb/' ${file}; sudo rm -f /var/lib/apt/lists/_srv_kiln-x17d-repo_*`);
      },
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes.map((c) => c.summary)).toEqual([
      `enable deb [trusted=yes] file:/srv/kiln-x17d-repo ./ in ${file}`,
      'update apt cache',
    ]);
    expect(drift.diff).toContain('-# deb [trusted=yes] file:/srv/kiln-x17d-repo ./');
    expect(drift.diff).toContain('+deb [trusted=yes] file:/srv/kiln-x17d-repo ./');

    const gone = playbook(
      'repo-absent.yml',
      `- hosts: x17d1\n  gather_facts: false\n  tasks:\n    - apt_repository:\n        repo: deb [trusted=yes] file:/srv/kiln-x17d-repo ./\n        state: absent\n`,
    );
    const a = await runPlaybook(gone, inv, { diff: true });
    expect(a.tasks.map((t) => t.status)).toEqual(['changed']);
    expect(ssh('x17d1', `test -e ${file} && echo there || echo gone`)).toBe('gone\n');
  });

  it('apt_repository: a cache update that keeps failing puts the sources back and fails the task', async () => {
    const pb = playbook(
      'repo-bad.yml',
      `- hosts: x17d1\n  gather_facts: false\n  tasks:\n    - apt_repository:\n        repo: deb [trusted=yes] file:/srv/kiln-x17d-missing ./\n        filename: x17d-missing\n        update_cache_retries: 2\n        update_cache_retry_max_delay: 1\n`,
    );
    const r = await runPlaybook(pb, inv);
    expect(r.tasks.map((t) => t.status)).toEqual(['failed']);
    expect(r.tasks[0].message).toContain('Failed to update apt cache: E: Failed to fetch file:/srv/kiln-x17d-missing/./Packages');
    expect(ssh('x17d1', 'ls /etc/apt/sources.list.d')).not.toContain('x17d-missing');
  });

  it('debconf: a select answer and a password (a secret: compared on the host, never shown) through the converge cycle', async () => {
    const pb = playbook(
      'debconf.yml',
      [
        '- hosts: x17d2',
        '  gather_facts: false',
        '  tasks:',
        '    - debconf: { name: tzdata, question: tzdata/Areas, vtype: select, value: Europe }',
        '    - debconf: { name: kiln-x17d, question: kiln-x17d/pw, vtype: password, value: "Pw-x17d-secret" }',
        '      register: pw',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        expect(ssh('x17d2', 'sudo debconf-show tzdata')).toContain('* tzdata/Areas: Europe');
        const got = ssh(
          'x17d2',
          "printf 'GET kiln-x17d/pw\\n' | sudo DEBIAN_FRONTEND=noninteractive debconf-communicate kiln-x17d 2>/dev/null",
        );
        expect(got).toBe('0 Pw-x17d-secret\n');
      },
      tamper: () => {
        ssh('x17d2', "printf 'tzdata tzdata/Areas select Asia\\nkiln-x17d kiln-x17d/pw password other\\n' | sudo debconf-set-selections");
      },
    });
    const drift = r.check.tasks.filter((t) => t.status === 'changed');
    expect(drift.map((t) => t.changes.map((c) => c.summary))).toEqual([
      ['set tzdata tzdata/Areas (select): "Asia" → "Europe"'],
      ['set kiln-x17d kiln-x17d/pw (password): (differs)'],
    ]);
    expect(drift[0].diff).toContain('+tzdata/Areas: Europe');
    expect(JSON.stringify(r)).not.toContain('Pw-x17d-secret');
  });

  it("package_facts: ansible_facts.packages equals what Ansible's package_facts registered on the same lab image, also under --check", async () => {
    const out = join(work, 'pf.json');
    const pb = playbook(
      'pf.yml',
      [
        '- hosts: x17d2',
        '  gather_facts: false',
        '  tasks:',
        '    - package_facts:',
        '      register: r',
        '    - copy: { content: "{{ r | to_nice_json }}", dest: ' + out + ' }',
        '      delegate_to: localhost',
        '      check_mode: false',
        "    - assert: { that: [ \"ansible_facts.packages['dpkg'][0].source == 'apt'\" ] }",
        '',
      ].join('\n'),
    );
    const r = await runPlaybook(pb, inv, { check: true });
    expect(r.tasks.map((t) => t.status)).toEqual(['ok', 'changed', 'ok']);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { ansible_facts: { packages: Record<string, unknown[]> }; changed: boolean };
    const want = JSON.parse(readFileSync(join(REPO, 'test/fixtures/ansible/package_facts/x17d1-ansible.json'), 'utf8')) as typeof got;
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    expect(got.changed).toBe(false);
    // The fixture's host had python3-apt installed for Ansible (and what it pulled in); nothing else differs.
    const extra = Object.keys(want.ansible_facts.packages).filter((n) => !(n in got.ansible_facts.packages));
    expect(extra).toContain('python3-apt');
    for (const n of extra) expect(want.ansible_facts.packages[n].every((e) => (e as { origin: string }).origin === 'kiln-lab')).toBe(true);
    for (const [n, entries] of Object.entries(got.ansible_facts.packages)) expect(entries, n).toEqual(want.ansible_facts.packages[n]);
  });
});
