// The messages of routed calls between processes (bus.ts): a request to the owning
// worker and its reply. They travel as V8's structured-clone bytes (node:v8), which
// keep what TL values hold (bigint, Buffer, nested objects) without a codec of our
// own, behind one version byte; anything else is refused as BAD_MESSAGE.

import { deserialize, serialize } from 'node:v8';
import { FleetError } from './types';

const VERSION = 1;

export interface CallRequest {
  /** Unique per attempt (a retry is a new attempt). */
  id: string;
  /** The session's name. */
  name: string;
  /** The claim owner the caller found in the lease: a worker holding another claim refuses. */
  owner: string;
  method: string;
  params: unknown;
  /** ms since the epoch after which the worker must not start the call. */
  deadline: number;
  /** Session.call's timeoutMs on the worker. */
  timeoutMs: number;
  /** The caller's reply channel. */
  replyTo: string;
}

export type CallReply =
  | { id: string; kind: 'ok'; result: unknown }
  /** Telegram's rpc_error (rebuilt as RpcError on the caller). */
  | { id: string; kind: 'rpc'; code: number; message: string }
  /** A SessionError of the owner's Session.call (TIMEOUT, FLOOD...). */
  | { id: string; kind: 'session'; code: string; message: string }
  /** Not run: the worker does not hold this claim (moved, closing, not open yet) or the deadline passed. */
  | { id: string; kind: 'notRun'; reason: string }
  /** May have run: the session stopped while the call was under way (its lease was lost). */
  | { id: string; kind: 'unknown'; message: string };

export function encode(message: CallRequest | CallReply): Buffer {
  const body = serialize(message);
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = VERSION;
  body.copy(out, 1);
  return out;
}

function decode(data: Buffer): Record<string, unknown> {
  if (data.length < 2 || data[0] !== VERSION)
    throw new FleetError('BAD_MESSAGE', 'a fleet message of an unknown version');
  let v: unknown;
  try {
    v = deserialize(data.subarray(1));
  } catch (e) {
    throw new FleetError('BAD_MESSAGE', 'a fleet message that cannot be read', e);
  }
  if (!v || typeof v !== 'object' || typeof (v as { id?: unknown }).id !== 'string')
    throw new FleetError('BAD_MESSAGE', 'a fleet message without an id');
  return v as Record<string, unknown>;
}

export function decodeRequest(data: Buffer): CallRequest {
  const v = decode(data);
  const ok =
    typeof v.name === 'string' &&
    typeof v.owner === 'string' &&
    typeof v.method === 'string' &&
    typeof v.deadline === 'number' &&
    typeof v.timeoutMs === 'number' &&
    typeof v.replyTo === 'string';
  if (!ok) throw new FleetError('BAD_MESSAGE', 'a malformed routed call');
  return v as unknown as CallRequest;
}

export function decodeReply(data: Buffer): CallReply {
  const v = decode(data);
  if (!['ok', 'rpc', 'session', 'notRun', 'unknown'].includes(String(v.kind)))
    throw new FleetError('BAD_MESSAGE', 'a malformed reply');
  return v as unknown as CallReply;
}
