// What a stored file holds, read by range: bytes given by a test, the parts of an
// upload (kept as they came: no copy into one buffer), or bytes generated from a seed
// (an AES-256-CTR keystream, so any range is computed on its own: a 1 GB file costs
// no memory).

import { createCipheriv, createHash } from 'node:crypto';

export interface FileContent {
  readonly size: number;
  /** `length` bytes from `offset` (fewer at the end; a view where it can be). */
  read(offset: number, length: number): Buffer;
}

export class BytesContent implements FileContent {
  constructor(private readonly bytes: Buffer) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Buffer {
    return this.bytes.subarray(offset, Math.min(this.bytes.length, offset + length));
  }
}

/** An upload's parts: all `partSize` bytes but the last. */
export class PartsContent implements FileContent {
  readonly size: number;
  constructor(
    private readonly parts: readonly Buffer[],
    private readonly partSize: number,
  ) {
    this.size = parts.reduce((n, p) => n + p.length, 0);
  }
  read(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const first = Math.floor(offset / this.partSize);
    const last = Math.floor((end - 1) / this.partSize);
    const at = offset - first * this.partSize;
    if (first === last) return this.parts[first].subarray(at, at + (end - offset));
    const pieces: Buffer[] = [this.parts[first].subarray(at)];
    for (let i = first + 1; i < last; i++) pieces.push(this.parts[i]);
    pieces.push(this.parts[last].subarray(0, end - last * this.partSize));
    return Buffer.concat(pieces, end - offset);
  }
}

const PAGE = 4096;
/** Distinct page windows into the pattern (a prime number of pages, so that the windows of consecutive pages differ). */
const WINDOWS = 251;

/**
 * `size` bytes that depend only on `seed`, computed for any range on their own: each
 * 4 KiB page is a window of a random pattern made from the seed (AES-256-CTR keystream
 * under SHA-256(seed)), chosen by the page's number, with that number stamped in its first
 * 8 bytes, so that a page in the wrong place or repeated never matches. A copy per page:
 * serving a generated 1 GB file costs the DC about what serving stored bytes does.
 */
export class GeneratedContent implements FileContent {
  private readonly pattern: Buffer;
  constructor(
    readonly size: number,
    seed: string,
  ) {
    const key = createHash('sha256').update(seed).digest();
    this.pattern = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(
      Buffer.alloc((WINDOWS + 1) * PAGE),
    );
  }
  read(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const out = Buffer.allocUnsafe(end - offset);
    const stamp = Buffer.alloc(8);
    for (let page = Math.floor(offset / PAGE); page * PAGE < end; page++) {
      const start = page * PAGE;
      const from = Math.max(offset, start);
      const to = Math.min(end, start + PAGE);
      const window = (page % WINDOWS) * PAGE;
      this.pattern.copy(out, from - offset, window + from - start, window + to - start);
      if (from - start < 8) {
        stamp.writeBigUInt64LE(BigInt(page), 0);
        stamp.copy(out, from - offset, from - start, Math.min(8, to - start));
      }
    }
    return out;
  }
}
