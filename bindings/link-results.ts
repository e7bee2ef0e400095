// How MtpLink's results become JS objects: ordinary functions that the native link
// calls with plain values (numbers, bigints, where the bytes lie), given to it once
// by native.ts. Made here, an object costs what a JS object literal costs; made
// through Node-API, every property name, object, array element and Buffer view is a
// native call of its own (crates/napi/src/factories.rs has the figures). The objects
// are those the native module makes on its own, field for field.
import type { LinkFactories, LinkReceive, LinkTransmit } from '../index.js';

type Event = LinkReceive['events'][number];

/**
 * Node's Buffer class for views (`Buffer[Symbol.species]`, whose constructor takes
 * `(arrayBuffer, offset, length)` as `Buffer.allocUnsafe`'s pool slices are made),
 * when this Node has one; else `Buffer.from`, which makes the same view with checks.
 */
const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
const ViewClass =
  typeof species === 'function' && species !== Buffer && species.prototype === Buffer.prototype
    ? (species as new (
        buffer: ArrayBuffer,
        offset: number,
        length: number,
      ) => Buffer)
    : null;

function view(buffer: ArrayBuffer, offset: number, length: number): Buffer {
  return ViewClass ? new ViewClass(buffer, offset, length) : Buffer.from(buffer, offset, length);
}

/** Bytes as the native side hands them: a Buffer of their own (offset -1), or where they lie in a pool. */
function bytes(where: ArrayBuffer | Buffer, offset: number, length: number): Buffer {
  return offset < 0 ? (where as Buffer) : view(where as ArrayBuffer, offset, length);
}

/**
 * transmit's result: the frame (or null), the ids of the bodies, the next deadline;
 * without a transport also the packets, the ids they carry, and where packets went
 * in the caller's scratch.
 */
function transmitted(
  frame: ArrayBuffer | Buffer | null,
  offset: number,
  length: number,
  deadline: number | undefined,
  packets: Buffer[] | undefined,
  carried: bigint[] | undefined,
  placed: number[] | undefined,
  ...msgIds: bigint[]
): LinkTransmit {
  const bytesOut = frame === null ? null : bytes(frame, offset, length);
  if (packets === undefined) {
    if (placed === undefined) return { frame: bytesOut, msgIds, deadline };
    return { frame: bytesOut, placed, msgIds, deadline };
  }
  if (placed === undefined) return { frame: bytesOut, packets, carried, msgIds, deadline };
  return { frame: bytesOut, packets, placed, carried, msgIds, deadline };
}

/** Kinds of events in `received`'s values (crates/napi/src/link_convert.rs). */
const MESSAGE = 1;
const RPC_RESULT = 2;

/** receive's result: six values per event (kind, id, seqno or an answer's `sunk`, and the body's three). */
function received(deadline: number | undefined, ...values: unknown[]): LinkReceive {
  const events: Event[] = new Array(values.length / 6);
  for (let i = 0, k = 0; i < values.length; i += 6, k++) {
    const kind = values[i];
    if (kind === MESSAGE) {
      events[k] = {
        kind: 'message',
        msgId: values[i + 1] as bigint,
        seqno: values[i + 2] as number,
        body: bytes(values[i + 3] as ArrayBuffer, values[i + 4] as number, values[i + 5] as number),
      };
    } else if (kind === RPC_RESULT) {
      const answer: Event = {
        kind: 'rpcResult',
        reqMsgId: values[i + 1] as bigint,
        body: bytes(values[i + 3] as ArrayBuffer, values[i + 4] as number, values[i + 5] as number),
      };
      // Only a download's part written in place has it (as natively made).
      if (values[i + 2] !== undefined) answer.sunk = values[i + 2] as number;
      events[k] = answer;
    } else {
      events[k] = values[i + 1] as Event;
    }
  }
  return { events, deadline };
}

export const linkFactories: LinkFactories = { transmitted, received };
