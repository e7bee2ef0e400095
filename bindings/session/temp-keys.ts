// Temporary keys and their binding (Perfect Forward Secrecy, https://core.telegram.org/api/pfs):
// a temporary key (p_q_inner_data_temp_dc, expires_in seconds) carries the traffic once
// auth.bindTempAuthKey bound it to the permanent key; only the permanent key is stored
// or exported. This file holds the pure parts: options, the renewal schedule, the msg_id
// the link will stamp next, and the binding request itself. Who connects and rotates is
// pool.ts.

import { createHash, randomBytes } from 'node:crypto';
import { bindTempKeyMessage, type MtpLink } from '../native';
import * as TL from '../tl';
import type { Driver } from './driver';
import { SessionError, type SessionOpenOptions } from './types';

export interface PfsConfig {
  expiresInSec: number;
  renewBeforeSec: number;
  jitterSec: number;
}

const DAY = 86_400;

/** The PFS settings of a session, or null when it uses its permanent key directly. */
export function pfsConfig(o: SessionOpenOptions): PfsConfig | null {
  const extras = (o.pool?.upload ?? 0) > 0 || (o.pool?.download ?? 0) > 0;
  // On by default where one permanent key serves several connections.
  const p = o.pfs ?? extras;
  if (p === false) return null;
  const given = p === true ? {} : p;
  const expiresInSec = given.expiresInSec ?? DAY;
  if (!(expiresInSec >= 1) || !Number.isFinite(expiresInSec)) {
    throw new SessionError('BAD_OPTIONS', `pfs.expiresInSec must be at least 1, got ${expiresInSec}`);
  }
  const renewBeforeSec = given.renewBeforeSec ?? Math.min(600, expiresInSec / 4);
  const jitterSec = given.jitterSec ?? Math.min(300, expiresInSec / 8);
  if (!(renewBeforeSec >= 0 && jitterSec >= 0 && renewBeforeSec + jitterSec < expiresInSec)) {
    throw new SessionError('BAD_OPTIONS', 'pfs: renewBeforeSec + jitterSec must be below expiresInSec');
  }
  return { expiresInSec: Math.floor(expiresInSec), renewBeforeSec, jitterSec };
}

/**
 * Milliseconds from `now` until the next key should be made for one that expires at
 * `expiresAtMs` (local clock): `renewBeforeSec` early plus a random part of `jitterSec`,
 * so that sessions opened together do not all renew at once.
 */
export function renewDelayMs(expiresAtMs: number, now: number, c: PfsConfig, random = Math.random): number {
  const early = (c.renewBeforeSec + random() * c.jitterSec) * 1000;
  return Math.max(0, Math.floor(expiresAtMs - early - now));
}

/** auth_key_id: the 64 lower-order bits of SHA1(auth_key) (mtproto/description), unsigned. */
export function authKeyIdOf(key: Buffer): bigint {
  return createHash('sha1').update(key).digest().readBigUInt64LE(12);
}

/** The msg_id seconds of `ms` (mtproto/description#message-identifier-msg-id), low two bits 0. */
function msgIdAt(ms: number): bigint {
  const secs = BigInt(Math.floor(ms / 1000));
  const frac = BigInt(((ms % 1000) + 1000) % 1000);
  return ((secs << 32n) | ((frac << 32n) / 1000n)) & ~3n;
}

/**
 * The msg_id `link.enqueue(body, now)` will give the next client message: the link's
 * rule (msg_id.rs: from the corrected clock, above the last id, a non-empty fraction).
 * The binding message must name the msg_id of the query that carries it, and the link
 * stamps ids itself, so the caller predicts and then checks.
 */
export function nextMsgId(link: MtpLink, now: number): bigint {
  const st = link.exportState();
  let id = msgIdAt(now + st.timeOffset);
  if (id <= st.lastMsgId) id = (st.lastMsgId & ~3n) + 4n;
  if ((id & 0xffffffffn) === 0n) id += 4n;
  return id;
}

export interface PermKey {
  authKey: Buffer;
  authKeyId: bigint;
}

export interface TempKey {
  authKey: Buffer;
  authKeyId: bigint;
  /** Unix seconds on the server's clock (the binding's expires_at). */
  expiresAt: number;
  /** The same moment on the local clock, ms. */
  expiresAtMs: number;
}

/**
 * Binds `temp` (the key of `driver`'s connection) to `perm` with auth.bindTempAuthKey,
 * the first request on that connection: bind_auth_key_inner names the nonce, both key
 * ids, the connection's MTProto session and expires_at, encrypted with the permanent key
 * (MTProto v1, in Rust: crypto/bind.rs) under the msg_id of the carrying query.
 * Resolves once the server said true; rejects with its RpcError otherwise.
 */
export async function bindTempKey(
  driver: Driver,
  perm: PermKey,
  temp: TempKey,
  timeoutMs: number,
): Promise<void> {
  const nonce = randomBytes(8).readBigInt64LE(0);
  const request = {
    _: 'auth.bindTempAuthKey',
    permAuthKeyId: perm.authKeyId,
    nonce,
    expiresAt: temp.expiresAt,
    encryptedMessage: Buffer.alloc(0),
  } as TL.TlObject;
  const build = (msgId: bigint) => {
    const inner = TL.serialize({
      _: 'bind_auth_key_inner',
      nonce,
      tempAuthKeyId: temp.authKeyId,
      permAuthKeyId: perm.authKeyId,
      tempSessionId: driver.link.sessionId,
      expiresAt: temp.expiresAt,
    } as TL.TlObject);
    return TL.serialize({
      ...request,
      encryptedMessage: bindTempKeyMessage(perm.authKey, msgId, inner),
    } as TL.TlObject);
  };
  const ok = await driver.requestStamped(request, build, timeoutMs);
  if (ok !== true) throw new SessionError('BIND_FAILED', 'auth.bindTempAuthKey answered false');
}
