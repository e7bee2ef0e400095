// Memory a large frame is written from, reused while each write goes to the kernel
// whole (on loopback and fast links, nearly always) instead of a Buffer per frame. V8
// counts the bytes of every new ArrayBuffer against the heap's limit: one per 512 KiB
// file part kept a process collecting its whole heap every few megabytes. A write the
// socket still holds keeps its memory; the next frame then gets new.

/** Room for a 1 MiB file part with its envelope and any transport's frame around it. */
export const FILE_FRAME_ROOM = 1024 * 1024 + 64 * 1024;

export class WriteScratch {
  private buffer: Buffer | null = null;

  constructor(private readonly length: number) {}

  /** The memory for the next frame (made on first use, or after a write kept the last). */
  get(): Buffer {
    this.buffer ??= Buffer.allocUnsafe(this.length);
    return this.buffer;
  }

  /** After a write from it: `held`, the socket still holds bytes, so this memory is its own now. */
  written(held: boolean): void {
    if (held) this.buffer = null;
  }
}
