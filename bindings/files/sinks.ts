// Where a download writes, as one interface: bytes in file order, then finish or abandon.
// A Buffer (one allocation when the size is known), a file path (written at its
// position, so a download can resume at an offset; parts land in reused memory), or a
// Writable (its back-pressure respected: the next part waits for 'drain'). Only checked
// bytes ever reach a sink.

import { WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { LentMemory } from '../transport/lent-memory';
import { FileError } from './errors';

/** Free part buffers a file destination keeps between parts: a window's worth and then some. */
const PARTS_KEPT = 16;

export interface ChunkSink {
  /** The next bytes, in file order. */
  write(bytes: Buffer): Promise<void>;
  /**
   * Where the `length` bytes at `position` (from the sink's start) will end up, when
   * the sink holds that memory already: a part's answer can be written there as it is
   * decrypted (CallOptions.into), and `write` then finds it in place.
   */
  placeOf?(position: number, length: number): Buffer | undefined;
  /** All written: flush and release. */
  finish(): Promise<void>;
  /** The transfer failed: release what is held (idempotent, never throws). */
  abandon(): Promise<void>;
}

function sinkFailed(e: unknown): FileError {
  return e instanceof FileError
    ? e
    : new FileError('SINK_FAILED', `writing failed: ${(e as Error)?.message ?? e}`, e);
}

/** Collects the bytes; `result()` after finish. `expected`: the size when known (one allocation). */
export class BufferSink implements ChunkSink {
  private readonly chunks: Buffer[] = [];
  private whole: Buffer | null;
  private at = 0;

  constructor(expected: number | null) {
    this.whole = expected !== null && expected > 0 ? Buffer.allocUnsafe(expected) : null;
  }

  placeOf(position: number, length: number): Buffer | undefined {
    const whole = this.whole;
    if (!whole || position < this.at || position >= whole.length) return undefined;
    return whole.subarray(position, Math.min(whole.length, position + length));
  }

  async write(bytes: Buffer): Promise<void> {
    const whole = this.whole;
    if (whole && this.at + bytes.length <= whole.length) {
      // Written there already when the part came through placeOf.
      const inPlace = bytes.buffer === whole.buffer && bytes.byteOffset === whole.byteOffset + this.at;
      if (!inPlace) bytes.copy(whole, this.at);
    } else {
      // More than announced (the size was a guess): keep what came, as it came.
      if (this.whole) this.chunks.push(this.whole.subarray(0, this.at));
      this.whole = null;
      this.chunks.push(bytes);
    }
    this.at += bytes.length;
  }

  async finish(): Promise<void> {}
  async abandon(): Promise<void> {
    this.chunks.length = 0;
    this.whole = null;
  }

  result(): Buffer {
    if (this.whole) return this.whole.subarray(0, this.at);
    return Buffer.concat(this.chunks, this.at);
  }
}

/** Writes to `path` from `position` on; at the end of a whole download the file is cut there. */
export async function fileSink(path: string, position: number, truncateAtEnd: boolean): Promise<ChunkSink> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // Resuming keeps what is there; a fresh download starts an empty file.
    handle = position > 0 ? await open(path, 'r+').catch(() => open(path, 'w')) : await open(path, 'w');
  } catch (e) {
    throw sinkFailed(e);
  }
  let at = position;
  let closed = false;
  const parts = new LentMemory(PARTS_KEPT);
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    // Parts are decrypted into memory lent here, and it comes back once they are in the file.
    placeOf: (_position, length) => parts.lend(length),
    write: async (bytes) => {
      try {
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, at + done);
          done += bytesWritten;
        }
      } catch (e) {
        throw sinkFailed(e);
      }
      parts.giveBack(bytes);
      at += bytes.length;
    },
    finish: async () => {
      try {
        if (truncateAtEnd) await handle.truncate(at);
        await close();
      } catch (e) {
        throw sinkFailed(e);
      }
    },
    abandon: async () => {
      await close().catch(() => {});
    },
  };
}

/**
 * Writes to a stream the caller owns (it is not ended): each write waits for 'drain' when the
 * stream asks. An fs.WriteStream is done with a chunk once its write callback ran, so its
 * parts land in lent memory as a file path's do; any other stream may keep its chunks, and
 * gets a Buffer per part.
 */
export function streamSink(stream: Writable): ChunkSink {
  let failed: unknown = null;
  const onError = (e: unknown) => {
    failed ??= e;
  };
  stream.on('error', onError);
  const release = () => stream.off('error', onError);
  // The class itself only: a subclass may keep chunks in its own _write.
  const parts = Object.getPrototypeOf(stream) === WriteStream.prototype ? new LentMemory(PARTS_KEPT) : null;
  return {
    ...(parts ? { placeOf: (_position: number, length: number) => parts.lend(length) } : {}),
    write: (bytes) => writeToStream(stream, bytes, () => failed).then(() => parts?.giveBack(bytes)),
    finish: async () => {
      release();
      if (failed) throw sinkFailed(failed);
    },
    abandon: async () => {
      release();
    },
  };
}

/** One chunk to `stream`: resolved once written (its callback) and, if the stream asked, drained. */
function writeToStream(stream: Writable, bytes: Buffer, failed: () => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const already = failed();
    if (already || stream.destroyed) {
      reject(sinkFailed(already ?? new Error('the stream was destroyed')));
      return;
    }
    let waiting = 2;
    const settle = (e?: unknown) => {
      if (e) {
        cleanup();
        reject(sinkFailed(e));
        return;
      }
      if (--waiting === 0) {
        cleanup();
        resolve();
      }
    };
    const onFail = (e: unknown) => settle(e ?? new Error('the stream closed'));
    const onDrain = () => settle();
    const cleanup = () => {
      stream.off('error', onFail);
      stream.off('close', onFail);
      stream.off('drain', onDrain);
    };
    stream.once('error', onFail);
    stream.once('close', onFail);
    // Done when written (the callback) and, if the buffer is full, drained.
    const more = stream.write(bytes, (e) => settle(e ?? undefined));
    if (more) settle();
    else stream.once('drain', onDrain);
  });
}
