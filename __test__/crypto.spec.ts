// AES-256-IGE, SHA-1/SHA-256 and the MTProto 2.0 envelope through the JS API:
// the public vectors of vectors/, differential property tests against a reference written here
// over node:crypto (ECB chained as IGE, createHash, the spec's KDF), mutation tests
// and every error code.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  AuthKey,
  aesIgeDecrypt,
  aesIgeDecryptInPlace,
  aesIgeEncrypt,
  aesIgeEncryptInPlace,
  decryptMessage,
  ENVELOPE_HEADER_LEN,
  encryptMessage,
  encryptMessages,
  sha1,
  sha1Into,
  sha256,
  sha256Into,
} from '../bindings';
import { loadVectors as load } from '../vectors/load';

const hex = (s: string) => Buffer.from(s, 'hex');

// --- the reference -------------------------------------------------------------

/** AES-256-IGE over node:crypto's ECB, one block at a time (iv = c_{-1} ‖ p_{-1}). */
function refIge(data: Uint8Array, key: Uint8Array, iv: Uint8Array, encrypt: boolean): Buffer {
  const ecb = encrypt ? createCipheriv('aes-256-ecb', key, null) : createDecipheriv('aes-256-ecb', key, null);
  ecb.setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  // Encrypt: c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}; decrypt: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}.
  let xorIn = Buffer.from(iv.subarray(encrypt ? 0 : 16, encrypt ? 16 : 32));
  let xorOut = Buffer.from(iv.subarray(encrypt ? 16 : 0, encrypt ? 32 : 16));
  for (let off = 0; off < data.length; off += 16) {
    const input = Buffer.from(data.subarray(off, off + 16));
    const x = ecb.update(xorBytes(input, xorIn));
    xorBytes(x, xorOut).copy(out, off);
    xorIn = out.subarray(off, off + 16);
    xorOut = input;
  }
  return out;
}

function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.from(a.map((v, i) => v ^ b[i]));
}

const sha256Of = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** MTProto 2.0 KDF (core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector). */
function refKdf(authKey: Buffer, msgKey: Buffer, fromServer: boolean): { key: Buffer; iv: Buffer } {
  const x = fromServer ? 8 : 0;
  const a = sha256Of(msgKey, authKey.subarray(x, x + 36));
  const b = sha256Of(authKey.subarray(40 + x, 76 + x), msgKey);
  return {
    key: Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    iv: Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  };
}

const refMsgKey = (authKey: Buffer, padded: Buffer, fromServer: boolean) => {
  const x = fromServer ? 8 : 0;
  return sha256Of(authKey.subarray(88 + x, 120 + x), padded).subarray(8, 24);
};

const refKeyId = (authKey: Buffer) => createHash('sha1').update(authKey).digest().subarray(12, 20);

function refEncrypt(authKey: Buffer, plain: Buffer, padding: Buffer, fromServer: boolean): Buffer {
  const padded = Buffer.concat([plain, padding]);
  const msgKey = refMsgKey(authKey, padded, fromServer);
  const { key, iv } = refKdf(authKey, msgKey, fromServer);
  return Buffer.concat([refKeyId(authKey), msgKey, refIge(padded, key, iv, true)]);
}

/** Decrypts with the reference and checks what the spec says an encrypted message is. */
function refOpen(authKey: Buffer, packet: Buffer, fromServer: boolean): { plain: Buffer; padding: number } {
  if (!packet.subarray(0, 8).equals(refKeyId(authKey))) throw new Error('auth_key_id');
  const msgKey = packet.subarray(8, 24);
  const { key, iv } = refKdf(authKey, msgKey, fromServer);
  const padded = refIge(packet.subarray(24), key, iv, false);
  if (!refMsgKey(authKey, padded, fromServer).equals(msgKey)) throw new Error('msg_key');
  const length = padded.readUInt32LE(28);
  return { plain: padded.subarray(0, 32 + length), padding: padded.length - 32 - length };
}

// --- generators ----------------------------------------------------------------

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
const blocks = (max: number) => fc.integer({ min: 0, max }).chain((n) => bytes(16 * n));
/** A well-formed inner message: 32-byte header with message_data_length, then the body. */
const innerMessage = fc.tuple(bytes(28), fc.integer({ min: 0, max: 300 })).chain(([head, words]) =>
  bytes(4 * words).map((body) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.length);
    return Buffer.concat([head, len, body]);
  }),
);
/** A copy of `data` inside a larger buffer, at a random offset, as a subarray view. */
const placed = (data: Buffer, offset: number) => {
  const host = randomBytes(offset + data.length + 7);
  data.copy(host, offset);
  return host.subarray(offset, offset + data.length);
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return undefined;
}

// --- AES-256-IGE ---------------------------------------------------------------

test('every AES-256 vector of aes-ige.json, both directions, both forms', (t) => {
  const { vectors } = load('aes-ige.json');
  let checked = 0;
  for (const v of vectors) {
    if (v.key_bits !== 256) continue; // the OpenSSL AES-128 vectors check only the chaining
    const [key, iv, plain, cipher] = [hex(v.key), hex(v.iv), hex(v.plaintext), hex(v.ciphertext)];
    t.deepEqual(aesIgeEncrypt(plain, key, iv), cipher, v.name);
    t.deepEqual(aesIgeDecrypt(cipher, key, iv), plain, v.name);
    const buf = Buffer.from(plain);
    aesIgeEncryptInPlace(buf, key, iv);
    t.deepEqual(buf, cipher, v.name);
    aesIgeDecryptInPlace(buf, key, iv);
    t.deepEqual(buf, plain, v.name);
    checked++;
  }
  t.true(checked >= 5);
});

test('IGE matches the node:crypto reference on random inputs, every form', (t) => {
  fc.assert(
    fc.property(blocks(40), bytes(32), bytes(32), fc.nat(15), (data, key, iv, offset) => {
      const enc = refIge(data, key, iv, true);
      t.deepEqual(aesIgeEncrypt(data, key, iv), enc);
      t.deepEqual(aesIgeDecrypt(enc, key, iv), data);
      t.deepEqual(refIge(enc, key, iv, false), data);
      // In place, in a view at an offset of a larger buffer: only the view changes.
      const view = placed(data, offset);
      const before = Buffer.from(view.buffer, view.byteOffset - offset, offset);
      const beforeCopy = Buffer.from(before);
      aesIgeEncryptInPlace(view, key, iv);
      t.deepEqual(Buffer.from(view), enc);
      aesIgeDecryptInPlace(view, key, iv);
      t.deepEqual(Buffer.from(view), data);
      t.deepEqual(before, beforeCopy);
      // Plain Uint8Arrays work as well as Buffers.
      t.deepEqual(Buffer.from(aesIgeEncrypt(new Uint8Array(data), new Uint8Array(key), iv)), enc);
    }),
    { numRuns: 200 },
  );
});

test('IGE over a long input (64 KiB) matches the reference', (t) => {
  const [data, key, iv] = [randomBytes(65536), randomBytes(32), randomBytes(32)];
  const enc = refIge(data, key, iv, true);
  t.deepEqual(aesIgeEncrypt(data, key, iv), enc);
  t.deepEqual(aesIgeDecrypt(enc, key, iv), data);
});

test('IGE error codes', (t) => {
  const [key, iv] = [randomBytes(32), randomBytes(32)];
  for (const fn of [aesIgeEncrypt, aesIgeDecrypt, aesIgeEncryptInPlace, aesIgeDecryptInPlace]) {
    t.is(
      codeOf(() => fn(Buffer.alloc(17), key, iv)),
      'ERR_BAD_LENGTH',
    );
    t.is(
      codeOf(() => fn(Buffer.alloc(16), randomBytes(16), iv)),
      'ERR_BAD_KEY_LENGTH',
    );
    t.is(
      codeOf(() => fn(Buffer.alloc(16), key, randomBytes(16))),
      'ERR_BAD_IV_LENGTH',
    );
  }
  // In-place errors have the same shape as the others: code, and the code leading the message.
  const err = t.throws(() => aesIgeEncryptInPlace(Buffer.alloc(17), key, iv)) as NodeJS.ErrnoException;
  t.is(err.code, 'ERR_BAD_LENGTH');
  t.regex(err.message, /^ERR_BAD_LENGTH: data length 17 is not a multiple of 16/);
  // Arguments that are not bytes, or missing.
  const wrong: unknown[] = ['sixteen bytes...', new Uint16Array(8), undefined, 42];
  for (const bad of wrong) {
    t.throws(() => aesIgeEncryptInPlace(bad as Uint8Array, key, iv));
    t.throws(() => aesIgeDecryptInPlace(Buffer.alloc(16), bad as Uint8Array, iv));
    t.throws(() => sha256Into(bad as Uint8Array, Buffer.alloc(32)));
  }
  t.throws(() => (aesIgeEncryptInPlace as (...a: unknown[]) => void)(Buffer.alloc(16), key));
  const untouched = Buffer.alloc(17, 5);
  t.throws(() => aesIgeEncryptInPlace(untouched, key, iv));
  t.deepEqual(untouched, Buffer.alloc(17, 5));
  t.is(aesIgeEncrypt(Buffer.alloc(0), key, iv).length, 0);
});

// --- SHA -----------------------------------------------------------------------

test('SHA-1 and SHA-256 match node:crypto, into a buffer at any offset', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(40), (data, offset) => {
      const d1 = createHash('sha1').update(data).digest();
      const d256 = createHash('sha256').update(data).digest();
      t.deepEqual(sha1(data), d1);
      t.deepEqual(sha256(data), d256);
      const out = Buffer.alloc(offset + 32 + 3, 0xee);
      sha1Into(data, out, offset);
      t.deepEqual(out.subarray(offset, offset + 20), d1);
      sha256Into(data, out, offset);
      t.deepEqual(out.subarray(offset, offset + 32), d256);
      t.deepEqual(out.subarray(0, offset), Buffer.alloc(offset, 0xee));
      t.deepEqual(out.subarray(offset + 32), Buffer.alloc(3, 0xee));
    }),
    { numRuns: 200 },
  );
  // The digest may overwrite its own input.
  const data = randomBytes(64);
  const expected = createHash('sha256').update(data).digest();
  sha256Into(data, data);
  t.deepEqual(data.subarray(0, 32), expected);
});

test('SHA write-into forms report a short output', (t) => {
  const out = Buffer.alloc(32);
  sha256Into(Buffer.from('abc'), out, null as unknown as undefined);
  t.is(out.toString('hex'), createHash('sha256').update('abc').digest('hex'));
  sha1Into(Buffer.from('abc'), out, undefined);
  t.is(out.subarray(0, 20).toString('hex'), createHash('sha1').update('abc').digest('hex'));
  t.is(
    codeOf(() => sha1Into(Buffer.alloc(1), Buffer.alloc(19))),
    'ERR_OUT_OF_RANGE',
  );
  t.is(
    codeOf(() => sha256Into(Buffer.alloc(1), Buffer.alloc(40), 9)),
    'ERR_OUT_OF_RANGE',
  );
});

// --- MTProto 2.0 KDF and message vectors ---------------------------------------

test('the reference KDF reproduces mtproto2-kdf.json', (t) => {
  const v = load('mtproto2-kdf.json');
  for (const c of v.key_iv_vectors) {
    const { key, iv } = refKdf(hex(c.auth_key), hex(c.msg_key), c.x === 8);
    t.is(key.toString('hex'), c.aes_key, c.name);
    t.is(iv.toString('hex'), c.aes_iv, c.name);
  }
});

test('message vectors of mtproto2-kdf.json through decryptMessage', (t) => {
  const [client, server] = load('mtproto2-kdf.json').message_vectors;
  // Server -> client (x = 8): decrypts through every check to the plaintext without
  // its 24 padding bytes.
  const serverKey = hex(server.auth_key);
  const plain = decryptMessage(serverKey, hex(server.encrypted_message), true);
  t.deepEqual(plain, hex(server.plaintext).subarray(0, plain.length));
  t.is(hex(server.plaintext).length - plain.length, 24);
  t.deepEqual(new AuthKey(serverKey).decrypt(hex(server.encrypted_message), true), plain);
  t.is(new AuthKey(serverKey).id, hex(server.auth_key_id).readBigInt64LE());
  // Client -> server (x = 0): the grammers vector's plaintext is a bare string, not an
  // inner message, so its length field is garbage: msg_key passes, the length check fails.
  t.is(
    codeOf(() => decryptMessage(hex(client.auth_key), hex(client.encrypted_message), false)),
    'ERR_BAD_MESSAGE_LENGTH',
  );
  // Its bytes come back exactly from the reference with the vector's padding.
  const packet = refEncrypt(hex(client.auth_key), hex(client.plaintext), hex(client.padding), false);
  t.is(packet.toString('hex'), client.encrypted_message);
  // And its ciphertext from aesIgeEncrypt with the vector's key and iv.
  const padded = Buffer.concat([hex(client.plaintext), hex(client.padding)]);
  t.is(aesIgeEncrypt(padded, hex(client.aes_key), hex(client.aes_iv)).toString('hex'), client.ciphertext);
});

// --- the envelope, differential ------------------------------------------------

test('encryptMessage output opens with the reference; padding 12..1024, whole blocks', (t) => {
  fc.assert(
    fc.property(bytes(256), innerMessage, fc.boolean(), (authKey, plain, fromServer) => {
      const check = (packet: Buffer) => {
        t.is((packet.length - 24) % 16, 0);
        const opened = refOpen(authKey, packet, fromServer);
        t.deepEqual(opened.plain, plain);
        t.true(opened.padding >= 12 && opened.padding <= 1024);
      };
      check(encryptMessage(authKey, plain, fromServer));
      check(new AuthKey(authKey).encrypt(plain, fromServer));
      t.deepEqual(decryptMessage(authKey, encryptMessage(authKey, plain, fromServer), fromServer), plain);
    }),
    { numRuns: 150 },
  );
});

test('decryptMessage opens what the reference encrypts', (t) => {
  fc.assert(
    fc.property(
      bytes(256),
      innerMessage,
      fc.boolean(),
      fc.integer({ min: 0, max: 60 }),
      (authKey, plain, fromServer, extraBlocks) => {
        const padLen = 12 + ((16 - ((plain.length + 12) % 16)) % 16) + 16 * extraBlocks;
        const packet = refEncrypt(authKey, plain, randomBytes(padLen), fromServer);
        t.deepEqual(decryptMessage(authKey, packet, fromServer), plain);
        const key = new AuthKey(authKey);
        t.deepEqual(key.decrypt(packet, fromServer), plain);
        // In place, in a larger buffer.
        const buf = Buffer.concat([randomBytes(5), packet, randomBytes(3)]);
        const n = key.decryptInPlace(buf, 5, packet.length, fromServer);
        t.deepEqual(buf.subarray(5 + ENVELOPE_HEADER_LEN, 5 + ENVELOPE_HEADER_LEN + n), plain);
      },
    ),
    { numRuns: 150 },
  );
});

test('encryptInPlace writes a packet at the start, within the buffer, that the reference opens', (t) => {
  fc.assert(
    fc.property(
      bytes(256),
      innerMessage,
      fc.boolean(),
      fc.nat(9),
      fc.integer({ min: 27, max: 120 }),
      (authKey, plain, fromServer, start, room) => {
        const key = new AuthKey(authKey);
        const buf = randomBytes(start + ENVELOPE_HEADER_LEN + plain.length + room);
        const head = Buffer.from(buf.subarray(0, start));
        plain.copy(buf, start + ENVELOPE_HEADER_LEN);
        const n = key.encryptInPlace(buf, start, plain.length, fromServer);
        t.true(start + n <= buf.length);
        t.deepEqual(buf.subarray(0, start), head);
        t.deepEqual(refOpen(authKey, buf.subarray(start, start + n), fromServer).plain, plain);
        // And back in place.
        const m = key.decryptInPlace(buf, start, n, fromServer);
        t.deepEqual(buf.subarray(start + ENVELOPE_HEADER_LEN, start + ENVELOPE_HEADER_LEN + m), plain);
      },
    ),
    { numRuns: 150 },
  );
});

test('encryptMessages encrypts every slot like a single call would', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(bytes(256), innerMessage, fc.nat(40)), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      (messages, fromServer, oneKey) => {
        const keys = (oneKey ? messages.slice(0, 1) : messages).map(([k]) => new AuthKey(k));
        const layout: number[] = [];
        let at = 3;
        for (const [, plain, slack] of messages) {
          const room = ENVELOPE_HEADER_LEN + plain.length + 27 + slack;
          layout.push(at, plain.length, room, 0);
          at += room + 1;
        }
        const buf = randomBytes(at);
        messages.forEach(([, plain], i) => {
          plain.copy(buf, layout[4 * i] + ENVELOPE_HEADER_LEN);
        });
        const slots = Uint32Array.from(layout);
        encryptMessages(keys, buf, slots, fromServer);
        messages.forEach(([authKey, plain], i) => {
          const [start, , room, len] = slots.subarray(4 * i, 4 * i + 4);
          t.true(len <= room);
          const k = oneKey ? messages[0][0] : authKey;
          t.deepEqual(refOpen(k, buf.subarray(start, start + len), fromServer).plain, plain);
        });
      },
    ),
    { numRuns: 100 },
  );
});

test('padding is random: the same message gives different packets and lengths', (t) => {
  const authKey = randomBytes(256);
  const plain = Buffer.alloc(32 + 64);
  plain.writeUInt32LE(64, 28);
  const packets = Array.from({ length: 200 }, () => encryptMessage(authKey, plain, false).toString('hex'));
  t.is(new Set(packets).size, packets.length);
  t.true(new Set(packets.map((p) => p.length)).size > 1);
});

// --- mutation --------------------------------------------------------------------

test('flipping any single byte of a packet makes decryptMessage throw the right code', (t) => {
  const authKey = randomBytes(256);
  const plain = Buffer.alloc(32 + 40, 0x11);
  plain.writeUInt32LE(40, 28);
  const packet = encryptMessage(authKey, plain, true);
  for (let i = 0; i < packet.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Buffer.from(packet);
      bad[i] ^= bit;
      const expected = i < 8 ? 'ERR_AUTH_KEY_ID_MISMATCH' : 'ERR_MSG_KEY_MISMATCH';
      t.is(
        codeOf(() => decryptMessage(authKey, bad, true)),
        expected,
        `byte ${i}`,
      );
    }
  }
  // Random flips on random messages, through the handle.
  fc.assert(
    fc.property(bytes(256), innerMessage, fc.nat(), fc.integer({ min: 1, max: 255 }), (k, p, at, mask) => {
      const key = new AuthKey(k);
      const bad = key.encrypt(p, false);
      const i = at % bad.length;
      bad[i] ^= mask;
      const expected = i < 8 ? 'ERR_AUTH_KEY_ID_MISMATCH' : 'ERR_MSG_KEY_MISMATCH';
      t.is(
        codeOf(() => key.decrypt(bad, false)),
        expected,
      );
    }),
    { numRuns: 200 },
  );
  // Decrypting as the wrong side uses other key material.
  t.is(
    codeOf(() => decryptMessage(authKey, packet, false)),
    'ERR_MSG_KEY_MISMATCH',
  );
});

// --- envelope error codes --------------------------------------------------------

test('envelope error codes', (t) => {
  const authKey = randomBytes(256);
  const key = new AuthKey(authKey);
  const plain = Buffer.alloc(32 + 16);
  plain.writeUInt32LE(16, 28);
  const packet = encryptMessage(authKey, plain, false);

  t.is(
    codeOf(() => new AuthKey(randomBytes(255))),
    'ERR_BAD_KEY_LENGTH',
  );
  t.is(
    codeOf(() => encryptMessage(randomBytes(257), plain, false)),
    'ERR_BAD_KEY_LENGTH',
  );
  t.is(
    codeOf(() => decryptMessage(randomBytes(32), packet, false)),
    'ERR_BAD_KEY_LENGTH',
  );

  // Too short for headers, inner header and minimum padding; or not whole blocks.
  t.is(
    codeOf(() => decryptMessage(authKey, packet.subarray(0, 24 + 48 - 16), false)),
    'ERR_BAD_PACKET_LENGTH',
  );
  t.is(
    codeOf(() => decryptMessage(authKey, packet.subarray(0, packet.length - 1), false)),
    'ERR_BAD_PACKET_LENGTH',
  );
  t.is(
    codeOf(() => decryptMessage(randomBytes(256), packet, false)),
    'ERR_AUTH_KEY_ID_MISMATCH',
  );

  // A valid msg_key over a declared length that does not fit, or is not a multiple of 4.
  for (const declared of [4000, 17, 0xffffffff]) {
    const lying = Buffer.from(plain);
    lying.writeUInt32LE(declared, 28);
    const p = refEncrypt(authKey, lying, randomBytes(16), false);
    t.is(
      codeOf(() => decryptMessage(authKey, p, false)),
      'ERR_BAD_MESSAGE_LENGTH',
      `declared ${declared}`,
    );
  }
  // Padding below 12 (none) and above 1024 (1040 bytes) with a correct msg_key.
  const tiny = refEncrypt(authKey, plain, Buffer.alloc(0), false);
  t.is(
    codeOf(() => decryptMessage(authKey, tiny, false)),
    'ERR_BAD_PADDING',
  );
  const huge = refEncrypt(authKey, plain, randomBytes(1040), false);
  t.is(
    codeOf(() => decryptMessage(authKey, huge, false)),
    'ERR_BAD_PADDING',
  );
  // 1024 bytes of padding is still fine.
  const most = refEncrypt(authKey, plain, randomBytes(1024), false);
  t.deepEqual(decryptMessage(authKey, most, false), plain);

  // In-place forms: ranges and room.
  const buf = Buffer.alloc(24 + plain.length + 27);
  t.is(
    codeOf(() => key.encryptInPlace(buf, 0, plain.length + 28, false)),
    'ERR_NO_ROOM',
  );
  t.is(
    codeOf(() => key.encryptInPlace(buf, buf.length + 1, 0, false)),
    'ERR_OUT_OF_RANGE',
  );
  t.is(
    codeOf(() => key.decryptInPlace(buf, 10, buf.length, false)),
    'ERR_OUT_OF_RANGE',
  );
  t.is(
    codeOf(() => key.decryptInPlace(Buffer.from(packet), 0, packet.length - 16, false)),
    'ERR_MSG_KEY_MISMATCH',
  );

  // Batch: malformed slots, wrong key count, out of range, no room; nothing is encrypted.
  const big = Buffer.alloc(256);
  const snapshot = Buffer.from(big);
  t.is(
    codeOf(() => encryptMessages([key], big, new Uint32Array(3), false)),
    'ERR_BAD_SLOTS',
  );
  t.is(
    codeOf(() =>
      encryptMessages([key, key], big, Uint32Array.from([0, 32, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0]), false),
    ),
    'ERR_BAD_SLOTS',
  );
  t.is(
    codeOf(() => encryptMessages([key], big, Uint32Array.from([0, 32, 100, 0, 200, 32, 100, 0]), false)),
    'ERR_OUT_OF_RANGE',
  );
  t.is(
    codeOf(() => encryptMessages([key], big, Uint32Array.from([0, 32, 100, 0, 100, 32, 60, 0]), false)),
    'ERR_NO_ROOM',
  );
  t.deepEqual(big, snapshot);
});
