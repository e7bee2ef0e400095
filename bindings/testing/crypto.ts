// Server-side primitives of TestDc over node:crypto and bigint: independent of the
// Rust code the client uses, so that TestDc also checks the client's crypto.

import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

export function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * AES-256-IGE (https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector):
 * `iv` is 32 bytes, the first half standing for the previous ciphertext block and the
 * second for the previous plaintext block.
 */
export function igeEncrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  return ige(data, key, iv, true);
}

export function igeDecrypt(data: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  return ige(data, key, iv, false);
}

function ige(data: Uint8Array, key: Uint8Array, iv: Uint8Array, encrypt: boolean): Buffer {
  if (data.length % 16 !== 0) throw new RangeError(`IGE data of ${data.length} bytes is not whole blocks`);
  if (key.length !== 32 || iv.length !== 32) throw new RangeError('IGE needs a 32-byte key and a 32-byte iv');
  const aes = (encrypt ? createCipheriv : createDecipheriv)('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  const block = Buffer.alloc(16);
  // The chaining values: x is XORed in before the block cipher, y after.
  let x = Buffer.from(iv.subarray(encrypt ? 0 : 16, encrypt ? 16 : 32));
  let y = Buffer.from(iv.subarray(encrypt ? 16 : 0, encrypt ? 32 : 16));
  for (let i = 0; i < data.length; i += 16) {
    const input = data.subarray(i, i + 16);
    for (let j = 0; j < 16; j++) block[j] = input[j] ^ x[j];
    const t = aes.update(block);
    for (let j = 0; j < 16; j++) out[i + j] = t[j] ^ y[j];
    // Encrypting: next x is this ciphertext, next y this plaintext; decrypting, the reverse.
    x = Buffer.from(out.subarray(i, i + 16));
    y = Buffer.from(input);
  }
  return out;
}

/** The unsigned big-endian number in `b`. */
export function bigFromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

/** `n` as big-endian bytes: exactly `len` bytes when given, else as few as possible (at least one). */
export function bytesFromBig(n: bigint, len?: number): Buffer {
  if (n < 0n) throw new RangeError('negative');
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const raw = Buffer.from(hex, 'hex');
  if (len === undefined) return raw;
  if (raw.length > len) throw new RangeError(`${raw.length} bytes do not fit in ${len}`);
  return Buffer.concat([Buffer.alloc(len - raw.length), raw]);
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
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

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.min(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = a[i] ^ b[i];
  return out;
}
