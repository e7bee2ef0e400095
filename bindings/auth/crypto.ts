// The symmetric crypto and hashes the exchange needs: SHA-1 and AES-256-IGE
// (tmp_aes_key/iv over server_DH_inner_data and client_DH_inner_data).
// The native ones (crates/mtcore crypto) are used when the module has them;
// node:crypto serves otherwise.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import * as native from '../native';

type IgeFn = (data: Buffer, key: Buffer, iv: Buffer) => Buffer;
type HashFn = (data: Buffer) => Buffer;

const nativeFns = native as unknown as { aesIgeEncrypt?: IgeFn; aesIgeDecrypt?: IgeFn; sha1?: HashFn };

export const sha1: HashFn = nativeFns.sha1 ?? ((data) => createHash('sha1').update(data).digest());

/** SHA-1 of several parts concatenated. */
export function sha1Of(...parts: Buffer[]): Buffer {
  return sha1(Buffer.concat(parts));
}

// AES-256-IGE (iv = c_{-1} ‖ p_{-1}, 32 bytes) from AES-256-ECB blocks.
function jsIge(data: Buffer, key: Buffer, iv: Buffer, encrypt: boolean): Buffer {
  if (data.length % 16 !== 0) throw new RangeError('IGE data must be whole 16-byte blocks');
  const aes = encrypt ? createCipheriv('aes-256-ecb', key, null) : createDecipheriv('aes-256-ecb', key, null);
  aes.setAutoPadding(false);
  const out = Buffer.allocUnsafe(data.length);
  // Encrypting: prevOut = c_{-1}, prevIn = p_{-1}; decrypting the roles swap.
  let prevOut = encrypt ? iv.subarray(0, 16) : iv.subarray(16, 32);
  let prevIn = encrypt ? iv.subarray(16, 32) : iv.subarray(0, 16);
  const block = Buffer.allocUnsafe(16);
  for (let off = 0; off < data.length; off += 16) {
    const input = data.subarray(off, off + 16);
    for (let i = 0; i < 16; i++) block[i] = input[i] ^ prevOut[i];
    const mid = aes.update(block);
    const output = out.subarray(off, off + 16);
    for (let i = 0; i < 16; i++) output[i] = mid[i] ^ prevIn[i];
    prevOut = output;
    prevIn = input;
  }
  return out;
}

export const aesIgeEncrypt: IgeFn = nativeFns.aesIgeEncrypt ?? ((d, k, iv) => jsIge(d, k, iv, true));
export const aesIgeDecrypt: IgeFn = nativeFns.aesIgeDecrypt ?? ((d, k, iv) => jsIge(d, k, iv, false));
