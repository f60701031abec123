import { describe, expect, it } from 'vitest';
import { mirrorKey, mirrorPackageList } from '../../../src/lab/mirror.ts';
import { MIRROR_PACKAGES } from '../../../src/lab/packages.ts';

describe('lab mirror: package list and cache key', () => {
  const base = { key: '0123456789abcdef' };

  it('adds the extra packages after the built-in ones, without duplicates', () => {
    const list = mirrorPackageList(['apache2', 'nginx', 'apache2']);
    expect(list.slice(0, new Set(MIRROR_PACKAGES).size)).toEqual([...new Set(MIRROR_PACKAGES)]);
    expect(list.filter((p) => p === 'nginx')).toHaveLength(1);
    expect(list.at(-1)).toBe('apache2');
  });

  it('the key depends on the package list (order-insensitive), and extra packages already built in change nothing', () => {
    expect(mirrorKey(base, [])).toBe(mirrorKey(base));
    expect(mirrorKey(base, ['nginx'])).toBe(mirrorKey(base)); // nginx is built in
    expect(mirrorKey(base, ['apache2', 'redis-server'])).toBe(mirrorKey(base, ['redis-server', 'apache2']));
    expect(mirrorKey(base, ['apache2'])).not.toBe(mirrorKey(base));
    expect(mirrorKey({ key: 'fedcba9876543210' }, ['apache2'])).not.toBe(mirrorKey(base, ['apache2']));
    expect(mirrorKey(base)).toMatch(/^[0-9a-f]{16}$/);
  });
});
