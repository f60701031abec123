import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ipt, {
  constructRule,
  type IptablesParams,
  iptablesApply,
  iptablesParse,
  iptablesPlan,
  iptablesProbe,
  prepareIptables,
} from '../../../../src/modules/firewall/iptables.ts';
import { confirmGuard } from '../../../../src/modules/firewall/guard.ts';
import { shSyntax } from '../helpers.ts';

const CASES = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/ansible/iptables/rules.json'), 'utf8')) as {
  params: IptablesParams;
  rule: string[];
}[];
const prep = (p: IptablesParams) => ({ rule: constructRule(prepareIptables(p)), id: 'abc123' });
const state = (o: Partial<{ installed: string; chain: string; present: string; header: string }>) =>
  iptablesParse(
    Object.entries({ installed: '1', chain: '1', header: 'Chain INPUT (policy ACCEPT)', ...o })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
const plan = (p: IptablesParams, s: ReturnType<typeof state>) => iptablesPlan(prepareIptables(p), prep(p), s);

describe('iptables: the rule is Ansible’s', () => {
  it.each(CASES.map((c) => [JSON.stringify(c.params), c] as const))('%s', (_n, c) => {
    expect(constructRule(prepareIptables(c.params))).toEqual(c.rule);
  });
});

describe('iptables plan', () => {
  const ssh: IptablesParams = { chain: 'INPUT', protocol: 'tcp', destination_port: '22', jump: 'ACCEPT' };
  it('present: nothing when iptables -C finds the rule; append or insert otherwise, under the guard', () => {
    expect(plan(ssh, state({ present: '1' }))).toEqual([]);
    expect(plan(ssh, state({})).map((c) => [c.summary, c.op])).toEqual([
      [
        'iptables: append in chain INPUT (table filter): -p tcp -j ACCEPT --destination-port 22 (under the SSH guard: rolled back in 30s unless a new SSH connection confirms)',
        { kind: 'add' },
      ],
    ]);
    const ins = { ...ssh, action: 'insert', rule_num: '2' } as const;
    expect(plan(ins, state({}))[0]!.summary).toContain('insert at 2');
    const sc = iptablesApply(ins, prep(ins), [{ kind: 'add' }]);
    expect(sc).toContain("'iptables' '-t' 'filter' '-I' 'INPUT' '2' '-p' 'tcp' '-j' 'ACCEPT' '--destination-port' '22'");
    expect(sc.indexOf('systemd-run')).toBeLessThan(sc.indexOf("'-I'"));
    expect(shSyntax(sc)).toBe('');
  });
  it('absent: -D when present, nothing when not', () => {
    const p = { ...ssh, state: 'absent' } as const;
    expect(plan(p, state({}))).toEqual([]);
    expect(plan(p, state({ present: '1' })).map((c) => c.op)).toEqual([{ kind: 'delete' }]);
    expect(iptablesApply(p, prep(p), [{ kind: 'delete' }])).toContain("'-D' 'INPUT' '-p'");
  });
  it('policy: compared with -L’s header; flush is an action every time (as Ansible reports it changed)', () => {
    const p: IptablesParams = { chain: 'INPUT', policy: 'DROP' };
    expect(plan(p, state({ header: 'Chain INPUT (policy DROP)' }))).toEqual([]);
    expect(plan(p, state({})).map((c) => c.summary)[0]).toMatch(/^iptables: policy of chain INPUT \(table filter\) ACCEPT → DROP/);
    expect(iptablesApply(p, prep(p), [{ kind: 'policy', policy: 'DROP' }])).toContain("'iptables' '-t' 'filter' '-P' 'INPUT' 'DROP'");
    expect(() => plan({ chain: 'MINE', policy: 'DROP' }, state({ header: 'Chain MINE (1 references)' }))).toThrow(
      /Can't detect current policy/,
    );
    const f: IptablesParams = { flush: true, table: 'nat' };
    expect(plan(f, state({}))).toEqual([expect.objectContaining({ action: true, op: { kind: 'flush' } })]);
    expect(iptablesApply(f, prep(f), [{ kind: 'flush' }])).toContain("'iptables' '-t' 'nat' '-F' </dev/null");
  });
  it('chain_management: creates a missing chain before the rule, deletes a chain given alone', () => {
    const p: IptablesParams = { chain: 'KILNTEST', jump: 'RETURN', chain_management: true };
    expect(plan(p, state({ chain: '0', header: '' })).map((c) => c.op)).toEqual([{ kind: 'create-chain' }, { kind: 'add' }]);
    expect(() => plan({ chain: 'KILNTEST', jump: 'RETURN' }, state({ chain: '0', header: '' }))).toThrow(
      /does not exist.*chain_management/,
    );
    const del: IptablesParams = { chain: 'KILNTEST', state: 'absent', chain_management: true };
    expect(plan(del, state({})).map((c) => c.op)).toEqual([{ kind: 'delete-chain' }]);
    expect(plan(del, state({ chain: '0', header: '' }))).toEqual([]);
  });
  it('refuses what Ansible refuses, and what would silently do nothing', () => {
    expect(() => prepareIptables({ jump: 'ACCEPT' })).toThrow('Either chain or flush parameter must be specified.');
    expect(() => prepareIptables({ chain: 'INPUT', flush: true, policy: 'DROP' })).toThrow(/mutually exclusive/);
    expect(() => prepareIptables({ chain: 'INPUT', jump: 'DROP', log_prefix: 'x' })).toThrow(/LOG jump target/);
    expect(() => prepareIptables({ chain: 'INPUT', jump: 'TEE' })).toThrow(/gateway/);
    expect(() => prepareIptables({ chain: 'INPUT', state: 'absent' })).toThrow(/chain_management: true/);
    expect(() => prepareIptables({ chain: 'INPUT', jump: 'ACCEPT', rule_num: '1' })).toThrow(/action: insert/);
  });
  it('iptables not installed yet (a dry run after a predicted install): unpredictable, never an error', () => {
    expect(plan(ssh, iptablesParse('installed=0'))).toEqual([expect.objectContaining({ unpredictable: true, op: { kind: 'add' } })]);
  });
  it('probe and confirm are valid sh; the probe uses -C with the same words', () => {
    const pr = iptablesProbe(ssh, prep(ssh));
    expect(pr).toContain("-C 'INPUT' '-p' 'tcp' '-j' 'ACCEPT' '--destination-port' '22'");
    expect(shSyntax(pr)).toBe('');
    expect(shSyntax(confirmGuard('abc123'))).toBe('');
    expect(ipt.registerData!(ssh, prep(ssh), state({}))).toEqual({
      ip_version: 'ipv4',
      table: 'filter',
      chain: 'INPUT',
      flush: false,
      rule: '-p tcp -j ACCEPT --destination-port 22',
      state: 'present',
      chain_management: false,
    });
  });
});
