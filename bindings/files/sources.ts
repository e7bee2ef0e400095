// What an upload reads from, as one interface: the next part, in order, and (where the
// source allows it) any part again, for FILE_PART_X_MISSING. Bytes are views (no copy);
// a file is read part by part at its position; a stream is pulled only as parts are
// needed, so it is held to one part plus one of its chunks.

import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileError } from './errors';
import type { UploadSource } from './types';

export interface PartReader {
  /** Bytes in all, when known. */
  readonly size: number | null;
  /** A file's base name (InputFile.name's default). */
  readonly name: string | undefined;
  /** The next `length` bytes: fewer at the end, empty after it. */
  next(length: number): Promise<Buffer>;
  /** `length` bytes at `offset` again; null for a stream (read once). */
  readonly reread: ((offset: number, length: number) => Promise<Buffer>) | null;
  /** Releases the file or the stream (idempotent). */
  close(): Promise<void>;
}

function sourceFailed(e: unknown): FileError {
  return e instanceof FileError
    ? e
    : new FileError('SOURCE_FAILED', `reading the source failed: ${(e as Error)?.message ?? e}`, e);
}

function bytesReader(bytes: Uint8Array): PartReader {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  return {
    size: buf.length,
    name: undefined,
    next: async (length) => {
      const part = buf.subarray(at, at + length);
      at += part.length;
      return part;
    },
    reread: async (offset, length) => buf.subarray(offset, offset + length),
    close: async () => {},
  };
}

async function fileReader(path: string): Promise<PartReader> {
  let handle: Awaited<ReturnType<typeof open>>;
  let size: number;
  try {
    handle = await open(path, 'r');
    size = (await handle.stat()).size;
  } catch (e) {
    throw sourceFailed(e);
  }
  let closed = false;
  const readAt = async (offset: number, length: number) => {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    try {
      while (got < length) {
        const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch (e) {
      throw sourceFailed(e);
    }
    return got === length ? buf : buf.subarray(0, got);
  };
  let at = 0;
  return {
    size,
    name: basename(path),
    next: async (length) => {
      const part = await readAt(at, length);
      at += part.length;
      return part;
    },
    reread: readAt,
    close: async () => {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => {});
    },
  };
}

function streamReader(source: AsyncIterable<Uint8Array | string>, size: number | null): PartReader {
  const it = source[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let heldBytes = 0;
  let ended = false;
  let closed = false;
  return {
    size,
    name: undefined,
    next: async (length) => {
      try {
        while (heldBytes < length && !ended) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
          if (!(chunk instanceof Uint8Array)) {
            throw new FileError(
              'SOURCE_FAILED',
              'the stream gave something that is neither bytes nor a string',
            );
          }
          if (chunk.length === 0) continue;
          held.push(
            Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          );
          heldBytes += chunk.length;
        }
      } catch (e) {
        throw sourceFailed(e);
      }
      if (heldBytes === 0) return Buffer.alloc(0);
      // One chunk that covers the part is cut, not copied.
      const all = held.length === 1 ? held[0] : Buffer.concat(held, heldBytes);
      const part = all.subarray(0, Math.min(length, all.length));
      const rest = all.subarray(part.length);
      held.length = 0;
      heldBytes = rest.length;
      if (rest.length > 0) held.push(rest);
      return part;
    },
    reread: null,
    close: async () => {
      if (closed) return;
      closed = true;
      // Stops the stream when the upload ends early (a Readable is destroyed).
      await it.return?.().catch(() => {});
    },
  };
}

/** A reader over `source`; `size` is a stream's declared length (checked as it is read). */
export async function readerOf(source: UploadSource, size?: number): Promise<PartReader> {
  if (typeof source === 'string') return fileReader(source);
  if (source instanceof Uint8Array) return bytesReader(source);
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    return streamReader(source as AsyncIterable<Uint8Array | string>, size ?? null);
  }
  throw new FileError(
    'BAD_OPTIONS',
    'upload source: a Buffer, a Uint8Array, a file path or a readable stream',
  );
}
