/**
 * Stop 27 (M) on two lab hosts added to the running lab (x27m1 10.77.0.225 as the primary, x27m2
 * 10.77.0.226 as the replica, nothing else): the community.mysql options geerlingguy.mysql needs.
 * - mysql_replication's Ansible modes, as the role uses them: getreplica (login_user/password),
 *   getprimary delegated to the primary, changeprimary from its File/Position, startreplica,
 *   getreplica showing both threads running, and a row written on the primary read on the replica;
 *   --check predicts the first run; login_password is really used (a wrong one fails);
 * - mysql_user tls_requires: the converge cycle (drift: REQUIRE NONE set by hand);
 * - mysql_db state dump / import with a compressed target; mysql_query's values typed by column;
 * - last (it rewrites my.cnf): geerlingguy.mysql from the corpus, unmodified, applied to x27m1 as
 *   its README does: converges, a second run and a --check change nothing.
 * The shared site's hosts are never touched.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { parse, stringify } from 'yaml';
import { ensureLab, kiln, labSkipReason, REPO_ROOT, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED stop 27 (M) lab suite: ${skip}`);

describe.skipIf(skip)('mysql_replication modes, tls_requires, dump/import on lab hosts', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), host, cmd], { encoding: 'utf8', timeout: 120_000 }).trim();
  const sql = (host: string, q: string) => ssh(host, `sudo mariadb -N -B -e ${JSON.stringify(q)}`);
  const playbook = (name: string, plays: string): string => {
    const f = join(work, name);
    writeFileSync(f, plays);
    return f;
  };
  const failures = (r: Awaited<ReturnType<typeof runPlaybook>>) => r.tasks.filter((t) => t.status === 'failed').map((t) => t.message);

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-m27-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', 'x27m1', 'x27m2'], SHARED_LAB_CWD); // leftovers of an interrupted run
    const add = await kiln(['lab', 'add', 'x27m', '--count', '2', '--address', '10.77.0.225', '--inventory', inv], SHARED_LAB_CWD);
    expect(add.code).toBe(0);
    const setup = await runPlaybook(
      playbook(
        'setup.yml',
        [
          '- hosts: x27m1,x27m2',
          '  gather_facts: false',
          '  tasks:',
          '    - package: {name: [mariadb-server, xz-utils], state: present, update_cache: true}',
          '    - copy:',
          '        dest: /etc/mysql/mariadb.conf.d/60-kiln-repl.cnf',
          `        content: "[mysqld]\\nserver_id = {{ '1' if inventory_hostname == 'x27m1' else '2' }}\\nlog_bin = mysql-bin\\nbind_address = 0.0.0.0\\n"`,
          '      register: cnf',
          '    - service: {name: mariadb, state: restarted}',
          '      when: cnf.changed',
          '    - service: {name: mariadb, state: started}',
          // The accounts first: the Ansible-mode run below is then predicted exactly by --check.
          '    - mysql_user: {name: adm, host: localhost, password: admpw, priv: "*.*:REPLICATION CLIENT,SLAVE MONITOR"}',
          "    - mysql_user: {name: repl, host: '%', password: replpw, priv: '*.*:REPLICATION SLAVE,REPLICATION CLIENT', tls_requires: {}}",
          '      when: inventory_hostname == "x27m1"',
          '',
        ].join('\n'),
      ),
      inv,
    );
    expect(failures(setup)).toEqual([]);
  }, 900_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', 'x27m1', 'x27m2'], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it("replication as geerlingguy.mysql sets it up: getreplica, getprimary, changeprimary, startreplica; --check predicts; Ansible's result keys", async () => {
    const pb = playbook(
      'replication.yml',
      [
        '- hosts: x27m2',
        '  gather_facts: false',
        '  tasks:',
        '    - community.mysql.mysql_replication: {mode: getreplica, login_user: adm, login_password: admpw}',
        '      register: slave',
        '    - community.mysql.mysql_replication: {mode: getprimary}',
        '      delegate_to: x27m1',
        '      register: master',
        '      when: not slave.Is_Replica',
        '    - community.mysql.mysql_replication:',
        '        mode: changeprimary',
        '        master_host: 10.77.0.225',
        '        master_user: repl',
        '        master_password: replpw',
        '        master_log_file: "{{ master.File }}"',
        '        master_log_pos: "{{ master.Position }}"',
        '      when: not slave.Is_Replica',
        '    - community.mysql.mysql_replication: {mode: startreplica}',
        '      when: slave.Is_Replica',
        '',
      ].join('\n'),
    );
    const check = await runPlaybook(pb, inv, { check: true });
    expect(failures(check)).toEqual([]);
    const first = await runPlaybook(pb, inv);
    expect(failures(first)).toEqual([]);
    const changed = (r: typeof first) => r.tasks.filter((t) => t.status === 'changed').map((t) => `${t.host} ${t.changes[0]?.summary}`);
    expect(changed(first)).toEqual(changed(check));
    expect(changed(first)).toContainEqual(
      expect.stringMatching(
        /^x27m2 CHANGE MASTER TO MASTER_HOST='10.77.0.225',MASTER_USER='repl',MASTER_PASSWORD='\*{8}',MASTER_LOG_FILE='mysql-bin\.\d+',MASTER_LOG_POS=\d+$/,
      ),
    );

    // Start it (the role's second run does exactly this), then read it back with Ansible's keys.
    const start = await runPlaybook(
      playbook(
        'start.yml',
        [
          '- hosts: x27m2',
          '  gather_facts: false',
          '  tasks:',
          '    - community.mysql.mysql_replication: {mode: startreplica}',
          '      register: started',
          '    - pause: {seconds: 2}',
          '    - community.mysql.mysql_replication: {mode: getreplica}',
          '      register: replica',
          '    - community.mysql.mysql_replication: {mode: getprimary}',
          '      delegate_to: x27m1',
          '      register: primary',
          "    - copy: {content: \"{{ {'started': started, 'replica': replica, 'primary': primary} | to_json }}\", dest: /root/m27-results.json}",
          '',
        ].join('\n'),
      ),
      inv,
    );
    expect(failures(start)).toEqual([]);
    const got = JSON.parse(ssh('x27m2', 'sudo cat /root/m27-results.json')) as Record<string, Record<string, unknown>>;
    expect(got.started).toMatchObject({ changed: true, msg: 'Replica started ', queries: ['START REPLICA'] });
    expect(got.replica).toMatchObject({
      changed: false,
      Is_Replica: true,
      Master_Host: '10.77.0.225',
      Master_Port: 3306,
      Master_User: 'repl',
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'Yes',
      Seconds_Behind_Master: expect.any(Number),
      Read_Master_Log_Pos: expect.any(Number),
      queries: [],
    });
    expect(got.primary).toMatchObject({ Is_Primary: true, File: expect.stringMatching(/^mysql-bin\./), Position: expect.any(Number) });

    // Replication really runs: a database made on the primary shows up on the replica.
    sql(
      'x27m1',
      'CREATE DATABASE IF NOT EXISTS m27rep; CREATE TABLE IF NOT EXISTS m27rep.t (k INT PRIMARY KEY); REPLACE INTO m27rep.t VALUES (42)',
    );
    let seen = '';
    for (let i = 0; i < 20 && seen !== '42'; i++) {
      seen = sql('x27m2', 'SELECT k FROM m27rep.t').trim();
      if (seen !== '42') await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen).toBe('42');

    // The role's next run: the replica is one, so only startreplica runs (changed, as in Ansible).
    const again = await runPlaybook(pb, inv);
    expect(failures(again)).toEqual([]);
    expect(changed(again)).toEqual(['x27m2 START REPLICA']);

    // login_password is used: a wrong one is refused by the server.
    const wrong = await runPlaybook(
      playbook(
        'wrong.yml',
        '- hosts: x27m2\n  gather_facts: false\n  tasks:\n    - community.mysql.mysql_replication: {mode: getreplica, login_user: adm, login_password: nope}\n',
      ),
      inv,
    );
    expect(wrong.tasks[0]!.status).toBe('failed');
    // The other modules log in the same way: mysql_query as adm sees adm as the current user.
    const asAdm = await runPlaybook(
      playbook(
        'as-adm.yml',
        [
          '- hosts: x27m2',
          '  gather_facts: false',
          '  tasks:',
          '    - mysql_query: {query: "SELECT CURRENT_USER() AS u", login_user: adm, login_password: admpw}',
          '      register: who',
          '    - copy: {content: "{{ who.query_result[0][0].u }}", dest: /root/m27-who.txt}',
          '    - mysql_query: {query: "SELECT 1", login_user: adm, login_password: nope}',
          '      ignore_errors: true',
          '',
        ].join('\n'),
      ),
      inv,
    );
    expect(asAdm.tasks.map((t) => t.status)).toEqual(['ok', 'changed', 'failed']);
    expect(ssh('x27m2', 'sudo cat /root/m27-who.txt')).toBe('adm@localhost');
    expect(ssh('x27m2', 'sudo sh -c "ls -d /tmp/.kiln-mylogin.* 2>/dev/null | wc -l"')).toBe('0');
  }, 600_000);

  it('mysql_user tls_requires: the converge cycle (drift: the requirement removed by hand)', async () => {
    const pb = playbook(
      'tls.yml',
      [
        '- hosts: x27m1',
        '  gather_facts: false',
        '  tasks:',
        "    - mysql_user: {name: tlsu, host: '%', password: pw1, tls_requires: {SUBJECT: '/CN=alice b', cipher: ECDHE-RSA-AES256-GCM-SHA384}}",
        '    - mysql_user: {name: tls2, password: pw1, tls_requires: {x509: }}',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () =>
        expect(
          sql('x27m1', "SELECT User, ssl_type, x509_subject, ssl_cipher FROM mysql.user WHERE User IN ('tlsu', 'tls2') ORDER BY User"),
        ).toBe('tls2\tX509\t\t\ntlsu\tSPECIFIED\t/CN=alice b\tECDHE-RSA-AES256-GCM-SHA384'),
      tamper: () => {
        sql('x27m1', 'ALTER USER tls2@localhost REQUIRE NONE');
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').map((t) => t.changes[0]!.summary)).toEqual([
      "TLS requirement of 'tls2'@'localhost': NONE → X509",
    ]);
  }, 600_000);

  it('mysql_db dump and import with a compressed target: changed on every run, the data copied', async () => {
    sql(
      'x27m1',
      "CREATE DATABASE IF NOT EXISTS m27d; CREATE TABLE IF NOT EXISTS m27d.t (k INT PRIMARY KEY, v VARCHAR(8)); REPLACE INTO m27d.t VALUES (1, '0012')",
    );
    const pb = playbook(
      'dump.yml',
      [
        '- hosts: x27m1',
        '  gather_facts: false',
        '  tasks:',
        '    - mysql_db: {name: m27d, state: dump, target: /root/m27d.sql.xz}',
        '    - mysql_db: {name: m27copy, state: import, target: /root/m27d.sql.xz}',
        '',
      ].join('\n'),
    );
    for (let run = 0; run < 2; run++) {
      const r = await runPlaybook(pb, inv);
      expect(failures(r)).toEqual([]);
      expect(r.tasks.map((t) => t.status)).toEqual(['changed', 'changed']);
    }
    expect(ssh('x27m1', 'sudo xz -t /root/m27d.sql.xz && echo ok')).toBe('ok');
    expect(sql('x27m1', 'SELECT k, v FROM m27copy.t')).toBe('1\t0012');
    // mysql_query types values by column as community.mysql does: the VARCHAR '0012' stays text, the INT is a number.
    const q = await runPlaybook(
      playbook(
        'query.yml',
        [
          '- hosts: x27m1',
          '  gather_facts: false',
          '  tasks:',
          '    - mysql_query: {login_db: m27copy, query: "SELECT k, v, v + 0 AS n, NOW() AS t FROM t"}',
          '      register: qres',
          '    - copy: {content: "{{ qres | to_json }}", dest: /root/m27-query.json}',
          '',
        ].join('\n'),
      ),
      inv,
    );
    expect(failures(q)).toEqual([]);
    const rows = (JSON.parse(ssh('x27m1', 'sudo cat /root/m27-query.json')) as { query_result: Record<string, unknown>[][] }).query_result;
    expect(rows).toEqual([[{ k: 1, v: '0012', n: 12, t: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/) }]]);
    const missing = await runPlaybook(
      playbook(
        'missing.yml',
        '- hosts: x27m1\n  gather_facts: false\n  tasks:\n    - mysql_db: {name: nosuch, state: dump, target: /root/nosuch.sql}\n',
      ),
      inv,
    );
    expect(missing.tasks[0]!.message).toContain("Cannot dump database(s) 'nosuch' - not found");
  }, 600_000);

  it('geerlingguy.mysql (corpus, unmodified) converges on x27m1; a second run and --check change nothing', async () => {
    // The README's play targets db-servers: x27m1 in that group, with the lab's connection vars.
    const vars = (parse(readFileSync(inv, 'utf8')) as { all: { vars: Record<string, unknown> } }).all.vars;
    const roleInv = join(work, 'role-inventory.yml');
    writeFileSync(roleInv, stringify({ all: { vars, children: { 'db-servers': { hosts: { x27m1: { address: '10.77.0.225' } } } } } }));
    const pb = join(REPO_ROOT, 'test/fixtures/role-corpus/mysql.yml');
    const first = await runPlaybook(pb, roleInv);
    expect(failures(first)).toEqual([]);
    const again = await runPlaybook(pb, roleInv);
    expect(failures(again)).toEqual([]);
    expect(again.tasks.filter((t) => t.status === 'changed').map((t) => t.task)).toEqual([]);
    const check = await runPlaybook(pb, roleInv, { check: true });
    expect(check.tasks.filter((t) => t.status === 'changed' || t.status === 'failed').map((t) => t.task)).toEqual([]);
    expect(sql('x27m1', "SELECT CONCAT(User, '@', Host) FROM mysql.user WHERE User IN ('example_user', '')")).toBe('example_user@%');
    expect(sql('x27m1', "SHOW DATABASES LIKE 'example_db'")).toBe('example_db');
    expect(ssh('x27m1', 'systemctl is-active mariadb')).toBe('active');
  }, 900_000);
});
