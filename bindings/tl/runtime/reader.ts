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
import {
  TlBadValueError,
  TlGzipError,
  TlInflateBudgetError,
  TlTooDeepError,
  TlTrailingBytesError,
  TlTruncatedError,
} from './errors';

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

/**
 * The most bytes the gzip_packed of one decoded object may inflate to, all layers and
 * all elements together (a gzip bomb guard: a limit per layer let 150 small doubly
 * packed objects inflate to 2.4 GB, issue #12). The same 16 MiB the native message
 * layer allows per packet.
 */
export const MAX_INFLATED = 16 * 1024 * 1024;

/**
 * gzip_packed and length-delimited message bodies (msg_container's) nested in one
 * another at most, per decoded object. Other nesting is bounded by the stack
 * (TlTooDeepError either way).
 */
export const MAX_NESTING = 8;

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
  /**
   * The reader the decoded object started from, which keeps its budgets: a reader made
   * with `new` starts a tree of its own, `sub` and `gunzip` readers share their parent's.
   */
  readonly root: TlReader;
  /** gzip_packed and message bodies around this reader's bytes (see MAX_NESTING). */
  readonly depth: number;
  /** On the root: bytes inflated so far in this tree (see MAX_INFLATED). */
  inflatedTotal = 0;

  constructor(data: Uint8Array, base = 0, inflated = false, parent?: TlReader) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.length = data.byteLength;
    this.pos = 0;
    this.base = base;
    this.inflated = inflated;
    this.root = parent === undefined ? this : parent.root;
    this.depth = parent === undefined ? 0 : parent.depth + 1;
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

  /** A reader over the next `n` bytes (a message body), which this one skips. */
  sub(n: number): TlReader {
    const p = this.pos;
    if (n < 0 || p + n > this.length) this.truncated(p);
    if (this.depth >= MAX_NESTING) throw new TlTooDeepError(this.at(p), MAX_NESTING);
    this.pos = p + n;
    return new TlReader(this.buf.subarray(p, p + n), this.at(p), this.inflated, this);
  }

  /**
   * Reads gzip_packed's payload (its id already read) and returns a reader over the
   * inflated bytes, out of the tree's budget: the output may not pass what is left of
   * MAX_INFLATED, so memory and time stay bounded whatever the layers and counts.
   */
  gunzip(): TlReader {
    const p = this.pos - 4;
    const packed = this.bytes();
    if (this.depth >= MAX_NESTING) throw new TlTooDeepError(this.at(p), MAX_NESTING);
    const root = this.root;
    const left = MAX_INFLATED - root.inflatedTotal;
    let data: Buffer;
    try {
      // maxOutputLength must be at least 1: with nothing left, a 1-byte output fails too.
      data = gunzipSync(packed, { maxOutputLength: Math.max(left, 1) });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new TlInflateBudgetError(MAX_INFLATED, this.at(p));
      }
      throw new TlGzipError((e as Error).message, this.at(p));
    }
    if (data.length > left) throw new TlInflateBudgetError(MAX_INFLATED, this.at(p));
    root.inflatedTotal += data.length;
    return new TlReader(data, this.at(p), true, this);
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
