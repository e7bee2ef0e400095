// The pq of resPQ: the product of two random primes of about 31 bits, p < q, so that
// pq fits in 63 bits as on Telegram's servers (https://core.telegram.org/mtproto/auth_key).

import { modPow } from './crypto';

// Miller-Rabin with these bases is exact for every n < 3.3 * 10^24 (Sorenson & Webster 2015).
const BASES = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n];

/** Deterministic primality for n < 3.3 * 10^24 (all pq values here are below 2^64). */
export function isPrime(n: bigint): boolean {
  if (n < 2n) return false;
  for (const p of BASES) {
    if (n === p) return true;
    if (n % p === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  outer: for (const a of BASES) {
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

/** A random prime in [2^30, 2^31). */
export function randomPrime31(random: (n: number) => Buffer): bigint {
  for (;;) {
    const v = BigInt((random(4).readUInt32BE(0) & 0x3fffffff) | 0x40000001);
    if (isPrime(v)) return v;
  }
}

export interface Pq {
  p: bigint;
  q: bigint;
  pq: bigint;
}

/** Two distinct random ~31-bit primes, p < q. */
export function randomPq(random: (n: number) => Buffer): Pq {
  for (;;) {
    const a = randomPrime31(random);
    const b = randomPrime31(random);
    if (a === b) continue;
    const [p, q] = a < b ? [a, b] : [b, a];
    return { p, q, pq: p * q };
  }
}

/** A prime near 2^62 (for the bad-pq fault: a pq that has no factors to find). */
export function randomPrime62(random: (n: number) => Buffer): bigint {
  for (;;) {
    const v = random(8).readBigUInt64BE(0) & ((1n << 62n) - 1n);
    const candidate = v | (1n << 61n) | 1n;
    if (isPrime(candidate)) return candidate;
  }
}
