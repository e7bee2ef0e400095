// What a connection puts on the wire for a request, and what it takes from it:
// the wrappers (invokeWithoutUpdates), the service queries that are never wrapped,
// rpc_drop_answer, the body rules the link enforces, and which results are updates.

import * as TL from '../tl';
import { SessionError } from './types';

/** MTProto's own queries (mtproto/service_messages): never wrapped, answered by the session layer. */
export const SERVICE_QUERIES = new Set([
  'ping',
  'ping_delay_disconnect',
  'get_future_salts',
  'rpc_drop_answer',
  'destroy_session',
  'destroy_auth_key',
]);

/** invokeWithoutUpdates(query): the connection is not subscribed to updates (api/invoking). */
export function withoutUpdates(query: TL.TlObject): TL.TlObject {
  return { _: 'invokeWithoutUpdates', query } as unknown as TL.TlObject;
}

/** rpc_drop_answer#58e4a740 req_msg_id:long = RpcDropAnswer (the MTProto service schema). */
export function dropAnswerBody(msgId: bigint): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32LE(0x58e4a740, 0);
  b.writeBigUInt64LE(msgId, 4);
  return b;
}

/**
 * A serialized body on its way to the link: one Buffer, or its pieces in order
 * (TL.serializeParts: a large `bytes` value, such as an upload part, stays in the
 * caller's Buffer; the link joins the pieces in the one copy it keeps).
 */
export type Body = TL.Serialized;

/** Bodies the link takes (crates/mtcore check_body: whole TL words, 4 bytes to 1 MiB). */
const MAX_BODY_LEN = 1 << 20;

/** BAD_MESSAGE for a body the link would refuse, else null. */
export function checkBody(body: Body): SessionError | null {
  const n = TL.serializedLength(body);
  if (n >= 4 && n % 4 === 0 && n <= MAX_BODY_LEN) return null;
  return new SessionError('BAD_MESSAGE', `a message body is whole 4-byte words up to 1 MiB, got ${n} bytes`);
}

/** What decodes a binding's answer (a Bool); the link builds the query itself. */
export const BIND_REQUEST = { _: 'auth.bindTempAuthKey' } as unknown as TL.TlObject;

/** The `Updates` constructors: such an object outside an rpc_result is a push. */
export const UPDATES = new Set([
  'updates',
  'updatesCombined',
  'updateShort',
  'updateShortMessage',
  'updateShortChatMessage',
  'updateShortSentMessage',
  'updatesTooLong',
]);
