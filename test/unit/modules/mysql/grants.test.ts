import { describe, expect, it } from 'vitest';
import {
  formatPrivs,
  normalizeObject,
  normalizePriv,
  objectSql,
  parseShowGrants,
  parseWantedPrivs,
} from '../../../../src/modules/mysql/grants.ts';

// SHOW GRANTS as MariaDB 10.11 printed it on the lab (IDENTIFIED … cut off by the probe's sed).
const SHOWN = [
  'GRANT RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u1`@`10.77.0.%`',
  'GRANT ALL PRIVILEGES ON `t1`.* TO `u1`@`10.77.0.%` WITH GRANT OPTION',
  'GRANT SELECT (`a`, `b`), UPDATE (`a`) ON `t1`.`x` TO `u1`@`10.77.0.%`',
];

describe('privilege normalization', () => {
  it('names, aliases and column lists', () => {
    expect(normalizePriv('all')).toBe('ALL PRIVILEGES');
    expect(normalizePriv('replication client')).toBe('BINLOG MONITOR');
    expect(normalizePriv('SELECT (`b`, a)')).toBe('SELECT (a, b)');
    expect(normalizePriv('  show   view ')).toBe('SHOW VIEW');
  });
  it('objects lose their quoting', () => {
    expect(normalizeObject('`app`.*')).toBe('app.*');
    expect(normalizeObject('app.*')).toBe('app.*');
    expect(normalizeObject('*.*')).toBe('*.*');
    expect(normalizeObject('`a``b`.`t`')).toBe('a`b.t');
    expect(normalizeObject('app')).toBe('app.*');
    expect(objectSql('app.*')).toBe('`app`.*');
    expect(objectSql('*.*')).toBe('*.*');
    expect(objectSql('a`b.t')).toBe('`a``b`.`t`');
  });
  it('SHOW GRANTS and the wanted form compare equal when they mean the same', () => {
    const have = parseShowGrants(SHOWN);
    const want = parseWantedPrivs('*.*:REPLICATION CLIENT,reload,REPLICATION SLAVE/t1.*:ALL,GRANT/t1.x:UPDATE (a),SELECT (b, a)');
    expect(want).toEqual(have);
    expect(formatPrivs(have['*.*'])).toBe('BINLOG MONITOR, RELOAD, REPLICATION SLAVE');
    expect(formatPrivs(have['t1.*'])).toBe('ALL PRIVILEGES WITH GRANT OPTION');
    expect(formatPrivs(have['t1.x'])).toBe('SELECT (a, b), UPDATE (a)');
  });
  it('the mapping form, USAGE, PROXY and role grants', () => {
    expect(parseWantedPrivs({ '`app`.*': ['select', 'insert'], '*.*': 'USAGE' })).toEqual({
      'app.*': { privs: ['INSERT', 'SELECT'], grant: false },
    });
    expect(
      parseShowGrants([
        'GRANT USAGE ON *.* TO `app`@`%`',
        'GRANT PROXY ON ``@`%` TO `root`@`localhost` WITH GRANT OPTION',
        'GRANT `reader` TO `app`@`%`',
        "GRANT SELECT ON `app`.* TO 'app'@'%'",
      ]),
    ).toEqual({ 'app.*': { privs: ['SELECT'], grant: false } });
  });
  it('rejects a malformed wanted privilege', () => {
    expect(() => parseWantedPrivs('app.*')).toThrow(/db.table:PRIV/);
  });
});
