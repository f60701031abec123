/**
 * Python's `random.Random` (Mersenne Twister MT19937 with CPython's seeding), so that seeded
 * filters give Ansible's exact results: `{{ 59 | random(seed=inventory_hostname) }}` picks the
 * same minute as Ansible does for that host, and `shuffle(seed=…)` the same order. Unseeded use
 * (Python's SystemRandom) draws from the OS's secure generator.
 */
import { createHash, randomInt } from 'node:crypto';
import { PyError, typeName } from '../jinja/value.ts';

const N = 624;
const M = 397;

export interface RandomSource {
  /** A uniformly random integer in [0, n). */
  below(n: bigint): bigint;
}

export class PyRandom implements RandomSource {
  private mt = new Uint32Array(N);
  private mti = N + 1;

  /** Random(seed): an int (its absolute value) or a str (seeded with its UTF-8 bytes and their SHA-512, version 2). */
  constructor(seed: unknown) {
    let key: bigint;
    if (typeof seed === 'string') {
      const bytes = Buffer.from(seed, 'utf8');
      const all = Buffer.concat([bytes, createHash('sha512').update(bytes).digest()]);
      key = all.length ? BigInt(`0x${all.toString('hex')}`) : 0n;
    } else if (typeof seed === 'boolean') key = seed ? 1n : 0n;
    else if (typeof seed === 'bigint' || (typeof seed === 'number' && Number.isInteger(seed))) {
      key = BigInt(seed);
      if (key < 0n) key = -key;
    } else {
      throw new PyError(
        'NotSupported',
        `seeding Python's random with a ${typeName(seed)} (hash-based) is not supported by Kiln; use an int or a str`,
      );
    }
    const words: number[] = [];
    while (key > 0n) {
      words.push(Number(key & 0xffffffffn));
      key >>= 32n;
    }
    if (!words.length) words.push(0);
    this.initByArray(words);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  private genrand(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      const mag = (y: number) => (y & 1 ? 0x9908b0df : 0);
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ mag(y);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ mag(y);
      }
      const y = (mt[N - 1]! & 0x80000000) | (mt[0]! & 0x7fffffff);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ mag(y);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** getrandbits(k). */
  getrandbits(k: number): bigint {
    if (k <= 32) return BigInt(this.genrand() >>> (32 - k));
    let out = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32) {
      let r = this.genrand();
      if (left < 32) r >>>= 32 - left;
      out |= BigInt(r) << shift;
      shift += 32n;
    }
    return out;
  }

  /** _randbelow_with_getrandbits(n). */
  below(n: bigint): bigint {
    if (n <= 0n) return 0n;
    const k = n.toString(2).length;
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }
}

/** SystemRandom: the OS's secure generator. */
export const systemRandom: RandomSource = {
  below(n: bigint): bigint {
    if (n <= 0n) return 0n;
    if (n <= 2n ** 48n) return BigInt(randomInt(Number(n)));
    const k = n.toString(2).length;
    for (;;) {
      const bytes = Buffer.alloc(Math.ceil(k / 8));
      for (let i = 0; i < bytes.length; i++) bytes[i] = randomInt(256);
      const r = BigInt(`0x${bytes.toString('hex')}`) >> BigInt(bytes.length * 8 - k);
      if (r < n) return r;
    }
  },
};

/** random.randrange(start, stop, step) (Python 3.11). */
export function randrange(r: RandomSource, start: bigint, stop: bigint, step: bigint): bigint {
  const width = stop - start;
  if (step === 1n) {
    if (width > 0n) return start + r.below(width);
    throw new PyError('ValueError', `empty range for randrange() (${start}, ${stop}, ${width})`);
  }
  if (step === 0n) throw new PyError('ValueError', 'zero step for randrange()');
  const n = step > 0n ? (width + step - 1n) / step : (width + step + 1n) / step;
  if (n <= 0n) throw new PyError('ValueError', 'empty range for randrange()');
  return start + step * r.below(n);
}

/** random.shuffle(x) in place. */
export function shuffle<T>(r: RandomSource, x: T[]): T[] {
  for (let i = x.length - 1; i > 0; i--) {
    const j = Number(r.below(BigInt(i + 1)));
    [x[i], x[j]] = [x[j]!, x[i]!];
  }
  return x;
}
