// One buffer for the whole process where TransportCodec.decodeInto puts the packets of
// the socket being read (JS runs one callback at a time), and the loop around it: the
// client's TransportConnection and TestDc's connections both read through it. A packet
// is a range of that buffer until the next decode; whoever keeps it copies it.

import type { TransportCodec } from '../native';

/** What a decode hands out, in stream order; a method returning false stops the decode. */
export interface DecodedStream {
  /** A packet at `out[at, at + length)` (`quickAck`: its sender asked for one). */
  onDecodedPacket(out: Buffer, at: number, length: number, quickAck: boolean): boolean;
  /** 2: a quick-ack answer (`value`: its token), 3: a transport error (`value`: its code). */
  onDecodedSignal(kind: number, value: number): boolean;
}

/** Events one decodeInto call may report (three ints each). */
const EVENT_SLOTS = 64;
const events = new Int32Array(EVENT_SLOTS * 3);
/** Small at first; doubled when a frame needs more, up to the caller's largest packet. */
let out = Buffer.allocUnsafe(64 * 1024);
const EMPTY = Buffer.alloc(0);

/**
 * Decodes `chunk` (and whatever the codec still holds) into the shared buffer and hands
 * each event to `to`. Throws what the codec throws on a corrupt stream, including
 * ERR_TRANSPORT_BUFFER_TOO_SMALL for a frame longer than `maxPacket`.
 */
export function decodeShared(
  codec: TransportCodec,
  chunk: Buffer,
  maxPacket: number,
  to: DecodedStream,
): void {
  let input = chunk;
  for (;;) {
    let count: number;
    try {
      count = codec.decodeInto(input, out, events);
    } catch (e) {
      const limit = maxPacket + 64;
      if ((e as { code?: string }).code !== 'ERR_TRANSPORT_BUFFER_TOO_SMALL' || out.length >= limit) throw e;
      out = Buffer.allocUnsafe(Math.min(limit, out.length * 2));
      input = EMPTY;
      continue;
    }
    if (count === 0) return;
    input = EMPTY;
    for (let i = 0; i < count * 3; i += 3) {
      const kind = events[i];
      const go =
        kind === 0 || kind === 1
          ? to.onDecodedPacket(out, events[i + 1], events[i + 2], kind === 1)
          : to.onDecodedSignal(kind, events[i + 1]);
      if (!go) return;
    }
  }
}
