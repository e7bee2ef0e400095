// Key material: what a connection runs on once a key exists, and the key's id.
// One definition for the handshake, sessions, storage and TestDc.

import * as crypto from 'node:crypto';

/** An auth key with the server salt to use and what was learned of the server's clock. */
export interface KeyMaterial {
  authKey: Buffer;
  /** Unsigned 64-bit. */
  serverSalt: bigint;
  /** Server time minus local time, seconds. */
  timeOffset?: number;
}

/** auth_key_id: the 64 lower-order bits of SHA1(auth_key) (mtproto/description), unsigned. */
export function authKeyIdOf(authKey: Buffer): bigint {
  return sha1(authKey).readBigUInt64LE(12);
}

// crypto.hash (Node >= 20.12) is one call instead of a Hash object: a third of the cost.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer }).hash;
const sha1 = (data: Buffer): Buffer =>
  oneShot ? oneShot('sha1', data, 'buffer') : crypto.createHash('sha1').update(data).digest();
