import { describe, expect, it } from 'vitest';
import { resolveHost, validatePolicy } from '../../src/modules/firewall/policy.ts';
import { loadRoleYaml, roleValidator } from '../helpers/roles.ts';
import { site } from '../unit/modules/firewall/fixtures.ts';

describe('firewall role', () => {
  it('the default policy is valid for the site and opens what the site roles listen on', () => {
    const policy = loadRoleYaml('firewall', 'defaults/main.yml').firewall_policy as Parameters<typeof site>[0];
    expect(validatePolicy(site(policy))).toEqual([]);
    const ports = (h: string) =>
      resolveHost(h, site(policy)).inbound.map((r) => `${r.proto === 'vrrp' ? 'vrrp' : r.ports.join(',')}<${r.v4?.join(' ') ?? 'any'}`);
    // VRRP (keepalived's floating address) only between the load balancers.
    expect(ports('lb1')).toEqual([
      '80,443<any',
      '8405<10.77.0.41/32',
      'vrrp<10.77.0.11/32 10.77.0.12/32',
      '22<10.77.0.1/32',
      '9100<10.77.0.41/32',
    ]);
    expect(ports('web1')).toEqual([
      '8080<10.77.0.11/32 10.77.0.12/32',
      '9113<10.77.0.41/32',
      '3903<10.77.0.41/32',
      '22<10.77.0.1/32',
      '9100<10.77.0.41/32',
    ]);
    // MariaDB: every db host from the web tier and from the db tier (replication: any db host may
    // be the writer after a switchover or failover, docs/database-failover.md).
    for (const h of ['db1', 'db2'])
      expect(ports(h), h).toEqual([
        '3306<10.77.0.21/32 10.77.0.22/32',
        '3306<10.77.0.31/32 10.77.0.32/32',
        '22<10.77.0.1/32',
        '9100<10.77.0.41/32',
      ]);
    expect(ports('mon1')).toEqual(['9090<10.77.0.1/32', '22<10.77.0.1/32', '9100<10.77.0.41/32']);
  });

  it('the schema rejects misspelled rule keys and bad backends (located at the variable by kiln validate)', () => {
    const v = roleValidator('firewall');
    expect(v({ firewall_policy: { db: { allow: [{ port: 3306, form: 'web' }] } } })).toBe(false);
    expect(v({ firewall_policy: { db: { alow: [] } } })).toBe(false);
    expect(v({ firewall_backend: 'pf' })).toBe(false);
    expect(v({ firewall_rollback_seconds: 2 })).toBe(false);
    expect(
      v({
        firewall_policy: { db: { allow: [{ port: [3306, '4000-4010'], proto: 'tcp', from: ['web', '10.0.0.0/8'] }] } },
        firewall_backend: 'iptables',
      }),
    ).toBe(true);
  });
});
