// TlWriter: writes TL's wire formats into one growing buffer. Serialization is
// one pass: the generated writers reserve the fixed-size part of each
// constructor with `ensure` (one check per run of fixed fields), variable-size
// values check their own length, and the buffer is reused between objects so
// that serializing allocates only the result.
import { TlSerializeError } from './errors';

const VECTOR = 0x1cb5c415;
const BOOL_TRUE = 0x997275b5;
const BOOL_FALSE = 0xbc799737;
/** TL's bytes length prefix holds 24 bits. */
const MAX_BYTES = 0xffffff;
/**
 * While gathering, `bytes` values from this long are referenced, not copied. A
 * large Buffer of its own per request (an upload part) is what the GC paid for at
 * line speed: such Buffers outlive a scavenge and pile up until a full collection.
 */
const GATHER_MIN = 16 * 1024;

/** A `bytes` payload left where the caller had it: it goes in at `at` of the buffer. */
interface Gathered {
  at: number;
  piece: Uint8Array;
}

function bad(what: string, v: unknown): never {
  const got = v === null ? 'null' : typeof v;
  throw new TlSerializeError(`expected ${what}, got ${got}`);
}

export class TlWriter {
  buf: Buffer;
  dv: DataView;
  pos = 0;
  /** Whether `bytes` values of GATHER_MIN bytes or more are referenced (`gather`) or copied. */
  private gathering = false;
  /** The payloads referenced, in order (one array, emptied at each start: no allocation per call). */
  private readonly gathered: Gathered[] = [];

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafeSlow(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, size);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, size);
  }

  /** Starts over (at 0); `bytes` values of GATHER_MIN bytes or more are then referenced. */
  gather(): void {
    this.reset();
    this.gathering = true;
  }

  /** Starts over (at 0), every byte copied; no reference to a caller's Buffer is kept. */
  reset(): void {
    this.pos = 0;
    this.gathering = false;
    this.gathered.length = 0;
  }

  /**
   * What was written: one copy (as `result`) when nothing was referenced, else the
   * pieces in order: copies of what lies between, and the referenced payloads
   * themselves (the caller's Buffers, not copied: they must not change until used).
   */
  parts(): Buffer | Buffer[] {
    const g = this.gathered;
    if (g.length === 0) return this.result();
    const out: Buffer[] = [];
    let from = 0;
    for (const { at, piece } of g) {
      if (at > from) out.push(this.copyOf(from, at));
      out.push(
        Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength),
      );
      from = at;
    }
    if (this.pos > from) out.push(this.copyOf(from, this.pos));
    return out;
  }

  /** A copy of bytes `from` to `to` of the buffer (short ones by a loop: cheaper than a native copy). */
  private copyOf(from: number, to: number): Buffer {
    const n = to - from;
    const out = Buffer.allocUnsafe(n);
    const src = this.buf;
    if (n <= 64) for (let i = 0; i < n; i++) out[i] = src[from + i];
    else src.copy(out, 0, from, to);
    return out;
  }

  /** Writes, at `at`, the int32 length of what was written after it (msg_container's message body). */
  endSized(at: number): void {
    let len = this.pos - at - 4;
    for (const g of this.gathered) if (g.at > at) len += g.piece.length;
    this.dv.setInt32(at, len, true);
  }

  /** A copy of the bytes written so far. */
  result(): Buffer {
    return this.copyOf(0, this.pos);
  }

  // Fixed-size values: the caller has reserved room with ensure().

  int(v: number): void {
    if (typeof v !== 'number') bad('a number (int)', v);
    this.dv.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  /** An unsigned 32-bit value (constructor ids, flags, counts). */
  u32(v: number): void {
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** A 64-bit value: a bigint, signed or unsigned (taken modulo 2^64). */
  long(v: bigint): void {
    if (typeof v !== 'bigint') bad('a bigint (long)', v);
    this.dv.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  double(v: number): void {
    if (typeof v !== 'number') bad('a number (double)', v);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bool(v: boolean): void {
    if (typeof v !== 'boolean') bad('a boolean (Bool)', v);
    this.dv.setUint32(this.pos, v ? BOOL_TRUE : BOOL_FALSE, true);
    this.pos += 4;
  }

  int128(v: Uint8Array): void {
    this.fixed(v, 16, 'int128');
  }

  int256(v: Uint8Array): void {
    this.fixed(v, 32, 'int256');
  }

  private fixed(v: Uint8Array, n: number, what: string): void {
    if (!(v instanceof Uint8Array) || v.length !== n) bad(`a ${n}-byte Buffer (${what})`, v);
    const u8 = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) u8[p + i] = v[i];
    this.pos = p + n;
  }

  // Variable-size values reserve their own room.

  /** Raw bytes, no prefix (an already serialized object). */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Writes a bytes/string length prefix for `n` bytes and returns where the payload goes. */
  private prefix(n: number): number {
    if (n > MAX_BYTES) throw new TlSerializeError(`bytes of length ${n} exceed TL's limit of ${MAX_BYTES}`);
    this.ensure(n + 7);
    const u8 = this.buf;
    const p = this.pos;
    if (n < 254) {
      u8[p] = n;
      return p + 1;
    }
    u8[p] = 254;
    u8[p + 1] = n & 0xff;
    u8[p + 2] = (n >> 8) & 0xff;
    u8[p + 3] = n >> 16;
    return p + 4;
  }

  /** Zero-pads after a payload ending at `end` and moves the cursor past it. */
  private pad(end: number): void {
    const u8 = this.buf;
    let p = end;
    while ((p - this.pos) & 3) u8[p++] = 0;
    this.pos = p;
  }

  bytes(v: Uint8Array): void {
    if (!(v instanceof Uint8Array)) bad('a Buffer (bytes)', v);
    const n = v.length;
    if (n >= GATHER_MIN && this.gathering) {
      this.referenced(v);
      return;
    }
    const start = this.prefix(n);
    const u8 = this.buf;
    if (n <= 32) for (let i = 0; i < n; i++) u8[start + i] = v[i];
    else u8.set(v, start);
    this.pad(start + n);
  }

  /** `bytes` with its payload referenced: the prefix and padding are written, the payload noted. */
  private referenced(v: Uint8Array): void {
    const n = v.length;
    if (n > MAX_BYTES) throw new TlSerializeError(`bytes of length ${n} exceed TL's limit of ${MAX_BYTES}`);
    this.ensure(8);
    const u8 = this.buf;
    const p = this.pos;
    u8[p] = 254;
    u8[p + 1] = n & 0xff;
    u8[p + 2] = (n >> 8) & 0xff;
    u8[p + 3] = n >> 16;
    this.gathered.push({ at: p + 4, piece: v });
    // The payload ends 4 + n bytes after the prefix; zeros pad that to a multiple of 4.
    let end = p + 4;
    for (let k = (4 - (n & 3)) & 3; k > 0; k--) u8[end++] = 0;
    this.pos = end;
  }

  string(v: string): void {
    if (typeof v !== 'string') bad('a string', v);
    const len = v.length;
    if (len < 254) {
      // Short strings: try ASCII in JS (cheaper than a native call), writing
      // the payload after a 1-byte prefix; fall back to UTF-8 on the first
      // non-ASCII character.
      this.ensure(len + 4);
      const u8 = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        u8[start + i] = c;
      }
      if (i === len) {
        u8[this.pos] = len;
        this.pad(start + len);
        return;
      }
    }
    const n = Buffer.byteLength(v, 'utf8');
    const start = this.prefix(n);
    (this.buf as Buffer & { utf8Write(s: string, offset: number, length: number): number }).utf8Write(
      v,
      start,
      n,
    );
    this.pad(start + n);
  }

  /** A boxed vector's id and count (room reserved by the caller). */
  vector(n: number): void {
    this.dv.setUint32(this.pos, VECTOR, true);
    this.dv.setUint32(this.pos + 4, n, true);
    this.pos += 8;
  }

  /** Checks that a vector field holds an array. */
  static array(v: unknown): unknown[] {
    if (!Array.isArray(v)) bad('an array (Vector)', v);
    return v as unknown[];
  }
}
