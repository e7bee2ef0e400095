// The big-number core against independent references: JS bigint, node:crypto
// (DH, RSA with no padding, prime generation), GramJS's key table, and the
// official MTProto auth-key sample.
import {
  checkPrimeSync,
  constants,
  createDecipheriv,
  createDiffieHellman,
  createHash,
  generateKeyPairSync,
  generatePrimeSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  checkDhParams,
  checkDhValue,
  dhPublic,
  factorizePq,
  modPow,
  rsaFingerprint,
  rsaLegacyDecrypt,
  rsaLegacyEncrypt,
  rsaPadDecrypt,
  rsaPadEncrypt,
} from '../bindings';

const toBig = (b: Uint8Array): bigint =>
  b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
const toBuf = (x: bigint, len: number): Buffer => Buffer.from(x.toString(16).padStart(len * 2, '0'), 'hex');

/** Reference: right-to-left square-and-multiply on JS bigint. */
function refModPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n % mod;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return undefined;
}

// The Telegram DH prime and the official sample 2025-10
// (core.telegram.org/mtproto/samples-auth_key via the telegram-crawler archive;
// vectors/mtproto-auth-sample.json).
const DH_PRIME = Buffer.from(
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b',
  'hex',
);
const SAMPLE_G_A = Buffer.from(
  '5c0fe3fd6f85a54d44dc3e0c5076323491c22a14780d5539b7e0b169a98f9a726d298f2f598535bb15c463ae3e71b7322741177ea2ea6296f007aae947a9837b315077732cc4272497f728255bd77eb7330c26832b7b50b0901565d65bd4223496d34fddf839b8f5be2055e71324f3a7a3b1b214564148113db276b27866eb0c3791ecfebaaa6e2f3fbd91de2733faf34afe20c7b1192b3ed9e13b3d792bd70358d2581bd57e89f426308516eb7f013b5e5b6e25b07c852615b1c237b027950d1c297689e0c16ad846fae4b6aac224a74f96a4e3d4e40c38cd93b22d475b960fdac852e9952b6a25accc0f0179139968579a80a91729f7c23ab18b89f64e84bd',
  'hex',
);
const SAMPLE_B = Buffer.from(
  '1eb6c0a3f02e68fb3eff3acc1b6b30d75bc1075aed0203c0766fa5a77694b291585d6923d80faddd62c2a54c269bcbac9eedef0a02468a89a89c7078fbd3fecc3819e1ed99853dd3fb985d358ea4df1c67c8b3f6310f770a380236959048e7260189cb654af4015b1af90b78715b7c2d39f3e9b7ca557395cb1808ba1ac157df864775a14b0a698bf67802e3e12c2c01285dbbbeb32f26d6822c59d5f07a41d311d9e8596ea59fa06067175471fab434d8aa803c4f0ebd0af48f60095cead6a6374cb6bfc782c62e7ccdbf769d09f67a79b03df34bbe305b323486c478e48fbe55d375dae85469c7999eb9364413850b2566c3bb436193373402938d58d3c93c',
  'hex',
);
const SAMPLE_AUTH_KEY_HEAD = '871f0328064f71fe1a23c05f5d5b0fe4';
const SAMPLE_G_B =
  '537b34cf2aa33cdf4680d880407d2f0524da4b23215511fe6e4520bbb200cf9c9c889096151b76f8edbf43e46b1b80e09c333f35960718c792019a342470ff59eee7400a15b66d1ecf58f2f934de6b453136fd00f9dfdd9e488666bd1327ca0194ab025e2c9da409d5c39d04f8e71df3cd492c74bdecf57e414778811ba2a1fbfbae91bbf26dc8355f1d0c30275c8bf52067fdc3ced5bd3391c57db284d1ee070988b35911297dc2d3f336a62f2e1341e5433f97ab5bfeca4db5863bfea0c3e1ae004cf08a4436352a540014065dbd6005e6749b0b2dc2c0d7dfb9981d6779b8064a317dd4015c598259a0cd31f7dff108ddf48a423d408474e7ce1f0f12bb88';

// ---------------------------------------------------------------- modPow

test('dhPublic: the official sample g_b = 3^b mod dh_prime', (t) => {
  t.is(dhPublic(3, DH_PRIME, SAMPLE_B).toString('hex'), SAMPLE_G_B);
  t.is(modPow(Buffer.of(3), SAMPLE_B, DH_PRIME).toString('hex'), SAMPLE_G_B);
});

test('dhPublic equals modPow and a bigint reference for random b, g = 2..7 (Telegram prime)', (t) => {
  const p = toBig(DH_PRIME);
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 7 }), fc.uint8Array({ minLength: 0, maxLength: 300 }), (g, b) => {
      const got = dhPublic(g, DH_PRIME, Buffer.from(b));
      t.true(got.equals(modPow(Buffer.of(g), Buffer.from(b), DH_PRIME)));
      t.is(toBig(got), refModPow(BigInt(g), toBig(b), p));
    }),
    { numRuns: 60 },
  );
});

test('dhPublic on other odd moduli (every kernel width, padding like modPow)', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      fc.uint8Array({ minLength: 0, maxLength: 80 }),
      (g, mod, b) => {
        const m = Buffer.from(mod);
        m[m.length - 1] |= 1;
        const got = dhPublic(g, m, Buffer.from(b));
        t.true(got.equals(modPow(toBuf(BigInt(g), 4), Buffer.from(b), m)));
        t.is(toBig(got), refModPow(BigInt(g), toBig(b), toBig(m)));
      },
    ),
    { numRuns: 150 },
  );
});

test('dhPublic rejects even and zero moduli', (t) => {
  t.is(
    codeOf(() => dhPublic(3, Buffer.of(0x10, 0x00), Buffer.of(5))),
    'ERR_BIGNUM_EVEN_MODULUS',
  );
  t.is(
    codeOf(() => dhPublic(3, Buffer.of(0, 0), Buffer.of(5))),
    'ERR_BIGNUM_ZERO_MODULUS',
  );
});

test('modPow: the official sample auth_key = g_a^b mod dh_prime', (t) => {
  const authKey = modPow(SAMPLE_G_A, SAMPLE_B, DH_PRIME);
  t.is(authKey.length, 256);
  t.is(authKey.subarray(0, 16).toString('hex'), SAMPLE_AUTH_KEY_HEAD);
});

test('modPow agrees with node:crypto DH (g^b and the shared secret)', (t) => {
  for (let i = 0; i < 4; i++) {
    const b = randomBytes(256);
    const dh = createDiffieHellman(DH_PRIME, Buffer.from([3]));
    dh.setPrivateKey(b);
    dh.generateKeys();
    t.true(modPow(Buffer.from([3]), b, DH_PRIME).equals(toBuf(toBig(dh.getPublicKey()), 256)));
    t.true(modPow(SAMPLE_G_A, b, DH_PRIME).equals(toBuf(toBig(dh.computeSecret(SAMPLE_G_A)), 256)));
  }
});

test('modPow agrees with a bigint reference on random inputs (odd and even moduli)', (t) => {
  const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
  fc.assert(
    fc.property(bytes(80), bytes(40), fc.uint8Array({ minLength: 1, maxLength: 72 }), (base, exp, mod) => {
      const m = toBig(mod);
      if (m === 0n) return;
      const got = modPow(Buffer.from(base), Buffer.from(exp), Buffer.from(mod));
      const modLen = (m.toString(16).length + 1) >> 1;
      t.is(got.length, modLen);
      t.is(toBig(got), refModPow(toBig(base), toBig(exp), m));
    }),
    { numRuns: 300 },
  );
});

test('modPow is multiplicative: (ab)^e = a^e b^e (mod m), 2048-bit', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 256, maxLength: 256 }),
      fc.uint8Array({ minLength: 256, maxLength: 256 }),
      fc.uint8Array({ minLength: 1, maxLength: 256 }),
      (a, b, e) => {
        const m = toBig(DH_PRIME);
        const ab = toBuf((toBig(a) * toBig(b)) % m, 256);
        const lhs = toBig(modPow(ab, Buffer.from(e), DH_PRIME));
        const rhs =
          (toBig(modPow(Buffer.from(a), Buffer.from(e), DH_PRIME)) *
            toBig(modPow(Buffer.from(b), Buffer.from(e), DH_PRIME))) %
          m;
        t.is(lhs, rhs);
      },
    ),
    { numRuns: 20 },
  );
});

test('modPow: 4096-bit numbers and the size limit', (t) => {
  const m = randomBytes(512);
  m[0] |= 0x80;
  m[511] |= 1;
  const base = randomBytes(512);
  const exp = randomBytes(64);
  t.is(toBig(modPow(base, exp, m)), refModPow(toBig(base), toBig(exp), toBig(m)));
  const tooBig = Buffer.alloc(513, 0xff);
  t.is(
    codeOf(() => modPow(base, exp, tooBig)),
    'ERR_BIGNUM_TOO_LARGE',
  );
  t.is(
    codeOf(() => modPow(base, exp, Buffer.alloc(8))),
    'ERR_BIGNUM_ZERO_MODULUS',
  );
});

// ---------------------------------------------------------------- DH checks

// RFC 3526 group 14: a 2048-bit safe prime with p mod 8 = 7 (g = 2 allowed).
const RFC3526_2048 = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF',
  'hex',
);

test('checkDhParams accepts the official sample and an unknown safe prime', (t) => {
  t.notThrows(() => checkDhParams(DH_PRIME, 3, SAMPLE_G_A));
  const gA = modPow(Buffer.from([2]), randomBytes(256), RFC3526_2048);
  t.notThrows(() => checkDhParams(RFC3526_2048, 2, gA));
});

test('checkDhParams: each failed check has its code', (t) => {
  const p = toBig(DH_PRIME);
  const margin = 1n << 1984n;
  t.is(
    codeOf(() => checkDhParams(DH_PRIME.subarray(1), 3, SAMPLE_G_A)),
    'ERR_DH_PRIME_SIZE',
  );
  for (const g of [0, 1, 8, 2.5, -3]) {
    t.is(
      codeOf(() => checkDhParams(DH_PRIME, g, SAMPLE_G_A)),
      'ERR_DH_BAD_G',
      `g = ${g}`,
    );
  }
  // The Telegram prime is 3 mod 8, 3 mod 5 and 11 mod 24.
  for (const g of [2, 5, 6]) {
    t.is(
      codeOf(() => checkDhParams(DH_PRIME, g, SAMPLE_G_A)),
      'ERR_DH_G_RESIDUE',
      `g = ${g}`,
    );
  }
  for (const g of [3, 4, 7]) t.notThrows(() => checkDhParams(DH_PRIME, g, SAMPLE_G_A));
  for (const gA of [0n, 1n, 2n, margin - 1n, p - 1n, p, p - margin + 1n]) {
    t.is(
      codeOf(() => checkDhParams(DH_PRIME, 3, toBuf(gA, 256))),
      'ERR_DH_GA_RANGE',
      `g_a = ${gA.toString(16)}`,
    );
    t.is(
      codeOf(() => checkDhValue(toBuf(gA, 256), DH_PRIME)),
      'ERR_DH_VALUE_RANGE',
    );
  }
  t.notThrows(() => checkDhValue(toBuf(margin, 256), DH_PRIME));
  t.notThrows(() => checkDhValue(toBuf(p - margin, 256), DH_PRIME));
  // A random 2048-bit prime (not safe; g = 4 has no residue condition).
  const prime = generatePrimeSync(2048, { bigint: true });
  t.false(checkPrimeSync((prime - 1n) / 2n));
  t.is(
    codeOf(() => checkDhParams(toBuf(prime, 256), 4, toBuf(margin, 256))),
    'ERR_DH_PRIME_NOT_SAFE',
  );
  // A composite close to the Telegram prime.
  t.is(
    codeOf(() => checkDhParams(toBuf(p + 2n, 256), 4, SAMPLE_G_A)),
    'ERR_DH_PRIME_NOT_SAFE',
  );
});

// ---------------------------------------------------------------- pq

// From vectors/pq.json (official samples, grammers, mtcute, tdlib, tweb).
const PQ_VECTORS: [bigint, bigint, bigint][] = [
  [1514134277173997537n, 1054028803n, 1436520779n],
  [1724114033281923457n, 1229739323n, 1402015859n],
  [2363612107535801713n, 1518968219n, 1556064227n],
  [1056710243275307827n, 1004505961n, 1051970107n],
  [15n, 3n, 5n],
  [18442450077884059639n, 4294467311n, 4294467449n],
];

test('factorizePq: the public vectors', (t) => {
  for (const [pq, p, q] of PQ_VECTORS) t.deepEqual(factorizePq(pq), [p, q]);
});

test('factorizePq: random products of two 31/32-bit primes', (t) => {
  fc.assert(
    fc.property(fc.constantFrom(31, 32), fc.constantFrom(31, 32), (bitsA, bitsB) => {
      const a = generatePrimeSync(bitsA, { bigint: true });
      const b = generatePrimeSync(bitsB, { bigint: true });
      const [p, q] = factorizePq(a * b);
      t.is(p * q, a * b);
      t.true(p <= q);
      t.true(checkPrimeSync(p) && checkPrimeSync(q));
      t.deepEqual([p, q], a <= b ? [a, b] : [b, a]);
    }),
    { numRuns: 60 },
  );
});

test('factorizePq rejects what is not a product of two primes', (t) => {
  for (const pq of [0n, 1n, 2n, 7n, 1000000007n, 18446744073709551557n, 2097143n * 2097131n * 2097133n]) {
    t.is(
      codeOf(() => factorizePq(pq)),
      'ERR_PQ_NOT_SEMIPRIME',
      `pq = ${pq}`,
    );
  }
  for (const pq of [-15n, 1n << 64n, (1n << 70n) + 15n]) {
    t.is(
      codeOf(() => factorizePq(pq)),
      'ERR_PQ_RANGE',
      `pq = ${pq}`,
    );
  }
});

// ---------------------------------------------------------------- RSA

function testKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
  return { privateKey, publicKey, n: b64(jwk.n), e: b64(jwk.e), d: b64(jwk.d) };
}
const KEY = testKey();

const rawDecrypt = (c: Buffer) =>
  privateDecrypt({ key: KEY.privateKey, padding: constants.RSA_NO_PADDING }, c);
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** AES-256-IGE decryption from node's ECB: p_i = D(c_i ^ p_i-1) ^ c_i-1, iv = c_-1 ‖ p_-1. */
function igeDecrypt(data: Buffer, key: Buffer, iv: Buffer): Buffer {
  const ecb = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  let prevC = iv.subarray(0, 16);
  let prevP = iv.subarray(16, 32);
  for (let i = 0; i < data.length; i += 16) {
    const c = data.subarray(i, i + 16);
    const x = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) x[j] = c[j] ^ prevP[j];
    const d = ecb.update(x);
    for (let j = 0; j < 16; j++) out[i + j] = d[j] ^ prevC[j];
    prevC = c;
    prevP = out.subarray(i, i + 16);
  }
  return out;
}

test('rsaPadEncrypt follows RSA_PAD (checked with node RSA and a JS IGE)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 144 }), (data) => {
      const enc = rsaPadEncrypt(Buffer.from(data), KEY.n, KEY.e);
      t.is(enc.length, 256);
      const keyAes = rawDecrypt(enc);
      const aesEncrypted = keyAes.subarray(32);
      const hash = sha256(aesEncrypted);
      const tempKey = Buffer.alloc(32);
      for (let i = 0; i < 32; i++) tempKey[i] = keyAes[i] ^ hash[i];
      const dataWithHash = igeDecrypt(aesEncrypted, tempKey, Buffer.alloc(32));
      const dataWithPadding = Buffer.from(dataWithHash.subarray(0, 192)).reverse();
      t.true(dataWithPadding.subarray(0, data.length).equals(Buffer.from(data)));
      t.true(dataWithHash.subarray(192).equals(sha256(tempKey, dataWithPadding)));
      // And the server side gets the padded data back.
      t.true(rsaPadDecrypt(enc, KEY.n, KEY.d).equals(dataWithPadding));
    }),
    { numRuns: 25 },
  );
});

test('rsaPadDecrypt: tampering and range errors', (t) => {
  const enc = rsaPadEncrypt(randomBytes(100), KEY.n, KEY.e);
  // Re-encrypt a modified block with node's raw RSA: the hash must fail.
  const block = rawDecrypt(enc);
  block[100] ^= 1;
  const forged = publicEncrypt({ key: KEY.publicKey, padding: constants.RSA_NO_PADDING }, block);
  t.is(
    codeOf(() => rsaPadDecrypt(forged, KEY.n, KEY.d)),
    'ERR_RSA_PAD_HASH',
  );
  t.is(
    codeOf(() => rsaPadDecrypt(KEY.n, KEY.n, KEY.d)),
    'ERR_RSA_CIPHERTEXT_RANGE',
  );
  t.is(
    codeOf(() => rsaPadEncrypt(Buffer.alloc(145), KEY.n, KEY.e)),
    'ERR_RSA_DATA_TOO_LONG',
  );
  t.is(
    codeOf(() => rsaPadEncrypt(Buffer.alloc(10), KEY.n.subarray(128), KEY.e)),
    'ERR_RSA_MODULUS_SIZE',
  );
});

test('rsaLegacyEncrypt: node raw RSA sees SHA1(data) ‖ data ‖ padding', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 235 }), (data) => {
      const enc = rsaLegacyEncrypt(Buffer.from(data), KEY.n, KEY.e);
      const block = rawDecrypt(enc);
      t.is(block[0], 0);
      t.true(block.subarray(1, 21).equals(createHash('sha1').update(data).digest()));
      t.true(block.subarray(21, 21 + data.length).equals(Buffer.from(data)));
      t.true(rsaLegacyDecrypt(enc, KEY.n, KEY.d).equals(Buffer.from(data)));
    }),
    { numRuns: 25 },
  );
  t.is(
    codeOf(() => rsaLegacyEncrypt(Buffer.alloc(236), KEY.n, KEY.e)),
    'ERR_RSA_DATA_TOO_LONG',
  );
});

test('rsaLegacyDecrypt reads blocks made by node and rejects bad hashes', (t) => {
  const data = randomBytes(96);
  const block = Buffer.concat([
    Buffer.alloc(1),
    createHash('sha1').update(data).digest(),
    data,
    randomBytes(255 - 20 - 96),
  ]);
  const enc = publicEncrypt({ key: KEY.publicKey, padding: constants.RSA_NO_PADDING }, block);
  t.true(rsaLegacyDecrypt(enc, KEY.n, KEY.d).equals(data));
  block[5] ^= 0x10;
  const bad = publicEncrypt({ key: KEY.publicKey, padding: constants.RSA_NO_PADDING }, block);
  t.is(
    codeOf(() => rsaLegacyDecrypt(bad, KEY.n, KEY.d)),
    'ERR_RSA_LEGACY_HASH',
  );
});

// ---------------------------------------------------------------- fingerprints

// The production and test server keys (tdlib PublicRsaKeySharedMain.cpp via
// vectors/rsa-keys.json), with their int64 fingerprints.
const KEY_PEMS: [string, bigint][] = [
  [
    `-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g
5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO
62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/
+aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9
t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs
5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB
-----END RSA PUBLIC KEY-----`,
    -3414540481677951611n,
  ],
  [
    `-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAyMEdY1aR+sCR3ZSJrtztKTKqigvO/vBfqACJLZtS7QMgCGXJ6XIR
yy7mx66W0/sOFa7/1mAZtEoIokDP3ShoqF4fVNb6XeqgQfaUHd8wJpDWHcR2OFwv
plUUI1PLTktZ9uW2WE23b+ixNwJjJGwBDJPQEQFBE+vfmH0JP503wr5INS1poWg/
j25sIWeYPHYeOrFp/eXaqhISP6G+q2IeTaWTXpwZj4LzXq5YOpk4bYEQ6mvRq7D1
aHWfYmlEGepfaYR8Q0YqvvhYtMte3ITnuSJs171+GDqpdKcSwHnd6FudwGO4pcCO
j4WcDuXc2CTHgH8gFTNhp/Y8/SpDOhvn9QIDAQAB
-----END RSA PUBLIC KEY-----`,
    -5595554452916591101n,
  ],
];

test('rsaFingerprint: the public vector keys, parsed from PEM by node', async (t) => {
  const { createPublicKey } = await import('node:crypto');
  for (const [pem, fingerprint] of KEY_PEMS) {
    const jwk = createPublicKey(pem).export({ format: 'jwk' });
    const n = Buffer.from(jwk.n ?? '', 'base64url');
    const e = Buffer.from(jwk.e ?? '', 'base64url');
    t.is(rsaFingerprint(n, e), fingerprint);
    // Leading zero bytes do not change the key.
    t.is(rsaFingerprint(Buffer.concat([Buffer.alloc(1), n]), Buffer.from([0, 1, 0, 1])), fingerprint);
  }
});

test("rsaFingerprint matches GramJS's table of server keys", async (t) => {
  const { _serverKeys } = (await import('telegram/crypto/RSA')) as unknown as {
    _serverKeys: Map<string, { n: { toString(radix: number): string }; e: number }>;
  };
  t.true(_serverKeys.size > 0);
  for (const [fingerprint, { n, e }] of _serverKeys) {
    const nHex = n.toString(16);
    const got = rsaFingerprint(Buffer.from(nHex.length % 2 ? `0${nHex}` : nHex, 'hex'), toBuf(BigInt(e), 3));
    t.is(got, BigInt(fingerprint));
  }
});
