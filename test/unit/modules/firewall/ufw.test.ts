import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allowsPort,
  checkUfwParams,
  ruleWords,
  type UfwParams,
  type UfwState,
  ufwApply,
  ufwParse,
  ufwPlan,
  ufwProbe,
} from '../../../../src/modules/firewall/ufw.ts';
import ufw from '../../../../src/modules/firewall/ufw.ts';
import { ctx, shSyntax } from '../helpers.ts';

const probe = (n: number) => ufwParse(readFileSync(join(import.meta.dirname, `../../../fixtures/ufw/probe-${n}.txt`), 'utf8'));
const INACTIVE: UfwState = {
  installed: true,
  status: 'Status: inactive\n',
  rules: '',
  dry: '',
  sshPort: '22',
  files: { INPUT: 'DROP', OUTPUT: 'ACCEPT', FORWARD: 'DROP', loglevel: 'low' },
};
const sums = (p: UfwParams, s: UfwState) => ufwPlan(p, s).map((c) => c.summary.replace(/ \(under the SSH guard.*\)$/, ''));

describe('ufw rules: changes found as Ansible finds them (ufw --dry-run against the user rules)', () => {
  it('an existing rule (ufw skips it) is no change; a new one is, with the words Ansible builds', () => {
    expect(ufwPlan({ rule: 'allow', to_port: '22', proto: 'tcp', comment: 'ssh' }, probe(1))).toEqual([]);
    const p: UfwParams = { rule: 'allow', to_port: '443', proto: 'tcp' };
    expect(sums(p, probe(2))).toEqual(['ufw allow from any to any port 443 proto tcp']);
    const p3: UfwParams = { rule: 'allow', from_ip: '10.77.0.0/24', to_port: '9090', proto: 'tcp' };
    expect(sums(p3, probe(3))).toEqual(['ufw allow from 10.77.0.0/24 to any port 9090 proto tcp']);
    const sc = ufwApply(p, { id: 'abc' }, [{ kind: 'rule' }]);
    expect(sc).toContain("'ufw' 'allow' 'from' 'any' 'to' 'any' 'port' '443' 'proto' 'tcp' </dev/null");
    expect(sc.indexOf('systemd-run')).toBeLessThan(sc.indexOf("'ufw' 'allow'"));
    expect(shSyntax(sc)).toBe('');
  });
  it('builds the long form in Ansible’s order (route, delete/insert, action, direction, interfaces, log, from, to, proto, app, comment)', () => {
    expect(
      ruleWords({
        rule: 'limit',
        route: true,
        insert: 2,
        direction: 'in',
        interface: 'eth0',
        log: true,
        from_ip: '10.0.0.1',
        from_port: '1000',
        to_port: '22',
        proto: 'tcp',
        comment: 'x y',
      }),
    ).toEqual([
      'route',
      'insert',
      '2',
      'limit',
      'in',
      'on',
      'eth0',
      'log',
      'from',
      '10.0.0.1',
      'port',
      '1000',
      'to',
      'any',
      'port',
      '22',
      'proto',
      'tcp',
      'comment',
      'x y',
    ]);
    expect(ruleWords({ rule: 'allow', delete: true, insert: 1, name: 'OpenSSH' })).toEqual([
      'delete',
      'allow',
      'from',
      'any',
      'to',
      'any',
      'app',
      'OpenSSH',
    ]);
  });
  it('reads which rules let SSH in (the tuple lines, comments after the direction)', () => {
    expect(allowsPort(probe(1).rules, '22')).toBe(true);
    expect(allowsPort(probe(1).rules, '2222')).toBe(false);
    expect(allowsPort('### tuple ### allow tcp 2000:3000 0.0.0.0/0 any 0.0.0.0/0 in\n', '2222')).toBe(true);
    expect(allowsPort('### tuple ### allow any 22 0.0.0.0/0 any 10.0.0.0/8 in\n', '22')).toBe(false);
    expect(allowsPort('### tuple ### limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in_eth0\n', '22')).toBe(false);
  });
});

describe('ufw: never locks out the operator', () => {
  it('enabling is refused while no rule allows the SSH port and the incoming default is not allow', () => {
    expect(() => ufwPlan({ state: 'enabled' }, INACTIVE)).toThrow(/enabling ufw would cut the SSH connection.*tcp port 22/);
    expect(() => ufwPlan({ state: 'enabled' }, { ...INACTIVE, sshPort: '2222', rules: probe(1).rules })).toThrow(/tcp port 2222/);
    expect(sums({ state: 'enabled' }, { ...INACTIVE, rules: probe(1).rules })).toEqual(['ufw: enable (ufw --force enable)']);
    expect(sums({ state: 'enabled', default: 'allow' }, INACTIVE)).toEqual([
      'ufw: enable (ufw --force enable)',
      'ufw: default incoming deny → allow',
    ]);
  });
  it('a deny incoming default while active is refused the same way', () => {
    const active: UfwState = { ...probe(2), status: probe(2).status.replace('deny (incoming)', 'allow (incoming)'), rules: '' };
    expect(() => ufwPlan({ default: 'deny' }, active)).toThrow(/default deny incoming would cut/);
    expect(sums({ default: 'deny' }, { ...active, rules: probe(1).rules })).toEqual(['ufw: default incoming allow → deny']);
  });
});

describe('ufw state, default, logging', () => {
  it('reads an inactive ufw from its files (status says only inactive)', () => {
    expect(ufwPlan({ default: 'deny', direction: 'incoming' }, INACTIVE)).toEqual([]);
    expect(ufwPlan({ logging: 'low' }, INACTIVE)).toEqual([]);
    expect(sums({ logging: 'off' }, INACTIVE)).toEqual(['ufw: logging low → off']);
    expect(sums({ default: 'allow', direction: 'outgoing' }, INACTIVE)).toEqual([]);
    expect(sums({ default: 'reject', direction: 'outgoing' }, INACTIVE)).toEqual(['ufw: default outgoing allow → reject']);
  });
  it('disabled, reloaded and reset; logging levels as Ansible compares them', () => {
    const on = probe(1);
    expect(sums({ state: 'disabled' }, on)).toEqual(['ufw: disable']);
    expect(ufwPlan({ state: 'disabled' }, INACTIVE)).toEqual([]);
    expect(ufwPlan({ state: 'reloaded' }, on)[0]).toMatchObject({ action: true, op: { kind: 'reload' } });
    expect(ufwPlan({ state: 'reset' }, on)[0]).toMatchObject({ action: true, op: { kind: 'reset' } });
    expect(ufwPlan({ logging: 'on' }, on)).toEqual([]);
    expect(sums({ logging: 'high' }, on)).toEqual(['ufw: logging low → high']);
    // disable and logging cannot cut SSH: nothing is armed
    expect(ufwApply({ state: 'disabled' }, { id: 'a' }, [{ kind: 'disable' }])).not.toContain('systemd-run');
  });
  it('refuses what the Ansible module refuses', () => {
    expect(() => checkUfwParams({})).toThrow(/one of the following is required/);
    expect(() => checkUfwParams({ rule: 'allow', name: 'OpenSSH', proto: 'tcp' })).toThrow(/mutually exclusive: name\|proto/);
    expect(() => checkUfwParams({ rule: 'allow', interface: 'eth0' })).toThrow(/required by interface: direction/);
    expect(() => checkUfwParams({ default: 'deny', direction: 'in' })).toThrow(/For default, direction/);
    expect(() => checkUfwParams({ rule: 'allow', direction: 'incoming' })).toThrow(/For rules, direction/);
    expect(() => checkUfwParams({ rule: 'allow', interface_in: 'a', interface_out: 'b' })).toThrow(/Only route rules/);
  });
  it('ufw not installed yet: unpredictable; the probe is valid sh', () => {
    expect(ufwPlan({ state: 'enabled' }, ufwParse('installed=0\n'))[0]).toMatchObject({ unpredictable: true });
    expect(shSyntax(ufwProbe({ rule: 'allow', to_port: '22' }))).toBe('');
  });
});

describe('ufw and iptables need root', () => {
  it('say so instead of misreading a permission error', async () => {
    const { iptablesParse } = await import('../../../../src/modules/firewall/iptables.ts');
    expect(() => ufwParse('not_root=1\ninstalled=1\n')).toThrow(/ufw reads and changes the rules as root: the task needs become: true/);
    expect(() => iptablesParse('not_root=1\ninstalled=1\n')).toThrow(/iptables .* become: true/);
  });
});

describe('ufw registered result', () => {
  const raw = readFileSync(join(import.meta.dirname, '../../../fixtures/ufw/probe-2.txt'), 'utf8');
  const p: UfwParams = { rule: 'allow', to_port: '443', proto: 'tcp' };
  const prep = { id: 'test' };
  it("is Ansible's: the commands and, outside check mode, `ufw status verbose` after the task as msg", () => {
    const data = ufw.registerData!(p, prep, ufwParse(raw));
    expect(JSON.stringify(data.commands)).toContain('443');
    expect(data.msg).toBe(ufwParse(raw).status.trimEnd());
    expect(String(data.msg)).toMatch(/^Status: active/);
    // Taken after the apply, from the verify probe (the state the rule left).
    expect(ufw.registerAfterApply).toBe(true);
  });
  it('has no msg in check mode, as Ansible exits before reading the status', () => {
    expect(ufw.probe(p, prep, ctx({ check: true }))).toMatch(/\necho check=1$/);
    expect(ufw.probe(p, prep, ctx())).not.toMatch(/check=1/);
    const data = ufw.registerData!(p, prep, ufwParse(`${raw}\ncheck=1\n`));
    expect(data).not.toHaveProperty('msg');
  });
});
