import { describe, expect, it } from 'vitest';
import {
  allowsInbound,
  cidrContains,
  resolveHost,
  sectionsFor,
  sshPreflight,
  toCidr,
  validatePolicy,
} from '../../../../src/modules/firewall/policy.ts';
import { site, SITE_POLICY } from './fixtures.ts';

describe('firewall policy resolution', () => {
  it('a host gets `all` and the sections of its groups, groups resolve to their hosts’ addresses', () => {
    const r = resolveHost('db2', site());
    expect(sectionsFor('db2', site())).toEqual(['db', 'all']);
    expect(r.inbound).toEqual([
      {
        proto: 'tcp',
        ports: ['3306'],
        v4: ['10.77.0.21/32', '10.77.0.22/32', '10.77.0.31/32', '10.77.0.32/32'],
        v6: [],
        comment: 'db: 3306/tcp from web, db',
      },
      { proto: 'tcp', ports: ['22'], v4: ['10.77.0.1/32'], v6: [], comment: 'all: 22/tcp from admin' },
      { proto: 'tcp', ports: ['9100'], v4: ['10.77.0.41/32'], v6: [], comment: 'all: 9100/tcp from monitoring' },
    ]);
    // `any` has no address list (both families); lb does not get db's rules.
    const lb = resolveHost('lb1', site());
    expect(lb.inbound[0]).toEqual({ proto: 'tcp', ports: ['80', '443'], comment: 'lb: 80,443/tcp from any' });
    expect(lb.inbound.some((x) => x.ports.includes('3306'))).toBe(false);
  });

  it('hosts, literals, IPv6, ranges and udp', () => {
    const r = resolveHost(
      'web1',
      site({ web1: { allow: [{ port: '6000-6010', proto: 'udp', from: ['db1', '2001:db8::/32', '192.0.2.7'] }] } }),
    );
    expect(r.inbound).toEqual([
      {
        proto: 'udp',
        ports: ['6000-6010'],
        v4: ['10.77.0.31/32', '192.0.2.7/32'],
        v6: ['2001:db8::/32'],
        comment: 'web1: 6000-6010/udp from db1, 2001:db8::/32, 192.0.2.7',
      },
    ]);
  });

  it('every problem of the policy is reported at once, located by path, with suggestions', () => {
    const errs = validatePolicy(
      site({
        dbb: { allow: [{ port: 3306, from: 'wbe' }] },
        all: { allow: [{ port: 70000, from: '10.0.0.0/33' }, { port: '90-80', from: 'any' }, { from: 'any' } as never] },
        monitoring: { allow: [{ port: 1, from: 'admin', to: 'x' }], deny: [] } as never,
      }),
    );
    expect(errs).toEqual([
      "firewall_policy.dbb: unknown group or host 'dbb' (did you mean 'db'?)",
      "firewall_policy.dbb.allow[0].from: unknown group or host 'wbe' (did you mean 'web'?); use any, admin, a group, a host or a CIDR",
      'firewall_policy.all.allow[0].port: invalid port \'70000\' (a number 1-65535 or a range "a-b")',
      "firewall_policy.all.allow[0].from: unknown group or host '10.0.0.0/33'; use any, admin, a group, a host or a CIDR",
      'firewall_policy.all.allow[1].port: invalid port \'90-80\' (a number 1-65535 or a range "a-b")',
      "firewall_policy.all.allow[2]: 'port' is required for inbound rules",
      "firewall_policy.monitoring.deny: unknown key 'deny' (allow, allow_out)",
      "firewall_policy.monitoring.allow[0].to: 'to' does not apply here (use 'from')",
    ]);
    expect(() => resolveHost('db1', site({ db: { allow: [{ port: 1, from: 'nope' }] } }))).toThrow(
      /firewall_policy.db.allow\[0\].from: unknown group or host 'nope'/,
    );
  });

  it('vrrp takes no port; tcp and udp still need one; other protocols are refused', () => {
    expect(validatePolicy(site({ lb: { allow: [{ proto: 'vrrp', from: 'lb' }] } }))).toEqual([]);
    expect(
      validatePolicy(
        site({
          lb: {
            allow: [{ proto: 'vrrp', port: 112, from: 'lb' }, { proto: 'udp', from: 'lb' }, { proto: 'gre', port: 1, from: 'lb' } as never],
          },
        }),
      ),
    ).toEqual([
      "firewall_policy.lb.allow[0].port: vrrp has no ports: remove 'port'",
      "firewall_policy.lb.allow[1]: 'port' is required for inbound rules",
      "firewall_policy.lb.allow[2].proto: 'gre' is not tcp, udp or vrrp",
    ]);
    expect(resolveHost('lb1', site({ lb: { allow: [{ proto: 'vrrp', from: 'lb' }] } })).inbound).toContainEqual({
      proto: 'vrrp',
      ports: [],
      v4: ['10.77.0.11/32', '10.77.0.12/32'],
      v6: [],
      comment: 'lb: vrrp from lb',
    });
  });

  it('admin with an empty CIDR list, and hosts without an IP address, are errors', () => {
    expect(validatePolicy(site(SITE_POLICY, []))).toContain(
      "firewall_policy.monitoring.allow[0].from: 'admin' is used but the admin CIDR list (firewall_admin_cidrs) is empty",
    );
    const inp = site();
    inp.addresses.web2 = 'web2.example.com';
    expect(validatePolicy(inp)).toContain(
      "firewall_policy.db.allow[0].from[0]: host 'web2' (from group web) has no IP address ('address' is 'web2.example.com'; the firewall needs IP addresses, not names)",
    );
  });

  it('CIDR arithmetic', () => {
    expect(toCidr('10.1.2.3')).toEqual({ family: 4, cidr: '10.1.2.3/32' });
    expect(toCidr('::1')).toEqual({ family: 6, cidr: '::1/128' });
    expect(toCidr('10.0.0.0/33')).toBeUndefined();
    expect(toCidr('web')).toBeUndefined();
    expect(cidrContains('10.77.0.0/24', '10.77.0.1')).toBe(true);
    expect(cidrContains('10.77.0.0/24', '10.78.0.1')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '192.0.2.1')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db8:1::5')).toBe(true);
    expect(cidrContains('2001:db8::/32', '2001:db9::5')).toBe(false);
    expect(cidrContains('::ffff:0:0/96', '::ffff:10.0.0.1')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '::1')).toBe(false);
  });

  it('the lockout preflight: SSH from the controller as the host sees it, to the port it reached', () => {
    const r = resolveHost('db1', site());
    expect(sshPreflight(r, '10.77.0.1', 22)).toBeUndefined();
    expect(allowsInbound(r, '10.77.0.21', 3306)?.comment).toBe('db: 3306/tcp from web, db');
    expect(allowsInbound(r, '10.77.0.11', 3306)).toBeUndefined();
    // Through a jump host: the host sees the jump host's address.
    expect(sshPreflight(r, '10.77.0.11', 22)).toMatch(/would not accept SSH \(port 22\/tcp\) from 10\.77\.0\.11/);
    // sshd on another port, or a policy without SSH at all.
    expect(sshPreflight(r, '10.77.0.1', 2222)).toMatch(/port 2222/);
    const noSsh = resolveHost('db1', site({ db: { allow: [{ port: 3306, from: 'web' }] } }));
    expect(sshPreflight(noSsh, '10.77.0.1', 22)).toMatch(/refusing to apply.*lock Kiln out/);
    expect(sshPreflight(noSsh, undefined, undefined)).toMatch(/SSH_CONNECTION is not set/);
    // A range or `any` counts.
    expect(sshPreflight(resolveHost('db1', site({ all: { allow: [{ port: '20-30', from: 'any' }] } })), '203.0.113.9', 22)).toBeUndefined();
  });
});
