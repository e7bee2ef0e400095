// The JavaScript baseline the benchmarks measure native code against: MTProto's
// AES-256-IGE chained over node:crypto's ECB, and the MTProto 2.0 key derivation
// over node:crypto's SHA-256. One copy, so every bench compares with the same thing.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** AES-256-IGE over node:crypto ECB (iv = c_prev ‖ p_prev, as MTProto uses it). */
export function jsIge(data: Uint8Array, key: Uint8Array, iv: Uint8Array, encrypt: boolean): Buffer {
  const ecb = encrypt ? createCipheriv('aes-256-ecb', key, null) : createDecipheriv('aes-256-ecb', key, null);
  ecb.setAutoPadding(false);
  const out = Buffer.allocUnsafe(data.length);
  // Encrypt: c = E(p ^ c_prev) ^ p_prev. Decrypt: p = D(c ^ p_prev) ^ c_prev.
  let chainIn = Buffer.from(iv.subarray(encrypt ? 0 : 16, encrypt ? 16 : 32));
  let chainOut = Buffer.from(iv.subarray(encrypt ? 16 : 0, encrypt ? 32 : 16));
  const block = Buffer.allocUnsafe(16);
  for (let off = 0; off < data.length; off += 16) {
    const input = data.subarray(off, off + 16);
    for (let i = 0; i < 16; i++) block[i] = input[i] ^ chainIn[i];
    const x = ecb.update(block);
    for (let i = 0; i < 16; i++) out[off + i] = x[i] ^ chainOut[i];
    chainIn = out.subarray(off, off + 16);
    chainOut = Buffer.from(input);
  }
  return out;
}

/** aes_key and aes_iv from msg_key (x = 0 from the client, 8 from the server). */
export function jsKdf(authKey: Buffer, msgKey: Buffer, x: number): [Buffer, Buffer] {
  const a = createHash('sha256')
    .update(msgKey)
    .update(authKey.subarray(x, x + 36))
    .digest();
  const b = createHash('sha256')
    .update(authKey.subarray(40 + x, 76 + x))
    .update(msgKey)
    .digest();
  return [
    Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  ];
}
