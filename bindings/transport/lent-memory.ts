// Memory lent to large payloads (file parts) and taken back once their user is done
// with them, instead of a Buffer per payload. V8 counts the bytes of every new
// ArrayBuffer against the heap's limit: one per 512 KiB part kept a process collecting
// its whole heap every few megabytes. A download's file destination lends it to the
// parts in flight (files/sinks.ts); TestDc to the file parts its sessions decrypt
// (testing/query-bodies.ts).

export class LentMemory {
  private readonly free: Buffer[] = [];
  /**
   * Each lent buffer by its ArrayBuffer (a payload's bytes are a view of it). Weak:
   * memory lent to a request that failed, or whose part came another way, is the GC's.
   */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();

  /** `keepFree`: free buffers kept between payloads; more are left to the GC. */
  constructor(private readonly keepFree: number) {}

  /** Memory for `length` bytes (a view that long), the caller's until `giveBack`. */
  lend(length: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= length);
    const memory = i >= 0 ? (this.free.splice(i, 1)[0] as Buffer) : Buffer.allocUnsafeSlow(length);
    this.lent.set(memory.buffer, memory);
    return memory.subarray(0, length);
  }

  /**
   * The user of the memory `bytes` lie in is done with it: it may be lent again. Bytes
   * elsewhere (a part that did not land in lent memory) are ignored; so is a second
   * call for the same memory.
   */
  giveBack(bytes: Buffer): void {
    const memory = this.lent.get(bytes.buffer);
    if (memory === undefined) return;
    this.lent.delete(bytes.buffer);
    if (this.free.length < this.keepFree) this.free.push(memory);
  }
}
