/**
 * `--shard i/n`: the partition (plan/shard.ts) is a function of the host name and n only, balanced,
 * and moves few hosts when a shard is added; `i/n` is parsed strictly (0-based).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/diagnostic.ts';
import { inShard, parseShard, shardOf } from '../../../src/plan/shard.ts';

const names = Array.from({ length: 1000 }, (_, i) => `web-${String(i).padStart(4, '0')}.dc${i % 3}.example.net`);

/** A deterministic shuffle (so the test does not depend on a random seed). */
function shuffled<T>(xs: readonly T[]): T[] {
  const key = (x: T) => createHash('sha256').update(String(x)).digest('hex');
  return [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

describe('parseShard', () => {
  it('takes 0-based i/n', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(parseShard(' 2 / 10 ')).toEqual({ index: 2, count: 10 });
  });

  it.each([
    ['4/4', 'i must be below n (shards are numbered from 0 to 3)'],
    ['1/0', 'n must be at least 1'],
    ['0/0', 'n must be at least 1'],
    ['-1/4', 'must be i/n with whole numbers'],
    ['1', 'must be i/n with whole numbers'],
    ['a/b', 'must be i/n with whole numbers'],
    ['1.5/4', 'must be i/n with whole numbers'],
    ['', 'must be i/n with whole numbers'],
  ])('refuses %j naming --shard', (v, why) => {
    let err: unknown;
    try {
      parseShard(v);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const d = (err as InputError).diagnostics[0]!;
    expect(d.file).toBe('--shard');
    expect(d.message).toContain(why);
    expect(d.message).toContain(JSON.stringify(v));
  });
});

describe('the partition', () => {
  it('depends on the name and n only: not on the order or the other hosts selected', () => {
    for (const n of [2, 3, 7]) {
      const all = new Map(names.map((h) => [h, shardOf(h, n)]));
      const other = shuffled(names).filter((_, i) => i % 2 === 0); // another order, half the hosts (a --limit)
      for (let i = 0; i < n; i++) for (const h of inShard(other, { index: i, count: n })) expect(all.get(h)).toBe(i);
      // Every selected host is in exactly one shard, and the shards keep the selection's order.
      const parts = Array.from({ length: n }, (_, i) => inShard(other, { index: i, count: n }));
      expect(parts.flat().sort()).toEqual([...other].sort());
      for (const p of parts) expect(p).toEqual(other.filter((h) => p.includes(h)));
    }
  });

  it('one shard is everything', () => {
    expect(inShard(names, { index: 0, count: 1 })).toEqual(names);
    expect(inShard(names, undefined)).toEqual(names);
  });

  it('is balanced over 1,000 names (every shard within 25% of 1000/n for n ≤ 10)', () => {
    for (let n = 2; n <= 10; n++) {
      const sizes = Array.from({ length: n }, () => 0);
      for (const h of names) sizes[shardOf(h, n)]!++;
      const mean = 1000 / n;
      for (const s of sizes) expect(Math.abs(s - mean) / mean).toBeLessThan(0.25);
    }
  });

  it('going from n to n+1 shards moves only the hosts the new shard takes (≈ 1/(n+1)), unlike a hash mod n', () => {
    const modHash = (h: string, n: number) => createHash('sha256').update(h).digest().readUInt32BE(0) % n;
    for (let n = 1; n <= 9; n++) {
      let moved = 0;
      let movedMod = 0;
      for (const h of names) {
        const before = shardOf(h, n);
        const after = shardOf(h, n + 1);
        if (before !== after) {
          moved++;
          // Rendezvous hashing: a host that moves goes to the new shard, never between old ones.
          expect(after).toBe(n);
        }
        if (modHash(h, n) !== modHash(h, n + 1)) movedMod++;
      }
      const ideal = 1000 / (n + 1);
      expect(Math.abs(moved - ideal) / ideal).toBeLessThan(0.3);
      // A hash mod n moves ≈ n/(n+1) of the hosts: far more once n ≥ 2.
      if (n >= 2) expect(movedMod).toBeGreaterThan(1.5 * moved);
    }
  });
});
