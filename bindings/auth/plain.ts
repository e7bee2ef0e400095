// Unencrypted messages, which carry the auth-key exchange
// (core.telegram.org/mtproto/description#unencrypted-message):
// auth_key_id = 0 (8) ‖ message_id (8) ‖ message_data_length (4) ‖ message_data.
// Written here in JS rather than through mtpPlainWrap/Unwrap: unwrapping must
// tolerate the padded transport's trailing padding, and a view of the body
// avoids a copy.
import { AuthKeyError, type AuthKeyStep } from './errors';

export const PLAIN_HEADER_LENGTH = 20;

/** A plain message around `body`. */
export function wrapPlain(msgId: bigint, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PLAIN_HEADER_LENGTH + body.length);
  out.fill(0, 0, 8);
  out.writeBigUInt64LE(msgId, 8);
  out.writeUInt32LE(body.length, 16);
  body.copy(out, PLAIN_HEADER_LENGTH);
  return out;
}

export interface PlainMessage {
  msgId: bigint;
  /** A view into the packet. */
  body: Buffer;
}

/**
 * Checks a server's plain message and returns its body. Up to 15 bytes after
 * the declared length are ignored (padded intermediate transport padding).
 * Throws AuthKeyError ERR_AUTH_BAD_RESPONSE.
 */
export function unwrapPlain(packet: Buffer, step: AuthKeyStep): PlainMessage {
  const bad = (why: string) => new AuthKeyError('ERR_AUTH_BAD_RESPONSE', step, `not a plain message: ${why}`);
  if (packet.length < PLAIN_HEADER_LENGTH) throw bad(`${packet.length} bytes`);
  if (packet.readUInt32LE(0) !== 0 || packet.readUInt32LE(4) !== 0) throw bad('auth_key_id is not zero');
  const msgId = packet.readBigUInt64LE(8);
  // Server message ids are odd (1 or 3 mod 4).
  if ((msgId & 1n) !== 1n) throw bad('msg_id is not a server msg_id');
  const length = packet.readUInt32LE(16);
  const available = packet.length - PLAIN_HEADER_LENGTH;
  if (length > available || available - length > 15) {
    throw bad(`declared length ${length} does not match ${available} bytes`);
  }
  return { msgId, body: packet.subarray(PLAIN_HEADER_LENGTH, PLAIN_HEADER_LENGTH + length) };
}

/** The msg_id for a moment in ms since the epoch (unixtime · 2^32, low two bits zero). */
export function msgIdAt(ms: number): bigint {
  const secs = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - secs * 1000) * 0x100000000) / 1000);
  return ((BigInt(secs) << 32n) | BigInt(frac)) & ~3n;
}

/** Strictly increasing client msg_ids for one connection's plain messages. */
export class PlainMsgIds {
  private last = 0n;
  /** Server time minus local time, in ms (learned from server_DH_inner_data). */
  offsetMs = 0;

  next(nowMs: number): bigint {
    let id = msgIdAt(nowMs + this.offsetMs);
    if (id <= this.last) id = this.last + 4n;
    this.last = id;
    return id;
  }
}
