// The authorization keys a TestDc knows, shared by all its connections (like a real DC),
// each with its salts and its sessions.

import { authKeyIdOf } from '../auth/key';
import type { DcSession } from './dc-session';
import { SaltSchedule } from './salts';
import type { CreatedKey } from './server-handshake';
import type { AuthKeyInfo } from './types';

export class AuthKeyRecord {
  readonly authKey: Buffer;
  readonly authKeyId: bigint;
  readonly salts: SaltSchedule;
  readonly sessions = new Map<bigint, DcSession>();
  /**
   * The highest msg_id sent by a session of this key that is gone: a session opened
   * later for the same session_id starts above it, so no server msg_id repeats.
   */
  retiredMsgId = 0n;
  /** A temporary key bound to a permanent one (auth.bindTempAuthKey) acts for it. */
  boundTo: AuthKeyRecord | undefined;
  private ownUserId: bigint | undefined;
  /** Server time (ms) a temporary key stops working (a binding may bring it forward). */
  expiresAt: number | undefined;
  readonly source: 'handshake' | 'added';
  readonly created: CreatedKey | undefined;

  constructor(
    authKey: Buffer,
    firstSalt: bigint,
    nowMs: number,
    opts: { created?: CreatedKey; userId?: bigint; expiresAt?: number },
  ) {
    this.authKey = Buffer.from(authKey);
    this.authKeyId = authKeyIdOf(authKey);
    this.salts = new SaltSchedule(firstSalt, Math.floor(nowMs / 1000));
    this.created = opts.created;
    this.source = opts.created ? 'handshake' : 'added';
    this.ownUserId = opts.userId;
    this.expiresAt = opts.expiresAt;
  }

  /** The user logged in with this key (with the permanent key, for a bound temporary key). */
  get userId(): bigint | undefined {
    return this.boundTo ? this.boundTo.userId : this.ownUserId;
  }

  set userId(id: bigint | undefined) {
    if (this.boundTo) this.boundTo.userId = id;
    else this.ownUserId = id;
  }

  expired(nowMs: number): boolean {
    return this.expiresAt !== undefined && nowMs >= this.expiresAt;
  }

  info(): AuthKeyInfo {
    return {
      authKeyId: this.authKeyId,
      temp: this.expiresAt !== undefined,
      expiresAt: this.expiresAt,
      userId: this.userId,
      source: this.source,
      innerData: this.created?.innerData,
      rsaScheme: this.created?.rsaScheme,
      sessions: this.sessions.size,
      boundTo: this.boundTo?.authKeyId,
    };
  }
}

export { authKeyIdOf };
