// TestDc's key exchange: its pieces against the official sample, then the whole
// exchange driven by a hand-written client (bigint RSA and DH, node:crypto IGE) for both
// RSA schemes and all three inner data variants, its strictness, and its faults.

import { createPublicKey, randomBytes } from 'node:crypto';
import test from 'ava';
import { TL } from '../bindings';
import { TELEGRAM_RSA_KEYS } from '../bindings/auth/telegram-keys';
import * as native from '../bindings/native';
import { HANDSHAKE_FAULTS, type HandshakeFault, TestDc } from '../bindings/testing';
import { kdfV1 } from '../bindings/testing/bind-temp-key';
import { igeDecrypt, igeEncrypt } from '../bindings/testing/crypto';
import { dhHalf, fakeDhPrime, TELEGRAM_DH_PRIME } from '../bindings/testing/dh';
import { isPrime, randomPq } from '../bindings/testing/pq';
import { rsaDecryptRaw, rsaFingerprint, sharedTestRsaKey } from '../bindings/testing/rsa-key';
import { firstSalt, newNonceHash, tmpAesKeyIv } from '../bindings/testing/server-handshake';
import { loadVectors } from '../vectors/load';
import { clientHandshake, factor, type HandshakeOptions, type InnerKind, TestClient } from './testdc-helpers';

// The official example, 2025-10 snapshot (core.telegram.org/mtproto/samples-auth_key via
// vectors/mtproto-auth-sample.json): nonces, tmp key/iv, auth_key, hashes.
const SAMPLE = {
  serverNonce: '1A320B7B03E28A32871E3E5EE3861063',
  newNonce: 'F05B0B293472632655CF5D74D7A20CB87D7DF1915A950EAA3401043ABC932842',
  tmpAesKey: 'F50E257259B0EA6419A170A11912636110CA7597CEE3218D67C3817757CAE0E8',
  tmpAesIv: '748E3E08A0DD3D33472E57E6CE2CD3E40E23038F3E88F519EDB8866AF05B0B29',
  authKeyPrefix: '871F0328064F71FE1A23C05F5D5B0FE4B06443CB2F28CFBC182B116E09135E3E',
  newNonceHash1: '627F3FBC3BDEAD814E48507034515BA9',
  serverSalt: 'EA6900523790E914',
};

const hex = (s: string) => Buffer.from(s, 'hex');

test('tmp_aes_key/iv follow the official sample', (t) => {
  const { key, iv } = tmpAesKeyIv(hex(SAMPLE.newNonce), hex(SAMPLE.serverNonce));
  t.is(key.toString('hex').toUpperCase(), SAMPLE.tmpAesKey);
  t.is(iv.toString('hex').toUpperCase(), SAMPLE.tmpAesIv);
});

test('IGE matches the public vectors (AES-256 ones)', (t) => {
  const file = loadVectors('aes-ige.json') as {
    vectors: Array<{ key_bits: number; key: string; iv: string; plaintext: string; ciphertext: string }>;
  };
  let n = 0;
  for (const v of file.vectors.filter((x) => x.key_bits === 256)) {
    t.is(igeEncrypt(hex(v.plaintext), hex(v.key), hex(v.iv)).toString('hex'), v.ciphertext.toLowerCase());
    t.is(igeDecrypt(hex(v.ciphertext), hex(v.key), hex(v.iv)).toString('hex'), v.plaintext.toLowerCase());
    n++;
  }
  t.true(n >= 4);
});

test('fingerprints of Telegram keys are computed as Telegram does', (t) => {
  for (const k of TELEGRAM_RSA_KEYS) {
    const jwk = createPublicKey(k.pem).export({ format: 'jwk' });
    t.is(rsaFingerprint(Buffer.from(jwk.n!, 'base64url'), Buffer.from(jwk.e!, 'base64url')), k.fingerprint);
  }
});

test('pq is two ~31-bit primes, p < q, that factor back', (t) => {
  for (let i = 0; i < 20; i++) {
    const { p, q, pq } = randomPq(randomBytes);
    t.true(p < q && p >= 1n << 30n && q < 1n << 31n);
    t.deepEqual(factor(pq), [p, q]);
  }
});

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
});
test.after.always(async () => {
  await dc?.stop();
});

const INNERS: InnerKind[] = ['p_q_inner_data', 'p_q_inner_data_dc', 'p_q_inner_data_temp_dc'];
for (const scheme of ['pad', 'legacy'] as const) {
  for (const inner of INNERS) {
    test.serial(`a hand-written client creates a key: ${scheme}, ${inner}`, async (t) => {
      const c = await TestClient.open(dc.port, { kind: 'abridged' });
      const before = Date.now();
      const k = await clientHandshake(c, dc.rsaPublicKey, { scheme, inner, expiresIn: 600 });
      c.close();
      t.deepEqual(dc.authKey(k.authKeyId), k.authKey, 'both sides hold the same key');
      t.true(Math.abs(k.serverTime - before / 1000) < 5);
      const info = dc.authKeys().find((x) => x.authKeyId === k.authKeyId)!;
      t.like(info, {
        source: 'handshake',
        innerData: inner,
        rsaScheme: scheme,
        temp: inner === 'p_q_inner_data_temp_dc',
      });
      if (info.temp) t.true(Math.abs(info.expiresAt! - (before + 600_000)) < 5000);
    });
  }
}

test.serial('req_pq (legacy) is answered too', async (t) => {
  const c = await TestClient.open(dc.port, { kind: 'full' });
  const k = await clientHandshake(c, dc.rsaPublicKey, { useReqPq: true });
  c.close();
  t.truthy(dc.authKey(k.authKeyId));
});

const TAMPERS: Array<[NonNullable<HandshakeOptions['tamper']>, RegExp]> = [
  ['p', /wrong p or q/],
  ['fingerprint', /fingerprint/],
  ['inner-nonce', /inner data does not match/],
  ['dc', /names dc 99/],
  ['client-hash', /SHA1 of client_DH_inner_data/],
  ['g_b', /g_b out of range/],
  ['retry-id', /retry_id/],
];
for (const [tamper, reason] of TAMPERS) {
  test.serial(`a wrong client message fails the exchange with -404: ${tamper}`, async (t) => {
    const failures = dc.stats.handshakeFailures;
    const c = await TestClient.open(dc.port);
    const err = await t.throwsAsync(clientHandshake(c, dc.rsaPublicKey, { tamper }));
    t.is((err as { transportCode?: number }).transportCode, -404);
    t.is(dc.stats.handshakeFailures, failures + 1);
    t.regex(dc.stats.lastHandshakeFailure!, reason);
    t.is((await c.next(2000)) ?? null, null, 'then the server closes');
    c.close();
  });
}

test.serial('garbage and unknown plain messages fail cleanly', async (t) => {
  const c = await TestClient.open(dc.port);
  await t.throwsAsync(c.plain(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])));
  c.close();
  const d = await TestClient.open(dc.port);
  await t.throwsAsync(d.plain(TL.serialize({ _: 'ping', pingId: 1n })));
  d.close();
  t.regex(dc.stats.lastHandshakeFailure!, /not a key exchange message/);
});

// What a faulted exchange looks like to this client: the check that fails, by fault.
const EXPECTED: Record<HandshakeFault, RegExp> = {
  'wrong-nonce': /resPQ: bad nonce/,
  'wrong-server-nonce': /server_DH_params: nonces/,
  'unknown-fingerprints': /unknown fingerprints/,
  'bad-pq': /unused/,
  'bad-answer-hash': /answer hash/,
  'bad-dh-prime': /unknown dh_prime/,
  'bad-g': /bad g/,
  'bad-g-a': /bad g_a/,
  'bad-new-nonce-hash': /new_nonce_hash1/,
  'dh-gen-fail': /dh_gen_fail/,
  'dh-gen-retry': /^$/,
  garbage: /./,
  'close-mid-handshake': /connection closed/,
};

for (const fault of HANDSHAKE_FAULTS) {
  test.serial(`handshake fault ${fault}`, async (t) => {
    dc.injectHandshakeFault(fault);
    try {
      const c = await TestClient.open(dc.port);
      if (fault === 'bad-pq') {
        // A prime pq has no factors: check the value (a naive rho would spin forever).
        const nonce = Buffer.alloc(16, 7);
        const res = TL.deserialize(
          await c.plain(TL.serialize({ _: 'req_pq_multi', nonce })),
        ) as TL.Objects['resPQ'];
        t.true(isPrime(BigInt(`0x${res.pq.toString('hex')}`)));
      } else if (fault === 'dh-gen-retry') {
        const k = await clientHandshake(c, dc.rsaPublicKey);
        t.deepEqual(dc.authKey(k.authKeyId), k.authKey, 'retry, then a key');
      } else {
        const err = await t.throwsAsync(clientHandshake(c, dc.rsaPublicKey));
        t.regex(err!.message, EXPECTED[fault]);
      }
      c.close();
    } finally {
      dc.injectHandshakeFault(null);
    }
  });
}

test.serial('the official sample new_nonce_hash1 and salt come out of the same formulas', (t) => {
  const s = loadVectors('mtproto-auth-sample.json').samples[0];
  const authKey = hex(s.step8_auth_key.auth_key);
  t.is(authKey.subarray(0, 32).toString('hex').toUpperCase(), SAMPLE.authKeyPrefix);
  t.is(newNonceHash(hex(SAMPLE.newNonce), 1, authKey).toString('hex').toUpperCase(), SAMPLE.newNonceHash1);
  const salt = Buffer.alloc(8);
  salt.writeBigUInt64LE(firstSalt(hex(SAMPLE.newNonce), hex(SAMPLE.serverNonce)));
  t.is(salt.toString('hex').toUpperCase(), SAMPLE.serverSalt);
});

test('the MTProto v1 key derivation of binding messages matches the public vectors', (t) => {
  // mtcute's 'mtproto 1.0' vectors, via vectors/mtproto2-kdf.json.
  const file = loadVectors('mtproto2-kdf.json');
  const vectors = file.legacy_mtproto1_kdf_vectors.vectors as Array<{
    x: number;
    auth_key: string;
    msg_key: string;
    aes_key: string;
    aes_iv: string;
  }>;
  t.true(vectors.length >= 2);
  for (const v of vectors) {
    const { key, iv } = kdfV1(hex(v.auth_key), hex(v.msg_key), v.x);
    t.is(key.toString('hex'), v.aes_key);
    t.is(iv.toString('hex'), v.aes_iv);
  }
});

// --- Against the native functions of crates/mtcore (an independent implementation) ---

test('TestDc fingerprints, IGE and pq agree with the native functions', (t) => {
  const key = sharedTestRsaKey();
  t.is(BigInt.asUintN(64, native.rsaFingerprint(key.modulus, key.exponent)), key.fingerprint);
  for (let i = 0; i < 20; i++) {
    const data = randomBytes(16 * (1 + i));
    const k = randomBytes(32);
    const iv = randomBytes(32);
    t.deepEqual(igeEncrypt(data, k, iv), native.aesIgeEncrypt(data, k, iv));
    t.deepEqual(igeDecrypt(data, k, iv), native.aesIgeDecrypt(data, k, iv));
    const { p, q, pq } = randomPq(randomBytes);
    t.deepEqual(native.factorizePq(pq), [p, q]);
  }
});

for (const scheme of ['pad', 'legacy'] as const) {
  test.serial(`a client using the native RSA (${scheme}) and factorization is accepted`, async (t) => {
    const c = await TestClient.open(dc.port);
    const k = await clientHandshake(c, dc.rsaPublicKey, { scheme, native: true });
    c.close();
    t.like(
      dc.authKeys().find((x) => x.authKeyId === k.authKeyId),
      { rsaScheme: scheme },
    );
  });
}

test('what TestDc encrypts with RSA_PAD by hand, the native server-side decryption opens', (t) => {
  const key = sharedTestRsaKey();
  const d = Buffer.from(key.privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const data = TL.serialize({
    _: 'p_q_inner_data_dc',
    pq: Buffer.alloc(8, 1),
    p: Buffer.alloc(4, 2),
    q: Buffer.alloc(4, 3),
    nonce: randomBytes(16),
    serverNonce: randomBytes(16),
    newNonce: randomBytes(32),
    dc: 2,
  });
  const enc = native.rsaPadEncrypt(data, key.modulus, key.exponent);
  t.deepEqual(native.rsaPadDecrypt(enc, key.modulus, d).subarray(0, data.length), data);
  t.deepEqual(rsaDecryptRaw(key, enc)!.length, 256);
});

test('the DH faults are the ones the native checks catch', (t) => {
  const random = randomBytes;
  const good = dhHalf(TELEGRAM_DH_PRIME, 3, random);
  t.notThrows(() => native.checkDhParams(TELEGRAM_DH_PRIME, 3, good.gA));
  // bad-g-a: p - 1
  const pMinus1 = Buffer.from(TELEGRAM_DH_PRIME);
  pMinus1[255] -= 1;
  t.throws(() => native.checkDhParams(TELEGRAM_DH_PRIME, 3, pMinus1), { code: 'ERR_DH_GA_RANGE' });
  // bad-g: 9
  t.throws(() => native.checkDhParams(TELEGRAM_DH_PRIME, 9, good.gA), { code: 'ERR_DH_BAD_G' });
  // bad-dh-prime: odd, 2048 bits, right residue for g = 3, divisible by 5.
  const bad = fakeDhPrime();
  t.is(bad.length, 256);
  t.true(bad[0] >= 0x80);
  const half = dhHalf(bad, 3, random);
  t.throws(() => native.checkDhParams(bad, 3, half.gA), { code: 'ERR_DH_PRIME_NOT_SAFE' });
  // The server's own shared secret agrees with a native modPow on the client side.
  const b = randomBytes(256);
  const gB = native.modPow(Buffer.from([3]), b, TELEGRAM_DH_PRIME);
  t.deepEqual(good.secret(gB), native.modPow(good.gA, b, TELEGRAM_DH_PRIME));
});
