/**
 * `--shard i/n`: a stable partition of a run's selected hosts among n controllers (README,
 * Performance; docs/cli.md, Sharding). Shard indexes are 0-based, as a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX and a GitHub Actions matrix of `[0, 1, …]` give them.
 *
 * A host's shard depends only on its inventory name and n — rendezvous (highest random weight)
 * hashing: the host goes to the shard j whose weight w(name, j) is the highest. So every controller
 * computes the same split on its own, whatever the inventory's order or the `--limit`, and going
 * from n to n+1 shards moves only the hosts the new shard wins (≈ 1/(n+1) of them; a hash mod n
 * would move ≈ n/(n+1)). test/unit/shard.test.ts measures balance and movement.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../core/diagnostic.ts';

export interface Shard {
  /** 0-based: 0 ≤ index < count. */
  index: number;
  count: number;
}

/** Parses `i/n` (0 ≤ i < n, n ≥ 1, whole numbers); anything else is an input error naming `--shard`. */
export function parseShard(value: string): Shard {
  const m = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/.exec(value);
  const bad = (why: string) =>
    new InputError({ file: '--shard', message: `${why}, got ${JSON.stringify(value)} (i/n: shard i of n, 0-based: 0 ≤ i < n)` });
  if (!m) throw bad('must be i/n with whole numbers');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw bad('n must be at least 1');
  if (index >= count) throw bad(`i must be below n (shards are numbered from 0 to ${count - 1})`);
  return { index, count };
}

/** murmur3's 32-bit finalizer: a bijection of 32-bit integers that mixes every bit into every other. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard (0 … count-1) of an inventory host name: the shard j with the highest weight, a
 * weight being a mix of the name's sha256 (hashed once) with j. Ties go to the lower index, so the
 * result is a function of (name, count) only, the same on every controller.
 */
export function shardOf(name: string, count: number): number {
  if (count <= 1) return 0;
  const d = createHash('sha256').update(name).digest();
  const a = d.readUInt32BE(0);
  const b = d.readUInt32BE(4);
  let best = 0;
  let bestW = -1;
  for (let j = 0; j < count; j++) {
    const w = fmix32(a ^ fmix32((Math.imul(j + 1, 0x9e3779b9) ^ b) >>> 0));
    if (w > bestW) {
      best = j;
      bestW = w;
    }
  }
  return best;
}

/** The hosts of `hosts` that fall in `shard`, in their order; all of them without a shard. */
export function inShard(hosts: readonly string[], shard: Shard | undefined): string[] {
  if (!shard) return [...hosts];
  return hosts.filter((h) => shardOf(h, shard.count) === shard.index);
}

export const formatShard = (s: Shard) => `${s.index}/${s.count}`;
