// Temporary keys and their binding (Perfect Forward Secrecy, https://core.telegram.org/api/pfs):
// a temporary key (p_q_inner_data_temp_dc, expires_in seconds) carries the traffic once
// auth.bindTempAuthKey bound it to the permanent key; only the permanent key is stored
// or exported. This file holds the options, the renewal time and the binding request;
// when keys are made and retired is key-schedule.ts, who carries that out dc-pool.ts.

import { randomBytes } from 'node:crypto';
import type { Driver } from '../driver';
import { SessionError, type SessionOpenOptions } from '../types';

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
 * the first request on that connection. The link builds the query (bind_auth_key_inner
 * under the permanent key, MTProto v1, crates/mtcore/src/mtp/bind.rs) and names in it
 * the msg_id it stamps, again after every re-stamp. Resolves once the server said true;
 * rejects with its RpcError otherwise.
 */
export async function bindTempKey(
  driver: Driver,
  perm: PermKey,
  temp: TempKey,
  timeoutMs: number,
): Promise<void> {
  const nonce = randomBytes(8).readBigUInt64LE(0);
  const ok = await driver.requestBind(perm.authKey, nonce, temp.expiresAt, timeoutMs);
  if (ok !== true) throw new SessionError('BIND_FAILED', 'auth.bindTempAuthKey answered false');
}
