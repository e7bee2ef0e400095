// Diffie-Hellman values of the server side of the key exchange.

import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import { bigFromBytes, bytesFromBig, modPow } from './crypto';

/**
 * The 2048-bit safe prime Telegram's servers use, as in the official example
 * (https://core.telegram.org/mtproto/samples-auth_key, server_DH_inner_data.dh_prime).
 */
export const TELEGRAM_DH_PRIME = Buffer.from(
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4db' +
    'fa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f64' +
    '2477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b41' +
    '0dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4' +
    'e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf' +
    '6f4fadf034b10403119cd8e3b92fcc5b',
  'hex',
);

/** The generator of the official example (g = 3 needs dh_prime mod 3 = 2, which holds). */
export const TELEGRAM_DH_G = 3;

/**
 * For the bad-dh-prime fault: an odd 2048-bit number that passes every cheap check (its
 * size, and dh_prime mod 3 = 2 as g = 3 needs) but is not a prime: the prime plus the
 * smallest multiple of 6 that makes it divisible by 5.
 */
export function fakeDhPrime(prime: Buffer = TELEGRAM_DH_PRIME): Buffer {
  const p = bigFromBytes(prime);
  let k = 1n;
  while ((p + 6n * k) % 5n !== 0n) k++;
  return bytesFromBig(p + 6n * k, 256);
}

/** A value g_a / g_b must lie in: 2^(2048-64) <= v <= dh_prime - 2^(2048-64) (security guidelines). */
export function dhValueInRange(v: bigint, prime: bigint): boolean {
  const margin = 1n << 1984n;
  return v > 1n && v < prime - 1n && v >= margin && v <= prime - margin;
}

/** The server's half of one exchange: its secret a, and g_a. */
export interface DhHalf {
  prime: Buffer;
  g: number;
  gA: Buffer;
  /** g_b^a mod prime, 256 bytes. */
  secret(gB: Buffer): Buffer;
}

// createDiffieHellman checks its prime (about 0.2 s): one object per (prime, g), its
// private key set anew for each exchange (every use is synchronous, so none interleave).
const groups = new Map<string, DiffieHellman | null>();

function group(prime: Buffer, g: number): DiffieHellman | null {
  const id = `${g}:${prime.toString('hex')}`;
  let dh = groups.get(id);
  if (dh === undefined) {
    try {
      dh = createDiffieHellman(prime, Buffer.from([g]));
    } catch {
      // OpenSSL refuses some parameters (the composite prime of a fault): bigint then.
      dh = null;
    }
    groups.set(id, dh);
  }
  return dh;
}

/** a and g_a over node:crypto (OpenSSL) when it takes the parameters, bigint otherwise. */
export function dhHalf(prime: Buffer, g: number, random: (n: number) => Buffer): DhHalf {
  const p = bigFromBytes(prime);
  const dh = group(prime, g);
  for (;;) {
    const a = random(256);
    let gA: Buffer;
    let secret: (gB: Buffer) => Buffer;
    if (dh) {
      dh.setPrivateKey(a);
      gA = bytesFromBig(bigFromBytes(dh.generateKeys()), 256);
      secret = (gB) => {
        dh.setPrivateKey(a);
        return bytesFromBig(bigFromBytes(dh.computeSecret(gB)), 256);
      };
    } else {
      const aNum = bigFromBytes(a);
      gA = bytesFromBig(modPow(BigInt(g), aNum, p), 256);
      secret = (gB) => bytesFromBig(modPow(bigFromBytes(gB), aNum, p), 256);
    }
    // Keep to the range clients check; the loop runs again once in ~2^63 tries.
    if (dhValueInRange(bigFromBytes(gA), p) || p < 1n << 2047n) return { prime, g, gA, secret };
  }
}
