/** The site of the issue (lb, web, db primary + replica, monitoring) as policy inputs. */
import type { PolicyInputs } from '../../../../src/modules/firewall/policy.ts';

export function site(policy: PolicyInputs['policy'] = SITE_POLICY, admin = ['10.77.0.1/32']): PolicyInputs {
  return {
    policy,
    groups: {
      all: ['lb1', 'lb2', 'web1', 'web2', 'db1', 'db2', 'mon1'],
      ungrouped: [],
      lb: ['lb1', 'lb2'],
      web: ['web1', 'web2'],
      db: ['db1', 'db2'],
      db_primary: ['db1'],
      db_replica: ['db2'],
      monitoring: ['mon1'],
    },
    addresses: {
      lb1: '10.77.0.11',
      lb2: '10.77.0.12',
      web1: '10.77.0.21',
      web2: '10.77.0.22',
      db1: '10.77.0.31',
      db2: '10.77.0.32',
      mon1: '10.77.0.41',
    },
    admin,
  };
}

export const SITE_POLICY: PolicyInputs['policy'] = {
  lb: { allow: [{ port: [80, 443], from: 'any' }] },
  web: { allow: [{ port: 8080, from: 'lb' }] },
  db: { allow: [{ port: 3306, from: ['web', 'db'] }] },
  monitoring: { allow: [{ port: 9090, from: 'admin' }] },
  all: {
    allow: [
      { port: 22, from: 'admin' },
      { port: 9100, from: 'monitoring' },
    ],
  },
};
