/** Inventory resource limits (issue 15, item 7): refused before expansion, located, fast. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../../src/core/limits.ts';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { expandHostRange, hostRangeCount, HostRangeError } from '../../../../src/input/inventory/ranges.ts';
import { inputErrors, tmpTree } from './helpers.ts';

describe('host range limits', () => {
  it('counts without expanding, and expands the same product as before', () => {
    expect(hostRangeCount('h[0:99999]-[0:99999]')).toBe(10_000_000_000);
    expect(hostRangeCount('n[0:9:3]x[a:c]')).toBe(12);
    expect(expandHostRange('n[0:9:3]x[a:b]')).toEqual(['n0xa', 'n0xb', 'n3xa', 'n3xb', 'n6xa', 'n6xb', 'n9xa', 'n9xb']);
    expect(expandHostRange(`w[1:${LIMITS.hostsPerPattern}]`)).toHaveLength(LIMITS.hostsPerPattern);
  });

  it('refuses a pattern past the per-pattern limit at its first range, without expanding it', () => {
    const t0 = performance.now();
    let caught: unknown;
    try {
      expandHostRange('h[0:99999]-[0:99999]');
    } catch (err) {
      caught = err;
    }
    expect(performance.now() - t0).toBeLessThan(1000); // expanding 10^10 names would never end
    expect(caught).toBeInstanceOf(HostRangeError);
    expect((caught as HostRangeError).offset).toBe(1);
    expect((caught as HostRangeError).message).toBe(
      "host range 'h[0:99999]-[0:99999]' expands to 10,000,000,000 hosts: more than Kiln's limit of 10,000 per pattern",
    );
    expect(() => expandHostRange(`w[0:${LIMITS.hostsPerPattern}]`)).toThrow('expands to 10,001 hosts');
  });

  it('INI and YAML inventories report the range at file:line:col', () => {
    const dir = tmpTree({
      'hosts.ini': '[web]\nok1\n  h[0:99999]-[0:99999] port=22\n',
      'hosts.yml': 'all:\n  hosts:\n    "db-[a:z][0:999]":\n',
    });
    const t0 = performance.now();
    const ini = inputErrors(() => loadInventory([join(dir, 'hosts.ini')]));
    const yml = inputErrors(() => loadInventory([join(dir, 'hosts.yml')]));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(ini.map((d) => [d.line, d.col, d.message])).toEqual([
      [3, 4, "host range 'h[0:99999]-[0:99999]' expands to 10,000,000,000 hosts: more than Kiln's limit of 10,000 per pattern"],
    ]);
    expect(yml.map((d) => [d.line, d.col, d.message])).toEqual([
      [3, 8, "host range 'db-[a:z][0:999]' expands to 26,000 hosts: more than Kiln's limit of 10,000 per pattern"],
    ]);
  });

  it('refuses an inventory past the total host limit at the pattern that crosses it', () => {
    const per = LIMITS.hostsPerPattern;
    const lines = Array.from({ length: LIMITS.hostsTotal / per + 1 }, (_, i) => `g${i}-[1:${per}]`);
    const dir = tmpTree({ 'hosts.ini': `[web]\n${lines.join('\n')}\n` });
    const errs = inputErrors(() => loadInventory([join(dir, 'hosts.ini')]));
    expect(errs.map((d) => [d.line, d.col, d.message])).toEqual([
      [
        lines.length + 1,
        1,
        `the inventory would hold ${(LIMITS.hostsTotal + per).toLocaleString('en-US')} hosts: more than Kiln's limit of ${LIMITS.hostsTotal.toLocaleString('en-US')}`,
      ],
    ]);
    // Exactly at the limit is fine, and a host named twice counts once.
    writeFileSync(join(dir, 'ok.ini'), `[web]\n${lines.slice(0, -1).join('\n')}\n[db]\ng0-[1:${per}]\n`);
    expect(loadInventory([join(dir, 'ok.ini')]).inventory.hosts.size).toBe(LIMITS.hostsTotal);
  });
});

describe('inventory file limits and encodings', () => {
  it('refuses an inventory file past the size limit before reading it', () => {
    const dir = tmpTree({ 'hosts.ini': `[web]\nw1\n#${'x'.repeat(LIMITS.inputBytes)}\n` });
    const errs = inputErrors(() => loadInventory([join(dir, 'hosts.ini')]));
    expect(errs).toHaveLength(1);
    expect([errs[0]!.line, errs[0]!.col]).toEqual([1, 1]);
    expect(errs[0]!.message).toMatch(
      /^file is 1\.0 MiB \(\d+ bytes\): larger than Kiln's input limit of 1\.0 MiB \(set KILN_MAX_INPUT_BYTES to raise it\)$/,
    );
  });

  it('reads an INI inventory that starts with a UTF-8 byte-order mark; refuses UTF-16', () => {
    const dir = tmpTree({});
    writeFileSync(join(dir, 'bom.ini'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[web]\nw1 port=2222\n')]));
    const inv = loadInventory([join(dir, 'bom.ini')]).inventory;
    expect([...inv.hosts.keys()]).toEqual(['w1']);
    expect(inv.groups.get('web')?.hosts).toEqual(['w1']);
    writeFileSync(join(dir, 'u16.ini'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[web]\nw1\n', 'utf16le')]));
    const errs = inputErrors(() => loadInventory([join(dir, 'u16.ini')]));
    expect(errs.map((d) => [d.line, d.col, d.message])).toEqual([
      [1, 1, 'file is encoded as UTF-16 (it starts with a UTF-16 byte-order mark): Kiln, like Ansible, reads UTF-8 only'],
    ]);
  });
});
