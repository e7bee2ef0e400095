// The client's PQ step takes only what the spec allows: "pq ... is the product of two
// different odd prime numbers" (core.telegram.org/mtproto/auth_key, step 2; issue 12,
// item 10). 2 * q, p^2 and p = 1 (a prime pq) are refused with a typed error.
import test from 'ava';
import { AuthKeyError, AuthKeyExchange, factorizePq, RsaKeyring, TL } from '../bindings';

const NONCE = Buffer.alloc(16, 0x11);

const toBuf = (n: bigint) => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
};

/** The exchange's answer to a resPQ carrying `pq` (fingerprints no key matches). */
function answerTo(pq: bigint): AuthKeyError {
  const ex = new AuthKeyExchange({
    dc: 2,
    keys: RsaKeyring.create([], 'none'),
    random: (n) => (n === 16 ? NONCE : Buffer.alloc(n, 7)),
  });
  ex.start();
  const resPQ = TL.serialize({
    _: 'resPQ',
    nonce: NONCE,
    serverNonce: Buffer.alloc(16, 0x22),
    pq: toBuf(pq),
    serverPublicKeyFingerprints: [1n],
  });
  try {
    ex.receive(resPQ, Date.now());
  } catch (err) {
    return err as AuthKeyError;
  }
  throw new Error('the exchange accepted the answer');
}

// 2^32 - 5 (the largest prime below 2^32) and 2^31 - 1 (Mersenne M31) are prime.
const P32 = 4294967291n;
const M31 = 2147483647n;

test('factorizePq refuses an even factor, equal factors and p = 1, each with its code', (t) => {
  for (const pq of [4n, 6n, 2n * P32, 2n * M31]) {
    t.throws(() => factorizePq(pq), { code: 'ERR_PQ_EVEN_FACTOR' }, `pq = ${pq}`);
  }
  for (const pq of [9n, 25n, P32 * P32, M31 * M31]) {
    t.throws(() => factorizePq(pq), { code: 'ERR_PQ_EQUAL_FACTORS' }, `pq = ${pq}`);
  }
  // p = 1 leaves q = pq, a prime: not a product of two primes.
  t.throws(() => factorizePq(P32), { code: 'ERR_PQ_NOT_SEMIPRIME' });
  t.deepEqual(factorizePq(3n * P32), [3n, P32]);
  t.deepEqual(factorizePq(M31 * P32), [M31, P32]);
});

test('the exchange answers such a resPQ with ERR_AUTH_BAD_PQ, carrying the reason', (t) => {
  for (const [pq, cause] of [
    [2n * P32, 'ERR_PQ_EVEN_FACTOR'],
    [P32 * P32, 'ERR_PQ_EQUAL_FACTORS'],
    [P32, 'ERR_PQ_NOT_SEMIPRIME'],
  ] as const) {
    const err = answerTo(pq);
    t.true(err instanceof AuthKeyError);
    t.is(err.code, 'ERR_AUTH_BAD_PQ', `pq = ${pq}`);
    t.is(err.step, 'req_pq');
    t.is((err.cause as NodeJS.ErrnoException).code, cause);
  }
  // Two different odd primes pass the PQ step (and stop at the unknown fingerprint).
  t.is(answerTo(M31 * P32).code, 'ERR_AUTH_NO_KNOWN_RSA_KEY');
});
