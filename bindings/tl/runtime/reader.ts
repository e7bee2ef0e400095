// TlReader: a cursor over one Buffer, reading TL's wire formats
// (core.telegram.org/mtproto/serialize): little-endian 32/64-bit integers,
// doubles, int128/int256 as raw bytes, and bytes/string with a 1- or 4-byte
// length prefix padded to 4 bytes.
//
// Bounds: fixed-size reads go through a DataView that covers exactly this
// reader's bytes, so a read past the end throws (a RangeError that the entry
// points turn into TlTruncatedError at `pos`); variable-size reads check their
// length first. Nothing is ever read outside the input.
import { gunzipSync } from 'node:zlib';
import { TlBadValueError, TlGzipError, TlTrailingBytesError, TlTruncatedError } from './errors';

/** Buffer's UTF-8 slice without toString's argument handling (on Buffer.prototype since Node 0.x, untyped). */
type Utf8Buffer = Buffer & { utf8Slice(start: number, end: number): string };

/**
 * Makes Buffer views without Buffer.from's argument checks: Node's own Buffer
 * class (FastBuffer, what Buffer[Symbol.species] gives) when it is there and
 * its instances are Buffers, else Buffer.from.
 */
type ViewBufferClass = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const ViewBuffer: ViewBufferClass = (() => {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species] as { prototype?: unknown };
  if (typeof species === 'function' && species !== Buffer && species.prototype === Buffer.prototype) {
    return species as unknown as ViewBufferClass;
  }
  return function viewBuffer(ab: ArrayBufferLike, offset: number, length: number) {
    return Buffer.from(ab, offset, length);
  } as unknown as ViewBufferClass;
})();

const VECTOR = 0x1cb5c415;
const BOOL_TRUE = 0x997275b5;
const BOOL_FALSE = 0xbc799737;

/** Inflated gzip_packed data larger than this is refused (a gzip bomb guard). */
export const MAX_INFLATED = 64 * 1024 * 1024;

export class TlReader {
  /** The bytes this reader covers (a view, not a copy). */
  readonly buf: Buffer;
  readonly dv: DataView;
  readonly length: number;
  /** Cursor, relative to `buf`. */
  pos: number;
  /** Offset of `buf` within the outermost input, for error offsets. */
  readonly base: number;
  /** Set for inflated gzip_packed data: errors inside point at the gzip_packed object (`base`). */
  readonly inflated: boolean;

  constructor(data: Uint8Array, base = 0, inflated = false) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.length = data.byteLength;
    this.pos = 0;
    this.base = base;
    this.inflated = inflated;
  }

  /** The offset in the outermost input that errors report for position `p` of this reader. */
  at(p: number): number {
    return this.inflated ? this.base : this.base + p;
  }

  int(): number {
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** An unsigned 32-bit value (constructor ids, vector counts). */
  u32(): number {
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  long(): bigint {
    const v = this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  double(): number {
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const id = this.dv.getUint32(this.pos, true);
    if (id === BOOL_TRUE) {
      this.pos += 4;
      return true;
    }
    if (id === BOOL_FALSE) {
      this.pos += 4;
      return false;
    }
    throw new TlBadValueError(`expected Bool, got #${id.toString(16)}`, this.at(this.pos));
  }

  /** `n` raw bytes, as a Buffer view into the input. */
  raw(n: number): Buffer {
    const p = this.pos;
    if (p + n > this.length) this.truncated(p);
    this.pos = p + n;
    return new ViewBuffer(this.buf.buffer, this.buf.byteOffset + p, n);
  }

  int128(): Buffer {
    return this.raw(16);
  }

  int256(): Buffer {
    return this.raw(32);
  }

  /**
   * Reads a bytes/string length prefix and checks that the padded payload is
   * there. Returns the payload start; sets `pos` past the padding and leaves
   * the payload length in `lastLength`.
   */
  private payload(): number {
    const p = this.pos;
    const u8 = this.buf;
    if (p >= this.length) this.truncated(p);
    let n = u8[p];
    let start = p + 1;
    if (n >= 254) {
      if (n === 255) throw new TlBadValueError('bad length prefix 0xff', this.at(p));
      if (p + 4 > this.length) this.truncated(p);
      n = u8[p + 1] | (u8[p + 2] << 8) | (u8[p + 3] << 16);
      start = p + 4;
    }
    const end = start + n;
    const padded = p + ((end - p + 3) & ~3);
    if (padded > this.length) this.truncated(p);
    this.pos = padded;
    this.lastLength = n;
    return start;
  }

  private lastLength = 0;

  /** TL `bytes`, as a Buffer view into the input. */
  bytes(): Buffer {
    const start = this.payload();
    return new ViewBuffer(this.buf.buffer, this.buf.byteOffset + start, this.lastLength);
  }

  /** TL `string`: UTF-8 (invalid sequences become U+FFFD). */
  string(): string {
    const start = this.payload();
    const n = this.lastLength;
    const u8 = this.buf as Utf8Buffer;
    if (n <= 24) {
      // Short ASCII strings decode faster in JS than through a native call.
      let s = '';
      for (let i = start, end = start + n; i < end; i++) {
        const c = u8[i];
        if (c >= 0x80) return u8.utf8Slice(start, start + n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return u8.utf8Slice(start, start + n);
  }

  /** Reads a boxed vector's id and count. */
  vector(): number {
    const p = this.pos;
    const id = this.u32();
    if (id !== VECTOR) throw new TlBadValueError(`expected Vector, got #${id.toString(16)}`, this.at(p));
    return this.count();
  }

  /** Reads a vector count, checking that that many elements of at least 4 bytes fit. */
  count(): number {
    const p = this.pos;
    const n = this.u32();
    if (n * 4 > this.length - this.pos) this.truncated(p);
    return n;
  }

  /** The rest of this reader's bytes (an `Object` of unknown type, such as rpc_result's result). */
  rest(): Buffer {
    return this.raw(this.length - this.pos);
  }

  /** A reader over the next `n` bytes, which this one skips. */
  sub(n: number): TlReader {
    const p = this.pos;
    if (n < 0 || p + n > this.length) this.truncated(p);
    this.pos = p + n;
    return new TlReader(this.buf.subarray(p, p + n), this.at(p), this.inflated);
  }

  /** Reads gzip_packed's payload (its id already read) and returns a reader over the inflated bytes. */
  gunzip(): TlReader {
    const p = this.pos - 4;
    const packed = this.bytes();
    let data: Buffer;
    try {
      data = gunzipSync(packed, { maxOutputLength: MAX_INFLATED });
    } catch (e) {
      throw new TlGzipError((e as Error).message, this.at(p));
    }
    return new TlReader(data, this.at(p), true);
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.pos !== this.length) {
      throw new TlTrailingBytesError(this.at(this.pos), this.length - this.pos);
    }
  }

  truncated(at: number): never {
    throw new TlTruncatedError(this.at(at), this.at(this.length));
  }
}
