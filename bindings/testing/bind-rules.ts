// What a DC checks of auth.bindTempAuthKey (https://core.telegram.org/method/auth.bindTempAuthKey,
// https://core.telegram.org/api/pfs), sans-IO: the query must come over a temporary key;
// encrypted_message must open with the named permanent key (bind-temp-key.ts) and carry the
// carrying query's msg_id with seq_no 0; bind_auth_key_inner must repeat the query's nonce and
// expires_at and name both keys and the session the query came in. Until it is bound, a
// temporary key may only call a few methods; the rest is refused with 401 AUTH_KEY_PERM_EMPTY.

import * as TL from '../tl';
import { openBinding } from './bind-temp-key';
import type { AuthKeyRecord } from './keys';

/** Methods an unbound temporary key may call (the binding itself, and what a client needs before it). */
const UNBOUND_ALLOWED =
  /^(auth\.bindTempAuthKey|help\.getConfig|help\.getNearestDc|help\.getCdnConfig|upload\.getCdnFile|upload\.getCdnFileHashes|langpack\.\w+|rpc_drop_answer|destroy_auth_key)$/;

/** The error an unbound temporary key gets for `method`, if any. */
export function unboundRefusal(key: AuthKeyRecord, method: string): string | undefined {
  if (key.expiresAt === undefined || key.boundTo || UNBOUND_ALLOWED.test(method)) return undefined;
  return 'AUTH_KEY_PERM_EMPTY';
}

export type BindError =
  | 'TEMP_AUTH_KEY_EMPTY'
  | 'ENCRYPTED_MESSAGE_INVALID'
  | 'TEMP_AUTH_KEY_ALREADY_BOUND'
  | 'EXPIRES_AT_INVALID';

export interface BindQuery {
  permAuthKeyId: bigint;
  nonce: bigint;
  expiresAt: number;
  encryptedMessage: Buffer;
}

export interface BindContext {
  /** The key the query came over. */
  temp: AuthKeyRecord | undefined;
  /** The key named by perm_auth_key_id, if the DC knows it. */
  perm: AuthKeyRecord | undefined;
  /** msg_id and session_id of the message that carried the query. */
  msgId: bigint;
  sessionId: bigint;
  /** The server's clock, ms. */
  now: number;
}

const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** Checks a binding; returns the error to answer with (400), or null when it may be bound. */
export function checkBinding(req: BindQuery, c: BindContext): BindError | null {
  const { temp, perm } = c;
  if (!temp || temp.expiresAt === undefined) return 'TEMP_AUTH_KEY_EMPTY';
  const permId = u64(req.permAuthKeyId);
  if (!perm || perm.expiresAt !== undefined || perm.authKeyId !== permId) return 'ENCRYPTED_MESSAGE_INVALID';
  const opened = openBinding(perm.authKey, permId, req.encryptedMessage);
  // The inner message is stamped with the msg_id of the query that carries it, seq_no 0.
  if (!opened || opened.msgId !== c.msgId || opened.seqno !== 0) return 'ENCRYPTED_MESSAGE_INVALID';
  let inner: TL.TlObject;
  try {
    inner = TL.deserialize(opened.body);
  } catch {
    return 'ENCRYPTED_MESSAGE_INVALID';
  }
  if (inner._ !== 'bind_auth_key_inner') return 'ENCRYPTED_MESSAGE_INVALID';
  const i = inner as TL.Objects['bind_auth_key_inner'];
  const matches =
    i.nonce === req.nonce &&
    u64(i.tempAuthKeyId) === temp.authKeyId &&
    u64(i.permAuthKeyId) === permId &&
    u64(i.tempSessionId) === c.sessionId &&
    i.expiresAt === req.expiresAt;
  if (!matches) return 'ENCRYPTED_MESSAGE_INVALID';
  if (req.expiresAt * 1000 <= c.now) return 'EXPIRES_AT_INVALID';
  if (temp.boundTo && temp.boundTo !== perm) return 'TEMP_AUTH_KEY_ALREADY_BOUND';
  return null;
}

/**
 * Binds `temp` to `perm` after `checkBinding` passed: a permanent key is bound to one
 * temporary key at a time (a new binding replaces the old: `unbind` drops it), and the
 * temporary key stops working at expires_at if that comes before its own expiry.
 */
export function bind(temp: AuthKeyRecord, perm: AuthKeyRecord, expiresAt: number, unbind: () => void): void {
  unbind();
  temp.boundTo = perm;
  temp.expiresAt = Math.min(temp.expiresAt ?? Number.POSITIVE_INFINITY, expiresAt * 1000);
}
