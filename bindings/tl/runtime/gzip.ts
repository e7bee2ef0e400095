// gzip_packed#3072cfa1 packed_data:bytes = Object (core.telegram.org/mtproto/service_messages,
// "Packed Object"): any object may travel gzip-compressed. Readers unpack it
// transparently; this packs already serialized bytes for sending.
import { gzipSync } from 'node:zlib';
import { TlWriter } from './writer';

const GZIP_PACKED = 0x3072cfa1;

/** The boxed gzip_packed object wrapping `serialized` (the bytes of a boxed object). */
export function gzipPack(serialized: Uint8Array): Buffer {
  const packed = gzipSync(serialized);
  const w = new TlWriter(packed.length + 16);
  w.u32(GZIP_PACKED);
  w.bytes(packed);
  return w.result();
}
