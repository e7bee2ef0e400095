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

/** `size` bytes that depend only on `seed`: the AES-256-CTR keystream under SHA-256(seed). */
export class GeneratedContent implements FileContent {
  private readonly key: Buffer;
  constructor(
    readonly size: number,
    seed: string,
  ) {
    this.key = createHash('sha256').update(seed).digest();
  }
  read(offset: number, length: number): Buffer {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const block = Math.floor(offset / 16);
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8);
    iv.writeUInt32BE(block >>> 0, 12);
    const skip = offset - block * 16;
    const cipher = createCipheriv('aes-256-ctr', this.key, iv);
    return cipher.update(Buffer.alloc(skip + (end - offset))).subarray(skip);
  }
}
