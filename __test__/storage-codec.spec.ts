// The stored form of a session record: round trips over random records, every
// corruption refused (mutation and truncation), auth_key_id against GramJS,
// and the AES-GCM key cipher (wrong key, tampering, rotation, slot binding).
import { randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { AuthKey } from 'telegram/crypto/AuthKey';
import {
  aesGcmKeyCipher,
  authKeyIdOf,
  decodeRecord,
  encodeRecord,
  type SessionRecord,
} from '../bindings/storage';
import { comparable, recordFor } from './storage-support';

const key256 = fc.uint8Array({ minLength: 256, maxLength: 256 }).map((a) => Buffer.from(a));
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const dcAuth = fc.record(
  {
    authKey: key256,
    serverSalt: u64,
    timeOffset: fc.double({ noNaN: true, noDefaultInfinity: true }),
    tempKey: fc.record({ authKey: key256, expiresAt: fc.integer({ min: 0, max: 2 ** 32 }), serverSalt: u64 }),
  },
  { requiredKeys: ['authKey', 'serverSalt', 'timeOffset'] },
);
const json: fc.Arbitrary<unknown> = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)));
const arbRecord: fc.Arbitrary<SessionRecord> = fc.record(
  {
    name: fc.string(),
    dcId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    authKeys: fc.dictionary(fc.integer({ min: -10005, max: 10005 }).map(String), dcAuth, { maxKeys: 4 }),
    userId: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    isBot: fc.boolean(),
    updatesState: fc.oneof(
      fc.record({ pts: fc.nat(), qts: fc.nat(), date: fc.nat(), seq: fc.nat() }),
      json as fc.Arbitrary<SessionRecord['updatesState']>,
    ),
    testMode: fc.boolean(),
    updatedAt: fc.integer({ min: 0, max: 2 ** 47 }),
  },
  { requiredKeys: ['name', 'dcId', 'authKeys', 'updatedAt'] },
) as fc.Arbitrary<SessionRecord>;

test('random records survive encode and decode unchanged', (t) => {
  fc.assert(
    fc.property(arbRecord, (r) => {
      t.deepEqual(comparable(decodeRecord(r.name, encodeRecord(r))), r);
    }),
    { numRuns: 300 },
  );
});

test('random records survive with sealed keys', (t) => {
  const cipher = aesGcmKeyCipher(randomBytes(32));
  fc.assert(
    fc.property(arbRecord, (r) => {
      t.deepEqual(comparable(decodeRecord(r.name, encodeRecord(r, { cipher }), { cipher })), r);
    }),
    { numRuns: 100 },
  );
});

test('every flipped byte and every truncation is refused', (t) => {
  const data = encodeRecord(recordFor('mutant'));
  for (let i = 0; i < data.length; i++) {
    const bad = Buffer.from(data);
    bad[i] ^= 1 << (i % 8);
    t.throws(() => decodeRecord('mutant', bad), { instanceOf: Error }, `byte ${i}`);
  }
  for (let n = 0; n < data.length; n++) {
    const err = t.throws(() => decodeRecord('mutant', data.subarray(0, n)));
    t.is((err as { code?: string }).code, 'ERR_SESSION_DECODE', `length ${n}`);
  }
});

test('auth_key_id matches GramJS AuthKey.keyId', async (t) => {
  for (let i = 0; i < 20; i++) {
    const key = randomBytes(256);
    const gram = new AuthKey();
    await gram.setKey(key);
    t.is(authKeyIdOf(key), BigInt(gram.keyId!.toString()));
  }
  const loaded = decodeRecord('x', encodeRecord(recordFor('x')));
  for (const auth of Object.values(loaded.authKeys)) t.is(auth.authKeyId, authKeyIdOf(auth.authKey));
});

test('a record that cannot be stored is refused with ERR_SESSION_RECORD', (t) => {
  const good = recordFor('bad');
  const cases: SessionRecord[] = [
    { ...good, authKeys: { 2: { authKey: Buffer.alloc(255), serverSalt: 0n, timeOffset: 0 } } },
    { ...good, dcId: 1.5 },
    { ...good, userId: 2n ** 63n },
    { ...good, updatesState: { big: 1n } as never },
  ];
  for (const r of cases) t.is(t.throws(() => encodeRecord(r))?.['code' as never], 'ERR_SESSION_RECORD');
});

test('sealed keys: not in the stored bytes, bound to their slot, opened by previous keys', (t) => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const r = recordFor('sealed');
  const sealed = encodeRecord(r, { cipher: aesGcmKeyCipher(k1) });
  for (const auth of Object.values(r.authKeys)) t.is(sealed.indexOf(auth.authKey.subarray(0, 16)), -1);

  t.is(t.throws(() => decodeRecord('sealed', sealed))?.['code' as never], 'ERR_SESSION_DECODE');
  const wrong = t.throws(() => decodeRecord('sealed', sealed, { cipher: aesGcmKeyCipher(k2) }));
  t.is((wrong as { code?: string }).code, 'ERR_SESSION_KEY_DECRYPT');
  // Sealed under one name, the keys do not open under another (no swapping rows).
  const moved = t.throws(() => decodeRecord('other', sealed, { cipher: aesGcmKeyCipher(k1) }));
  t.is((moved as { code?: string }).code, 'ERR_SESSION_KEY_DECRYPT');
  // Rotation: the new key seals, the old one still opens.
  const rotated = aesGcmKeyCipher(k2, { previousKeys: [k1] });
  t.deepEqual(comparable(decodeRecord('sealed', sealed, { cipher: rotated })), r);
  t.throws(() => aesGcmKeyCipher(Buffer.alloc(16)));
});

test('the cipher detects a flipped bit in a sealed key (GCM tag)', (t) => {
  const cipher = aesGcmKeyCipher(randomBytes(32));
  const aad = Buffer.from('slot');
  const sealed = cipher.seal(randomBytes(256), aad);
  for (const i of [0, 4, 20, 200, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 0x80;
    t.throws(() => cipher.open(bad, aad));
  }
  t.throws(() => cipher.open(sealed, Buffer.from('other slot')));
});
