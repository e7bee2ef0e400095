// RSA keys for the exchange: fingerprints of every shared key
// (vectors/rsa-keys.json: tdlib and Telethon keys, fingerprints by
// the collector), the keyring's sets and lookups, user keys in every form, and
// end to end: a key generated here (node:crypto) added as a user key is the
// one resPQ's fingerprint selects, and the req_DH_params that our exchange
// builds with the default (native) RSA_PAD decrypts, with a JS bigint +
// node:crypto implementation of the server side written here, to the
// p_q_inner_data_dc the exchange meant.
import { createDecipheriv, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import test from 'ava';
import { AuthKeyExchange, parseRsaKey, RsaKeyring, TELEGRAM_RSA_KEYS, TL } from '../bindings';
import { loadVectors } from '../vectors/load';

const rsaFile = loadVectors('rsa-keys.json') as {
  keys: Array<{
    pem: string;
    modulus_hex: string;
    exponent: number;
    fingerprint_u64_hex: string;
    role: string;
  }>;
};

const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const toBuf = (n: bigint, len: number) => Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');
function powMod(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

test('every shared key: parsed from PEM, the fingerprint is the collector’s', (t) => {
  for (const k of rsaFile.keys) {
    const parsed = parseRsaKey(k.pem);
    t.is(parsed.modulus.toString('hex'), k.modulus_hex.toLowerCase().replace(/^0+/, ''));
    t.is(big(parsed.exponent), BigInt(k.exponent));
    t.is(parsed.fingerprint, BigInt(k.fingerprint_u64_hex), k.role);
    // The same key from its numbers, as Buffers and as bigints.
    t.is(parseRsaKey({ modulus: parsed.modulus, exponent: parsed.exponent }).fingerprint, parsed.fingerprint);
    t.is(parseRsaKey({ modulus: big(parsed.modulus), exponent: k.exponent }).fingerprint, parsed.fingerprint);
  }
  // The built-in list agrees with its own fingerprints.
  for (const k of TELEGRAM_RSA_KEYS) t.is(parseRsaKey({ pem: k.pem }).fingerprint, k.fingerprint);
});

test('keyring: current / all / none, user keys, signed and unsigned lookups, selection order', (t) => {
  const current = RsaKeyring.create();
  t.deepEqual(current.fingerprints().sort(), [0xb25898df208d2603n, 0xd09d1d85de64fd85n].sort());
  t.is(RsaKeyring.create([], 'all').size, TELEGRAM_RSA_KEYS.length);
  t.is(RsaKeyring.create([], 'none').size, 0);
  // resPQ lists fingerprints as signed longs: -3414540481677951611 is 0xd09d1d85de64fd85.
  t.truthy(current.get(-3414540481677951611n));
  // The first known fingerprint in the server's order wins.
  const all = RsaKeyring.create([], 'all');
  t.is(all.select([1n, 0x0bc35f3509f7b7a5n, 0xd09d1d85de64fd85n])?.fingerprint, 0x0bc35f3509f7b7a5n);
  t.is(all.select([1n, 2n]), undefined);

  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const a = parseRsaKey(pkcs1);
  t.is(parseRsaKey(spki).fingerprint, a.fingerprint);
  const ring = RsaKeyring.create([pkcs1], 'none');
  t.is(ring.size, 1);
  t.deepEqual(ring.get(BigInt.asIntN(64, a.fingerprint)), a);
  t.throws(() => parseRsaKey({ ...a, fingerprint: a.fingerprint ^ 1n }), { instanceOf: RangeError });
  t.throws(() => parseRsaKey('-----BEGIN RSA PUBLIC KEY-----\nnope\n-----END RSA PUBLIC KEY-----'));
});

/** The server side of RSA_PAD (core.telegram.org/mtproto/auth_key, step 4), in JS. */
function rsaPadDecrypt(encrypted: Buffer, n: bigint, d: bigint): Buffer {
  const keyAesEncrypted = toBuf(powMod(big(encrypted), d, n), 256);
  const tempKeyXor = keyAesEncrypted.subarray(0, 32);
  const aesEncrypted = keyAesEncrypted.subarray(32);
  const h = createHash('sha256').update(aesEncrypted).digest();
  const tempKey = Buffer.from(tempKeyXor.map((v, i) => v ^ h[i]));
  // AES-256-IGE decryption with a zero iv.
  const aes = createDecipheriv('aes-256-ecb', tempKey, null).setAutoPadding(false);
  const plain = Buffer.alloc(aesEncrypted.length);
  let prevPlain = Buffer.alloc(16);
  let prevCipher = Buffer.alloc(16);
  for (let i = 0; i < aesEncrypted.length; i += 16) {
    const c = aesEncrypted.subarray(i, i + 16);
    const m = aes.update(Buffer.from(c.map((v, j) => v ^ prevPlain[j])));
    for (let j = 0; j < 16; j++) plain[i + j] = m[j] ^ prevCipher[j];
    prevPlain = plain.subarray(i, i + 16);
    prevCipher = c;
  }
  const dataWithPadding = Buffer.from(plain.subarray(0, 192)).reverse();
  const hash = plain.subarray(192, 224);
  const expected = createHash('sha256')
    .update(Buffer.concat([tempKey, dataWithPadding]))
    .digest();
  if (!hash.equals(expected)) throw new Error('RSA_PAD hash mismatch');
  return dataWithPadding;
}

test('a user key selected by fingerprint: native RSA_PAD decrypts (JS reference) to our p_q_inner_data_dc', (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const n = big(Buffer.from(jwk.n!, 'base64url'));
  const d = big(Buffer.from(jwk.d!, 'base64url'));
  const userKey = parseRsaKey(publicKey.export({ type: 'pkcs1', format: 'pem' }).toString());

  for (const expiresIn of [undefined, 3600]) {
    const ex = new AuthKeyExchange({ dc: -10003, keys: RsaKeyring.create([userKey]), expiresIn });
    const reqPq = TL.deserialize(ex.start()) as TL.Objects['req_pq_multi'];
    const serverNonce = randomBytes(16);
    const resPQ = TL.serialize({
      _: 'resPQ',
      nonce: reqPq.nonce,
      serverNonce,
      // 0x17ED48941A08F981 = 1229739323 * 1402015859 (official 2013 sample's pq)
      pq: Buffer.from('17ED48941A08F981', 'hex'),
      serverPublicKeyFingerprints: [0x1234n, BigInt.asIntN(64, userKey.fingerprint), 0xd09d1d85de64fd85n],
    });
    const step = ex.receive(resPQ, Date.now());
    if (step.kind !== 'send') return t.fail();
    const req = TL.deserialize(step.body) as TL.Objects['req_DH_params'];
    t.is(BigInt.asUintN(64, req.publicKeyFingerprint), userKey.fingerprint);
    t.deepEqual(req.p, Buffer.from('494C553B', 'hex'));
    t.deepEqual(req.q, Buffer.from('53911073', 'hex'));
    t.is(req.encryptedData.length, 256);
    const inner = TL.deserialize(rsaPadDecrypt(req.encryptedData, n, d), { allowTrailing: true });
    t.like(inner, {
      _: expiresIn === undefined ? 'p_q_inner_data_dc' : 'p_q_inner_data_temp_dc',
      pq: Buffer.from('17ED48941A08F981', 'hex'),
      p: req.p,
      q: req.q,
      nonce: reqPq.nonce,
      serverNonce,
      dc: -10003,
      ...(expiresIn === undefined ? {} : { expiresIn }),
    });
    t.is((inner as { newNonce: Buffer }).newNonce.length, 32);
  }
});
