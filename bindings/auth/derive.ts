// The values the exchange derives from its nonces and the new key
// (core.telegram.org/mtproto/auth_key, steps 5-9). "The 64 lower-order bits
// of SHA1(s)" are the last 8 bytes of the digest read as a little-endian
// long; "the 128 lower-order bits" its last 16 bytes as they are.
import { sha1, sha1Of } from './crypto';

/** tmp_aes_key and tmp_aes_iv, which encrypt server_DH_inner_data and client_DH_inner_data. */
export function tmpAesKeyIv(newNonce: Buffer, serverNonce: Buffer): { key: Buffer; iv: Buffer } {
  const ns = sha1Of(newNonce, serverNonce);
  const sn = sha1Of(serverNonce, newNonce);
  const nn = sha1Of(newNonce, newNonce);
  // key = SHA1(new_nonce + server_nonce) + substr(SHA1(server_nonce + new_nonce), 0, 12)
  const key = Buffer.concat([ns, sn.subarray(0, 12)]);
  // iv = substr(SHA1(server_nonce + new_nonce), 12, 8) + SHA1(new_nonce + new_nonce) + substr(new_nonce, 0, 4)
  const iv = Buffer.concat([sn.subarray(12, 20), nn, newNonce.subarray(0, 4)]);
  return { key, iv };
}

/** new_nonce_hash of server_DH_params_fail: the 128 lower-order bits of SHA1(new_nonce). */
export function paramsFailHash(newNonce: Buffer): Buffer {
  return sha1(newNonce).subarray(4, 20);
}

/**
 * new_nonce_hash1/2/3 of dh_gen_ok/retry/fail: the 128 lower-order bits of
 * SHA1(new_nonce + byte(n) + auth_key_aux_hash).
 */
export function newNonceHash(newNonce: Buffer, n: 1 | 2 | 3, authKeyAuxHash: Buffer): Buffer {
  return sha1Of(newNonce, Buffer.of(n), authKeyAuxHash).subarray(4, 20);
}

export interface AuthKeyIds {
  /** The 64 higher-order bits of SHA1(auth_key): the first 8 bytes (retry_id of a retry). */
  auxHash: Buffer;
  /** auth_key_id: the 64 lower-order bits of SHA1(auth_key), as an unsigned long. */
  authKeyId: bigint;
}

export function authKeyIds(authKey: Buffer): AuthKeyIds {
  const h = sha1(authKey);
  return { auxHash: h.subarray(0, 8), authKeyId: h.readBigUInt64LE(12) };
}

/** The first server salt: substr(new_nonce, 0, 8) XOR substr(server_nonce, 0, 8), as an unsigned long. */
export function firstServerSalt(newNonce: Buffer, serverNonce: Buffer): bigint {
  return newNonce.readBigUInt64LE(0) ^ serverNonce.readBigUInt64LE(0);
}
