/**
 * Issue 17 (H) on lab hosts added to the running lab (x17h1 10.77.0.209, x17h2 10.77.0.210 only):
 * git from a bare repository created on the host (file://), MariaDB from the lab's mirror driven by
 * mysql_query (the converge cycle with a query that only changes what differs) and mysql_info
 * (Ansible's result shape, in --check too). The shared site's hosts are never touched.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { buildWheel } from '../helpers/wheel.ts';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED issue 17 (H) lab suite: ${skip}`);

describe.skipIf(skip)('git, mysql_query and mysql_info on a lab host', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), 'x17h1', cmd], { encoding: 'utf8', timeout: 120_000 }).trim();
  const playbook = (name: string, tasks: string): string => {
    const f = join(work, name);
    writeFileSync(f, `- hosts: x17h1\n  gather_facts: false\n  tasks:\n${tasks}`);
    return f;
  };

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-h17-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', 'x17h1', 'x17h2'], SHARED_LAB_CWD); // leftovers of an interrupted run
    const add = await kiln(['lab', 'add', 'x17h', '--count', '2', '--address', '10.77.0.209', '--inventory', inv], SHARED_LAB_CWD);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const setup = await runPlaybook(
      playbook(
        'setup.yml',
        [
          '    - package: {name: [mariadb-server, git, python3-pip], state: present, update_cache: true}',
          '    - service: {name: mariadb, state: started}',
          '    - mysql_db: {name: h17}',
          '    - shell: "mariadb -e \'CREATE TABLE IF NOT EXISTS h17.kv (k VARCHAR(32) PRIMARY KEY, v VARCHAR(64))\'"',
          '',
        ].join('\n'),
      ),
      inv,
    );
    expect(setup.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
  }, 900_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', 'x17h1', 'x17h2'], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('git: clones a repository served from the host, predicts a new commit with --check --diff, updates', async () => {
    ssh(
      [
        'sudo sh -c "rm -rf /srv/h17 && mkdir -p /srv/h17 && cd /srv/h17',
        'git init -q -b main work && cd work && echo one > f && git add f',
        'git -c user.name=t -c user.email=t@t commit -qm one && git clone -q --bare . ../src.git && git remote add origin ../src.git"',
      ].join(' && '),
    );
    const pb = playbook('git.yml', '    - git: {repo: file:///srv/h17/src.git, dest: /srv/h17/app, version: main}\n');
    let tip = '';
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => expect(ssh('sudo git -C /srv/h17/app rev-parse HEAD')).toBe(ssh('sudo git -C /srv/h17/src.git rev-parse main')),
      tamper: () => {
        ssh(
          'sudo sh -c "cd /srv/h17/work && echo two > f && git -c user.name=t -c user.email=t@t commit -qam two && git push -q origin main"',
        );
        tip = ssh('sudo git -C /srv/h17/work rev-parse HEAD');
      },
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes[0]!.summary).toContain(`→ ${tip.slice(0, 7)} (main)`);
    expect(ssh('sudo cat /srv/h17/app/f')).toBe('two');
  }, 600_000);

  it('pip: the system Python is refused as pip refuses it (PEP 668); with PIP_BREAK_SYSTEM_PACKAGES the converge cycle', async () => {
    const wheels = join(work, 'wheels');
    mkdirSync(wheels, { recursive: true });
    buildWheel(wheels, 'kilntoy', '1.0');
    buildWheel(wheels, 'kilntoy', '2.0');
    const copy = await runPlaybook(
      playbook(
        'wheels.yml',
        ['    - file: {path: /srv/h17-wheels, state: directory}\n']
          .concat(
            ['1.0', '2.0'].map(
              (v) =>
                `    - copy: {src: '${wheels}/kilntoy-${v}-py3-none-any.whl', dest: '/srv/h17-wheels/kilntoy-${v}-py3-none-any.whl'}\n`,
            ),
          )
          .join(''),
      ),
      inv,
    );
    expect(copy.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    const env = "  environment: {PIP_NO_INDEX: '1', PIP_FIND_LINKS: /srv/h17-wheels}\n";
    const refused = join(work, 'pip-refused.yml');
    writeFileSync(refused, `- hosts: x17h1\n  gather_facts: false\n${env}  tasks:\n    - pip: {name: kilntoy, version: '1.0'}\n`);
    for (const check of [true, false]) {
      const r = await runPlaybook(refused, inv, { check });
      expect(r.tasks[0]!.status).toBe('failed');
      expect(r.tasks[0]!.message).toMatch(/externally managed \(PEP 668/);
    }
    const pb = join(work, 'pip.yml');
    writeFileSync(
      pb,
      `- hosts: x17h1\n  gather_facts: false\n  environment: {PIP_NO_INDEX: '1', PIP_FIND_LINKS: /srv/h17-wheels, PIP_BREAK_SYSTEM_PACKAGES: '1'}\n  tasks:\n    - pip: {name: kilntoy, version: '1.0'}\n`,
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => expect(ssh('pip3 list --format=freeze 2>/dev/null | grep -i ^kilntoy==')).toBe('kilntoy==1.0'),
      tamper: () => {
        ssh('sudo PIP_BREAK_SYSTEM_PACKAGES=1 pip3 install -q --no-index --find-links /srv/h17-wheels kilntoy==2.0');
      },
    });
    expect(r.check.tasks[0]!.changes.map((c) => c.summary)).toEqual(['pip install kilntoy==1.0 (installed: 2.0)']);
  }, 600_000);

  it('mysql_query: changed only when a DML query affected rows; the converge cycle', async () => {
    const pb = playbook(
      'query.yml',
      [
        '    - mysql_query:',
        '        login_db: h17',
        '        query:',
        '          - INSERT INTO kv (k, v) SELECT %(k)s, %(v)s FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM kv WHERE k = %(k)s)',
        '          - UPDATE kv SET v = %(v)s WHERE k = %(k)s AND v <> %(v)s',
        '        named_args: {k: colour, v: blue}',
        '      register: q',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => expect(ssh('sudo mariadb -N -e "SELECT v FROM h17.kv WHERE k=\'colour\'"')).toBe('blue'),
      tamper: () => {
        ssh("sudo mariadb -e \"UPDATE h17.kv SET v='red' WHERE k='colour'\"");
      },
    });
    expect(r.check.tasks.every((t) => t.unpredictable)).toBe(true);
    expect(r.fixed.tasks.map((t) => t.status)).toEqual(['changed']);
    expect(r.second.tasks.map((t) => t.status)).toEqual(['ok']);
  }, 600_000);

  it("mysql_query and mysql_info register Ansible's result shapes; mysql_info runs under --check", async () => {
    const pb = playbook(
      'register.yml',
      [
        '    - mysql_query: {login_db: h17, query: ["SELECT k, v, NULL AS n, 7 AS i FROM kv WHERE k = \'colour\'", "DELETE FROM kv WHERE k = \'none\'"]}',
        '      register: q',
        '    - mysql_info: {filter: [version, databases, settings, engines, users, master_status, slave_status]}',
        '      register: info',
        '    - mysql_info: {filter: "!settings,!global_status,!users,!engines", return_empty_dbs: true, exclude_fields: db_size}',
        '      register: some',
        "    - copy: {content: \"{{ {'q': q, 'info': info, 'some': some} | to_json }}\", dest: /root/h17-results.json}",
        '',
      ].join('\n'),
    );
    const rep = await runPlaybook(pb, inv);
    expect(rep.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    const got = JSON.parse(ssh('sudo cat /root/h17-results.json')) as Record<string, Record<string, unknown>>;
    expect(got.q).toMatchObject({
      changed: false,
      query_result: [[{ k: 'colour', v: 'blue', n: null, i: 7 }], []],
      rowcount: [1, 0],
      executed_queries: ["SELECT k, v, NULL AS n, 7 AS i FROM kv WHERE k = 'colour'", "DELETE FROM kv WHERE k = 'none'"],
    });
    const info = got.info as Record<string, any>;
    expect(Object.keys(info).sort()).toEqual([
      'changed',
      'databases',
      'engines',
      'failed',
      'master_status',
      'settings',
      'slave_status',
      'users',
      'version',
    ]);
    expect(info.version).toMatchObject({ major: 10, suffix: expect.stringContaining('MariaDB') });
    expect(typeof info.version.release).toBe('number');
    expect(typeof info.databases.h17.size).toBe('number');
    expect(typeof info.settings.max_connections).toBe('number');
    expect(info.engines.InnoDB.Support).toBe('DEFAULT');
    expect(Object.keys(info.users.localhost)).toContain('root');
    expect(info.slave_status).toEqual({});
    const some = got.some as Record<string, any>;
    expect(Object.keys(some).sort()).toEqual(['changed', 'databases', 'failed', 'master_status', 'slave_hosts', 'slave_status', 'version']);
    expect(some.databases.mysql).toEqual({});
    expect(some.databases.information_schema).toEqual({});

    const check = await runPlaybook(playbook('check.yml', '    - mysql_info: {filter: version}\n'), inv, { check: true });
    expect(check.tasks[0]!.status).toBe('ok');
  }, 600_000);
});
