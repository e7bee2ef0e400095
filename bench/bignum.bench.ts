// Big-number work of the handshake: pq factorization against GramJS's
// Factorizator, and 2048-bit modPow (2048-bit exponent) against node:crypto's
// DH (OpenSSL) and GramJS's big-integer, both for g^b (small base) and g_a^b
// (full base). Ratios are against the baseline row measured in the same run.
// big-integer is GramJS's own dependency (installed with `telegram`).
import { createDiffieHellman, generatePrimeSync, randomBytes } from 'node:crypto';
import bigInt from 'big-integer';
import { Factorizator } from 'telegram/crypto/Factorizator';
import { dhPublic, factorizePq, modPow } from '../dist';
import { type Measured, opsPerSecond, report } from './harness';

// The Telegram DH prime (g = 3).
const DH_PRIME = Buffer.from(
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b',
  'hex',
);

/**
 * 63-bit pq = p·q with p a random 31-bit and q a random 32-bit prime (OpenSSL
 * sets a prime's top two bits, so the product is always 63 bits).
 */
function samplePqs(count: number): bigint[] {
  return Array.from({ length: count }, () => {
    const pq = generatePrimeSync(31, { bigint: true }) * generatePrimeSync(32, { bigint: true });
    if (pq >> 62n !== 1n) throw new Error('pq is not 63 bits');
    return pq;
  });
}

/** Median and p90 time in milliseconds of `fn` over `inputs`, one call each. */
function timings<T>(inputs: T[], fn: (x: T) => void): { median: number; p90: number } {
  const times = inputs.map((x) => {
    const start = performance.now();
    fn(x);
    return performance.now() - start;
  });
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], p90: times[Math.floor(times.length * 0.9)] };
}

function benchPq(): void {
  const pqs = samplePqs(400);
  // Warm up both, then time each pq once (a median over many pq: the work
  // varies a lot from one pq to the next).
  for (const pq of pqs.slice(0, 20)) factorizePq(pq);
  const native = timings(pqs, (pq) => {
    const [p, q] = factorizePq(pq);
    if (p * q !== pq) throw new Error('bad factorization');
  });
  const gramPqs = pqs.slice(0, 40);
  const gram = timings(gramPqs, (pq) => {
    const { p, q } = Factorizator.factorize(bigInt(pq));
    if (BigInt(p.multiply(q).toString()) !== pq) throw new Error('bad factorization');
  });
  console.log('\nfactorizePq, 63-bit pq (median / p90 per call)');
  console.log(
    `  telegram-mt factorizePq (${pqs.length} pq)       ${native.median.toFixed(3)} ms / ${native.p90.toFixed(3)} ms  ` +
      `${(gram.median / native.median).toFixed(1)}x faster than GramJS (median)`,
  );
  console.log(
    `  GramJS Factorizator (${gramPqs.length} pq)             ${gram.median.toFixed(3)} ms / ${gram.p90.toFixed(3)} ms`,
  );
}

function benchModPow(): void {
  const exp = randomBytes(256);
  exp[0] |= 0x80; // a full 2048-bit exponent
  const g = Buffer.from([3]);
  const dh = createDiffieHellman(DH_PRIME, g);
  const bigExp = bigInt(exp.toString('hex'), 16);
  const bigMod = bigInt(DH_PRIME.toString('hex'), 16);
  // g^b: what node's generateKeys computes; all three must agree.
  dh.setPrivateKey(exp);
  const gB = dh.generateKeys();
  const want = gB.toString('hex').padStart(512, '0');
  if (modPow(g, exp, DH_PRIME).toString('hex') !== want) throw new Error('modPow disagrees with node');
  if (dhPublic(3, DH_PRIME, exp).toString('hex') !== want) throw new Error('dhPublic disagrees with node');
  if (bigInt(3).modPow(bigExp, bigMod).toString(16).padStart(512, '0') !== want) {
    throw new Error('big-integer disagrees with node');
  }
  const small: Measured[] = [
    {
      name: 'node:crypto DH generateKeys',
      opsPerSec: opsPerSecond(() => {
        dh.setPrivateKey(exp);
        dh.generateKeys();
      }, 1500),
    },
    { name: 'telegram-mt modPow', opsPerSec: opsPerSecond(() => modPow(g, exp, DH_PRIME), 1500) },
    {
      name: 'GramJS big-integer modPow',
      opsPerSec: opsPerSecond(() => bigInt(3).modPow(bigExp, bigMod), 1500),
    },
    // The fixed-base table (built by the check call above) is what the handshake uses for g^b.
    {
      name: 'telegram-mt dhPublic (fixed base)',
      opsPerSec: opsPerSecond(() => dhPublic(3, DH_PRIME, exp), 1500),
    },
  ];
  report('modPow g^b mod p, g = 3, 2048-bit p and b', small, 'node:crypto DH generateKeys');
  perCall(small);
  perCall([small[0], small[3]]);

  // g_a^b with a full-size base (the auth key): node's computeSecret.
  const gA = Buffer.from(gB);
  const secret = dh.computeSecret(gA).toString('hex').padStart(512, '0');
  if (modPow(gA, exp, DH_PRIME).toString('hex') !== secret) throw new Error('modPow disagrees with node');
  const bigGA = bigInt(gA.toString('hex'), 16);
  const full: Measured[] = [
    { name: 'node:crypto DH computeSecret', opsPerSec: opsPerSecond(() => dh.computeSecret(gA), 1500) },
    { name: 'telegram-mt modPow', opsPerSec: opsPerSecond(() => modPow(gA, exp, DH_PRIME), 1500) },
    {
      name: 'GramJS big-integer modPow',
      opsPerSec: opsPerSecond(() => bigGA.modPow(bigExp, bigMod), 1500),
    },
  ];
  report('modPow g_a^b mod p, 2048-bit base, p and b', full, 'node:crypto DH computeSecret');
  perCall(full);
}

function perCall([node, native]: Measured[]): void {
  console.log(
    `  per call: node ${(1000 / node.opsPerSec).toFixed(3)} ms, telegram-mt ${(1000 / native.opsPerSec).toFixed(3)} ms ` +
      `(${(node.opsPerSec / native.opsPerSec).toFixed(2)}x node's time)`,
  );
}

export async function run(): Promise<void> {
  benchPq();
  benchModPow();
}
