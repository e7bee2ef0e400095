// auth.bindTempAuthKey (https://core.telegram.org/method/auth.bindTempAuthKey): the
// binding message, bind_auth_key_inner encrypted with the permanent key. The page
// describes MTProto v1 (msg_key = SHA1 of the plaintext, SHA1-based key derivation)
// with random:int128 in place of salt and session_id, the request's msg_id and seqno 0.
// Some versions of the page say only "in the usual way", so MTProto 2.0 is accepted too.

import { igeDecrypt, sha1, sha256 } from './crypto';

export interface OpenedBinding {
  msgId: bigint;
  seqno: number;
  body: Buffer;
  scheme: 'v1' | 'v2';
}

/** MTProto v1 aes key and iv (x = 0: sent by the client). */
export function kdfV1(authKey: Buffer, msgKey: Buffer, x: number): { key: Buffer; iv: Buffer } {
  const a = sha1(msgKey, authKey.subarray(x, x + 32));
  const b = sha1(authKey.subarray(32 + x, 48 + x), msgKey, authKey.subarray(48 + x, 64 + x));
  const c = sha1(authKey.subarray(64 + x, 96 + x), msgKey);
  const d = sha1(msgKey, authKey.subarray(96 + x, 128 + x));
  return {
    key: Buffer.concat([a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)]),
    iv: Buffer.concat([a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)]),
  };
}

/** MTProto 2.0 aes key and iv (x = 0: sent by the client). */
export function kdfV2(authKey: Buffer, msgKey: Buffer, x: number): { key: Buffer; iv: Buffer } {
  const a = sha256(msgKey, authKey.subarray(x, x + 36));
  const b = sha256(authKey.subarray(40 + x, 76 + x), msgKey);
  return {
    key: Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    iv: Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  };
}

/** Decrypts encrypted_message with the permanent key; null unless it checks out. */
export function openBinding(permKey: Buffer, permKeyId: bigint, encrypted: Buffer): OpenedBinding | null {
  if (encrypted.length < 24 + 48 || (encrypted.length - 24) % 16 !== 0) return null;
  if (encrypted.readBigUInt64LE(0) !== permKeyId) return null;
  const msgKey = encrypted.subarray(8, 24);
  for (const scheme of ['v1', 'v2'] as const) {
    const { key, iv } = scheme === 'v1' ? kdfV1(permKey, msgKey, 0) : kdfV2(permKey, msgKey, 0);
    const plain = igeDecrypt(encrypted.subarray(24), key, iv);
    const len = plain.readUInt32LE(28);
    if (len % 4 !== 0 || 32 + len > plain.length) continue;
    const padding = plain.length - 32 - len;
    const ok =
      scheme === 'v1'
        ? padding < 16 &&
          sha1(plain.subarray(0, 32 + len))
            .subarray(4, 20)
            .equals(msgKey)
        : padding >= 12 &&
          padding <= 1024 &&
          sha256(permKey.subarray(88, 120), plain).subarray(8, 24).equals(msgKey);
    if (!ok) continue;
    return {
      msgId: plain.readBigUInt64LE(16),
      seqno: plain.readUInt32LE(24),
      body: plain.subarray(32, 32 + len),
      scheme,
    };
  }
  return null;
}
