// Memory a file destination lends to the parts in flight (ChunkSink.placeOf) and takes
// back once a part is written to the file: the link decrypts each part into it, and a
// download to a file makes no Buffer per part. V8 counts the bytes of every new
// ArrayBuffer against the heap's limit; one per 512 KiB part cost a download to a file
// about a fifth of its rate in collections. Of the Writables, only an fs.WriteStream gets
// such memory: another stream may keep the chunks it was given, and memory lent again
// would change under it.

/** Free part buffers kept between parts: a window's worth and then some. */
const KEEP_FREE = 16;

export class PartMemory {
  private readonly free: Buffer[] = [];
  /**
   * Each lent buffer by its ArrayBuffer (a part's bytes are a view of it). Weak: memory
   * lent to a request that failed, or whose part came another way, is the GC's.
   */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();

  /** Memory for a part of up to `length` bytes, the caller's until `written`. */
  lend(length: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= length);
    const memory = i >= 0 ? (this.free.splice(i, 1)[0] as Buffer) : Buffer.allocUnsafeSlow(length);
    this.lent.set(memory.buffer, memory);
    return memory.subarray(0, length);
  }

  /**
   * `bytes` went to the file: if they lie in lent memory, it may serve another part.
   * Bytes elsewhere (a part that did not land in place) are ignored; so is a second
   * call for the same memory.
   */
  written(bytes: Buffer): void {
    const memory = this.lent.get(bytes.buffer);
    if (memory === undefined) return;
    this.lent.delete(bytes.buffer);
    if (this.free.length < KEEP_FREE) this.free.push(memory);
  }
}
