/**
 * The crypt(3) password hashes Ansible's `password_hash` produces through passlib:
 * sha512_crypt (`$6$`), sha256_crypt (`$5$`) — Ulrich Drepper's SHA-crypt — and md5_crypt (`$1$`),
 * with passlib's salt and rounds rules (an explicit salt gives the same hash as Ansible).
 */
import { createHash, hash, randomInt } from 'node:crypto';
import { PyError } from '../jinja/value.ts';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

export interface CryptAlgo {
  name: string;
  id: string;
  maxSalt: number;
  /** passlib's default rounds (what Ansible passes when none is given), or null when the hash has none. */
  defaultRounds: number | null;
  minRounds: number;
  maxRounds: number;
}

export const CRYPT_ALGOS: Record<string, CryptAlgo> = {
  sha512_crypt: { name: 'sha512_crypt', id: '6', maxSalt: 16, defaultRounds: 656000, minRounds: 1000, maxRounds: 999999999 },
  sha256_crypt: { name: 'sha256_crypt', id: '5', maxSalt: 16, defaultRounds: 535000, minRounds: 1000, maxRounds: 999999999 },
  md5_crypt: { name: 'md5_crypt', id: '1', maxSalt: 8, defaultRounds: null, minRounds: 0, maxRounds: 0 },
};

/** A random salt from the crypt alphabet (passlib's genseed, via the OS generator). */
export function randomSalt(size: number): string {
  let out = '';
  for (let i = 0; i < size; i++) out += B64[randomInt(64)];
  return out;
}

function shaCrypt(algo: 'sha256' | 'sha512', key: Buffer, salt: Buffer, rounds: number): Buffer {
  const len = algo === 'sha512' ? 64 : 32;
  const h = (...parts: Buffer[]) => {
    const x = createHash(algo);
    for (const p of parts) x.update(p);
    return x.digest();
  };
  const B = h(key, salt, key);
  const a = createHash(algo).update(key).update(salt);
  let n = key.length;
  for (; n > len; n -= len) a.update(B);
  a.update(B.subarray(0, n));
  for (let i = key.length; i > 0; i >>= 1) a.update(i & 1 ? B : key);
  const A = a.digest();
  const dp = createHash(algo);
  for (let i = 0; i < key.length; i++) dp.update(key);
  const DP = dp.digest();
  const P = Buffer.alloc(key.length);
  for (let i = 0; i < key.length; i += len) DP.copy(P, i, 0, Math.min(len, key.length - i));
  const ds = createHash(algo);
  for (let i = 0; i < 16 + A[0]!; i++) ds.update(salt);
  const DS = ds.digest();
  const S = Buffer.alloc(salt.length);
  for (let i = 0; i < salt.length; i += len) DS.copy(S, i, 0, Math.min(len, salt.length - i));
  let C = A;
  // crypto.hash (one call per round, no Hash object) is what keeps 656000 rounds near two seconds.
  for (let r = 0; r < rounds; r++) {
    const parts = [r & 1 ? P : C];
    if (r % 3) parts.push(S);
    if (r % 7) parts.push(P);
    parts.push(r & 1 ? C : P);
    C = hash(algo, Buffer.concat(parts), 'buffer');
  }
  return C;
}

function encodeSha512(C: Buffer): string {
  const order = [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
  ];
  return order.map(([x, y, z]) => b64From24(C[x!]!, C[y!]!, C[z!]!, 4)).join('') + b64From24(0, 0, C[63]!, 2);
}

function encodeSha256(C: Buffer): string {
  const order = [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
  ];
  return order.map(([x, y, z]) => b64From24(C[x!]!, C[y!]!, C[z!]!, 4)).join('') + b64From24(0, C[31]!, C[30]!, 3);
}

function md5Crypt(key: Buffer, salt: Buffer): string {
  const magic = Buffer.from('$1$');
  const B = createHash('md5').update(key).update(salt).update(key).digest();
  const a = createHash('md5').update(key).update(magic).update(salt);
  for (let n = key.length; n > 0; n -= 16) a.update(B.subarray(0, Math.min(16, n)));
  for (let i = key.length; i; i >>= 1) a.update(i & 1 ? Buffer.from([0]) : key.subarray(0, 1));
  let C = a.digest();
  for (let r = 0; r < 1000; r++) {
    const c = createHash('md5');
    c.update(r & 1 ? key : C);
    if (r % 3) c.update(salt);
    if (r % 7) c.update(key);
    c.update(r & 1 ? C : key);
    C = c.digest();
  }
  const order = [
    [0, 6, 12],
    [1, 7, 13],
    [2, 8, 14],
    [3, 9, 15],
    [4, 10, 5],
  ];
  return order.map(([x, y, z]) => b64From24(C[x!]!, C[y!]!, C[z!]!, 4)).join('') + b64From24(0, 0, C[11]!, 2);
}

/** passlib's `<algo>.using(salt=…, rounds=…).hash(secret)`. */
export function cryptHash(algo: CryptAlgo, secret: string, salt: string, rounds: number | null): string {
  if (/[^./0-9A-Za-z]/.test(salt)) throw new PyError('ValueError', `invalid characters in ${algo.name} salt`);
  if (salt.length > algo.maxSalt) throw new PyError('ValueError', `salt too large (${algo.name} requires <= ${algo.maxSalt} chars)`);
  const key = Buffer.from(secret, 'utf8');
  const saltBuf = Buffer.from(salt, 'ascii');
  if (algo.id === '1') {
    if (rounds !== null) throw new PyError('TypeError', `${algo.name} does not support rounds`);
    return `$1$${salt}$${md5Crypt(key, saltBuf)}`;
  }
  const r = rounds ?? 5000;
  if (r < algo.minRounds) throw new PyError('ValueError', `${algo.name}: rounds (${r}) below min_rounds (${algo.minRounds})`);
  if (r > algo.maxRounds) throw new PyError('ValueError', `${algo.name}: rounds (${r}) above max_rounds (${algo.maxRounds})`);
  const C = shaCrypt(algo.id === '6' ? 'sha512' : 'sha256', key, saltBuf, r);
  const encoded = algo.id === '6' ? encodeSha512(C) : encodeSha256(C);
  return `$${algo.id}$${r === 5000 ? '' : `rounds=${r}$`}${salt}$${encoded}`;
}
