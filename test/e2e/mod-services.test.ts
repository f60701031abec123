/**
 * Issue 17 (G) on lab hosts of their own (x17g1 10.77.0.207, x17g2 10.77.0.208, added to the running
 * lab with `kiln lab add` and removed afterwards): iptables rules and the SSH guard, the systemd
 * options (masked, no_block, scope user, daemon_reload), and service_facts, each through the
 * converge cycle (converge, 0 changed, drift, --check --diff, fix, 0 changed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED issue 17 (G) services suite: ${skip}`);

const HOSTS = ['x17g1', 'x17g2'];

describe.skipIf(skip)('issue 17 (G): iptables, systemd options, service_facts on lab hosts', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  const ssh = (host: string, cmd: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), host, cmd], { encoding: 'utf8', timeout: 60_000 });
  const playbook = (name: string, host: string, tasks: string) => {
    const f = join(work, `${name}.yml`);
    writeFileSync(f, `- hosts: ${host}\n  gather_facts: false\n  become: true\n  tasks:\n${tasks}`);
    return f;
  };

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-x17g-'));
    inv = join(work, 'inventory.yml');
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', 'x17g', '--count', '2', '--address', '10.77.0.207', '--inventory', inv], SHARED_LAB_CWD);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // the hosts are up once sshd answers
    for (const h of HOSTS) {
      for (let i = 0; ; i++) {
        try {
          ssh(h, 'true');
          break;
        } catch (e) {
          if (i > 30) throw e;
          await new Promise((res) => setTimeout(res, 1000));
        }
      }
    }
  }, 180_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('iptables: rules, a user chain and a policy converge; a deleted rule is found by --check --diff and put back', async () => {
    const pb = playbook(
      'ipt',
      'x17g1',
      [
        '    - package: { name: iptables, state: present }',
        '    - iptables: { chain: INPUT, protocol: tcp, destination_port: 22, jump: ACCEPT, comment: ssh }',
        '    - iptables: { chain: INPUT, ctstate: [ESTABLISHED, RELATED], jump: ACCEPT }',
        '    - iptables: { chain: KILNTEST, chain_management: true, protocol: tcp, destination_port: 8080, jump: DROP }',
        '    - iptables: { chain: INPUT, action: insert, rule_num: 1, in_interface: lo, jump: ACCEPT }',
        '    - iptables: { chain: INPUT, policy: DROP }',
        '    - iptables: { table: nat, chain: PREROUTING, protocol: tcp, destination_port: 80, jump: REDIRECT, to_ports: 8080 }',
        '',
      ].join('\n'),
    );
    const rules = () => ssh('x17g1', 'sudo iptables -S; sudo iptables -t nat -S PREROUTING');
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        const s = rules();
        expect(s).toContain('-P INPUT DROP');
        expect(s.split('\n').filter((l) => l.startsWith('-A INPUT'))).toEqual([
          '-A INPUT -i lo -j ACCEPT',
          '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT',
          '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        ]);
        expect(s).toContain('-A KILNTEST -p tcp -m tcp --dport 8080 -j DROP');
        expect(s).toContain('-A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080');
      },
      tamper: () => {
        ssh('x17g1', 'sudo iptables -D KILNTEST -p tcp --dport 8080 -j DROP; sudo iptables -t nat -F PREROUTING');
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').map((t) => t.changes.map((c) => c.summary).join('; '))).toEqual([
      expect.stringContaining('append in chain KILNTEST (table filter): -p tcp -j DROP --destination-port 8080'),
      expect.stringContaining('append in chain PREROUTING (table nat): -p tcp -j REDIRECT --destination-port 80 --to-ports 8080'),
    ]);
  }, 300_000);

  it('iptables: a policy that cuts SSH is not confirmed over a new connection, fails loudly, and the host restores its rules', async () => {
    const pb = playbook(
      'lock',
      'x17g2',
      ['    - package: { name: iptables, state: present }', '    - iptables: { chain: INPUT, policy: DROP }', ''].join('\n'),
    );
    const r = await runPlaybook(pb, inv, { diff: true });
    const t = r.tasks.find((x) => x.module === 'iptables')!;
    expect(t.status).toBe('failed');
    expect(t.message).toMatch(/commit-confirm failed.*could not be opened.*rolls itself back/);
    // within the guard's 30 s (and a margin) the host is reachable again, with its old policy
    let back = '';
    for (let i = 0; i < 60 && !back; i++) {
      try {
        back = ssh('x17g2', 'sudo iptables -S INPUT');
      } catch {
        await new Promise((res) => setTimeout(res, 2000));
      }
    }
    expect(back).toContain('-P INPUT ACCEPT');
    expect(ssh('x17g2', 'sudo journalctl --no-pager -t kiln-firewall')).toContain('rolled back unconfirmed firewall change');
  }, 300_000);

  it('ufw: enabling without a rule for SSH is refused; rules, default, logging and enabled converge; drift is found and fixed', async () => {
    const refused = playbook(
      'ufw-refused',
      'x17g2',
      ['    - package: { name: ufw, state: present }', '    - ufw: { state: enabled }', ''].join('\n'),
    );
    const r = await runPlaybook(refused, inv, {});
    const t = r.tasks.find((x) => x.module === 'ufw')!;
    expect(t.status).toBe('failed');
    expect(t.message).toMatch(/enabling ufw would cut the SSH connection Kiln works through: no ufw rule allows tcp port 22/);
    expect(ssh('x17g2', 'sudo ufw status').trim()).toBe('Status: inactive');

    const pb = playbook(
      'ufw',
      'x17g2',
      [
        '    - package: { name: ufw, state: present }',
        '    - ufw: { rule: allow, port: 22, proto: tcp, comment: ssh }',
        '    - ufw: { rule: allow, from_ip: 10.77.0.0/24, to_port: 8080, proto: tcp }',
        '    - ufw: { rule: deny, port: 3306, proto: tcp }',
        '    - ufw: { default: deny, direction: incoming }',
        '    - ufw: { logging: medium }',
        '    - ufw: { state: enabled }',
        '',
      ].join('\n'),
    );
    const c = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        const st = ssh('x17g2', 'sudo ufw status verbose');
        expect(st).toContain('Status: active');
        expect(st).toContain('Logging: on (medium)');
        expect(st).toContain('Default: deny (incoming)');
        expect(st).toMatch(/3306\/tcp +DENY IN +Anywhere/);
        expect(st).toMatch(/8080\/tcp +ALLOW IN +10\.77\.0\.0\/24/);
      },
      tamper: () => {
        ssh('x17g2', 'sudo ufw delete deny 3306/tcp; sudo ufw logging low');
      },
    });
    expect(
      c.check.tasks
        .filter((x) => x.status === 'changed')
        .map((x) => x.changes.map((ch) => ch.summary.replace(/ \(under the SSH guard.*\)$/, ''))),
    ).toEqual([['ufw deny from any to any port 3306 proto tcp'], ['ufw: logging low → medium']]);
  }, 300_000);

  it('systemd: daemon_reload, enabled/started, masked (also before install), no_block; unmasked and stopped by hand, found and fixed', async () => {
    const unit = '[Unit]\\nDescription=kiln demo\\n[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n';
    const pb = playbook(
      'svc',
      'x17g1',
      [
        `    - copy: { dest: /etc/systemd/system/kiln-demo.service, content: "${unit}" }`,
        '    - file: { path: /usr/local/lib/systemd/system, state: directory }',
        // a vendor-style unit (in /etc/systemd/system systemctl mask refuses to replace it)
        `    - copy: { dest: /usr/local/lib/systemd/system/kiln-later.service, content: "${unit}" }`,
        '    - systemd: { name: kiln-demo, daemon_reload: true, state: started, enabled: true }',
        '    - systemd: { name: kiln-later, masked: true }',
        '    - systemd: { name: kiln-not-installed.service, masked: true }',
        '    - systemd: { name: kiln-later, enabled: false, state: stopped, no_block: true }',
        '    - service: { name: kiln-demo, enabled: true, sleep: 3 }  # sleep: accepted, ignored under systemd as in Ansible',
        '',
      ].join('\n'),
    );
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => {
        expect(ssh('x17g1', 'systemctl is-active kiln-demo; systemctl is-enabled kiln-demo || true').split('\n').slice(0, 2)).toEqual([
          'active',
          'enabled',
        ]);
        // enable --no-reload, then the one reload: systemd's own view holds the new link, as after
        // Ansible's reload + enable (which reloads again)
        expect(
          ssh('x17g1', 'systemctl show -p WantedBy --value kiln-demo; systemctl show -p NeedDaemonReload --value kiln-demo')
            .trim()
            .split('\n'),
        ).toEqual(['multi-user.target', 'no']);
        expect(ssh('x17g1', 'systemctl is-enabled kiln-later kiln-not-installed.service || true').trim().split('\n')).toEqual([
          'masked',
          'masked',
        ]);
      },
      tamper: () => {
        ssh('x17g1', 'sudo systemctl unmask kiln-later; sudo systemctl stop kiln-demo');
      },
    });
    expect(r.check.tasks.filter((t) => t.status === 'changed').map((t) => t.changes.map((c) => c.summary))).toEqual([
      ['start kiln-demo'],
      ['mask kiln-later'],
    ]);
  }, 300_000);

  it('systemd scope user: a unit of the login user’s own manager', async () => {
    const unit = '[Unit]\\nDescription=kiln user demo\\n[Service]\\nExecStart=/bin/sleep infinity\\n';
    const f = join(work, 'user.yml');
    writeFileSync(
      f,
      [
        '- hosts: x17g1',
        '  gather_facts: false',
        // an inventory variable beats a play keyword (as in Ansible): play vars beat the inventory
        '  vars: { become: false }',
        '  tasks:',
        '    - file: { path: /home/deploy/.config/systemd/user, state: directory }',
        `    - copy: { dest: /home/deploy/.config/systemd/user/kiln-user.service, content: "${unit}" }`,
        '    - systemd: { name: kiln-user, scope: user, daemon_reload: true, state: started }',
        '',
      ].join('\n'),
    );
    // Kiln's sessions need not start the user's manager: lingering keeps it running (a task
    // without a running one fails saying so: test/unit/modules/system/service-options.test.ts)
    ssh(
      'x17g1',
      'sudo loginctl enable-linger deploy; for i in $(seq 1 50); do [ -S /run/user/1000/systemd/private ] && break; sleep 0.2; done',
    );
    await convergeCycle({
      playbook: f,
      inventory: inv,
      verify: () => {
        expect(ssh('x17g1', 'systemctl --user is-active kiln-user').trim()).toBe('active');
      },
      tamper: () => {
        ssh('x17g1', 'systemctl --user stop kiln-user');
      },
    });
  }, 300_000);

  it("service_facts: Ansible's result shape, the services as facts (a running and a masked unit of this suite)", async () => {
    const out = join(work, 'sf.json');
    const pb = playbook(
      'sf',
      'x17g1',
      [
        '    - service_facts:',
        '      register: sf',
        '    - copy:',
        `        content: "{{ {'registered': sf, 'demo': ansible_facts.services['kiln-demo.service'], 'masked': ansible_facts.services['kiln-later.service']} | to_json }}"`,
        `        dest: /tmp/kiln-sf.json`,
        '',
      ].join('\n'),
    );
    const r = await runPlaybook(pb, inv, {});
    expect(r.tasks.map((t) => [t.module, t.status])).toEqual([
      ['service_facts', 'ok'],
      ['copy', 'changed'],
    ]);
    writeFileSync(out, ssh('x17g1', 'cat /tmp/kiln-sf.json'));
    const got = JSON.parse(readFileSync(out, 'utf8')) as {
      registered: { ansible_facts: { services: Record<string, Record<string, unknown>> } };
      demo: unknown;
      masked: unknown;
    };
    expect(got.demo).toEqual({ name: 'kiln-demo.service', state: 'running', status: 'enabled', source: 'systemd' });
    expect(got.masked).toMatchObject({ name: 'kiln-later.service', status: 'masked', source: 'systemd' });
    // the same keys and types as Ansible's result on a lab host (test/fixtures/ansible/service_facts)
    const fixture = JSON.parse(
      readFileSync(join(import.meta.dirname, '../fixtures/ansible/service_facts/x17g1-ansible.json'), 'utf8'),
    ) as typeof got.registered;
    const shape = (e: Record<string, unknown>) =>
      Object.entries(e)
        .map(([k, v]) => `${k}:${typeof v}`)
        .sort()
        .join(',');
    const shapes = new Map(Object.values(fixture.ansible_facts.services).map((e) => [e.source, shape(e)]));
    const services = got.registered.ansible_facts.services;
    for (const e of Object.values(services)) expect(shape(e)).toBe(shapes.get(e.source));
    // the same services as Ansible saw on a host just like it, plus the units this suite made
    const made = new Set([
      'kiln-demo.service',
      'kiln-later.service',
      'kiln-not-installed.service',
      'iptables.service',
      'ip6tables.service',
      'nftables.service',
      'netfilter-persistent.service',
    ]);
    const missing = Object.keys(fixture.ansible_facts.services).filter((n) => !(n in services));
    expect(missing).toEqual([]);
    expect(Object.keys(services).filter((n) => !(n in fixture.ansible_facts.services) && !made.has(n))).toEqual([]);
  }, 300_000);
});
