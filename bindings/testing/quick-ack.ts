// Quick acknowledgements (https://core.telegram.org/mtproto/mtproto-transports#quick-ack):
// a client may flag a packet; the server then confirms its receipt at once with a token,
// the first 32 bits of the SHA-256 that gives the packet's msg_key (msg_key_large), read
// little-endian, with the high bit set. The transport codec frames the answer.

import { kdfV2 } from './bind-temp-key';
import { igeDecrypt, sha256 } from './crypto';

/** The quick-ack token of a client packet under `authKey`, or null when it does not decrypt. */
export function quickAckToken(authKey: Buffer, packet: Buffer): number | null {
  if (packet.length < 24 + 16 || (packet.length - 24) % 16 !== 0) return null;
  const msgKey = packet.subarray(8, 24);
  const { key, iv } = kdfV2(authKey, msgKey, 0);
  const large = sha256(authKey.subarray(88, 120), igeDecrypt(packet.subarray(24), key, iv));
  if (!large.subarray(8, 24).equals(msgKey)) return null;
  return (large.readUInt32LE(0) | 0x80000000) >>> 0;
}
