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
import { parse, stringify } from 'yaml';
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
    // stderr may say it waited for another suite's `kiln lab` command (they serialize on a lock).
    expect(r.code, r.stderr).toBe(0);
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

  it('apt_repository and debconf register what Ansible 2.14 registered for the same tasks on the same lab image', async () => {
    const want = JSON.parse(readFileSync(join(REPO, 'test/fixtures/ansible/apt-oracle-x17d1.json'), 'utf8')) as Record<
      string,
      Record<string, unknown> | string
    >;
    const text = readFileSync(join(REPO, 'test/fixtures/ansible/apt-oracle-playbook.yml'), 'utf8').replace(
      '/tmp/x17d/oracle2.json',
      join(work, 'oracle.json'),
    );
    const r = await runPlaybook(playbook('oracle.yml', text), inv);
    expect(r.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    const got = JSON.parse(readFileSync(join(work, 'oracle.json'), 'utf8')) as typeof want;
    // Ansible's `diff` key (its own --diff structure) is left out: Kiln shows diffs in its report instead.
    const noDiff = (v: Record<string, unknown> | string) =>
      typeof v === 'string' ? v : Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'diff'));
    for (const k of Object.keys(want)) expect(noDiff(got[k]), k).toEqual(noDiff(want[k]));
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

  it('deb822_repository: writes and registers what ansible-core 2.15 did for the same tasks (URL key, inline key, key on the host)', async () => {
    const fixDir = join(REPO, 'test/fixtures/ansible/deb822_repository');
    const want = JSON.parse(readFileSync(join(fixDir, 'x17d1-ansible-2.15.json'), 'utf8')) as {
      results: { repo: string; dest: string; key_filename: string | null; mode: string }[];
      files: string;
    };
    const tasks = (parse(readFileSync(join(fixDir, 'playbook.yml'), 'utf8')) as { tasks: Record<string, unknown>[] }[])[0].tasks.slice(
      0,
      3,
    );
    const out = join(work, 'd822.json');
    const pb = playbook(
      'd822.yml',
      stringify([
        {
          hosts: 'x17d2',
          gather_facts: false,
          tasks: [
            ...tasks,
            { copy: { content: '{{ [a, b, c] | to_nice_json }}', dest: out }, delegate_to: 'localhost' },
            ...['Kiln X17D_local repo', 'inline', 'hostpath'].map((name) => ({ deb822_repository: { name, state: 'absent' } })),
          ],
        },
      ]),
    );
    const r = await runPlaybook(pb, inv);
    expect(r.tasks.map((t) => t.status)).toEqual(['changed', 'changed', 'changed', 'changed', 'changed', 'changed', 'changed']);
    const got = JSON.parse(readFileSync(out, 'utf8')) as typeof want.results;
    got.forEach((g, i) => expect(g).toEqual(want.results[i]));
    expect(ssh('x17d2', 'ls /etc/apt/sources.list.d /etc/apt/keyrings')).toBe('/etc/apt/keyrings:\n\n/etc/apt/sources.list.d:\n');
  });

  it('deb822_repository converge cycle, then package installs from those sources with default_release, policy_rc_d, allow_downgrade', async () => {
    // Two flat repositories on the host, one version of a dummy package each, built with dpkg-deb.
    ssh(
      'x17d2',
      `sudo sh -ec '
for v in 1.0:old 2.0:new; do
  ver=\${v%%:*}; rel=\${v#*:}; repo=/srv/kiln-x17d-$rel; d=$(mktemp -d); mkdir -p $repo $d/DEBIAN
  printf "Package: kiln-x17d-dummy\\nVersion: %s\\nArchitecture: all\\nMaintainer: Kiln <kiln@example.org>\\nDescription: Kiln e2e dummy package\\n" $ver > $d/DEBIAN/control
  printf "#!/bin/sh\\nif [ -x /usr/sbin/policy-rc.d ]; then /usr/sbin/policy-rc.d kiln-x17d start; echo \\$? > /var/tmp/kiln-x17d-policy; else echo none > /var/tmp/kiln-x17d-policy; fi\\n" > $d/DEBIAN/postinst
  chmod 0755 $d/DEBIAN/postinst
  f=kiln-x17d-dummy_\${ver}_all.deb
  dpkg-deb --root-owner-group --build $d $repo/$f >/dev/null
  { cat $d/DEBIAN/control; echo "Filename: ./$f"; echo "Size: $(stat -c %s $repo/$f)"; echo "SHA256: $(sha256sum < $repo/$f | cut -d" " -f1)"; } > $repo/Packages
  printf "Origin: kiln-x17d\\nSuite: x17d-%s\\nCodename: x17d-%s\\nDate: %s\\nSHA256:\\n %s %s Packages\\n" $rel $rel "$(LC_ALL=C date -Ru)" $(sha256sum < $repo/Packages | cut -d" " -f1) $(stat -c %s $repo/Packages) > $repo/Release
  rm -rf $d
done'`,
    );
    const pb = playbook(
      'd822-cycle.yml',
      [
        '- hosts: x17d2',
        '  gather_facts: false',
        '  tasks:',
        '    - deb822_repository: { name: x17d old, uris: "file:/srv/kiln-x17d-old", suites: ./, trusted: true }',
        '    - deb822_repository: { name: x17d new, uris: "file:/srv/kiln-x17d-new", suites: ./, trusted: true }',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        expect(ssh('x17d2', 'cat /etc/apt/sources.list.d/x17d-old.sources')).toBe(
          'X-Repolib-Name: x17d old\nURIs: file:/srv/kiln-x17d-old\nSuites: ./\nTrusted: yes\nTypes: deb\n',
        );
        ssh('x17d2', 'sudo apt-get -q update --error-on=any >/dev/null 2>&1');
        const policy = ssh('x17d2', 'LC_ALL=C apt-cache policy kiln-x17d-dummy');
        expect(policy).toContain('Candidate: 2.0');
        expect(policy).toContain(' 1.0 500');
      },
      tamper: () => {
        ssh('x17d2', "sudo sed -i 's/^Trusted: yes/Trusted: no/' /etc/apt/sources.list.d/x17d-old.sources");
      },
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes.map((c) => c.summary)).toEqual(['update /etc/apt/sources.list.d/x17d-old.sources']);
    expect(drift.diff).toContain('-Trusted: no');
    expect(drift.diff).toContain('+Trusted: yes');

    const pkg = async (args: string) => {
      const p = playbook('pkg.yml', `- hosts: x17d2\n  gather_facts: false\n  tasks:\n    - package: ${args}\n`);
      return (await runPlaybook(p, inv)).tasks[0];
    };
    const installed = () => ssh('x17d2', "dpkg-query -W -f='${Version}' kiln-x17d-dummy");

    // default_release: the old suite's version wins (990), policy-rc.d exits 101 during the install and is gone after.
    expect((await pkg('{ name: kiln-x17d-dummy, default_release: x17d-old, policy_rc_d: 101 }')).status).toBe('changed');
    expect(installed()).toBe('1.0');
    expect(ssh('x17d2', 'cat /var/tmp/kiln-x17d-policy; test -e /usr/sbin/policy-rc.d && echo left || echo gone')).toBe('101\ngone\n');
    expect((await pkg('{ name: kiln-x17d-dummy, state: latest, default_release: x17d-old }')).status).toBe('ok');
    // Without it, latest is the new suite's 2.0.
    const up = await pkg('{ name: kiln-x17d-dummy, state: latest }');
    expect(up.changes.map((c) => c.summary)).toEqual(['upgrade kiln-x17d-dummy 1.0 → 2.0']);
    expect(installed()).toBe('2.0');
    // A pinned older version is a downgrade: refused unless allow_downgrade.
    const refused = await pkg('{ name: "kiln-x17d-dummy=1.0" }');
    expect(refused.status).toBe('failed');
    expect(refused.message).toContain('apt refuses a downgrade unless allow_downgrade: true');
    expect(installed()).toBe('2.0');
    const down = await pkg('{ name: "kiln-x17d-dummy=1.0", allow_downgrade: true }');
    expect(down.changes.map((c) => c.summary)).toEqual(['downgrade kiln-x17d-dummy 2.0 → 1.0']);
    expect(installed()).toBe('1.0');
    expect((await pkg('{ name: "kiln-x17d-dummy=1.0", allow_downgrade: true }')).status).toBe('ok');
  });
});
